"""WebSocket gateway: connection bookkeeping (manager) and the protocol loop (handler)."""
