"""Group commit for user sends: one writer task per process stores queued sends in batches.

A batch is one write transaction with a handful of statements whatever its size: the senders'
memberships and earlier idempotency keys in one query each, one `UPDATE groups … RETURNING` per
group (in group_id order, so writers on other instances never deadlock), one multi-row INSERT.
Under load this turns hundreds of small transactions, each paying several round trips, into a
few large ones; alone, a send is a batch of one. Each send still gets its own outcome: a
refused send fails alone, a replay resolves to the original message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import Database
from app.errors import NotFound, PermissionDenied
from app.models import Message, MessageType, User
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.schemas.message import MessageCreate
from app.utils.id_generator import generate_message_id

logger = logging.getLogger(__name__)

MAX_BATCH = 200
AfterCommit = Callable[[], Awaitable[None]]
StoredHook = Callable[[AsyncSession, Message, bool], Awaitable[AfterCommit | None]]
Publish = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool
    after_commit: tuple[AfterCommit, ...] = ()


@dataclass
class PendingSend:
    sender: User
    body: MessageCreate
    connection_id: str | None
    future: asyncio.Future[SendResult] = field(repr=False)

    def resolve(self, result: SendResult) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class MessageWriter:
    def __init__(self, db: Database, on_stored: StoredHook, publish: Publish) -> None:
        self.db = db
        self.on_stored = on_stored
        self.publish = publish
        self._queue: list[PendingSend] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self, sender: User, body: MessageCreate, connection_id: str | None = None
    ) -> SendResult:
        """Queue a send and wait for its own outcome (committed, replayed, or refused). New
        messages are published, in seq order, before the outcome is handed back."""
        pending = PendingSend(
            sender, body, connection_id, asyncio.get_running_loop().create_future()
        )
        self._queue.append(pending)
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="message-writer")
        return await pending.future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[PendingSend]) -> None:
        try:
            results = await self._write_batch(batch)
        except IntegrityError:
            # A retry raced us on another instance; settle each send on its own.
            for pending in batch:
                await self._write_alone(pending)
            return
        except Exception as exc:
            for pending in batch:
                pending.fail(exc)
            return
        for pending, outcome in zip(batch, results, strict=True):
            await self._settle(pending, outcome)

    async def _write_alone(self, pending: PendingSend) -> None:
        outcome: SendResult | BaseException
        try:
            [outcome] = await self._write_batch([pending])
        except IntegrityError as exc:
            original = await self._find_original(pending)
            outcome = SendResult(original, created=False) if original else exc
        except Exception as exc:
            outcome = exc
        await self._settle(pending, outcome)

    async def _settle(self, pending: PendingSend, outcome: SendResult | BaseException) -> None:
        if isinstance(outcome, BaseException):
            pending.fail(outcome)
            return
        if outcome.created:
            try:
                await self.publish(outcome, exclude_connection_id=pending.connection_id)
            except Exception:
                # Committed all the same: clients recover it with `sync`.
                logger.exception("publishing message %s failed", outcome.message.message_id)
        pending.resolve(outcome)

    async def _find_original(self, pending: PendingSend) -> Message | None:
        if pending.body.client_msg_id is None:
            return None
        async with self.db.read() as session:
            return await MessageRepository(session).get_by_client_msg_id(
                pending.sender.user_id, pending.body.client_msg_id
            )

    async def _write_batch(self, batch: Sequence[PendingSend]) -> list[SendResult | BaseException]:
        async with self.db.write() as session, session.begin():
            originals = await MessageRepository(session).get_by_client_msg_ids(
                (p.sender.user_id, p.body.client_msg_id) for p in batch if p.body.client_msg_id
            )
            roles = await GroupMemberRepository(session).get_roles(
                (p.body.group_id, p.sender.user_id) for p in batch
            )
            triage = await _triage(session, batch, originals, roles)
            for index, message, ai_enabled in await _insert(session, batch, triage.accepted, roles):
                work = await self.on_stored(session, message, ai_enabled)
                triage.outcomes[index] = SendResult(message, True, (work,) if work else ())
        for index, first in triage.repeats.items():
            original = triage.outcomes[first]
            if isinstance(original, SendResult):
                triage.outcomes[index] = SendResult(original.message, created=False)
        return [o if o is not None else NotFound("Group not found") for o in triage.outcomes]


@dataclass
class Triage:
    outcomes: list[SendResult | BaseException | None]
    accepted: list[int]
    repeats: dict[int, int]
    """A later send of the batch with the same idempotency key → the index of the first."""


async def _triage(
    session: AsyncSession,
    batch: Sequence[PendingSend],
    originals: dict[tuple[str, str], Message],
    roles: dict[tuple[str, str], str],
) -> Triage:
    """Replays resolve to their original, non-members fail; the rest are accepted."""
    triage = Triage([None] * len(batch), [], {})
    strangers: list[int] = []
    first_of_key: dict[tuple[str, str], int] = {}
    for index, pending in enumerate(batch):
        user_id, body = pending.sender.user_id, pending.body
        key = (user_id, body.client_msg_id or "")
        if body.client_msg_id and key in originals:
            triage.outcomes[index] = SendResult(originals[key], created=False)
        elif (body.group_id, user_id) not in roles:
            strangers.append(index)
        elif body.client_msg_id and key in first_of_key:
            triage.repeats[index] = first_of_key[key]
        else:
            triage.accepted.append(index)
            if body.client_msg_id:
                first_of_key[key] = index
    if strangers:
        known = await GroupRepository(session).existing_ids(
            batch[i].body.group_id for i in strangers
        )
        for index in strangers:
            group_id = batch[index].body.group_id
            triage.outcomes[index] = (
                PermissionDenied("You are not a member of this group", code="NOT_A_MEMBER")
                if group_id in known
                else NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")
            )
    return triage


async def _insert(
    session: AsyncSession,
    batch: Sequence[PendingSend],
    accepted: list[int],
    roles: dict[tuple[str, str], str],
) -> list[tuple[int, Message, bool]]:
    """Reserve seqs per group (in group_id order) and insert the accepted sends."""
    by_group: defaultdict[str, list[int]] = defaultdict(list)
    for index in accepted:
        by_group[batch[index].body.group_id].append(index)
    groups = GroupRepository(session)
    rows: list[tuple[int, Message, bool]] = []
    for group_id in sorted(by_group):
        indexes = by_group[group_id]
        reserved = await groups.reserve_seqs(group_id, len(indexes))
        if reserved is None:  # deleted since the membership read: left unresolved (404)
            continue
        last_seq, ai_enabled = reserved
        first_seq = last_seq - len(indexes) + 1
        for offset, index in enumerate(indexes):
            pending = batch[index]
            message = Message(
                message_id=generate_message_id(),
                group_id=group_id,
                seq=first_seq + offset,
                from_user_id=pending.sender.user_id,
                from_user_role=roles[(group_id, pending.sender.user_id)],
                msg_type=MessageType.TEXT,
                msg_content=pending.body.content,
                client_msg_id=pending.body.client_msg_id,
            )
            rows.append((index, message, ai_enabled))
    if rows:
        await MessageRepository(session).create_many([message for _, message, _ in rows])
    return rows
