"""Notifications (SPEC §13): Web Push subscriptions for signed-in users, and the webhook
deliveries for back ends holding the service key."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.api.deps import ActorDep, CurrentUser
from app.api.responses import errors
from app.errors import PermissionDenied
from app.models.webhook_delivery import DeliveryStatus
from app.notifications.service import NotificationService
from app.notifications.subscriptions import Subscription
from app.schemas.common import IdPath
from app.schemas.notifications import (
    PushPublicKeyResponse,
    PushSubscriptionCreate,
    PushSubscriptionDelete,
    PushSubscriptionResponse,
    WebhookDeliveryListResponse,
    WebhookDeliveryResponse,
)

router = APIRouter(tags=["notifications"])


async def _notifications(request: Request) -> NotificationService:
    layer = request.app.state.server.notifications
    service: NotificationService = layer.service
    return service


NotificationServiceDep = Annotated[NotificationService, Depends(_notifications)]


def _require_service_key(actor: ActorDep) -> None:
    if not actor.is_service:
        raise PermissionDenied(
            "Webhook deliveries are for the service key only", code="SERVICE_KEY_REQUIRED"
        )


@router.get(
    "/push/public-key",
    response_model=PushPublicKeyResponse,
    summary="The VAPID key browsers subscribe with (`enabled` false and no key when off)",
)
async def push_public_key(notifications: NotificationServiceDep) -> PushPublicKeyResponse:
    key = notifications.public_key
    return PushPublicKeyResponse(enabled=key is not None, public_key=key)


@router.post(
    "/push/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=PushSubscriptionResponse,
    responses=errors(401, 404, 422),
    summary="Register this browser's push subscription for the signed-in user",
)
async def subscribe(
    body: PushSubscriptionCreate, user: CurrentUser, notifications: NotificationServiceDep
) -> PushSubscriptionResponse:
    subscription = Subscription(body.endpoint, body.keys.p256dh, body.keys.auth)
    await notifications.subscribe(user.user_id, subscription)
    return PushSubscriptionResponse(endpoint=body.endpoint)


@router.delete(
    "/push/subscriptions",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 404, 422),
    summary="Forget one of the signed-in user's push subscriptions",
)
async def unsubscribe(
    body: PushSubscriptionDelete, user: CurrentUser, notifications: NotificationServiceDep
) -> Response:
    await notifications.unsubscribe(user.user_id, body.endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/admin/webhook-deliveries",
    response_model=WebhookDeliveryListResponse,
    responses=errors(401, 403, 422),
    summary="Webhook deliveries, newest first (service key)",
)
async def list_deliveries(
    actor: ActorDep,
    notifications: NotificationServiceDep,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> WebhookDeliveryListResponse:
    _require_service_key(actor)
    rows = await notifications.deliveries(delivery_status, limit)
    return WebhookDeliveryListResponse(
        deliveries=[WebhookDeliveryResponse.model_validate(row) for row in rows]
    )


@router.post(
    "/admin/webhook-deliveries/{delivery_id}/retry",
    response_model=WebhookDeliveryResponse,
    responses=errors(401, 403, 404, 409),
    summary="Deliver a webhook again now, with a fresh WEBHOOK_MAX_HOURS (service key)",
)
async def retry_delivery(
    delivery_id: IdPath, actor: ActorDep, notifications: NotificationServiceDep
) -> WebhookDeliveryResponse:
    _require_service_key(actor)
    return WebhookDeliveryResponse.model_validate(await notifications.retry(delivery_id))
