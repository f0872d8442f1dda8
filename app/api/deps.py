"""`Annotated` dependency aliases: one per service, the acting user, the service key.

Routers declare the service they call (`MessageServiceDep`, …); none of them sees the whole
server.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.bootstrap import Server
from app.errors import Unauthorized, UpstreamUnavailable
from app.models import User
from app.services.ai.copilot.service import CopilotService
from app.services.ai.records_service import AIRecordsService
from app.services.attachments.service import AttachmentService
from app.services.core.account_service import AccountService
from app.services.core.actor import SERVICE, Actor
from app.services.core.auth_service import TokenService
from app.services.core.group_service import GroupService
from app.services.core.health_service import HealthService
from app.services.core.invite_service import InviteService
from app.services.core.message_service import MessageService
from app.services.core.session_service import SessionService
from app.services.core.user_service import Principal, UserService

bearer_scheme = HTTPBearer(
    auto_error=False, description="Access token from sign-up, login, refresh or /api/auth/token"
)
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


async def _sessions(request: Request) -> SessionService:
    return _server(request).sessions


async def _accounts(request: Request) -> AccountService:
    return _server(request).accounts


async def _invites(request: Request) -> InviteService:
    return _server(request).invites


async def _ai_records(request: Request) -> AIRecordsService:
    return _server(request).ai_records


async def _copilot(request: Request) -> CopilotService:
    ai = _server(request).ai
    if ai is None:
        raise UpstreamUnavailable("The AI layer is off (AI_ENABLED=false)", code="AI_DISABLED")
    return ai.copilot


async def _health(request: Request) -> HealthService:
    return _server(request).health


async def _attachments(request: Request) -> AttachmentService:
    return _server(request).attachments.service


MessageServiceDep = Annotated[MessageService, Depends(_messages)]
GroupServiceDep = Annotated[GroupService, Depends(_groups)]
UserServiceDep = Annotated[UserService, Depends(_users)]
SessionServiceDep = Annotated[SessionService, Depends(_sessions)]
AccountServiceDep = Annotated[AccountService, Depends(_accounts)]
InviteServiceDep = Annotated[InviteService, Depends(_invites)]
AIRecordsServiceDep = Annotated[AIRecordsService, Depends(_ai_records)]
HealthServiceDep = Annotated[HealthService, Depends(_health)]
CopilotServiceDep = Annotated[CopilotService, Depends(_copilot)]
AttachmentServiceDep = Annotated[AttachmentService, Depends(_attachments)]
TokenServiceDep = Annotated[TokenService, Depends(_tokens)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
ApiKeyDep = Annotated[str | None, Depends(api_key_scheme)]


async def _authenticate(
    users: UserService, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is None:
        raise Unauthorized("Missing bearer token", code="NOT_AUTHENTICATED")
    return await users.authenticate(credentials.credentials)


async def get_principal(request: Request, credentials: BearerDep) -> Principal:
    return await _authenticate(_server(request).users, credentials)


async def get_current_user(request: Request, credentials: BearerDep) -> User:
    """The caller. Resolved from the request rather than through `get_principal`: every
    authenticated call solves this, and each dependency level costs FastAPI a walk."""
    return (await _authenticate(_server(request).users, credentials)).user


async def client_ip(request: Request) -> str | None:
    """The peer's address as the server sees it (behind a proxy: uvicorn's
    `--forwarded-allow-ips` decides whether X-Forwarded-For is trusted)."""
    return request.client.host if request.client is not None else None


async def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


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
    return Actor(user=(await _authenticate(users, credentials)).user)


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
ClientIp = Annotated[str | None, Depends(client_ip)]
UserAgent = Annotated[str | None, Depends(user_agent)]
ServiceKey = Annotated[bool, Depends(has_service_key)]
ActorDep = Annotated[Actor, Depends(get_actor)]
