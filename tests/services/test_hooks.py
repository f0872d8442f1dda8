"""The core's hooks (app/services/core/hooks.py), as a layer beside the core sees them: every
stored message (joins and leaves carrying their membership change) and every change of a
group's settings, inside the transaction, with after-commit work run after it."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.core.hooks import AfterCommit, GroupChange, StoredMessage
from tests.factories import add_member, consultation, create_user, send_ok


@dataclass
class Recorder:
    """A layer that records what it is shown, and what its after-commit work saw."""

    stored: list[StoredMessage] = field(default_factory=list)
    changes: list[GroupChange] = field(default_factory=list)
    after_commit: list[str] = field(default_factory=list)

    async def on_message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> AfterCommit | None:
        self.stored.append(stored)
        return None

    async def on_group_updated(
        self, session: AsyncSession, change: GroupChange
    ) -> AfterCommit | None:
        self.changes.append(change)
        in_transaction = session.in_transaction()

        async def after() -> None:
            self.after_commit.append(f"{change.group_id} in_transaction={in_transaction}")

        return after


def _install(app: FastAPI) -> Recorder:
    recorder = Recorder()
    hooks = app.state.server.core.hooks
    hooks.add_message_hook(recorder)
    hooks.add_group_hook(recorder)
    return recorder


async def test_joins_and_leaves_carry_their_membership_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    recorder = _install(app)
    room = await consultation(client)
    newcomer = await create_user(client)
    await add_member(client, room.doctor, room.group_id, newcomer)
    await send_ok(client, newcomer, room.group_id, "hello")
    left = await client.delete(
        f"/api/group/{room.group_id}/members/{newcomer.user_id}", headers=newcomer.headers
    )
    assert left.status_code == 204
    changes = [(s.message.msg_type, s.membership) for s in recorder.stored]
    patient_join, newcomer_join, text, leave = changes
    assert patient_join[1] is not None and patient_join[1].user_id == room.patient.user_id
    assert newcomer_join[1] is not None
    assert (newcomer_join[1].user_id, newcomer_join[1].joined) == (newcomer.user_id, True)
    assert newcomer_join[1].user_role == "PATIENT"
    assert text == ("TEXT", None)
    assert leave[0] == "SYSTEM" and leave[1] is not None
    assert (leave[1].user_id, leave[1].joined, leave[1].group_id) == (
        newcomer.user_id,
        False,
        room.group_id,
    )


async def test_group_hooks_see_what_changed_and_run_after_the_commit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    recorder = _install(app)
    room = await consultation(client)
    url = f"/api/group/{room.group_id}"
    await client.patch(url, json={"ai_enabled": False}, headers=room.doctor.headers)
    await client.patch(url, json={"ai_enabled": False}, headers=room.doctor.headers)  # no change
    await client.patch(
        url, json={"group_name": "Renamed"}, headers={"X-API-Key": "test-service-key"}
    )
    handover, rename = recorder.changes
    assert handover == GroupChange(
        room.group_id,
        by_user_id=room.doctor.user_id,
        changed=frozenset({"ai_enabled"}),
        ai_enabled_before=True,
        ai_enabled=False,
    )
    assert rename.by_user_id is None and rename.changed == frozenset({"group_name"})
    assert (rename.ai_enabled_before, rename.ai_enabled) == (False, False)
    assert recorder.after_commit == [f"{room.group_id} in_transaction=True"] * 2
