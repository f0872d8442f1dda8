"""The one way to append to a group's log: user sends, SYSTEM messages and AI replies alike.

One writer task per process stores queued appends in batches (group commit). A batch is one write
transaction with a handful of statements whatever its size: the senders' group roles and earlier
idempotency keys in one query each, one seq reservation per group (in group_id order, so writers
on other instances never deadlock), one multi-row INSERT, then each append's own writes and the
hooks' outbox rows. Under load this turns hundreds of small transactions into a few large ones;
alone, an append is a batch of one. Each append still gets its own outcome: a refused one fails
alone, a replay resolves to the original message, and if the batch itself fails (a race on a
unique key, a value the database refuses) every append is retried in a transaction of its own.

After the commit, new messages are pushed to their group in seq order, the callers get their
outcomes, and only then does the hooks' after-commit work start (a send never waits for it).

Small changes that append nothing (an AI record's claim or failure) ride along in the same
batches through `apply`, so that no other write transaction ever holds the write path a send
needs (on SQLite there is one write lock for the whole database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import Database
from app.errors import AppError, NotFound, as_app_error
from app.metrics import MESSAGES_SENT, WRITER_TRANSACTIONS
from app.models import Message
from app.realtime.envelope import Event
from app.realtime.fanout import Fanout
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.services.core.events import message_event
from app.services.core.hooks import (
    AfterCommit,
    Hooks,
    MembershipChange,
    StoredMessage,
    run_after_commit,
)
from app.utils.id_generator import generate_message_id

logger = logging.getLogger(__name__)

MAX_BATCH = 200
Key = tuple[str, str]
T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


@dataclass(frozen=True)
class Draft:
    """A message about to be appended: everything but its id and its seq."""

    sender_id: str
    sender_role: str
    msg_type: str
    content: str
    client_msg_id: str | None = None
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    target_message_id: str | None = None
    """The message an EDIT or RECALL entry changes."""
    attachment: dict[str, Any] | None = None
    """IMAGE / FILE: the attachment's metadata, stored with the message."""

    def to_message(self, group_id: str, seq: int) -> Message:
        message = Message(
            message_id=generate_message_id(),
            group_id=group_id,
            seq=seq,
            from_user_id=self.sender_id,
            from_user_role=self.sender_role,
            msg_type=self.msg_type,
            msg_content=self.content,
            client_msg_id=self.client_msg_id,
        )
        # Set only when given: a plain send pays nothing for them (they are stored as NULL).
        if self.reply_to is not None:
            message.reply_to = self.reply_to
        if self.mentions:
            message.mentions = list(self.mentions)
        if self.target_message_id is not None:
            message.target_message_id = self.target_message_id
        if self.attachment is not None:
            message.attachment = self.attachment
        return message


@dataclass(frozen=True)
class BatchFacts:
    """What a batch reads once for all its appends."""

    roles: dict[Key, str]
    """(group_id, user_id) → group role, for every `membership_key` that is a member."""
    originals: dict[Key, Message]
    """(sender_id, client_msg_id) → the message already stored under that idempotency key."""


class Append(Protocol):
    """One request to append to `group_id`'s log, settled inside a batch transaction. Kinds of
    append subclass it explicitly and inherit the defaults."""

    group_id: str
    exclusive: bool = False
    """Run in a transaction of its own (an append that changes who is in the group)."""
    also_user_ids: tuple[str, ...] = ()
    """Users who get the message event besides the group's members (someone who just left)."""
    membership: MembershipChange | None = None
    """Set by a join or leave (once drafted): the hooks see it, and the first event announces
    it, so that every instance's routes follow."""

    def preceding_events(self) -> Sequence[Event]:
        """Events pushed to the group just before the message (`member_joined`, …)."""
        return ()

    def membership_key(self) -> Key | None:
        """(group_id, user_id) whose group role the batch should load into `facts.roles`."""
        return None

    def idempotency_key(self) -> Key | None:
        """(sender_id, client_msg_id): an append with a key already stored is a replay."""
        return None

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        """The message to append. Reads only; raises an `AppError` to refuse this append."""

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        """Writes that belong with the message, in its transaction (none by default)."""
        return None


class Change(Protocol[T_co]):
    """A write that appends nothing, applied inside a batch transaction."""

    async def apply(self, session: AsyncSession) -> T_co:
        """The change's writes and its result; raising fails the batch (then it is retried
        in a transaction of its own)."""


@dataclass(frozen=True)
class Appended:
    message: Message
    created: bool
    """False for a replay: the message was stored earlier under the same idempotency key."""


Outcome = Appended | BaseException


def _settle(future: asyncio.Future[Any], outcome: object) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


@dataclass
class _Pending:
    item: Append
    exclude_connection_id: str | None
    future: asyncio.Future[Appended] = field(repr=False)

    def settle(self, outcome: Outcome) -> None:
        _settle(self.future, outcome)


@dataclass
class _PendingChange:
    change: Change[Any]
    future: asyncio.Future[Any] = field(repr=False)

    def settle(self, outcome: object) -> None:
        _settle(self.future, outcome)


@dataclass
class _Committed:
    outcomes: list[Outcome]
    results: list[object]
    after_commit: list[AfterCommit]


class MessageWriter:
    def __init__(self, db: Database, fanout: Fanout, hooks: Hooks) -> None:
        self.db = db
        self.fanout = fanout
        self.hooks = hooks
        self._queue: list[_Pending] = []
        self._changes: list[_PendingChange] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def append(self, item: Append, *, exclude_connection_id: str | None = None) -> Appended:
        """Queue an append and wait for its own outcome. A new message is pushed to its group
        (the connection `exclude_connection_id` skipped) before the outcome is handed back.
        Raises the append's refusal, or the database's error."""
        pending = _Pending(item, exclude_connection_id, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        self._wake()
        return await pending.future

    async def apply(self, change: Change[T]) -> T:
        """Queue a change and wait for its result (or the database's error)."""
        pending = _PendingChange(change, asyncio.get_running_loop().create_future())
        self._changes.append(pending)
        self._wake()
        result: T = await pending.future
        return result

    def _wake(self) -> None:
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="message-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue or self._changes:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                changes, self._changes = self._changes[:MAX_BATCH], self._changes[MAX_BATCH:]
                shared = [pending for pending in batch if not pending.item.exclusive]
                if shared or changes:
                    await self._commit(shared, changes)
                for pending in batch:
                    if pending.item.exclusive:
                        await self._commit([pending], [])

    async def _commit(self, batch: list[_Pending], changes: list[_PendingChange]) -> None:
        try:
            committed = await self._transaction(batch, changes)
        except Exception as exc:
            error = as_app_error(exc)
            if (error is not None and error.http_status == 503) or len(batch) + len(changes) == 1:
                # The database is down (retrying each would only fail again), or it refused
                # the one item of the batch.
                for pending in batch:
                    pending.settle(await self._after_failure(pending, exc))
                for change in changes:
                    change.settle(exc)
                return
            for pending in batch:
                await self._commit([pending], [])
            for change in changes:
                await self._commit([], [change])
            return
        self._publish(batch, committed.outcomes)
        for pending, outcome in zip(batch, committed.outcomes, strict=True):
            pending.settle(outcome)
        for change, result in zip(changes, committed.results, strict=True):
            change.settle(result)
        await run_after_commit(committed.after_commit)

    async def _after_failure(self, pending: _Pending, exc: Exception) -> Outcome:
        """A unique-key race on an idempotency key means a concurrent retry (perhaps on another
        instance) stored the append first: resolve to that message."""
        key = pending.item.idempotency_key()
        if isinstance(exc, IntegrityError) and key is not None:
            try:
                async with self.db.read() as session:
                    original = await MessageRepository(session).get_by_client_msg_id(*key)
            except Exception:
                logger.exception("idempotency look-up after a conflict failed")
                return exc
            if original is not None:
                return Appended(original, created=False)
        return exc

    async def _transaction(
        self, batch: Sequence[_Pending], changes: Sequence[_PendingChange]
    ) -> _Committed:
        after_commit: list[AfterCommit] = []
        WRITER_TRANSACTIONS.inc()
        async with self.db.write() as session, session.begin():
            facts = await _load_facts(session, batch)
            outcomes, drafts, repeats = await _draft_all(session, batch, facts)
            for index, message, ai_enabled in await _insert(session, batch, drafts):
                await batch[index].item.after_insert(session, message)
                after_commit += await self.hooks.message_stored(
                    session, StoredMessage(message, ai_enabled, batch[index].item.membership)
                )
                outcomes[index] = Appended(message, created=True)
            results = [await pending.change.apply(session) for pending in changes]
        for index, first in repeats.items():
            original = outcomes[first]
            outcomes[index] = (
                Appended(original.message, created=False)
                if isinstance(original, Appended)
                else original
            )
        return _Committed(
            [
                outcome if outcome is not None else NotFound("Group not found")
                for outcome in outcomes
            ],
            results,
            after_commit,
        )

    def _publish(self, batch: Sequence[_Pending], outcomes: Sequence[Outcome]) -> None:
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not isinstance(outcome, Appended) or not outcome.created:
                continue
            message, item = outcome.message, pending.item
            MESSAGES_SENT.labels(message.msg_type).inc()
            logger.info(
                "message %s stored in %s seq=%d", message.message_id, message.group_id, message.seq
            )
            change = item.membership
            announce = {}
            if change is not None:
                announce = {"joined" if change.joined else "left": change.user_id}
            for event in item.preceding_events():
                self.fanout.to_group(
                    message.group_id, event, also_user_ids=item.also_user_ids, **announce
                )
                announce = {}
            self.fanout.to_group(
                message.group_id,
                message_event(message, self.hooks.present),
                exclude_connection_id=pending.exclude_connection_id,
                also_user_ids=item.also_user_ids,
                **announce,
            )


async def _load_facts(session: AsyncSession, batch: Sequence[_Pending]) -> BatchFacts:
    membership = [key for p in batch if (key := p.item.membership_key()) is not None]
    idempotency = [key for p in batch if (key := p.item.idempotency_key()) is not None]
    roles = await GroupMemberRepository(session).get_roles(membership) if membership else {}
    originals = (
        await MessageRepository(session).get_by_client_msg_ids(idempotency) if idempotency else {}
    )
    return BatchFacts(roles, originals)


async def _draft_all(
    session: AsyncSession, batch: Sequence[_Pending], facts: BatchFacts
) -> tuple[list[Outcome | None], list[tuple[int, Draft]], dict[int, int]]:
    """Each append's draft, or its refusal or replay. `repeats` maps a later append of the batch
    with the same idempotency key as an earlier one to the index of the first."""
    outcomes: list[Outcome | None] = [None] * len(batch)
    drafts: list[tuple[int, Draft]] = []
    repeats: dict[int, int] = {}
    first_of_key: dict[Key, int] = {}
    for index, pending in enumerate(batch):
        key = pending.item.idempotency_key()
        if key is not None and key in facts.originals:
            outcomes[index] = Appended(facts.originals[key], created=False)
            continue
        if key is not None and key in first_of_key:
            repeats[index] = first_of_key[key]
            continue
        try:
            drafts.append((index, await pending.item.draft(session, facts)))
        except AppError as refusal:
            outcomes[index] = refusal
            continue
        if key is not None:
            first_of_key[key] = index
    return outcomes, drafts, repeats


async def _insert(
    session: AsyncSession, batch: Sequence[_Pending], drafts: list[tuple[int, Draft]]
) -> list[tuple[int, Message, bool]]:
    """Reserve seqs for every group of the batch at once and insert the drafts in one
    statement. Returns (batch index, message, the group's ai_enabled) in seq order per group."""
    by_group: defaultdict[str, list[tuple[int, Draft]]] = defaultdict(list)
    for index, draft in drafts:
        by_group[batch[index].item.group_id].append((index, draft))
    if not by_group:
        return []
    reserved = await GroupRepository(session).reserve_seqs_many(
        {group_id: len(entries) for group_id, entries in by_group.items()}
    )
    rows: list[tuple[int, Message, bool]] = []
    for group_id in sorted(by_group):
        if group_id not in reserved:  # no such group: left unresolved (404)
            continue
        entries = by_group[group_id]
        last_seq, ai_enabled = reserved[group_id]
        first_seq = last_seq - len(entries) + 1
        for offset, (index, draft) in enumerate(entries):
            rows.append((index, draft.to_message(group_id, first_seq + offset), ai_enabled))
    if rows:
        await MessageRepository(session).create_many([message for _, message, _ in rows])
    return rows
