"""Teachers' recommendations to a student (regulation item 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from publish.queries.people import StudentCard, people_names, subject_names
from schemas.tables import recommendations


@dataclass(frozen=True, slots=True)
class RecommendationItem:
    date: date
    subject: str | None
    teacher: str
    text: str


def student_recommendations(
    connection: Connection, student: StudentCard, *, since: date | None = None
) -> list[RecommendationItem]:
    query = select(recommendations).where(
        recommendations.c.school_id == student.school_id,
        recommendations.c.student_source_id == student.source_id,
        recommendations.c.deleted_at.is_(None),
    )
    if since is not None:
        query = query.where(recommendations.c.date >= since)
    rows = connection.execute(
        query.order_by(recommendations.c.date.desc(), recommendations.c.source_id)
    ).all()
    names = subject_names(connection, student.school_id)
    teachers = people_names(
        connection, student.school_id, {r.teacher_source_id for r in rows}, kind="teacher"
    )
    return [
        RecommendationItem(
            r.date,
            names.get(r.subject_source_id, r.subject_source_id) if r.subject_source_id else None,
            teachers.get(r.teacher_source_id, r.teacher_source_id),
            r.text,
        )
        for r in rows
    ]
