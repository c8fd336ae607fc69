"""Dates, times and numbers the Russian way: «4 декабря», «пт», «4,25», «14:05»."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from publish.forecast import plural

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
WEEKDAYS_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def ru_date(day: date | None, *, year: bool = False) -> str:
    """«4 декабря» (``year``: «4 декабря 2026»); «—» for nothing."""
    if day is None:
        return "—"
    text = f"{day.day} {MONTHS_GENITIVE[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def ru_day(day: date | None) -> str:
    """«пт, 4 декабря»."""
    if day is None:
        return "—"
    return f"{WEEKDAYS_SHORT[day.weekday()]}, {ru_date(day)}"


def numeric_date(day: date | None) -> str:
    """«04.12»: compact, for lists of marks."""
    return "—" if day is None else f"{day.day:02d}.{day.month:02d}"


def local_time(moment: datetime | None, timezone: str) -> str:
    """«14:05» in the school's time zone."""
    if moment is None:
        return ""
    return moment.astimezone(zone(timezone)).strftime("%H:%M")


def local_moment(moment: datetime | None, timezone: str, today: date | None = None) -> str:
    """«14:05» today, «3 декабря, 14:05» on another day."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone(timezone))
    hhmm = local.strftime("%H:%M")
    return hhmm if local.date() == today else f"{ru_date(local.date())}, {hhmm}"


def decimal(value: float | None, places: int = 2) -> str:
    """«4,25» (a decimal comma); «—» for no value."""
    if value is None:
        return "—"
    return f"{value:.{places}f}".replace(".", ",")


def short_decimal(value: float | None) -> str:
    """«4,5», «4,55», «3»: a threshold as a person writes it (no trailing zeros)."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def plural_word(n: int, one: str, few: str, many: str) -> str:
    return f"{n} {plural(n, one, few, many)}"
