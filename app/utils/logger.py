"""Logging set-up: JSON lines in production, readable text in development.

A request id lives in a context variable and is stamped on every record. Callers use
`logging.getLogger(__name__)` with %-style arguments; message bodies and tokens are never logged.
"""

import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = (
    "%(asctime)s %(levelname)s %(name)s %(module)s %(funcName)s %(lineno)d %(request_id)s "
    "%(message)s"
)
JSON_RENAMES = {"levelname": "level", "asctime": "time", "funcName": "function", "lineno": "line"}


TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"']+")
INVITE_IN_PATH = re.compile(r"(/api/invites/)[^/?\s\"']+")


class RequestIdFilter(logging.Filter):
    """Stamps the request id, and blanks access tokens that a URL carries into a line
    (uvicorn logs each WebSocket handshake with its query string) and invite codes in paths
    (the access log line of `/api/invites/{code}`: a code lets anyone join a consultation)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        if "token=" in message or "/api/invites/" in message:
            message = TOKEN_IN_URL.sub(r"\1***", message)
            record.msg = INVITE_IN_PATH.sub(r"\1***", message)
            record.args = None
        return True


def configure_logging(level: str, fmt: str) -> None:
    """Install one stderr handler on the root logger; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES))
    else:
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # aiosqlite's DEBUG lines carry every statement's parameters: message bodies, hashes.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
