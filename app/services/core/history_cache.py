"""This process's copy of recently read history pages, so a page many members open (the
newest of a busy consultation, the same scroll-back) costs one indexed lookup instead of a
page query.

A cached page is valid while its group's last seq is unchanged: the log only grows, and every
change to a stored message (an edit, a recall) appends an EDIT or RECALL entry with the next
seq, so any change anywhere in the group moves the last seq. Each read still asks the database
for the reader's membership and the last seq, so a page is never served to a non-member and is
never older than what another process has committed: there is nothing to invalidate across
processes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

PageKey = tuple[str, int | None, int | None, int, int]
"""(group id, after seq, before seq, offset, limit): one query shape of one group."""

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class CachedPage:
    last_seq: int
    rows: Rows
    """Shared by every reader of the page: never modified after it is stored."""


class HistoryCache:
    """Least recently used pages, bounded by the number of rows they hold together."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._pages: OrderedDict[PageKey, CachedPage] = OrderedDict()
        self._rows = 0

    @property
    def enabled(self) -> bool:
        return self.max_rows > 0

    def get(self, key: PageKey) -> CachedPage | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: PageKey, last_seq: int, rows: Rows) -> None:
        cost = max(len(rows), 1)  # an empty page still takes an entry
        if not self.enabled or cost > self.max_rows:
            return
        self.discard(key)
        self._pages[key] = CachedPage(last_seq, rows)
        self._rows += cost
        while self._rows > self.max_rows:
            _, evicted = self._pages.popitem(last=False)
            self._rows -= max(len(evicted.rows), 1)

    def discard(self, key: PageKey) -> None:
        page = self._pages.pop(key, None)
        if page is not None:
            self._rows -= max(len(page.rows), 1)

    @property
    def rows(self) -> int:
        return self._rows

    def __len__(self) -> int:
        return len(self._pages)
