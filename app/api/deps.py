"""`Annotated` dependency aliases: the container, the acting user, the service key."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.dependencies import Container
from app.errors import Unauthorized
from app.models import User
from app.services.core.actor import SERVICE, Actor

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/user/create")
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="SERVICE_API_KEY, for trusted back ends"
)


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
ApiKeyDep = Annotated[str | None, Depends(api_key_scheme)]


async def get_current_user(container: ContainerDep, credentials: BearerDep) -> User:
    if credentials is None:
        raise Unauthorized("Missing bearer token", code="NOT_AUTHENTICATED")
    return await container.users.authenticate(credentials.credentials)


async def has_service_key(container: ContainerDep, api_key: ApiKeyDep) -> bool:
    if api_key is None:
        return False
    if not container.tokens.is_service_key(api_key):
        raise Unauthorized("Invalid X-API-Key", code="INVALID_API_KEY")
    return True


async def get_actor(container: ContainerDep, credentials: BearerDep, api_key: ApiKeyDep) -> Actor:
    """The service key when a valid one is given, else the bearer token's user."""
    if await has_service_key(container, api_key):
        return SERVICE
    return Actor(user=await get_current_user(container, credentials))


CurrentUser = Annotated[User, Depends(get_current_user)]
ServiceKey = Annotated[bool, Depends(has_service_key)]
ActorDep = Annotated[Actor, Depends(get_actor)]
