"""Users: sign-up, profile, password, system role, help-desk reset codes."""

from fastapi import APIRouter, Response, status

from app.api.deps import (
    AccountServiceDep,
    ActorDep,
    ClientIp,
    CurrentPrincipal,
    CurrentUser,
    ServiceKey,
    UserAgent,
    UserServiceDep,
)
from app.api.responses import errors
from app.schemas.auth import PasswordChange, ResetCodeResponse
from app.schemas.common import IdPath
from app.schemas.user import ProfileUpdate, UserCreate, UserResponse, UserUpdate, UserWithToken

router = APIRouter(prefix="/user", tags=["users"])


@router.post(
    "/create",
    status_code=status.HTTP_201_CREATED,
    response_model=UserWithToken,
    responses=errors(401, 403, 409, 422),
    summary="Register a user and open a session",
)
async def create_user(
    body: UserCreate, users: UserServiceDep, service_key: ServiceKey, agent: UserAgent
) -> UserWithToken:
    user, pair = await users.create_user(body, service_key=service_key, user_agent=agent)
    return UserWithToken.model_validate(
        {
            **UserResponse.model_validate(user).model_dump(),
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in,
        }
    )


@router.get("/me", response_model=UserResponse, responses=errors(401))
async def get_me(user: CurrentUser) -> UserResponse:
    return UserResponse.model_validate(user)


@router.patch("/me", response_model=UserResponse, responses=errors(401, 422))
async def update_me(body: ProfileUpdate, user: CurrentUser, users: UserServiceDep) -> UserResponse:
    return UserResponse.model_validate(await users.update_profile(user, body))


@router.put(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 422, 429),
    summary="Change my password (ends my other sessions)",
)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, accounts: AccountServiceDep, ip: ClientIp
) -> Response:
    await accounts.change_password(
        principal, body.current_password, body.new_password, client_ip=ip
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}", response_model=UserResponse, responses=errors(401, 404))
async def get_user(user_id: IdPath, _user: CurrentUser, users: UserServiceDep) -> UserResponse:
    return UserResponse.model_validate(await users.get_user(user_id))


@router.put(
    "/{user_id}/role",
    response_model=UserResponse,
    responses=errors(401, 403, 404, 422),
    summary="Change a user's system role (service key)",
)
async def update_role(
    user_id: IdPath, body: UserUpdate, actor: ActorDep, users: UserServiceDep
) -> UserResponse:
    user = await users.update_user_role(actor, user_id, body.user_role)
    return UserResponse.model_validate(user)


@router.post(
    "/{user_id}/password-reset",
    status_code=status.HTTP_201_CREATED,
    response_model=ResetCodeResponse,
    responses=errors(401, 403, 404),
    summary="A one-time password reset code for a help desk (service key)",
)
async def create_reset_code(
    user_id: IdPath, actor: ActorDep, accounts: AccountServiceDep
) -> ResetCodeResponse:
    return await accounts.create_reset_code(actor, user_id)
