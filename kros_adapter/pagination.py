"""Pages of a KROS listing, and the guards that keep a remote from looping the client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kros_adapter.errors import KrosProtocolError
from kros_adapter.timestamps import TimestampError, parse_timestamp

Record = dict[str, Any]


@dataclass(slots=True)
class Page:
    """One page of a listing, as the caller applies it.

    ``listing_server_time`` is the ``server_time`` of the listing's first page: the next
    watermark once the whole listing is applied (CONTRACT.md §3). ``position`` is the
    ``(updated_at, id)`` of the newest record applied so far in this listing; a caller
    that persists it can resume an expired listing from there (SYNC-LESSONS.md, 3).
    """

    items: list[Record]
    server_time: datetime
    listing_server_time: datetime
    number: int
    is_last: bool
    request_id: str | None = None
    etag: str | None = None
    not_modified: bool = False
    position: tuple[datetime, str] | None = None
    duplicates_dropped: int = 0
    restarts: int = 0
    """How often the listing was resumed after ``410 cursor_expired`` so far."""


def is_tombstone(record: Record) -> bool:
    """A deleted record: ``{"id", "deleted": true, "updated_at"}`` (CONTRACT.md §3)."""
    return record.get("deleted") is True or record.get("deleted") == "true"


@dataclass(frozen=True, slots=True)
class Envelope:
    items: list[Record]
    next_cursor: str | None
    server_time: datetime


def parse_envelope(body: Any, *, request_id: str | None) -> Envelope:
    """Check the paging envelope of CONTRACT.md §2, tolerating §7's deviations."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise KrosProtocolError("a listing answered without an items list", request_id=request_id)
    items = body["items"]
    if not all(isinstance(item, dict) for item in items):
        raise KrosProtocolError(
            "a listing holds an item that is not an object", request_id=request_id
        )
    cursor = body.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise KrosProtocolError("next_cursor is neither a string nor null", request_id=request_id)
    try:
        server_time = parse_timestamp(str(body.get("server_time", "")))
    except TimestampError as exc:
        raise KrosProtocolError(f"bad server_time: {exc}", request_id=request_id) from exc
    # A last page says so with null, an empty string, or no next_cursor at all (§7).
    return Envelope(items, cursor or None, server_time)


class CursorGuard:
    """Refuses a cursor the listing has already followed: a loop, not a next page."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def check(self, cursor: str, *, request_id: str | None) -> None:
        if cursor in self._seen:
            raise KrosProtocolError(
                "KROS repeated a cursor of this listing; stopping instead of looping",
                request_id=request_id,
            )
        self._seen.add(cursor)
