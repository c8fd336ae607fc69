"""The week's timetable of a student, with substitutions, moves and cancellations.

A lesson keeps its timetable ``date``/``slot`` in KROS; a ``move`` in ``lesson_changes``
says where it really happens (SPEC.md; docs/simulator-data.md). So the week shows a
moved lesson twice: struck out where it was planned, and at its new place — which may
lie in another week, whose page then shows it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, or_, select

from publish.forecast import count_lessons_left
from publish.queries.people import StudentCard, people_names, subject_names
from publish.queries.periods import PeriodCard
from schemas.tables import lesson_changes, lessons

_Date = date  # TimetableEntry has a field named "date", which hides the type in its body

WEEKDAYS = ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье")


@dataclass(frozen=True, slots=True)
class LessonChange:
    """The effect of a lesson's live changes, the latest announcement of each kind winning."""

    cancelled: bool = False
    cancel_reason: str | None = None
    substitute_id: str | None = None
    substitution_reason: str | None = None
    moved_to: tuple[date, int] | None = None
    move_reason: str | None = None
    new_room: str | None = None


@dataclass(frozen=True, slots=True)
class TimetableEntry:
    lesson_source_id: str
    date: date
    slot: int
    starts_at: datetime | None
    ends_at: datetime | None
    subject: str
    teacher: str
    substitute: str | None
    room: str | None
    topic: str | None
    lesson_type: str
    cancelled: bool
    reason: str | None
    moved_from: tuple[_Date, int] | None = None
    """Set on the entry at a moved lesson's new place."""
    moved_to: tuple[_Date, int] | None = None
    """Set on the struck-out entry at a moved lesson's planned place."""

    @property
    def marked(self) -> bool:
        return bool(self.cancelled or self.substitute or self.moved_from or self.moved_to)


@dataclass(slots=True)
class TimetableDay:
    date: date
    entries: list[TimetableEntry] = field(default_factory=list)
    holiday: str | None = None

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.date.weekday()]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _belongs(student: StudentCard, group_ids: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        lessons.c.class_source_id == student.class_source_id,
        lessons.c.group_source_id.in_(list(group_ids)),
    )


def _changes(
    connection: Connection, school_id: str, lesson_ids: Sequence[str]
) -> dict[str, LessonChange]:
    found: dict[str, list[Any]] = defaultdict(list)
    ids = sorted(set(lesson_ids))
    for start in range(0, len(ids), 500):
        rows = connection.execute(
            select(lesson_changes)
            .where(
                lesson_changes.c.school_id == school_id,
                lesson_changes.c.lesson_source_id.in_(ids[start : start + 500]),
                lesson_changes.c.deleted_at.is_(None),
            )
            .order_by(lesson_changes.c.announced_at, lesson_changes.c.source_id)
        )
        for row in rows:
            found[row.lesson_source_id].append(row)
    effects: dict[str, LessonChange] = {}
    for lesson_id, changes in found.items():
        effect = LessonChange()
        for change in changes:  # oldest first: a later announcement overrides an earlier one
            if change.kind == "cancel":
                effect = replace(effect, cancelled=True, cancel_reason=change.reason)
            elif change.kind == "substitution":
                effect = replace(
                    effect,
                    substitute_id=change.teacher_source_id,
                    substitution_reason=change.reason,
                )
            elif change.kind == "move" and change.new_date is not None:
                effect = replace(
                    effect,
                    moved_to=(change.new_date, change.new_slot or 0),
                    move_reason=change.reason,
                    new_room=change.new_room or effect.new_room,
                )
        effects[lesson_id] = effect
    return effects


def week_timetable(
    connection: Connection,
    student: StudentCard,
    group_ids: Sequence[str],
    monday: date,
) -> list[TimetableDay]:
    """Monday to Saturday (Sunday too if something happens then) of the week."""
    sunday = monday + timedelta(days=6)
    school = student.school_id
    planned = connection.execute(
        select(lessons).where(
            lessons.c.school_id == school,
            lessons.c.deleted_at.is_(None),
            lessons.c.date >= monday,
            lessons.c.date <= sunday,
            _belongs(student, group_ids),
        )
    ).all()
    # Lessons planned elsewhere but moved into this week.
    moved_in_ids = [
        row[0]
        for row in connection.execute(
            select(lesson_changes.c.lesson_source_id).where(
                lesson_changes.c.school_id == school,
                lesson_changes.c.deleted_at.is_(None),
                lesson_changes.c.kind == "move",
                lesson_changes.c.new_date >= monday,
                lesson_changes.c.new_date <= sunday,
            )
        )
    ]
    planned_ids = {row.source_id for row in planned}
    moved_in: Sequence[Row[Any]] = ()
    if moved_in_ids:
        moved_in = connection.execute(
            select(lessons).where(
                lessons.c.school_id == school,
                lessons.c.deleted_at.is_(None),
                lessons.c.source_id.in_(sorted(set(moved_in_ids) - planned_ids)),
                _belongs(student, group_ids),
            )
        ).all()
    rows = [*planned, *moved_in]
    effects = _changes(connection, school, [row.source_id for row in rows])
    subjects = subject_names(connection, school)
    teacher_ids = {row.teacher_source_id for row in rows} | {
        e.substitute_id for e in effects.values() if e.substitute_id
    }
    teachers = people_names(connection, school, teacher_ids, kind="teacher")

    days = {monday + timedelta(days=i): TimetableDay(monday + timedelta(days=i)) for i in range(7)}
    for row in rows:
        effect = effects.get(row.source_id, LessonChange())
        base = TimetableEntry(
            lesson_source_id=row.source_id,
            date=row.date,
            slot=row.slot,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            subject=subjects.get(row.subject_source_id, row.subject_source_id),
            teacher=teachers.get(row.teacher_source_id, row.teacher_source_id),
            substitute=(
                teachers.get(effect.substitute_id, effect.substitute_id)
                if effect.substitute_id
                else None
            ),
            room=effect.new_room or row.room,
            topic=row.topic,
            lesson_type=row.lesson_type,
            cancelled=effect.cancelled or row.status == "cancelled",
            reason=effect.cancel_reason or effect.substitution_reason or effect.move_reason,
        )
        target = effect.moved_to
        if target is not None and target != (row.date, row.slot):
            if row.date in days:
                days[row.date].entries.append(
                    replace(base, moved_to=target, substitute=None, room=row.room)
                )
            if target[0] in days:
                days[target[0]].entries.append(
                    replace(
                        base,
                        date=target[0],
                        slot=target[1],
                        starts_at=None,  # the new slot's bell is not in the record
                        ends_at=None,
                        moved_from=(row.date, row.slot),
                    )
                )
        elif row.date in days:
            days[row.date].entries.append(base)
    for day in days.values():
        day.entries.sort(key=lambda e: (e.slot, e.moved_to is not None, e.subject))
    return [day for day in days.values() if day.date.weekday() < 6 or day.entries]


def lessons_left_by_subject(
    connection: Connection,
    student: StudentCard,
    group_ids: Sequence[str],
    period: PeriodCard,
    today: date,
) -> dict[str, int]:
    """Per subject, the lessons still to come in the period (where the next marks may be)."""
    rows = connection.execute(
        select(
            lessons.c.source_id, lessons.c.subject_source_id, lessons.c.date, lessons.c.status
        ).where(
            lessons.c.school_id == student.school_id,
            lessons.c.deleted_at.is_(None),
            # A move shifts a lesson by days, not months: a month's margin finds them all.
            lessons.c.date >= max(today, period.starts_on) - timedelta(days=31),
            lessons.c.date <= period.ends_on + timedelta(days=31),
            _belongs(student, group_ids),
        )
    ).all()
    effects = _changes(connection, student.school_id, [row.source_id for row in rows])
    by_subject: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in rows:
        effect = effects.get(row.source_id, LessonChange())
        day = effect.moved_to[0] if effect.moved_to else row.date
        if not period.contains(day):
            continue
        status = "cancelled" if effect.cancelled else row.status
        by_subject[row.subject_source_id].append((day, status))
    return {
        subject: count_lessons_left(pairs, today=today) for subject, pairs in by_subject.items()
    }
