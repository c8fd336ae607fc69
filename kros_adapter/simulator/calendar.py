"""The school calendar of the simulated region: academic years, periods, holidays, bells.

Dates follow the schedule Russian regions recommend for a five-day week: four
quarters for grades 1–9, two half-years for grades 10–11, autumn / winter / spring /
summer holidays, and an extra February week for first graders. 2026/2027 is the
current year and carries all the journal data; 2025/2026 is there as the past year
a client meets in `/academic-years`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from kros_adapter.timestamps import REGION_TZ

CURRENT_YEAR_ID = "y-2026"

SENIOR_GRADES = frozenset({10, 11})
"""Grades attested by half-years instead of quarters."""


@dataclass(frozen=True, slots=True)
class AcademicYear:
    id: str
    title: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class Period:
    id: str
    year_id: str
    kind: str
    number: int
    title: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True, slots=True)
class Holiday:
    id: str
    year_id: str
    title: str
    kind: str
    starts_on: date
    ends_on: date
    grades: tuple[int, ...] | None
    """``None``: every grade; otherwise only these grades are off."""

    def applies(self, day: date, grade: int) -> bool:
        if not self.starts_on <= day <= self.ends_on:
            return False
        return self.grades is None or grade in self.grades


def _year(start: int) -> AcademicYear:
    return AcademicYear(
        id=f"y-{start}",
        title=f"{start}/{start + 1}",
        starts_on=date(start, 9, 1),
        ends_on=date(start + 1, 8, 31),
    )


def _periods(start: int) -> tuple[Period, ...]:
    year_id = f"y-{start}"
    nxt = start + 1

    def quarter(number: int, starts: date, ends: date) -> Period:
        title = f"{number} четверть"
        return Period(f"p-{start}-q{number}", year_id, "quarter", number, title, starts, ends)

    def half(number: int, starts: date, ends: date) -> Period:
        title = f"{number} полугодие"
        return Period(f"p-{start}-h{number}", year_id, "half_year", number, title, starts, ends)

    return (
        quarter(1, date(start, 9, 1), date(start, 10, 24)),
        quarter(2, date(start, 11, 5), date(start, 12, 28)),
        quarter(3, date(nxt, 1, 12), date(nxt, 3, 20)),
        quarter(4, date(nxt, 3, 30), date(nxt, 5, 26)),
        half(1, date(start, 9, 1), date(start, 12, 28)),
        half(2, date(nxt, 1, 12), date(nxt, 5, 26)),
        Period(
            f"p-{start}-y",
            year_id,
            "year",
            1,
            f"{start}/{nxt} учебный год",
            date(start, 9, 1),
            date(nxt, 5, 26),
        ),
    )


def _holidays(start: int) -> tuple[Holiday, ...]:
    year_id = f"y-{start}"
    nxt = start + 1
    # The extra first-grade week is the third full week of February.
    feb_first = date(nxt, 2, 1)
    extra_monday = feb_first + timedelta(days=(7 - feb_first.weekday()) % 7 + 14)
    return (
        Holiday(
            f"hol-{start}-autumn",
            year_id,
            "Осенние каникулы",
            "autumn",
            date(start, 10, 25),
            date(start, 11, 4),
            None,
        ),
        Holiday(
            f"hol-{start}-winter",
            year_id,
            "Зимние каникулы",
            "winter",
            date(start, 12, 29),
            date(nxt, 1, 11),
            None,
        ),
        Holiday(
            f"hol-{start}-extra",
            year_id,
            "Дополнительные каникулы для первоклассников",
            "extra",
            extra_monday,
            extra_monday + timedelta(days=6),
            (1,),
        ),
        Holiday(
            f"hol-{start}-spring",
            year_id,
            "Весенние каникулы",
            "spring",
            date(nxt, 3, 21),
            date(nxt, 3, 29),
            None,
        ),
        Holiday(
            f"hol-{start}-summer",
            year_id,
            "Летние каникулы",
            "summer",
            date(nxt, 5, 27),
            date(nxt, 8, 31),
            None,
        ),
    )


ACADEMIC_YEARS: tuple[AcademicYear, ...] = (_year(2025), _year(2026))
PERIODS: tuple[Period, ...] = _periods(2025) + _periods(2026)
HOLIDAYS: tuple[Holiday, ...] = _holidays(2025) + _holidays(2026)

PUBLIC_DAYS_OFF: frozenset[date] = frozenset(
    {
        # Public holidays that fall on a school weekday (or their transfer days).
        date(2026, 2, 23),
        date(2026, 3, 9),
        date(2026, 5, 1),
        date(2026, 5, 11),
        date(2026, 11, 4),
        date(2027, 2, 23),
        date(2027, 3, 8),
        date(2027, 5, 3),
        date(2027, 5, 10),
    }
)

CURRENT_YEAR = next(y for y in ACADEMIC_YEARS if y.id == CURRENT_YEAR_ID)
CURRENT_PERIODS: tuple[Period, ...] = tuple(p for p in PERIODS if p.year_id == CURRENT_YEAR_ID)
STUDY_START = CURRENT_YEAR.starts_on
STUDY_END = next(p.ends_on for p in CURRENT_PERIODS if p.kind == "year")


@functools.cache
def is_school_day(day: date, grade: int) -> bool:
    """Whether a class of ``grade`` has lessons on ``day`` (five-day week)."""
    if day.weekday() >= 5 or day in PUBLIC_DAYS_OFF:
        return False
    if not any(p.kind == "year" and p.contains(day) for p in PERIODS):
        return False
    return not any(h.applies(day, grade) for h in HOLIDAYS)


def school_days(first: date, last: date, grade: int) -> list[date]:
    """Every school day of ``grade`` from ``first`` to ``last`` inclusive."""
    days = []
    day = first
    while day <= last:
        if is_school_day(day, grade):
            days.append(day)
        day += timedelta(days=1)
    return days


def attestation_periods(grade: int) -> tuple[Period, ...]:
    """The current year's periods a class of ``grade`` is graded by (quarters or halves)."""
    kind = "half_year" if grade in SENIOR_GRADES else "quarter"
    return tuple(p for p in CURRENT_PERIODS if p.kind == kind)


@functools.cache
def attestation_period(day: date, grade: int) -> Period | None:
    """The quarter (grades 1–9) or half-year (10–11) of the current year containing ``day``."""
    for period in attestation_periods(grade):
        if period.contains(day):
            return period
    return None


# Bells: slot → start of the lesson. Lessons last 40 minutes; first graders have
# 35-minute lessons in the first half-year (the "stepped" regime of SanPiN).
BELLS: dict[int, time] = {
    1: time(8, 0),
    2: time(8, 50),
    3: time(9, 50),
    4: time(10, 50),
    5: time(11, 40),
    6: time(12, 30),
    7: time(13, 20),
    8: time(14, 10),
}
LESSON_MINUTES = 40
FIRST_GRADE_MINUTES = 35


def lesson_bounds(day: date, slot: int, grade: int) -> tuple[datetime, datetime]:
    """Local start and end of lesson ``slot`` on ``day`` for a class of ``grade``."""
    start = datetime.combine(day, BELLS[slot], tzinfo=REGION_TZ)
    short = grade == 1 and day.month >= 9
    minutes = FIRST_GRADE_MINUTES if short else LESSON_MINUTES
    return start, start + timedelta(minutes=minutes)
