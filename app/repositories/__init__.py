"""SQL only: build queries, flush, return ORM objects. Never commit; know nothing of HTTP."""
