"""Both ways to start the service serve the same app: `python -m app` (what `make run` runs)
and the seed's own `uvicorn app.main:app`."""

import pytest

from tests.factories import consultation, send_ok
from tests.integration.clients import http_client
from tests.integration.conftest import ServerFactory


@pytest.mark.parametrize("entry", ["app", "uvicorn"])
async def test_the_service_starts_and_serves(
    servers: ServerFactory, sqlite_url: str, entry: str
) -> None:
    """Before the fix `uvicorn app.main:app` failed: there was no module-level `app`."""
    server = await servers.start(f"entry-{entry}", database_url=sqlite_url, entry=entry)
    async with http_client(server) as http:
        health = await http.get("/health")
        assert health.json()["status"] == "ok"
        room = await consultation(http)
        sent = await send_ok(http, room.patient, room.group_id, "hello")
        assert sent["seq"] == 2
        page = await http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    await server.stop()
