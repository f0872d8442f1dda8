"""Concurrent checks of uncached sessions share one query; its error reaches every caller, and
a caller that gives up does not take the answer from the others."""

import asyncio
from collections.abc import Collection

import pytest

from app.services.core.session_lookups import SessionLookups


class Owners:
    """Answers from a table, counting queries; `gate` holds a query until it is set."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.queries: list[set[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.asked = asyncio.Event()
        self.error: Exception | None = None

    async def __call__(self, session_ids: Collection[str]) -> dict[str, str]:
        self.queries.append(set(session_ids))
        self.asked.set()
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return {sid: self.table[sid] for sid in session_ids if sid in self.table}


async def test_concurrent_checks_share_one_query() -> None:
    owners = Owners({"s1": "u1", "s2": "u2"})
    lookups = SessionLookups(owners)
    answers = await asyncio.gather(*(lookups.owner(s) for s in ("s1", "s2", "s1", "gone")))
    assert answers == ["u1", "u2", "u1", None]
    assert owners.queries == [{"s1", "s2", "gone"}]


async def test_checks_asked_during_a_query_go_in_the_next_one() -> None:
    owners = Owners({"s1": "u1", "s2": "u2"})
    owners.gate.clear()
    lookups = SessionLookups(owners)
    first = asyncio.create_task(lookups.owner("s1"))
    await owners.asked.wait()
    second = asyncio.create_task(lookups.owner("s2"))
    owners.gate.set()
    assert (await first, await second) == ("u1", "u2")
    assert owners.queries == [{"s1"}, {"s2"}]


async def test_a_failed_query_fails_every_waiting_check_and_the_next_one_retries() -> None:
    owners = Owners({"s1": "u1"})
    owners.error = ConnectionError("database down")
    lookups = SessionLookups(owners)
    results = await asyncio.gather(lookups.owner("s1"), lookups.owner("s2"), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    owners.error = None
    assert await lookups.owner("s1") == "u1"


async def test_a_caller_that_gives_up_leaves_the_answer_to_the_others() -> None:
    owners = Owners({"s1": "u1"})
    owners.gate.clear()
    lookups = SessionLookups(owners)
    impatient = asyncio.create_task(lookups.owner("s1"))
    patient = asyncio.create_task(lookups.owner("s1"))
    await owners.asked.wait()
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    owners.gate.set()
    assert await patient == "u1"
