"""Groups and members."""

from fastapi import APIRouter, Response, status

from app.api.deps import ActorDep, CurrentUser, GroupServiceDep
from app.api.responses import errors
from app.schemas.common import IdPath
from app.schemas.group import (
    GroupCreate,
    GroupMemberAdd,
    GroupMemberResponse,
    GroupResponse,
    GroupSummary,
    GroupUpdate,
)

router = APIRouter(prefix="/group", tags=["groups"])


@router.post(
    "/create",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupResponse,
    responses=errors(401, 403, 404, 422),
)
async def create_group(
    body: GroupCreate, actor: ActorDep, groups: GroupServiceDep
) -> GroupResponse:
    return await groups.create_group(actor, body)


@router.get("/list", response_model=list[GroupSummary], responses=errors(401))
async def list_groups(user: CurrentUser, groups: GroupServiceDep) -> list[GroupSummary]:
    return await groups.list_groups(user)


@router.get("/{group_id}", response_model=GroupResponse, responses=errors(401, 403, 404))
async def get_group(group_id: IdPath, user: CurrentUser, groups: GroupServiceDep) -> GroupResponse:
    return await groups.get_group(user, group_id)


@router.patch("/{group_id}", response_model=GroupResponse, responses=errors(401, 403, 404, 422))
async def update_group(
    group_id: IdPath, body: GroupUpdate, actor: ActorDep, groups: GroupServiceDep
) -> GroupResponse:
    return await groups.update_group(actor, group_id, body)


@router.post(
    "/{group_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupMemberResponse,
    responses=errors(401, 403, 404, 409, 422),
)
async def add_member(
    group_id: IdPath, body: GroupMemberAdd, actor: ActorDep, groups: GroupServiceDep
) -> GroupMemberResponse:
    return await groups.add_member(actor, group_id, body)


@router.get(
    "/{group_id}/members", response_model=list[GroupMemberResponse], responses=errors(401, 403, 404)
)
async def list_members(
    group_id: IdPath, user: CurrentUser, groups: GroupServiceDep
) -> list[GroupMemberResponse]:
    return await groups.get_group_members(user, group_id)


@router.delete(
    "/{group_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404),
)
async def remove_member(
    group_id: IdPath, user_id: IdPath, actor: ActorDep, groups: GroupServiceDep
) -> Response:
    await groups.remove_member(actor, group_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
