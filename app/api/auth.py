"""Signing in and out: login, refresh, logout, my sessions, password reset with a code, and
tokens for back ends holding the service key."""

from fastapi import APIRouter, Response, status

from app.api.deps import (
    AccountServiceDep,
    ClientIp,
    CurrentPrincipal,
    ServiceKey,
    SessionServiceDep,
    UserAgent,
    UserServiceDep,
)
from app.api.responses import errors
from app.schemas.auth import (
    LoginRequest,
    LoginResponse,
    PasswordReset,
    RefreshRequest,
    SessionResponse,
    TokenPairResponse,
)
from app.schemas.common import IdPath
from app.schemas.user import TokenRequest, UserResponse
from app.services.core.actor import SERVICE, Actor
from app.services.core.session_service import TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])


def _pair(pair: TokenPair) -> TokenPairResponse:
    return TokenPairResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/token",
    response_model=TokenPairResponse,
    responses=errors(401, 404, 422),
    summary="Open a session for an existing user (service key)",
)
async def issue_token(
    body: TokenRequest, users: UserServiceDep, service_key: ServiceKey, agent: UserAgent
) -> TokenPairResponse:
    actor = SERVICE if service_key else Actor()
    return _pair(await users.issue_token(actor, body.user_id, agent))


@router.post(
    "/login", response_model=LoginResponse, responses=errors(401, 422, 429), summary="Sign in"
)
async def login(
    body: LoginRequest, accounts: AccountServiceDep, ip: ClientIp, agent: UserAgent
) -> LoginResponse:
    user, pair = await accounts.login(body.login, body.password, client_ip=ip, user_agent=agent)
    return LoginResponse(user=UserResponse.model_validate(user), **_pair(pair).model_dump())


@router.post(
    "/refresh",
    response_model=TokenPairResponse,
    responses=errors(401, 422),
    summary="A new token pair for a refresh token (which is used up)",
)
async def refresh(body: RefreshRequest, sessions: SessionServiceDep) -> TokenPairResponse:
    return _pair(await sessions.refresh(body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401),
    summary="End this session",
)
async def logout(principal: CurrentPrincipal, sessions: SessionServiceDep) -> Response:
    await sessions.end(principal.user.user_id, principal.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions", response_model=list[SessionResponse], responses=errors(401))
async def list_sessions(
    principal: CurrentPrincipal, sessions: SessionServiceDep
) -> list[SessionResponse]:
    return await sessions.list(principal.user.user_id, principal.session_id)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 404),
    summary="End one of my sessions",
)
async def end_session(
    session_id: IdPath, principal: CurrentPrincipal, sessions: SessionServiceDep
) -> Response:
    await sessions.end(principal.user.user_id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(400, 422),
    summary="Set a new password with a help-desk reset code",
)
async def reset_password(body: PasswordReset, accounts: AccountServiceDep) -> Response:
    await accounts.reset_password(body.code, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
