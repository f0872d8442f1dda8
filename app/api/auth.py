"""Tokens for existing users, issued to back ends holding the service key."""

from fastapi import APIRouter

from app.api.deps import ServiceKey, UserServiceDep
from app.api.responses import errors
from app.schemas.user import TokenRequest, TokenResponse
from app.services.core.actor import SERVICE, Actor

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse, responses=errors(401, 404, 422))
async def issue_token(
    body: TokenRequest, users: UserServiceDep, service_key: ServiceKey
) -> TokenResponse:
    actor = SERVICE if service_key else Actor()
    token = await users.issue_token(actor, body.user_id)
    return TokenResponse(access_token=token.access_token, expires_in=token.expires_in)
