"""The school calendar of a student: control works of a period, holidays of the year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, or_, select

from publish.queries.people import StudentCard, subject_names
from publish.queries.periods import PeriodCard
from schemas.tables import control_works, holidays

CONTROL_WORK_KINDS = {
    "control": "Контрольная работа",
    "test": "Тест",
    "vpr": "ВПР",
    "diagnostic": "Диагностическая работа",
}


@dataclass(frozen=True, slots=True)
class ControlWorkItem:
    date: date
    subject: str
    kind: str
    title: str


def period_control_works(
    connection: Connection, student: StudentCard, group_ids: Sequence[str], period: PeriodCard
) -> list[ControlWorkItem]:
    """The class's and groups' control works dated inside the period."""
    rows = connection.execute(
        select(control_works)
        .where(
            control_works.c.school_id == student.school_id,
            control_works.c.deleted_at.is_(None),
            control_works.c.date >= period.starts_on,
            control_works.c.date <= period.ends_on,
            or_(
                control_works.c.class_source_id == student.class_source_id,
                control_works.c.group_source_id.in_(list(group_ids)),
            ),
        )
        .order_by(control_works.c.date, control_works.c.subject_source_id)
    )
    names = subject_names(connection, student.school_id)
    return [
        ControlWorkItem(
            r.date, names.get(r.subject_source_id, r.subject_source_id), r.kind, r.title
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class HolidayItem:
    title: str
    kind: str
    starts_on: date
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


def holidays_for(
    connection: Connection, school_id: str, grade: int, start: date, end: date
) -> list[HolidayItem]:
    """Holidays overlapping the dates that apply to the grade (``grades`` null: every grade)."""
    rows = connection.execute(
        select(holidays)
        .where(
            holidays.c.school_id == school_id,
            holidays.c.deleted_at.is_(None),
            holidays.c.ends_on >= start,
            holidays.c.starts_on <= end,
        )
        .order_by(holidays.c.starts_on)
    )
    return [
        HolidayItem(r.title, r.kind, r.starts_on, r.ends_on)
        for r in rows
        if r.grades is None or grade in r.grades
    ]
