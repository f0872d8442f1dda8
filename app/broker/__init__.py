"""Fan-out transport between server instances: in-process (`memory://`) or Redis pub/sub.

A broker only moves event envelopes (JSON-able dicts); it knows nothing of groups or sockets.
"""

from app.broker.base import Broker, BrokerUnavailable, EnvelopeHandler
from app.broker.memory import MemoryBroker
from app.broker.redis import RedisBroker


def create_broker(broker_url: str, channel: str) -> Broker:
    if broker_url == "memory://":
        return MemoryBroker()
    return RedisBroker(broker_url, channel)


__all__ = ["Broker", "BrokerUnavailable", "EnvelopeHandler", "MemoryBroker", "RedisBroker"]
