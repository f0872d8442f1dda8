"""Concurrent changes of one message through two server processes (PostgreSQL + Redis): every
edit gets its own entry in a dense log, the message ends in the state of the last entry, the
revisions form an unbroken chain, and clients on either instance converge on the same state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.changes import apply_entry, edit, get_message, log, recall
from tests.factories import TestUser, add_member, create_group, create_user, send
from tests.integration.clients import WsClient, assert_dense, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import SERVICE_KEY, ServerProcess

EDITS_PER_INSTANCE = 8


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    http_a: httpx.AsyncClient
    http_b: httpx.AsyncClient


@pytest.fixture
async def pair(
    servers: ServerFactory, scaled_database_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Pair]:
    common = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    a = await servers.start("a", **common)
    b = await servers.start("b", **common)
    async with http_client(a) as http_a, http_client(b) as http_b:
        yield Pair(a, b, http_a, http_b)


async def _room(pair: Pair) -> tuple[TestUser, TestUser, str]:
    doctor = await create_user(pair.http_a, "DOCTOR")
    patient = await create_user(pair.http_b, "PATIENT")
    group_id = (await create_group(pair.http_a, doctor))["group_id"]
    await add_member(pair.http_b, doctor, group_id, patient)
    return doctor, patient, group_id


async def _send(http: httpx.AsyncClient, user: TestUser, group_id: str, text: str) -> Any:
    response = await send(http, user, group_id, text)
    assert response.status_code == 201, response.text
    return response.json()


async def test_concurrent_edits_from_two_instances_end_consistent(pair: Pair) -> None:
    doctor, patient, group_id = await _room(pair)
    sent = await _send(pair.http_a, patient, group_id, "original")
    watcher_a = await WsClient.open(pair.a, doctor)
    watcher_b = await WsClient.open(pair.b, doctor)
    try:
        held = await get_message(pair.http_a, doctor, sent["message_id"])
        contents = [f"{side}-{i}" for i in range(EDITS_PER_INSTANCE) for side in ("a", "b")]
        answers = await asyncio.gather(
            *(
                edit(
                    pair.http_a if text.startswith("a") else pair.http_b,
                    patient,
                    sent["message_id"],
                    text,
                )
                for text in contents
            )
        )
        assert [answer.status_code for answer in answers] == [200] * len(contents)

        entries = await log(pair.http_b, doctor, group_id)
        assert_dense(entries)
        edits = [m for m in entries if m["target_message_id"] == sent["message_id"]]
        assert [m["msg_type"] for m in edits] == ["EDIT"] * len(contents)
        assert sorted(m["msg_content"] for m in edits) == sorted(contents)
        current = await get_message(pair.http_b, patient, sent["message_id"])
        assert current["msg_content"] == edits[-1]["msg_content"]
        assert current["edited_at"] == edits[-1]["created_at"]
        assert await get_message(pair.http_a, patient, sent["message_id"]) == current

        # Each revision is the content the previous entry (in seq order) left.
        history = await pair.http_a.get(
            f"/api/message/{sent['message_id']}/revisions", headers={"X-API-Key": SERVICE_KEY}
        )
        assert history.status_code == 200, history.text
        revisions = history.json()["revisions"]
        assert [r["change_message_id"] for r in revisions] == [m["message_id"] for m in edits]
        assert [r["msg_content"] for r in revisions] == [
            "original",
            *(m["msg_content"] for m in edits[:-1]),
        ]

        # Clients on both instances got every entry and, applying them, hold the same state.
        for watcher in (watcher_a, watcher_b):
            state = held
            pushed = [await watcher.expect_message(m["message_id"]) for m in edits]
            for entry in sorted(pushed, key=lambda m: m["seq"]):
                state = apply_entry(state, entry)
            assert state == current
    finally:
        for watcher in (watcher_a, watcher_b):
            await watcher.close()


async def test_an_edit_racing_a_recall_never_outlives_it(pair: Pair) -> None:
    doctor, patient, group_id = await _room(pair)
    for round_ in range(4):
        sent = await _send(pair.http_a, patient, group_id, f"round {round_}")
        edited, recalled = await asyncio.gather(
            edit(pair.http_a, patient, sent["message_id"], f"round {round_}, edited"),
            recall(pair.http_b, doctor, sent["message_id"]),
        )
        assert recalled.status_code == 200, recalled.text
        assert edited.status_code in (200, 409), edited.text
        changes = [
            m
            for m in await log(pair.http_a, patient, group_id)
            if m["target_message_id"] == sent["message_id"]
        ]
        current = await get_message(pair.http_b, doctor, sent["message_id"])
        assert (current["msg_content"], changes[-1]["msg_type"]) == ("", "RECALL")
        assert current["recalled_at"] == changes[-1]["created_at"]
        if edited.status_code == 200:
            # The edit came first: its entry precedes the recall and is served empty.
            assert [(m["msg_type"], m["msg_content"]) for m in changes] == [
                ("EDIT", ""),
                ("RECALL", ""),
            ]
        else:
            assert edited.json()["error"]["code"] == "MESSAGE_RECALLED"
            assert [m["msg_type"] for m in changes] == ["RECALL"]
