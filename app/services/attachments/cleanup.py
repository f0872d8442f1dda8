"""Uploads never sent are removed (SPEC §12): a row unsent after `ATTACHMENT_ORPHAN_HOURS` goes
first (so no send can claim it any more: the claim needs the row), then its bytes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from app.db.base import utcnow
from app.db.session import Database
from app.metrics import ATTACHMENT_ORPHANS_REMOVED
from app.repositories.attachment_repository import AttachmentRepository
from app.services.attachments.service import remove_objects
from app.storage import Storage

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
MAX_SWEEP_INTERVAL_SECONDS = 3600.0


async def sweep_orphans(
    db: Database, storage: Storage, older_than: timedelta, *, now: datetime | None = None
) -> int:
    """One pass: remove every upload unsent for longer than `older_than`; returns how many."""
    cutoff = (now or utcnow()) - older_than
    removed = 0
    while True:
        async with db.read() as session:
            batch = await AttachmentRepository(session).unsent_before(cutoff, SWEEP_BATCH)
        for attachment in batch:
            async with db.write() as session, session.begin():
                gone = await AttachmentRepository(session).delete_unsent(attachment.attachment_id)
            if gone:
                await remove_objects(storage, attachment.attachment_id)
                removed += 1
        if len(batch) < SWEEP_BATCH:
            break
    if removed:
        ATTACHMENT_ORPHANS_REMOVED.inc(removed)
        logger.info("removed %d upload(s) never sent", removed)
    return removed


async def sweep_forever(db: Database, storage: Storage, older_than: timedelta) -> None:
    """The periodic job: a pass at start-up, then every hour (or sooner for short limits)."""
    interval = min(older_than.total_seconds() / 4, MAX_SWEEP_INTERVAL_SECONDS)
    while True:
        try:
            await sweep_orphans(db, storage, older_than)
        except Exception:
            logger.exception("the orphan clean-up failed; it runs again later")
        await asyncio.sleep(interval)
