"""The teachers who work with a student: of the class, of its groups and streams, and of
an individual plan (regulation item 3)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from publish.queries.people import StudentCard, homeroom_teacher, people_names, subject_names
from publish.queries.periods import PeriodCard
from schemas.tables import group_teachers, groups, lessons

GROUP_KINDS = {"group": "Группа", "stream": "Поток", "individual": "Индивидуальный план"}


@dataclass(frozen=True, slots=True)
class SubjectTeachers:
    subject: str
    teachers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupTeachers:
    name: str
    kind: str
    subject: str
    teachers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StudentTeachers:
    homeroom: str | None
    by_subject: list[SubjectTeachers]
    groups: list[GroupTeachers]


def student_teachers(
    connection: Connection,
    student: StudentCard,
    group_ids: Sequence[str],
    period: PeriodCard | None,
) -> StudentTeachers:
    """Who teaches the class each subject (from the period's timetable, as planned — a
    substitute is not the class's teacher), and who teaches each of the student's groups."""
    school = student.school_id
    query = (
        select(lessons.c.subject_source_id, lessons.c.teacher_source_id)
        .distinct()
        .where(
            lessons.c.school_id == school,
            lessons.c.class_source_id == student.class_source_id,
            lessons.c.deleted_at.is_(None),
        )
    )
    if period is not None:
        query = query.where(lessons.c.period_source_id == period.source_id)
    pairs = connection.execute(query).all()
    group_rows = connection.execute(
        select(groups.c.source_id, groups.c.name, groups.c.kind, groups.c.subject_source_id)
        .where(
            groups.c.school_id == school,
            groups.c.source_id.in_(list(group_ids)),
            groups.c.deleted_at.is_(None),
        )
        .order_by(groups.c.kind, groups.c.name)
    ).all()
    group_teacher_rows = connection.execute(
        select(group_teachers.c.group_source_id, group_teachers.c.teacher_source_id).where(
            group_teachers.c.school_id == school,
            group_teachers.c.group_source_id.in_(list(group_ids)),
        )
    ).all()
    homeroom_id = homeroom_teacher(connection, school, student.class_source_id)
    teacher_ids = {t for _, t in pairs} | {t for _, t in group_teacher_rows}
    if homeroom_id:
        teacher_ids.add(homeroom_id)
    names = people_names(connection, school, teacher_ids, kind="teacher")
    subjects = subject_names(connection, school)

    per_subject: dict[str, set[str]] = defaultdict(set)
    for subject_id, teacher_id in pairs:
        per_subject[subjects.get(subject_id, subject_id)].add(names.get(teacher_id, teacher_id))
    per_group: dict[str, set[str]] = defaultdict(set)
    for group_id, teacher_id in group_teacher_rows:
        per_group[group_id].add(names.get(teacher_id, teacher_id))
    return StudentTeachers(
        homeroom=names.get(homeroom_id, homeroom_id) if homeroom_id else None,
        by_subject=[
            SubjectTeachers(subject, tuple(sorted(found)))
            for subject, found in sorted(per_subject.items(), key=lambda kv: kv[0].casefold())
        ],
        groups=[
            GroupTeachers(
                name=row.name,
                kind=row.kind,
                subject=subjects.get(row.subject_source_id, row.subject_source_id),
                teachers=tuple(sorted(per_group.get(row.source_id, set()))),
            )
            for row in group_rows
        ],
    )
