"""Small pieces on their own: settings, Range parsing, Content-Disposition, signing, sniffing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.services.attachments.signing import UrlSigner
from app.services.attachments.sniff import sniff_file
from app.utils.http_ranges import Unsatisfiable, content_disposition, parse_range
from tests.attachments import files


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"storage_url": "ftp://x"}, "storage_url"),
        ({"storage_url": "s3://"}, "storage_url"),
        ({"attachment_types": "jpeg,exe"}, "attachment_types"),
        ({"attachment_max_mb": 0}, "attachment_max_mb"),
    ],
)
def test_bad_attachment_settings_name_the_key(values: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        Settings(_env_file=None, **values)


def test_attachment_settings_defaults_and_lists() -> None:
    settings = Settings(_env_file=None, attachment_types=" PDF , text ", port=9000)
    assert settings.attachment_types == ["pdf", "text"]
    assert settings.attachment_max_bytes == 20 * 1024 * 1024
    assert settings.public_url == "http://127.0.0.1:9000"
    assert Settings(_env_file=None, public_base_url="https://im.example/").public_url == (
        "https://im.example"
    )


def test_env_example_loads() -> None:
    settings = Settings(_env_file=Path(__file__).parents[2] / ".env.example")
    assert settings.storage_url == "file://./data/attachments"
    assert settings.ai_vision is False


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=2-", 10, (2, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=4-400", 10, (4, 9)),
        ("bytes=-", 10, None),
        ("bytes=1-2,4-5", 10, None),
        ("items=1-2", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=5-4", 10), ("bytes=-1", 0)]
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


def test_content_disposition_quotes_nothing_unsafe() -> None:
    value = content_disposition("attachment", 'a"b\\c%d 化.pdf')
    assert (
        value
        == "attachment; filename=\"a_b_c_d _.pdf\"; filename*=UTF-8''a%22b%5Cc%25d%20%E5%8C%96.pdf"
    )


def test_signatures_are_bound_to_id_variant_expiry_and_key() -> None:
    signer = UrlSigner("secret-one-0123456789", 60)
    signed = signer.sign("att_1", "content", now=1000)
    assert signed.exp == 1060
    assert signer.verify("att_1", "content", signed.exp, signed.sig, now=1059)
    assert not signer.verify("att_1", "content", signed.exp, signed.sig, now=1061)
    assert not signer.verify("att_2", "content", signed.exp, signed.sig, now=1000)
    assert not signer.verify("att_1", "thumbnail", signed.exp, signed.sig, now=1000)
    other = UrlSigner("secret-two-0123456789", 60)
    assert not other.verify("att_1", "content", signed.exp, signed.sig, now=1000)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (files.TEXT, "text"),
        (b"plain words", "text"),
        (b"\xef\xbb\xbf<html><body>x</body></html>", None),
        (b"   \n<!-- comment --> hi", None),
        (b"<p>paragraph</p>", None),
        (b"a < b and c > d", "text"),
        ("中".encode()[:2], None),  # cut in the middle of a character
        (b"text with a \x00 inside", None),
        (b"\x00\x00\x00\x18ftypavif" + bytes(20), None),  # AVIF is not on the list
        (b"\x00\x00\x00\x18ftypheic" + bytes(20), "heic"),
    ],
)
def test_sniffing(tmp_path: Path, data: bytes, kind: str | None) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    found = sniff_file(path)
    assert (found.name if found is not None else None) == kind


async def test_the_periodic_sweep_survives_a_failing_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database without the table fails every pass: each failure is logged, the job goes on."""
    import asyncio
    from datetime import timedelta

    from app.db.database import create_engine
    from app.db.session import Database
    from app.services.attachments.cleanup import sweep_forever
    from app.storage.local import LocalStorage
    from tests.ai.helpers import eventually

    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    db = Database(create_engine(settings))
    task = asyncio.create_task(
        sweep_forever(db, LocalStorage(tmp_path / "store"), timedelta(seconds=0.2))
    )
    try:
        await eventually(
            lambda: sum("orphan clean-up failed" in r.message for r in caplog.records) >= 2
        )
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await db.dispose()
