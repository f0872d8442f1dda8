"""Web Push subscriptions and webhook deliveries (SPEC §13)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models.webhook_delivery import DeliveryStatus
from app.notifications.subscriptions import check_auth, check_endpoint, check_p256dh
from app.schemas.common import StrictRequest

MAX_ENDPOINT_CHARS = 2048


class PushKeys(StrictRequest):
    p256dh: str = Field(max_length=128, description="The browser's P-256 key, base64url")
    auth: str = Field(max_length=64, description="The 16-byte auth secret, base64url")

    @field_validator("p256dh")
    @classmethod
    def _p256dh(cls, value: str) -> str:
        return check_p256dh(value)

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        return check_auth(value)


class PushSubscriptionCreate(StrictRequest):
    """A browser's `PushSubscription.toJSON()`."""

    endpoint: str = Field(max_length=MAX_ENDPOINT_CHARS)
    keys: PushKeys
    expirationTime: int | None = None
    """The browser's own field (ignored)."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return check_endpoint(value)


class PushSubscriptionDelete(StrictRequest):
    endpoint: str = Field(max_length=MAX_ENDPOINT_CHARS)


class PushSubscriptionResponse(BaseModel):
    endpoint: str


class PushPublicKeyResponse(BaseModel):
    enabled: bool = Field(description="Web Push is on here (PUSH_ENABLED)")
    public_key: str | None = Field(
        description="VAPID applicationServerKey, base64url; null when off"
    )


class WebhookDeliveryResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delivery_id: str
    event_type: str
    group_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    expires_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    body: str = Field(description="The JSON body sent, byte for byte")


class WebhookDeliveryListResponse(BaseModel):
    deliveries: list[WebhookDeliveryResponse]
