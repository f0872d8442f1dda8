"""Real-time plumbing: the broker between instances, fan-out to local sockets, the member cache,
presence, and the small Redis-backed stores (rate-limit slots, throttles).

It moves bytes to the right sockets on the right instances; it knows no use case.
"""

from app.realtime.broker import Broker
from app.realtime.memory import MemoryBroker
from app.realtime.redis import RedisBroker


def create_broker(broker_url: str, channel: str) -> Broker:
    if broker_url == "memory://":
        return MemoryBroker()
    return RedisBroker(broker_url, channel)
