"""Timestamps and dates as KROS writes them, and as the adapter keeps them.

KROS writes RFC 3339 with the region's offset (``+03:00``); the field shows ``Z`` and
other offsets too (CONTRACT.md §7). Everything inside the adapter is an aware UTC
``datetime``; calendar dates stay local ``date`` values.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime, timedelta, timezone

REGION_TZ = timezone(timedelta(hours=3), "Europe/Simferopol")
"""The region's local time: UTC+03:00, no daylight saving."""


class TimestampError(ValueError):
    """A timestamp or date that is not RFC 3339 / ISO 8601."""


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with any offset (``Z`` included) into aware UTC.

    A timestamp without an offset is refused: guessing its zone would shift records.
    """
    if not isinstance(text, str):
        raise TimestampError(f"timestamp must be a string, got {type(text).__name__}")
    value = text.strip()
    if len(value) < 20 or value[10] not in "Tt ":
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}")
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise TimestampError(f"timestamp without an offset: {text!r}")
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date:
    """Parse a plain ``YYYY-MM-DD`` local calendar date."""
    if not isinstance(text, str) or len(text.strip()) != 10:
        raise TimestampError(f"not a YYYY-MM-DD date: {text!r}")
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise TimestampError(f"not a YYYY-MM-DD date: {text!r}") from exc


def format_timestamp(moment: datetime, tz: timezone = REGION_TZ) -> str:
    """Write ``moment`` as KROS does: RFC 3339, seconds precision, the region's offset."""
    if moment.tzinfo is None:
        raise TimestampError("refusing to format a naive datetime")
    return moment.astimezone(tz).isoformat(timespec="seconds")


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unreadable, and never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
