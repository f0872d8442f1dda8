"""URLs safe to store and show: credentials removed.

A URL may carry a secret in its user info (`https://user:key@host`) or in a query parameter
(`?api_key=…`); both are replaced, so the URL still says where it points but not how to get in.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset(
    {
        "key",
        "apikey",
        "api_key",
        "api-key",
        "token",
        "access_token",
        "auth",
        "secret",
        "password",
        "pass",
        "sig",
        "signature",
        "code",
    }
)
MASK = "***"


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_PARAMS or lowered.endswith(("key", "token", "secret", "password"))


def redact_url(url: str) -> str:
    """`url` without user info and with the values of key-like query parameters masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, MASK if _is_secret(name) else value) for name, value in pairs], safe="*"
        )
    return urlunsplit(parts._replace(netloc=netloc, query=query))
