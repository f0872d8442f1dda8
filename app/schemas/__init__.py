"""Pydantic models for HTTP and WebSocket; never shared with the ORM tables."""
