"""Redis broker: sharded pub/sub (`SPUBLISH` / `SSUBSCRIBE`) for group and user channels, so an
instance receives only what concerns its own connections and a Redis Cluster spreads channels
over its shards; classic pub/sub for the one broadcast channel.

The listener reconnects by itself with back-off when Redis goes away and subscribes again to
every channel it was asked for; envelopes published while it was down are not replayed
(clients recover messages with `sync`; the `on_resubscribed` handler rebuilds what envelopes
keep up to date).
"""

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.realtime.broker import BrokerUnavailable, EnvelopeHandler, ResubscribedHandler
from app.realtime.envelope import Envelope
from app.realtime.routes import BROADCAST

logger = logging.getLogger(__name__)
RECONNECT_MAX_DELAY = 5.0
SUBSCRIBE_CHUNK = 1000


class RedisBroker:
    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = f"{prefix}:"
        self.redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
        )
        self._wanted: set[str] = set()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def _name(self, channel: str) -> str:
        return self.prefix + channel

    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        self._listener = asyncio.create_task(
            self._listen(on_envelope, on_resubscribed), name="redis-broker-listener"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=3)

    async def subscribe(self, channels: Iterable[str]) -> None:
        new = set(channels) - self._wanted
        self._wanted |= new
        await self._send(new, subscribe=True)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = set(channels) & self._wanted
        self._wanted -= gone
        await self._send(gone, subscribe=False)

    async def _send(self, channels: set[str], *, subscribe: bool) -> None:
        pubsub = self._pubsub
        if not channels or pubsub is None:
            return  # the listener subscribes to everything wanted when it (re)connects
        try:
            await self._apply(pubsub, channels, subscribe=subscribe)
        except (RedisError, OSError) as exc:
            logger.debug("(un)subscribe deferred to the reconnect: %r", exc)

    async def _apply(self, pubsub: PubSub, channels: Iterable[str], *, subscribe: bool) -> None:
        names = [self._name(channel) for channel in channels]
        command = pubsub.ssubscribe if subscribe else pubsub.sunsubscribe
        for start in range(0, len(names), SUBSCRIBE_CHUNK):
            await command(*names[start : start + SUBSCRIBE_CHUNK])

    async def _listen(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        delay = 0.1
        reconnecting = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._name(BROADCAST))
                self._pubsub = pubsub
                if self._wanted:
                    await self._apply(pubsub, list(self._wanted), subscribe=True)
                self._subscribed.set()
                delay = 0.1
                logger.info("broker subscribed (%d channels)", len(self._wanted) + 1)
                if reconnecting:
                    await on_resubscribed()
                reconnecting = True
                async for item in pubsub.listen():
                    if item.get("type") in ("message", "smessage"):
                        await self._handle(on_envelope, item["channel"], item["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                self._pubsub = None
                logger.warning("broker connection lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _handle(self, on_envelope: EnvelopeHandler, channel: bytes, data: bytes) -> None:
        try:
            envelope = Envelope.from_json(data)
        except ValueError:
            logger.warning("broker dropped an undecodable envelope")
            return
        await on_envelope(channel.decode().removeprefix(self.prefix), envelope)

    async def publish_many(self, items: Sequence[tuple[str, Envelope]]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, envelope in items:
                    if channel == BROADCAST:
                        pipe.publish(self._name(channel), envelope.to_json())
                    else:
                        pipe.spublish(self._name(channel), envelope.to_json())
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
