"""Scalar values as KROS writes them: timestamps, dates, integers, booleans, text.

Each parser takes the raw JSON value (or the XML attribute text) and returns the
store's value, or raises ``ValueError`` / ``TypeError`` with a reason that names the
offending value; the engine turns those into a :class:`~mappings.errors.RecordError`
for the field. ``mappings`` may not import ``kros_adapter`` (the layers of SPEC.md), so
the timestamp rules of ``kros_adapter.timestamps`` are re-implemented here, and a test
holds the two to the same answers.

Parsed timestamps and dates are memoized: a page of marks repeats the same few dates
and minutes thousands of times, and a dict lookup is a tenth of a parse.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

_MEMO_LIMIT: Final = 1 << 16
"""Entries per memo before it is emptied: bounds memory whatever the input."""

_timestamps: dict[str, datetime] = {}
_dates: dict[str, date] = {}


def parse_timestamp(value: object) -> datetime:
    """An RFC 3339 timestamp with any offset (``Z`` included), as an aware UTC ``datetime``.

    A timestamp without an offset is refused: guessing its zone would shift records.
    """
    if type(value) is not str:
        raise TypeError(f"a timestamp must be a string, got {describe(value)}")
    memo = _timestamps.get(value)
    if memo is not None:
        return memo
    text = value.strip()
    if len(text) < 20 or text[10] not in "Tt ":
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    result = parsed.astimezone(UTC)
    if len(_timestamps) >= _MEMO_LIMIT:
        _timestamps.clear()
    _timestamps[value] = result
    return result


def parse_date(value: object) -> date:
    """A plain ``YYYY-MM-DD`` local calendar date."""
    if type(value) is not str:
        raise TypeError(f"a date must be a string, got {describe(value)}")
    memo = _dates.get(value)
    if memo is not None:
        return memo
    text = value.strip()
    # fromisoformat alone would also take "20261204" and week dates.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"not a YYYY-MM-DD date: {value!r}")
    try:
        result = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a YYYY-MM-DD date: {value!r}") from None
    if len(_dates) >= _MEMO_LIMIT:
        _dates.clear()
    _dates[value] = result
    return result


def parse_json_int(value: object) -> int:
    """An integer of a JSON record: a JSON number without fraction, never a boolean."""
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {describe(value)}")
    return value


def parse_text_int(value: object) -> int:
    """An integer of an XML attribute: ASCII digits with an optional minus sign."""
    if type(value) is not str:
        raise TypeError(f"expected an integer as text, got {describe(value)}")
    text = value.strip()
    digits = text[1:] if text[:1] == "-" else text
    # int() alone would take "1_000", "+5" and non-ASCII digits such as "٣".
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"not an integer: {value!r}")
    return int(text)


def parse_json_bool(value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {describe(value)}")
    return value


_XML_BOOLEANS: Final = {"true": True, "false": False, "1": True, "0": False}
"""The lexical space of ``xs:boolean``."""


def parse_text_bool(value: object) -> bool:
    if type(value) is not str:
        raise TypeError(f"expected true or false as text, got {describe(value)}")
    try:
        return _XML_BOOLEANS[value.strip()]
    except KeyError:
        raise ValueError(f"not a boolean: {value!r}") from None


def parse_text(value: object) -> str:
    """Text as KROS sent it (kept verbatim); it must not be blank."""
    if type(value) is not str:
        raise TypeError(f"expected text, got {describe(value)}")
    if not value.strip():
        raise ValueError("is blank")
    return value


def parse_ref(value: object) -> str:
    """A KROS id: opaque non-blank text, kept verbatim (CONTRACT.md §1: do not parse it)."""
    if type(value) is not str:
        raise TypeError(f"an id must be text, got {describe(value)}")
    if not value or value.isspace():
        raise ValueError("is blank")
    return value


def is_blank(value: object) -> bool:
    """Absent, null, or (for text, and always in XML) empty: no value at all."""
    return value is None or (type(value) is str and not value.strip())


def describe(value: object) -> str:
    """How a wrong value is described in a reason: its JSON kind and a short excerpt."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
