"""Incremental reads: the watermark, the overlap window, and de-duplication by id.

The watermark is the ``server_time`` of a listing's first page, never the client's clock
or the records' own times (clocks differ, and records commit up to 60 s late). The next
read asks for ``updated_since = watermark − overlap`` and de-duplicates what it reads
again, keeping for each id the newest ``updated_at`` (CONTRACT.md §2–3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kros_adapter.timestamps import TimestampError, parse_timestamp


def updated_since(watermark: datetime | None, overlap_seconds: float) -> datetime | None:
    """The ``updated_since`` of the next read; ``None`` (a full read) without a watermark."""
    if watermark is None:
        return None
    return watermark - timedelta(seconds=overlap_seconds)


def record_updated_at(record: dict[str, Any], field: str = "updated_at") -> datetime | None:
    """The record's change time as UTC, or ``None`` when it is missing or unreadable.

    An unreadable time is not this module's error to report: the record passes through
    and the mapping quarantines it with its reason.
    """
    value = record.get(field)
    if not isinstance(value, str):
        return None
    parsed = _parsed.get(value)
    if parsed is not None:
        return parsed
    try:
        parsed = parse_timestamp(value)
    except TimestampError:
        return None
    if len(_parsed) >= _MEMO_LIMIT:
        _parsed.clear()
    _parsed[value] = parsed
    return parsed


# Records of one lesson share their change time: a small memo saves most of the parsing.
_MEMO_LIMIT = 4096
_parsed: dict[str, datetime] = {}


# A record without a readable time still passes once, and loses to any timed version.
UNKNOWN_TIME = datetime.min.replace(tzinfo=UTC)


class Deduplicator:
    """Within one listing: pass a record only if it is newer than what passed for its id."""

    def __init__(self, *, field: str = "updated_at") -> None:
        self._field = field
        self._newest: dict[str, datetime] = {}

    def check(self, record: dict[str, Any]) -> datetime | None:
        """The record's change time if it passes (``UNKNOWN_TIME`` when unreadable), or
        ``None`` for a copy no newer than one that already passed for its id."""
        updated = record_updated_at(record, self._field) or UNKNOWN_TIME
        record_id = record.get("id")
        if not isinstance(record_id, str):
            return updated
        seen = self._newest.get(record_id)
        if seen is not None and seen >= updated:
            return None
        self._newest[record_id] = updated
        return updated

    def __len__(self) -> int:
        return len(self._newest)
