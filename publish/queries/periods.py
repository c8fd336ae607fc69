"""The periods a student is graded in (quarters, or half-years in grades 10–11)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, and_, select

from schemas.tables import curriculum, periods


@dataclass(frozen=True, slots=True)
class PeriodCard:
    source_id: str
    title: str
    kind: str
    number: int
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def class_periods(connection: Connection, school_id: str, class_id: str) -> list[PeriodCard]:
    """The grading periods the class's curriculum is planned in, in calendar order.

    The curriculum says which kind a class uses (quarters for 1–9, half-years for 10–11
    in the simulator; schools may differ), so nothing here assumes it from the grade."""
    rows = connection.execute(
        select(periods)
        .where(
            periods.c.school_id == school_id,
            periods.c.deleted_at.is_(None),
            periods.c.kind != "year",
            periods.c.source_id.in_(
                select(curriculum.c.period_source_id).where(
                    and_(
                        curriculum.c.school_id == school_id,
                        curriculum.c.class_source_id == class_id,
                        curriculum.c.deleted_at.is_(None),
                    )
                )
            ),
        )
        .order_by(periods.c.starts_on)
    )
    return [
        PeriodCard(r.source_id, r.title, r.kind, r.number, r.starts_on, r.ends_on) for r in rows
    ]


def year_period(connection: Connection, school_id: str, day: date) -> PeriodCard | None:
    """The academic year (as a period of kind ``year``) that contains ``day``, or the last
    one that began before it."""
    row = connection.execute(
        select(periods)
        .where(
            periods.c.school_id == school_id,
            periods.c.deleted_at.is_(None),
            periods.c.kind == "year",
            periods.c.starts_on <= day,
        )
        .order_by(periods.c.starts_on.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return PeriodCard(row.source_id, row.title, row.kind, row.number, row.starts_on, row.ends_on)


def choose_period(
    candidates: Sequence[PeriodCard], requested: str | None, today: date
) -> PeriodCard | None:
    """The period a page shows: the one asked for if it is the student's, else the one
    under way, else the last that has begun (in the holidays), else the first."""
    if not candidates:
        return None
    for period in candidates:
        if period.source_id == requested:
            return period
    for period in candidates:
        if period.contains(today):
            return period
    begun = [period for period in candidates if period.starts_on <= today]
    return begun[-1] if begun else candidates[0]
