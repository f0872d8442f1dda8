"""The per-process history cache: a page many members open is read once, and a reader is never
served a page older than what is committed — edits, recalls and other processes' sends
included — nor a page of a group they are not in."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from app.services.core.history_cache import HistoryCache
from tests.changes import edit, recall
from tests.factories import (
    Consultation,
    assert_error,
    consultation,
    create_user,
    list_messages,
    send_ok,
)


async def contents(client: httpx.AsyncClient, room: Consultation, **params: Any) -> list[str]:
    response = await list_messages(client, room.patient, room.group_id, **params)
    assert response.status_code == 200, response.text
    return [message["msg_content"] for message in response.json()["messages"]]


@contextmanager
def counted_statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements `app` runs inside the block."""
    engine = app.state.server.core.db.engine.sync_engine
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_page_read_again_unchanged_costs_only_the_access_lookup(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "fever since Monday")
    first = await contents(client, room, page=1, page_size=20)
    with counted_statements(app) as statements:
        again = await contents(client, room, page=1, page_size=20)
    assert again == first
    assert len(statements) == 1 and "UNION" not in statements[0].upper()


@pytest.mark.parametrize("form", [{"page": 1, "page_size": 20}, {"before_seq": 100}])
async def test_a_cached_page_shows_edits_and_recalls_at_once(
    client: httpx.AsyncClient, form: dict[str, Any]
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "I have a headahce")
    other = await send_ok(client, room.patient, room.group_id, "card 12345")
    assert "I have a headahce" in await contents(client, room, **form)

    assert (await edit(client, room.patient, sent["message_id"], "I have a headache")).is_success
    page = await contents(client, room, **form)
    assert "I have a headache" in page and "I have a headahce" not in page

    assert (await recall(client, room.patient, other["message_id"])).is_success
    assert "card 12345" not in await contents(client, room, **form)


async def test_a_cached_page_is_refused_to_a_non_member(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "private")
    await contents(client, room, page=1, page_size=20)
    outsider = await create_user(client, "PATIENT")
    response = await list_messages(client, outsider, room.group_id, page=1, page_size=20)
    assert_error(response, 403)


async def test_a_removed_member_no_longer_reads_the_page_they_cached(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    await contents(client, room, page=1, page_size=20)
    removed = await client.delete(
        f"/api/group/{room.group_id}/members/{room.patient.user_id}", headers=room.doctor.headers
    )
    assert removed.status_code == 204, removed.text
    response = await list_messages(client, room.patient, room.group_id, page=1, page_size=20)
    assert_error(response, 403)


@asynccontextmanager
async def second_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another server on the same database, as a second process of the scaled shape would be
    (its own cache, no broker between them)."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
            yield http


async def test_a_page_cached_here_shows_what_another_process_committed(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "before")
    assert (await contents(client, room, page=1, page_size=20))[0] == "before"
    async with second_process(settings) as other:
        await send_ok(other, room.doctor, room.group_id, "the doctor answers elsewhere")
        assert (await contents(client, room, page=1, page_size=20))[0] == (
            "the doctor answers elsewhere"
        )
        assert (await edit(other, room.patient, sent["message_id"], "after")).is_success
    assert "after" in await contents(client, room, page=1, page_size=20)


@pytest.mark.parametrize("settings_overrides", [{"history_cache_rows": 0}], indirect=True)
async def test_with_the_cache_off_every_read_queries_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    room = await consultation(client)
    await contents(client, room, page=1, page_size=20)
    with counted_statements(app) as statements:
        await contents(client, room, page=1, page_size=20)
    assert any("UNION" in statement.upper() for statement in statements)


def rows(count: int) -> list[dict[str, Any]]:
    return [{"seq": seq} for seq in range(count)]


def test_the_cache_keeps_the_most_recently_read_pages_within_its_row_budget() -> None:
    cache = HistoryCache(max_rows=100)
    for group in ("a", "b", "c"):
        cache.put((group, None, None, 0, 50), 7, rows(40))
    assert cache.get(("a", None, None, 0, 50)) is None  # the oldest went first
    assert cache.rows == 80 and len(cache) == 2
    assert cache.get(("b", None, None, 0, 50)) is not None  # b is now the most recent
    cache.put(("d", None, None, 0, 50), 7, rows(40))
    assert cache.get(("c", None, None, 0, 50)) is None
    assert cache.get(("b", None, None, 0, 50)) is not None


def test_a_page_stored_again_replaces_the_old_one_and_counts_once() -> None:
    cache = HistoryCache(max_rows=100)
    key = ("a", None, 9, 0, 50)
    cache.put(key, 7, rows(30))
    cache.put(key, 8, rows(10))
    page = cache.get(key)
    assert page is not None and page.last_seq == 8 and cache.rows == 10


def test_empty_pages_count_and_pages_over_the_budget_are_not_kept() -> None:
    cache = HistoryCache(max_rows=2)
    cache.put(("a", 5, None, 0, 50), 5, [])
    assert cache.rows == 1 and cache.get(("a", 5, None, 0, 50)) is not None
    cache.put(("b", None, None, 0, 50), 5, rows(3))
    assert cache.get(("b", None, None, 0, 50)) is None and cache.rows == 1
    off = HistoryCache(max_rows=0)
    off.put(("a", None, None, 0, 50), 5, rows(1))
    assert len(off) == 0 and not off.enabled
