"""Message history (SPEC §5): the page form, the cursor form, and their bounds (422, never clamped).

One group of 250 messages (seq 1 is the patient's join, 2..250 are texts) serves every test here.
"""

import asyncio
from typing import Any

import httpx
import pytest

from tests.factories import Consultation, assert_error, consultation, list_messages, send_ok

TOTAL = 250


async def busy_group(client: httpx.AsyncClient) -> Consultation:
    """Sent concurrently (the writer stores them in a few batches); seqs stay dense."""
    room = await consultation(client)
    await asyncio.gather(
        *(
            send_ok(
                client, room.doctor if number % 2 else room.patient, room.group_id, f"m{number}"
            )
            for number in range(2, TOTAL + 1)
        )
    )
    return room


def seqs(body: dict[str, Any]) -> list[int]:
    return [message["seq"] for message in body["messages"]]


async def test_page_form_is_newest_first_with_total(client: httpx.AsyncClient) -> None:
    room = await busy_group(client)
    seen: list[int] = []
    for page in (1, 2, 3):
        response = await list_messages(
            client, room.patient, room.group_id, page=page, page_size=100
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["page"], body["page_size"]) == (TOTAL, page, 100)
        seen += seqs(body)
    assert seen == list(range(TOTAL, 0, -1))
    beyond = await list_messages(client, room.patient, room.group_id, page=4, page_size=100)
    assert beyond.json()["messages"] == [] and beyond.json()["total"] == TOTAL

    default = (await list_messages(client, room.patient, room.group_id)).json()
    assert (default["page"], default["page_size"], default["total"]) == (1, 20, TOTAL)
    assert seqs(default) == list(range(TOTAL, TOTAL - 20, -1))
    assert default["messages"][0]["seq"] == TOTAL

    small = (await list_messages(client, room.patient, room.group_id, page=7, page_size=7)).json()
    assert seqs(small) == list(range(TOTAL - 42, TOTAL - 49, -1))
    single = (await list_messages(client, room.patient, room.group_id, page=1, page_size=1)).json()
    assert seqs(single) == [TOTAL]


async def test_cursor_forms(client: httpx.AsyncClient) -> None:
    room = await busy_group(client)

    async def cursor(**params: Any) -> dict[str, Any]:
        response = await list_messages(client, room.doctor, room.group_id, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert set(body) == {"messages", "has_more"}
        return body

    first = await cursor(after_seq=0, limit=200)
    assert seqs(first) == list(range(1, 201)) and first["has_more"] is True
    rest = await cursor(after_seq=200, limit=200)
    assert seqs(rest) == list(range(201, TOTAL + 1)) and rest["has_more"] is False
    exact = await cursor(after_seq=TOTAL - 10, limit=10)
    assert seqs(exact) == list(range(TOTAL - 9, TOTAL + 1)) and exact["has_more"] is False
    default = await cursor(after_seq=0)
    assert seqs(default) == list(range(1, 51)) and default["has_more"] is True
    at_end = await cursor(after_seq=TOTAL)
    assert at_end == {"messages": [], "has_more": False}
    past_end = await cursor(after_seq=TOTAL + 100)
    assert past_end == {"messages": [], "has_more": False}

    back = await cursor(before_seq=TOTAL + 1, limit=50)
    assert seqs(back) == list(range(TOTAL, TOTAL - 50, -1)) and back["has_more"] is True
    older = await cursor(before_seq=51, limit=50)
    assert seqs(older) == list(range(50, 0, -1)) and older["has_more"] is False
    oldest = await cursor(before_seq=1)
    assert oldest == {"messages": [], "has_more": False}
    default_back = await cursor(before_seq=100)
    assert seqs(default_back) == list(range(99, 49, -1)) and default_back["has_more"] is True

    # Scrolling back from the newest page reaches seq 1 without a gap or a repeat.
    newest = (await list_messages(client, room.doctor, room.group_id, page_size=30)).json()
    collected = seqs(newest)
    while True:
        page = await cursor(before_seq=collected[-1], limit=77)
        collected += seqs(page)
        if not page["has_more"]:
            break
    assert collected == list(range(TOTAL, 0, -1))


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"page": "one"},
        {"page_size": 0},
        {"page_size": 101},
        {"page_size": -5},
        {"after_seq": -1},
        {"before_seq": 0},
        {"before_seq": -3},
        {"after_seq": 0, "limit": 0},
        {"after_seq": 0, "limit": 201},
        {"before_seq": 10, "limit": 201},
        {"after_seq": "x"},
        {"page": 2**31},
        {"page": 10**20},
        {"after_seq": 2**31},
        {"after_seq": 10**20},
        {"before_seq": 2**31},
        {"before_seq": 10**20},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
async def test_out_of_range_query_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    room = await consultation(client)
    error = assert_error(
        await list_messages(client, room.doctor, room.group_id, **params), 422, "VALIDATION_ERROR"
    )
    assert error["details"]


async def test_page_size_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for params in (
        {"page_size": 1},
        {"page_size": 100},
        {"after_seq": 0, "limit": 1},
        {"after_seq": 0, "limit": 200},
    ):
        response = await list_messages(client, room.doctor, room.group_id, **params)
        assert response.status_code == 200, params


async def test_both_cursors_at_once_are_422(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await list_messages(client, room.doctor, room.group_id, after_seq=0, before_seq=5)
    assert_error(response, 422)


async def test_the_largest_cursors_and_pages_answer_empty(client: httpx.AsyncClient) -> None:
    """Up to the largest seq a cursor is valid; a far page is simply empty (never a 500)."""
    room = await consultation(client)
    largest = 2**31 - 1
    for params in ({"page": largest, "page_size": 100}, {"after_seq": largest}):
        response = await list_messages(client, room.doctor, room.group_id, **params)
        assert response.status_code == 200, params
        assert response.json()["messages"] == []
    back = await list_messages(client, room.doctor, room.group_id, before_seq=largest)
    assert [m["seq"] for m in back.json()["messages"]] == [1]
