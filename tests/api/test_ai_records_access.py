"""Who reads a group's AI interaction records (SPEC §4): its DOCTOR members and the service key.

The records themselves are the AI layer's (tests/ai/); here only the core's access rules."""

from typing import Any

import httpx
import pytest

from tests.factories import SERVICE_HEADERS, assert_error, consultation, create_user


async def records(
    client: httpx.AsyncClient, group_id: str, headers: dict[str, str], **params: Any
) -> httpx.Response:
    return await client.get(
        "/api/ai/interactions", params={"group_id": group_id, **params}, headers=headers
    )


async def test_group_doctors_and_the_service_key_read_records(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for headers in (room.doctor.headers, SERVICE_HEADERS):
        response = await records(client, room.group_id, headers)
        assert response.status_code == 200
        assert response.json() == {"records": [], "total": 0, "page": 1, "page_size": 20}


async def test_patients_outsiders_and_anonymous_are_refused(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider = await create_user(client, "DOCTOR")
    assert_error(
        await records(client, room.group_id, room.patient.headers), 403, "NOT_GROUP_DOCTOR"
    )
    assert_error(await records(client, room.group_id, outsider.headers), 403, "NOT_A_MEMBER")
    assert_error(await records(client, room.group_id, {}), 401)
    assert_error(await records(client, room.group_id, {"X-API-Key": "bad"}), 401)
    assert_error(await records(client, "group_nope", room.doctor.headers), 404, "GROUP_NOT_FOUND")


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}], ids=["page0", "size0", "size101"]
)
async def test_record_paging_is_validated(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    room = await consultation(client)
    response = await records(client, room.group_id, room.doctor.headers, **params)
    assert_error(response, 422, "VALIDATION_ERROR")
