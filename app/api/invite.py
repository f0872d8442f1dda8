"""Invites: a group's invites (create, list), doctor invites, the public preview, accept,
revoke."""

from fastapi import APIRouter, Response, status

from app.api.deps import ActorDep, CurrentUser, InviteServiceDep
from app.api.responses import errors
from app.schemas.common import IdPath
from app.schemas.group import GroupMemberResponse
from app.schemas.invite import DoctorInviteCreate, GroupInviteCreate, InvitePreview, InviteResponse

router = APIRouter(tags=["invites"])


@router.post(
    "/group/{group_id}/invites",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteResponse,
    responses=errors(401, 403, 404, 422),
    summary="Invite people into a group (the group's doctors)",
)
async def create_group_invite(
    group_id: IdPath, body: GroupInviteCreate, actor: ActorDep, invites: InviteServiceDep
) -> InviteResponse:
    return await invites.create_group_invite(actor, group_id, body)


@router.get(
    "/group/{group_id}/invites",
    response_model=list[InviteResponse],
    responses=errors(401, 403, 404),
    summary="The group's usable invites",
)
async def list_group_invites(
    group_id: IdPath, actor: ActorDep, invites: InviteServiceDep
) -> list[InviteResponse]:
    return await invites.list_group_invites(actor, group_id)


@router.post(
    "/invites",
    status_code=status.HTTP_201_CREATED,
    response_model=InviteResponse,
    responses=errors(401, 403, 422),
    summary="A doctor invite, used once at sign-up (a DOCTOR or the service key)",
)
async def create_doctor_invite(
    body: DoctorInviteCreate, actor: ActorDep, invites: InviteServiceDep
) -> InviteResponse:
    return await invites.create_doctor_invite(actor, body)


@router.get(
    "/invites/{code}",
    response_model=InvitePreview,
    responses=errors(404),
    summary="What an invite offers (no sign-in needed)",
)
async def preview_invite(code: str, invites: InviteServiceDep) -> InvitePreview:
    return await invites.preview(code)


@router.post(
    "/invites/{code}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupMemberResponse,
    responses=errors(401, 404, 409),
    summary="Join the invite's group",
)
async def accept_invite(
    code: str, user: CurrentUser, invites: InviteServiceDep
) -> GroupMemberResponse:
    return await invites.accept(user, code)


@router.delete(
    "/invites/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404),
    summary="Revoke an invite",
)
async def revoke_invite(code: str, actor: ActorDep, invites: InviteServiceDep) -> Response:
    await invites.revoke(actor, code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
