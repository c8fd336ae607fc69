"""Final grades (with deferrals) and exam results of a student (regulation items 6–7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from publish.queries.people import StudentCard, subject_names
from schemas.tables import exam_results, final_grades, periods

FINAL_KINDS = {
    "quarter": "Четверть",
    "half_year": "Полугодие",
    "trimester": "Триместр",
    "year": "Год",
    "exam": "Экзамен",
    "final": "Итоговая",
}


@dataclass(frozen=True, slots=True)
class FinalGradeItem:
    period: str
    period_starts_on: date | None
    subject: str
    kind: str
    value_text: str | None
    set_on: date | None
    deferred: bool
    defer_reason: str | None
    deferred_until: date | None


@dataclass(frozen=True, slots=True)
class ExamResultItem:
    exam: str
    subject: str
    held_on: date
    score: int
    max_score: int
    value_text: str | None
    result_at: datetime


def student_final_grades(connection: Connection, student: StudentCard) -> list[FinalGradeItem]:
    """The student's final grades, by period then subject."""
    rows = connection.execute(
        select(final_grades, periods.c.title.label("period_title"), periods.c.starts_on)
        .select_from(
            final_grades.outerjoin(
                periods,
                (periods.c.school_id == final_grades.c.school_id)
                & (periods.c.source_id == final_grades.c.period_source_id),
            )
        )
        .where(
            final_grades.c.school_id == student.school_id,
            final_grades.c.student_source_id == student.source_id,
            final_grades.c.deleted_at.is_(None),
        )
    ).all()
    names = subject_names(connection, student.school_id)
    items = [
        FinalGradeItem(
            period=r.period_title or r.period_source_id,
            period_starts_on=r.starts_on,
            subject=names.get(r.subject_source_id, r.subject_source_id),
            kind=r.kind,
            value_text=" ".join(r.value_text.split()).lower() if r.value_text else None,
            set_on=r.set_on,
            deferred=bool(r.deferred),
            defer_reason=r.defer_reason,
            deferred_until=r.deferred_until,
        )
        for r in rows
    ]
    items.sort(key=lambda i: (i.period_starts_on or date.min, i.period, i.subject.casefold()))
    return items


def student_exam_results(connection: Connection, student: StudentCard) -> list[ExamResultItem]:
    rows = connection.execute(
        select(exam_results)
        .where(
            exam_results.c.school_id == student.school_id,
            exam_results.c.student_source_id == student.source_id,
            exam_results.c.deleted_at.is_(None),
        )
        .order_by(exam_results.c.held_on.desc(), exam_results.c.source_id)
    ).all()
    names = subject_names(connection, student.school_id)
    return [
        ExamResultItem(
            exam=r.exam,
            subject=names.get(r.subject_source_id, r.subject_source_id),
            held_on=r.held_on,
            score=r.score,
            max_score=r.max_score,
            value_text=" ".join(r.value_text.split()).lower() if r.value_text else None,
            result_at=r.result_at,
        )
        for r in rows
    ]
