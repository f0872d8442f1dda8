"""Messages: send, edit, recall, read one (and, with the service key, its revisions), list (page
form and cursor form), mark read.

`/list` is declared before `/{message_id}` so the path parameter cannot shadow it.
"""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from app.api.deps import ActorDep, CurrentUser, MessageServiceDep
from app.api.responses import errors
from app.errors import InvalidInput
from app.schemas.common import GroupIdQuery, IdPath
from app.schemas.message import (
    MAX_SEQ,
    MessageCreate,
    MessageCursorResponse,
    MessageEdit,
    MessageListResponse,
    MessageResponse,
    MessageRevisionsResponse,
    ReadMark,
    ReadMarkResponse,
    RevisionResponse,
)

router = APIRouter(prefix="/message", tags=["messages"])


@router.post(
    "/send",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageResponse,
    responses={
        200: {"model": MessageResponse, "description": "Replay of a client_msg_id"},
        **errors(401, 403, 404, 422, 429, 503),
    },
)
async def send_message(
    body: MessageCreate, user: CurrentUser, messages: MessageServiceDep
) -> Response:
    result = await messages.send_message(user, body)
    # The busiest write: serialised once here rather than returned as a model that FastAPI
    # would validate again before serialising it.
    return Response(
        messages.response(result.message).model_dump_json(),
        status_code=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.get(
    "/list",
    response_model=MessageListResponse | MessageCursorResponse,
    responses=errors(401, 403, 404, 422),
    summary="Page form (page, page_size) or cursor form (after_seq | before_seq, limit)",
)
async def list_messages(
    user: CurrentUser,
    messages: MessageServiceDep,
    group_id: GroupIdQuery,
    page: Annotated[int, Query(ge=1, le=MAX_SEQ)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    if after_seq is not None and before_seq is not None:
        raise InvalidInput("Give after_seq or before_seq, not both", code="CONFLICTING_CURSORS")
    body: dict[str, object]
    if after_seq is not None or before_seq is not None:
        cursor = await messages.get_messages_page(
            user, group_id, after_seq=after_seq, before_seq=before_seq, limit=limit
        )
        body = {"messages": cursor.messages, "has_more": cursor.has_more}
    else:
        rows, total = await messages.get_messages(user, group_id, page, page_size)
        body = {"messages": rows, "total": total, "page": page, "page_size": page_size}
    # Rows are JSON-ready: serialised once here instead of validated into models per message.
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")


@router.post("/read", response_model=ReadMarkResponse, responses=errors(401, 403, 404, 422))
async def mark_read(
    body: ReadMark, user: CurrentUser, messages: MessageServiceDep
) -> ReadMarkResponse:
    mark = await messages.mark_read(user, body.group_id, body.seq)
    return ReadMarkResponse(group_id=body.group_id, user_id=user.user_id, last_read_seq=mark)


@router.get("/{message_id}", response_model=MessageResponse, responses=errors(401, 403, 404))
async def get_message(
    message_id: IdPath, user: CurrentUser, messages: MessageServiceDep
) -> MessageResponse:
    return messages.response(await messages.get_message(user, message_id))


@router.patch(
    "/{message_id}",
    response_model=MessageResponse,
    responses=errors(401, 403, 404, 409, 422, 429),
    summary="Edit my message: appends an EDIT entry; returns the message as edited",
)
async def edit_message(
    message_id: IdPath, body: MessageEdit, user: CurrentUser, messages: MessageServiceDep
) -> MessageResponse:
    changed = await messages.edit_message(user, message_id, body.content)
    return messages.response(changed.target)


@router.post(
    "/{message_id}/recall",
    response_model=MessageResponse,
    responses=errors(401, 403, 404, 409, 422, 429),
    summary="Recall a message: appends a RECALL entry; returns the message as recalled",
)
async def recall_message(
    message_id: IdPath, user: CurrentUser, messages: MessageServiceDep
) -> MessageResponse:
    changed = await messages.recall_message(user, message_id)
    return messages.response(changed.target)


@router.get(
    "/{message_id}/revisions",
    response_model=MessageRevisionsResponse,
    responses=errors(401, 403, 404),
    summary="A message's earlier contents (service key)",
)
async def get_revisions(
    message_id: IdPath, actor: ActorDep, messages: MessageServiceDep
) -> MessageRevisionsResponse:
    message, revisions = await messages.get_revisions(actor, message_id)
    return MessageRevisionsResponse(
        message=messages.response(message),
        revisions=[RevisionResponse.model_validate(revision) for revision in revisions],
    )
