"""The per-user send limit (SPEC §2, §5): 429 + Retry-After + RATE_LIMITED; refused sends and
idempotent replays are not counted."""

import httpx
import pytest

from tests.changes import edit, recall
from tests.factories import assert_error, consultation, list_messages, send

LIMIT = 3
pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"rate_limit_messages_per_minute": LIMIT}], indirect=True
)


def assert_rate_limited(response: httpx.Response) -> None:
    error = assert_error(response, 429, "RATE_LIMITED")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"] == {"retry_after": retry_after}


async def test_sends_over_the_limit_are_429(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for n in range(LIMIT):
        assert (await send(client, room.patient, room.group_id, f"{n}")).status_code == 201
    assert_rate_limited(await send(client, room.patient, room.group_id, "one too many"))
    assert_rate_limited(await send(client, room.patient, room.group_id, "still too many"))
    listing = await list_messages(client, room.doctor, room.group_id)
    assert listing.json()["total"] == 1 + LIMIT


async def test_the_limit_is_per_user(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for n in range(LIMIT):
        assert (await send(client, room.patient, room.group_id, f"{n}")).status_code == 201
    assert_rate_limited(await send(client, room.patient, room.group_id, "x"))
    assert (await send(client, room.doctor, room.group_id, "doctor")).status_code == 201


async def test_refused_sends_are_not_counted(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider_room = await consultation(client)
    for _ in range(LIMIT + 2):
        refused = await send(client, room.patient, outsider_room.group_id, "not a member")
        assert_error(refused, 403, "NOT_A_MEMBER")
        missing = await send(client, room.patient, "group_nope", "no such group")
        assert_error(missing, 404, "GROUP_NOT_FOUND")
        invalid = await send(client, room.patient, room.group_id, "")
        assert_error(invalid, 422)
    for n in range(LIMIT):
        assert (await send(client, room.patient, room.group_id, f"{n}")).status_code == 201
    assert_rate_limited(await send(client, room.patient, room.group_id, "over"))


async def test_idempotent_replays_are_not_counted(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    first = await send(client, room.patient, room.group_id, "once", client_msg_id="k1")
    assert first.status_code == 201
    for _ in range(LIMIT + 2):
        replay = await send(client, room.patient, room.group_id, "once", client_msg_id="k1")
        assert replay.status_code == 200
    for n in range(LIMIT - 1):
        assert (await send(client, room.patient, room.group_id, f"{n}")).status_code == 201
    assert_rate_limited(await send(client, room.patient, room.group_id, "over"))


async def test_a_replay_at_the_limit_still_returns_the_original(client: httpx.AsyncClient) -> None:
    """A client retrying a send whose answer it lost must learn it was stored, not see 429."""
    room = await consultation(client)
    first = await send(client, room.patient, room.group_id, "a", client_msg_id="lost-answer")
    for n in range(LIMIT - 1):
        assert (await send(client, room.patient, room.group_id, f"{n}")).status_code == 201
    assert_rate_limited(await send(client, room.patient, room.group_id, "new"))
    replay = await send(client, room.patient, room.group_id, "a", client_msg_id="lost-answer")
    assert replay.status_code == 200
    assert replay.json() == first.json()


async def test_edits_and_recalls_count_and_refused_ones_do_not(
    client: httpx.AsyncClient,
) -> None:
    """Each change appends to the log, so a flood of edits is limited like a flood of sends."""
    room = await consultation(client)
    sent = await send(client, room.patient, room.group_id, "one")
    message_id = sent.json()["message_id"]
    refused = await edit(client, room.doctor, message_id, "not the sender")
    assert_error(refused, 403, "NOT_THE_SENDER")
    assert (await edit(client, room.patient, message_id, "two")).status_code == 200
    assert (await recall(client, room.patient, message_id)).status_code == 200
    assert_rate_limited(await send(client, room.patient, room.group_id, "four"))
