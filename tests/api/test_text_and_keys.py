"""Text and keys behave alike on every database (SPEC §14): emoji and every CJK character
round-trip, ids and idempotency keys compare byte for byte (case and trailing spaces count),
and timestamps keep their microseconds."""

from datetime import datetime

import httpx

from tests.factories import add_member, create_group, create_user, list_messages, send, send_ok

# 4-byte characters (MySQL's 3-byte `utf8` cannot hold them): emoji, a ZWJ sequence, a flag,
# CJK Extension B; and 3-byte CJK, Hangul, kana, full-width forms.
DOCTOR_NAME = "王医生 👩‍⚕️"
PATIENT_NAME = "𠮷野家 患者 🤒"
GROUP_NAME = "发热咨询 🇨🇳 𪚥 한국어 かな"
DESCRIPTION = "夜间发烧三天 😷 — 𠀀𠀁 \uff21\uff22\uff23"
CONTENT = "我发烧 38.5℃ 🤒🔥, 吃了布洛芬 💊; 𩸽 𠮷 👨‍👩‍👧 — ok?"


async def test_emoji_and_cjk_round_trip_everywhere(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR", DOCTOR_NAME)
    patient = await create_user(client, "PATIENT", PATIENT_NAME)
    assert (doctor.username, patient.username) == (DOCTOR_NAME, PATIENT_NAME)
    group = await create_group(client, doctor, GROUP_NAME, description=DESCRIPTION)
    group_id = group["group_id"]
    await add_member(client, doctor, group_id, patient)
    sent = await send_ok(client, patient, group_id, CONTENT, client_msg_id="🤒-1")
    assert sent["msg_content"] == CONTENT and sent["client_msg_id"] == "🤒-1"

    me = await client.get(f"/api/user/{patient.user_id}", headers=doctor.headers)
    assert me.json()["username"] == PATIENT_NAME
    loaded = (await client.get(f"/api/group/{group_id}", headers=patient.headers)).json()
    assert (loaded["group_name"], loaded["description"]) == (GROUP_NAME, DESCRIPTION)
    members = await client.get(f"/api/group/{group_id}/members", headers=patient.headers)
    assert {m["username"] for m in members.json()} == {DOCTOR_NAME, PATIENT_NAME}
    page = (await list_messages(client, doctor, group_id)).json()["messages"]
    assert page[0]["msg_content"] == CONTENT
    assert page[1]["msg_content"] == f"{DOCTOR_NAME} added {PATIENT_NAME}"
    synced = (await list_messages(client, doctor, group_id, after_seq=0)).json()["messages"]
    assert synced[-1]["msg_content"] == CONTENT
    one = await client.get(f"/api/message/{sent['message_id']}", headers=doctor.headers)
    assert one.json()["msg_content"] == CONTENT
    [summary] = (await client.get("/api/group/list", headers=doctor.headers)).json()
    assert summary["group_name"] == GROUP_NAME
    assert summary["last_message"]["msg_content"] == CONTENT

    replay = await send(client, patient, group_id, CONTENT, client_msg_id="🤒-1")
    assert replay.status_code == 200 and replay.json()["message_id"] == sent["message_id"]


async def test_idempotency_keys_differ_by_case_and_trailing_space(
    client: httpx.AsyncClient,
) -> None:
    """`k`, `K` and `k ` are three keys, as on PostgreSQL: a case-insensitive or PAD SPACE
    collation would answer the second and third with the first message."""
    doctor = await create_user(client, "DOCTOR")
    group_id = (await create_group(client, doctor))["group_id"]
    keys = ("k", "K", "k ", "\uff4b")  # the last: full-width k
    sent = [
        await send_ok(client, doctor, group_id, f"via {key!r}", client_msg_id=key) for key in keys
    ]
    assert [m["client_msg_id"] for m in sent] == list(keys)
    assert len({m["message_id"] for m in sent}) == len(keys)
    for key, original in zip(keys, sent, strict=True):
        again = await send(client, doctor, group_id, "retry", client_msg_id=key)
        assert again.status_code == 200
        assert again.json()["message_id"] == original["message_id"]


async def test_ids_are_case_and_space_sensitive(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    group_id = (await create_group(client, doctor))["group_id"]
    for lookalike in (group_id.upper(), group_id.replace("group_", "GROUP_")):
        response = await client.get(f"/api/group/{lookalike}", headers=doctor.headers)
        assert response.status_code == 404, lookalike
    response = await client.get(f"/api/user/{doctor.user_id.upper()}", headers=doctor.headers)
    assert response.status_code == 404
    for lookalike in (f"{group_id} ", group_id.upper()):
        response = await send(client, doctor, lookalike, "hello")
        assert response.status_code == 404, lookalike
    page = (await list_messages(client, doctor, group_id)).json()
    assert page["total"] == 0


async def test_created_at_keeps_microseconds_in_utc(client: httpx.AsyncClient) -> None:
    """MySQL's DATETIME defaults to whole seconds: a burst would tie and lose its order."""
    doctor = await create_user(client, "DOCTOR")
    group_id = (await create_group(client, doctor))["group_id"]
    sent = [await send_ok(client, doctor, group_id, f"m{n}") for n in range(5)]
    page = (await list_messages(client, doctor, group_id, after_seq=0)).json()["messages"]
    stamps = [datetime.fromisoformat(m["created_at"]) for m in page]
    assert [m["created_at"] for m in page] == [m["created_at"] for m in sent]
    assert all(stamp.utcoffset() is not None and not stamp.utcoffset() for stamp in stamps)
    assert stamps == sorted(stamps)
    assert any(stamp.microsecond for stamp in stamps)
