"""Redis pub/sub broker: every instance publishes to and listens on one channel.

The listener reconnects by itself with back-off when Redis goes away; envelopes published while
it is down are not replayed (clients recover them with `sync`).
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.realtime.broker import BrokerUnavailable, EnvelopeHandler, ResubscribedHandler
from app.realtime.envelope import Envelope

logger = logging.getLogger(__name__)
RECONNECT_MAX_DELAY = 5.0


class RedisBroker:
    def __init__(self, url: str, channel: str) -> None:
        self.channel = channel
        self.redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
        )
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        self._listener = asyncio.create_task(
            self._listen(on_envelope, on_resubscribed), name="redis-broker-listener"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=3)

    async def _listen(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        delay = 0.1
        reconnecting = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                delay = 0.1
                logger.info("broker subscribed to %s", self.channel)
                if reconnecting:
                    await on_resubscribed()
                reconnecting = True
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await self._handle(on_envelope, item["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                logger.warning("broker connection lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    @staticmethod
    async def _handle(on_envelope: EnvelopeHandler, data: bytes) -> None:
        try:
            envelope = Envelope.from_json(data)
        except ValueError:
            logger.warning("broker dropped an undecodable envelope")
            return
        await on_envelope(envelope)

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for envelope in envelopes:
                    pipe.publish(self.channel, envelope.to_json())
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(str(exc)) from exc

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping()) and self._subscribed.is_set()
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self.redis.aclose()
