"""A student's marks of a period, by subject, with their averages; and attendance."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, or_, select

from publish.grading import Mark, average, weighted_average
from publish.queries.people import StudentCard, people_names, subject_names
from publish.queries.periods import PeriodCard
from schemas.tables import attendance, curriculum, lessons, marks

ATTENDANCE_MEANINGS: dict[str, str] = {
    "absent": "отсутствовал(а)",
    "ill": "болел(а)",
    "excused": "уважительная причина",
    "truant": "прогул",
    "late": "опоздание",
}


WORK_KINDS: dict[str, str] = {
    "answer": "ответ на уроке",
    "control": "контрольная работа",
    "homework": "домашняя работа",
    "test": "тест",
    "lab": "лабораторная работа",
    "dictation": "диктант",
    "essay": "сочинение",
    "other": "другое",
}


@dataclass(frozen=True, slots=True)
class MarkItem:
    source_id: str
    date: date
    value_text: str
    value_number: int | None
    value_kind: str
    weight: int
    work_kind: str
    comment: str | None
    teacher: str

    @property
    def display(self) -> str:
        # The teacher's spelling, tidied: " Зач " reads as "зач".
        return " ".join(self.value_text.split()).lower() or "?"

    def as_grading_mark(self) -> Mark:
        return Mark(
            number=self.value_number, weight=self.weight, kind=self.value_kind, date=self.date
        )


@dataclass(slots=True)
class SubjectMarks:
    subject_source_id: str
    subject: str
    marks: list[MarkItem] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        return average(m.as_grading_mark() for m in self.marks)

    @property
    def weighted_average(self) -> float | None:
        return weighted_average(m.as_grading_mark() for m in self.marks)

    @property
    def grading_marks(self) -> list[Mark]:
        return [m.as_grading_mark() for m in self.marks]


def period_subject_ids(
    connection: Connection, student: StudentCard, group_ids: Sequence[str], period: PeriodCard
) -> list[str]:
    """The subjects the student's class and groups are planned to learn in the period."""
    rows = connection.execute(
        select(curriculum.c.subject_source_id)
        .distinct()
        .where(
            curriculum.c.school_id == student.school_id,
            curriculum.c.period_source_id == period.source_id,
            curriculum.c.deleted_at.is_(None),
            or_(
                curriculum.c.class_source_id == student.class_source_id,
                curriculum.c.group_source_id.in_(list(group_ids)),
            ),
        )
    )
    return [row[0] for row in rows]


def period_marks(
    connection: Connection,
    student: StudentCard,
    period: PeriodCard,
    *,
    group_ids: Sequence[str] = (),
) -> list[SubjectMarks]:
    """Every subject of the period (planned or marked), alphabetically, with its marks."""
    rows = connection.execute(
        select(marks)
        .where(
            marks.c.school_id == student.school_id,
            marks.c.student_source_id == student.source_id,
            marks.c.deleted_at.is_(None),
            marks.c.date >= period.starts_on,
            marks.c.date <= period.ends_on,
        )
        .order_by(marks.c.date, marks.c.source_id)
    ).all()
    names = subject_names(connection, student.school_id)
    teachers = people_names(
        connection, student.school_id, {r.teacher_source_id for r in rows}, kind="teacher"
    )
    by_subject: dict[str, SubjectMarks] = {}
    for subject_id in period_subject_ids(connection, student, group_ids, period):
        by_subject[subject_id] = SubjectMarks(subject_id, names.get(subject_id, subject_id))
    for row in rows:
        entry = by_subject.setdefault(
            row.subject_source_id,
            SubjectMarks(
                row.subject_source_id, names.get(row.subject_source_id, row.subject_source_id)
            ),
        )
        entry.marks.append(
            MarkItem(
                source_id=row.source_id,
                date=row.date,
                value_text=row.value_text,
                value_number=row.value_number,
                value_kind=row.value_kind,
                weight=row.weight,
                work_kind=row.work_kind,
                comment=row.comment,
                teacher=teachers.get(row.teacher_source_id, row.teacher_source_id),
            )
        )
    return sorted(by_subject.values(), key=lambda s: (s.subject.casefold(), s.subject_source_id))


@dataclass(frozen=True, slots=True)
class AbsenceItem:
    date: date
    meaning: str
    code_text: str
    subject: str
    slot: int | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class AttendanceSummary:
    items: list[AbsenceItem]
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def period_attendance(
    connection: Connection, student: StudentCard, start: date, end: date
) -> AttendanceSummary:
    """The student's absences and lateness between two dates, newest first."""
    rows = connection.execute(
        select(
            attendance.c.date,
            attendance.c.meaning,
            attendance.c.code_text,
            attendance.c.comment,
            lessons.c.subject_source_id,
            lessons.c.slot,
        )
        .select_from(
            attendance.outerjoin(
                lessons,
                (lessons.c.school_id == attendance.c.school_id)
                & (lessons.c.source_id == attendance.c.lesson_source_id),
            )
        )
        .where(
            attendance.c.school_id == student.school_id,
            attendance.c.student_source_id == student.source_id,
            attendance.c.deleted_at.is_(None),
            attendance.c.date >= start,
            attendance.c.date <= end,
        )
        .order_by(attendance.c.date.desc(), lessons.c.slot)
    ).all()
    names = subject_names(connection, student.school_id)
    items = [
        AbsenceItem(
            date=r.date,
            meaning=r.meaning,
            code_text=r.code_text,
            subject=names.get(r.subject_source_id, r.subject_source_id or "—"),
            slot=r.slot,
            comment=r.comment,
        )
        for r in rows
    ]
    return AttendanceSummary(items=items, counts=dict(Counter(item.meaning for item in items)))


def class_period_marks(
    connection: Connection, school_id: str, student_ids: Sequence[str], period: PeriodCard
) -> dict[str, dict[str, list[Mark]]]:
    """Per student and subject, the period's marks as the grading rules take them."""
    found: dict[str, dict[str, list[Mark]]] = defaultdict(lambda: defaultdict(list))
    if not student_ids:
        return {}
    rows = connection.execute(
        select(
            marks.c.student_source_id,
            marks.c.subject_source_id,
            marks.c.value_number,
            marks.c.value_kind,
            marks.c.weight,
            marks.c.date,
        ).where(
            marks.c.school_id == school_id,
            marks.c.student_source_id.in_(list(student_ids)),
            marks.c.deleted_at.is_(None),
            marks.c.date >= period.starts_on,
            marks.c.date <= period.ends_on,
        )
    )
    for r in rows:
        found[r.student_source_id][r.subject_source_id].append(
            Mark(number=r.value_number, weight=r.weight, kind=r.value_kind, date=r.date)
        )
    return {student: dict(subjects) for student, subjects in found.items()}


def class_attendance_counts(
    connection: Connection, school_id: str, student_ids: Sequence[str], start: date, end: date
) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = defaultdict(Counter)
    if not student_ids:
        return {}
    rows = connection.execute(
        select(attendance.c.student_source_id, attendance.c.meaning).where(
            attendance.c.school_id == school_id,
            attendance.c.student_source_id.in_(list(student_ids)),
            attendance.c.deleted_at.is_(None),
            attendance.c.date >= start,
            attendance.c.date <= end,
        )
    )
    for student_id, meaning in rows:
        found[student_id][meaning] += 1
    return dict(found)
