"""The VAPID key pair (RFC 8292) that identifies this service to push services: generated once
into the data dir, like the JWT secret, and shared by every instance that shares the dir."""

from __future__ import annotations

import base64
import secrets
from contextlib import suppress
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

VAPID_KEY_FILE = "vapid_private.pem"


def load_or_create(data_dir: Path) -> Vapid:
    key_file = data_dir / VAPID_KEY_FILE
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        candidate = key_file.with_suffix(f".{secrets.token_hex(4)}.tmp")
        fresh = Vapid()
        fresh.generate_keys()
        candidate.write_bytes(fresh.private_pem())
        candidate.chmod(0o600)
        # A hard link never replaces: when two processes race, the first key wins.
        with suppress(FileExistsError):
            key_file.hardlink_to(candidate)
        candidate.unlink(missing_ok=True)
    return Vapid.from_pem(key_file.read_bytes())


def application_server_key(vapid: Vapid) -> str:
    """The public key as browsers want it (`applicationServerKey`): the uncompressed P-256
    point, base64url without padding."""
    point: bytes = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()
