"""Short-lived signed download links (SPEC §12): `?exp=…&sig=…`, an HMAC-SHA256 over the
attachment id, the variant (content or thumbnail) and the expiry, keyed by SECRET_KEY (a key
derived for this use only). They work without headers, so `<img src>` can use them."""

from __future__ import annotations

import hashlib
import hmac
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from typing import Any, Literal

Variant = Literal["content", "thumbnail"]


@dataclass(frozen=True)
class SignedQuery:
    exp: int
    sig: str

    def query(self) -> str:
        return f"exp={self.exp}&sig={self.sig}"


class UrlSigner:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"im-attachments\x00" + secret.encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _mac(self, attachment_id: str, variant: Variant, exp: int) -> str:
        message = f"{attachment_id}\x00{variant}\x00{exp}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(
        self, attachment_id: str, variant: Variant, *, now: float | None = None
    ) -> SignedQuery:
        exp = int(now if now is not None else time.time()) + self.ttl_seconds
        return SignedQuery(exp, self._mac(attachment_id, variant, exp))

    def path(self, attachment_id: str, variant: Variant) -> str:
        """The signed path (under `/api`), ready for a client."""
        query = self.sign(attachment_id, variant).query()
        return f"/api/attachments/{attachment_id}/{variant}?{query}"

    def verify(
        self, attachment_id: str, variant: Variant, exp: int, sig: str, *, now: float | None = None
    ) -> bool:
        """True if `sig` is this link's signature and it has not expired."""
        if exp < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(sig, self._mac(attachment_id, variant, exp))

    def links(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """A message's attachment metadata with its signed `url` (and `thumbnail_url` for an
        image): the `Hooks.present` function the attachments layer installs."""
        attachment_id = str(metadata["attachment_id"])
        linked = {**metadata, "url": self.path(attachment_id, "content")}
        if "width" in metadata:
            linked["thumbnail_url"] = self.path(attachment_id, "thumbnail")
        return linked
