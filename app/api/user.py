"""Users: sign-up, profile, system role."""

from fastapi import APIRouter, status

from app.api.deps import ActorDep, CurrentUser, ServiceKey, UserServiceDep
from app.api.responses import errors
from app.schemas.common import IdPath
from app.schemas.user import UserCreate, UserResponse, UserUpdate, UserWithToken

router = APIRouter(prefix="/user", tags=["users"])


@router.post(
    "/create",
    status_code=status.HTTP_201_CREATED,
    response_model=UserWithToken,
    responses=errors(401, 403, 422),
    summary="Register a user and get an access token",
)
async def create_user(
    body: UserCreate, users: UserServiceDep, service_key: ServiceKey
) -> UserWithToken:
    user, token = await users.create_user(body, service_key=service_key)
    return UserWithToken.model_validate(
        {**UserResponse.model_validate(user).model_dump(), "access_token": token.access_token}
    )


@router.get("/me", response_model=UserResponse, responses=errors(401))
async def get_me(user: CurrentUser) -> UserResponse:
    return UserResponse.model_validate(user)


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
