"""`Annotated` dependency aliases: one per service, the acting user, the service key.

Routers declare the service they call (`MessageServiceDep`, …); none of them sees the whole
server.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.bootstrap import Server
from app.errors import Unauthorized
from app.models import User
from app.services.ai.records_service import AIRecordsService
from app.services.core.actor import SERVICE, Actor
from app.services.core.auth_service import TokenService
from app.services.core.group_service import GroupService
from app.services.core.health_service import HealthService
from app.services.core.message_service import MessageService
from app.services.core.user_service import UserService

bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /api/user/create")
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="SERVICE_API_KEY, for trusted back ends"
)


def _server(request: Request) -> Server:
    """Not a dependency itself: FastAPI runs a plain `def` dependency in its thread pool, so
    every alias below is `async def` (a hop to a worker thread costs more than the lookup)."""
    server: Server = request.app.state.server
    return server


async def _messages(request: Request) -> MessageService:
    return _server(request).messages


async def _groups(request: Request) -> GroupService:
    return _server(request).groups


async def _users(request: Request) -> UserService:
    return _server(request).users


async def _tokens(request: Request) -> TokenService:
    return _server(request).tokens


async def _ai_records(request: Request) -> AIRecordsService:
    return _server(request).ai_records


async def _health(request: Request) -> HealthService:
    return _server(request).health


MessageServiceDep = Annotated[MessageService, Depends(_messages)]
GroupServiceDep = Annotated[GroupService, Depends(_groups)]
UserServiceDep = Annotated[UserService, Depends(_users)]
AIRecordsServiceDep = Annotated[AIRecordsService, Depends(_ai_records)]
HealthServiceDep = Annotated[HealthService, Depends(_health)]
TokenServiceDep = Annotated[TokenService, Depends(_tokens)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
ApiKeyDep = Annotated[str | None, Depends(api_key_scheme)]


async def get_current_user(users: UserServiceDep, credentials: BearerDep) -> User:
    if credentials is None:
        raise Unauthorized("Missing bearer token", code="NOT_AUTHENTICATED")
    return await users.authenticate(credentials.credentials)


async def has_service_key(tokens: TokenServiceDep, api_key: ApiKeyDep) -> bool:
    if api_key is None:
        return False
    if not tokens.is_service_key(api_key):
        raise Unauthorized("Invalid X-API-Key", code="INVALID_API_KEY")
    return True


async def get_actor(
    users: UserServiceDep, tokens: TokenServiceDep, credentials: BearerDep, api_key: ApiKeyDep
) -> Actor:
    """The service key when a valid one is given, else the bearer token's user."""
    if await has_service_key(tokens, api_key):
        return SERVICE
    return Actor(user=await get_current_user(users, credentials))


CurrentUser = Annotated[User, Depends(get_current_user)]
ServiceKey = Annotated[bool, Depends(has_service_key)]
ActorDep = Annotated[Actor, Depends(get_actor)]
