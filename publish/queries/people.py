"""Students, guardians, teachers and classes: who is who, and who belongs to whom."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, and_, select

from schemas.tables import (
    classes,
    group_students,
    groups,
    guardian_students,
    guardians,
    schools,
    students,
    subjects,
    teachers,
)

DEFAULT_TIMEZONE = "Europe/Simferopol"


@dataclass(frozen=True, slots=True)
class StudentCard:
    school_id: str
    source_id: str
    last_name: str
    first_name: str
    middle_name: str | None
    class_source_id: str
    class_name: str
    grade: int
    level: str
    individual_plan: bool
    status: str

    @property
    def name(self) -> str:
        return f"{self.last_name} {self.first_name}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


@dataclass(frozen=True, slots=True)
class ClassCard:
    school_id: str
    source_id: str
    name: str
    grade: int
    level: str
    homeroom_teacher_source_id: str | None


def full_name(last: str, first: str, middle: str | None) -> str:
    return " ".join(p for p in (last, first, middle) if p)


def _student_query() -> Select[Any]:
    # LEFT JOIN: a student whose class reference dangles still shows (docs/store.md).
    return select(
        students.c.school_id,
        students.c.source_id,
        students.c.last_name,
        students.c.first_name,
        students.c.middle_name,
        students.c.class_source_id,
        classes.c.name.label("class_name"),
        classes.c.grade,
        classes.c.level,
        students.c.individual_plan,
        students.c.status,
    ).select_from(
        students.outerjoin(
            classes,
            and_(
                classes.c.school_id == students.c.school_id,
                classes.c.source_id == students.c.class_source_id,
                classes.c.deleted_at.is_(None),
            ),
        )
    )


def _card(row: Row[Any]) -> StudentCard:
    r = row._mapping
    return StudentCard(
        school_id=r["school_id"],
        source_id=r["source_id"],
        last_name=r["last_name"],
        first_name=r["first_name"],
        middle_name=r["middle_name"],
        class_source_id=r["class_source_id"],
        class_name=r["class_name"] or r["class_source_id"],
        grade=int(r["grade"] or 0),
        level=r["level"] or "",
        individual_plan=bool(r["individual_plan"]),
        status=r["status"],
    )


def student_card(connection: Connection, school_id: str, student_id: str) -> StudentCard | None:
    """A living student, or None."""
    row = connection.execute(
        _student_query().where(
            students.c.school_id == school_id,
            students.c.source_id == student_id,
            students.c.deleted_at.is_(None),
        )
    ).first()
    return None if row is None else _card(row)


def class_students(connection: Connection, school_id: str, class_id: str) -> list[StudentCard]:
    """The class's living students, in the order of the class journal (by name)."""
    rows = connection.execute(
        _student_query()
        .where(
            students.c.school_id == school_id,
            students.c.class_source_id == class_id,
            students.c.deleted_at.is_(None),
        )
        .order_by(students.c.last_name, students.c.first_name, students.c.source_id)
    )
    return [_card(row) for row in rows]


def children_of_guardian(
    connection: Connection, school_id: str, guardian_id: str
) -> list[StudentCard]:
    """The living children KROS links to a living guardian (whatever their consent)."""
    return children_of_guardians(connection, school_id, [guardian_id]).get(guardian_id, [])


def children_of_guardians(
    connection: Connection, school_id: str, guardian_ids: Iterable[str] | None = None
) -> dict[str, list[StudentCard]]:
    query = (
        _student_query()
        .add_columns(guardian_students.c.guardian_source_id)
        .join(
            guardian_students,
            and_(
                guardian_students.c.school_id == students.c.school_id,
                guardian_students.c.student_source_id == students.c.source_id,
            ),
        )
        .join(
            guardians,
            and_(
                guardians.c.school_id == guardian_students.c.school_id,
                guardians.c.source_id == guardian_students.c.guardian_source_id,
            ),
        )
        .where(
            students.c.school_id == school_id,
            students.c.deleted_at.is_(None),
            guardians.c.deleted_at.is_(None),
        )
        .order_by(guardian_students.c.guardian_source_id, students.c.first_name)
    )
    if guardian_ids is not None:
        query = query.where(guardian_students.c.guardian_source_id.in_(sorted(set(guardian_ids))))
    found: dict[str, list[StudentCard]] = defaultdict(list)
    for row in connection.execute(query):
        found[row.guardian_source_id].append(_card(row))
    return dict(found)


def guardians_of_students(
    connection: Connection, school_id: str, student_ids: Iterable[str]
) -> dict[str, list[tuple[str, str, str]]]:
    """Per student, its living guardians as (id, full name, relation)."""
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    rows = connection.execute(
        select(
            guardian_students.c.student_source_id,
            guardians.c.source_id,
            guardians.c.last_name,
            guardians.c.first_name,
            guardians.c.middle_name,
            guardians.c.relation,
        )
        .join(
            guardians,
            and_(
                guardians.c.school_id == guardian_students.c.school_id,
                guardians.c.source_id == guardian_students.c.guardian_source_id,
            ),
        )
        .where(
            guardian_students.c.school_id == school_id,
            guardian_students.c.student_source_id.in_(sorted(set(student_ids))),
            guardians.c.deleted_at.is_(None),
        )
        .order_by(guardians.c.source_id)
    )
    for row in rows:
        found[row.student_source_id].append(
            (row.source_id, full_name(row.last_name, row.first_name, row.middle_name), row.relation)
        )
    return dict(found)


def class_card(connection: Connection, school_id: str, class_id: str) -> ClassCard | None:
    row = connection.execute(
        select(classes).where(
            classes.c.school_id == school_id,
            classes.c.source_id == class_id,
            classes.c.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return ClassCard(
        row.school_id, row.source_id, row.name, row.grade, row.level, row.homeroom_teacher_source_id
    )


def homeroom_teacher(connection: Connection, school_id: str, class_id: str) -> str | None:
    card = class_card(connection, school_id, class_id)
    return None if card is None else card.homeroom_teacher_source_id


def homeroom_classes(
    connection: Connection, school_id: str, teacher_ids: Iterable[str]
) -> list[ClassCard]:
    """The living classes whose homeroom teacher is one of ``teacher_ids``."""
    rows = connection.execute(
        select(classes)
        .where(
            classes.c.school_id == school_id,
            classes.c.homeroom_teacher_source_id.in_(sorted(set(teacher_ids))),
            classes.c.deleted_at.is_(None),
        )
        .order_by(classes.c.grade, classes.c.name)
    )
    return [
        ClassCard(r.school_id, r.source_id, r.name, r.grade, r.level, r.homeroom_teacher_source_id)
        for r in rows
    ]


def all_classes(connection: Connection, school_id: str) -> list[ClassCard]:
    rows = connection.execute(
        select(classes)
        .where(classes.c.school_id == school_id, classes.c.deleted_at.is_(None))
        .order_by(classes.c.grade, classes.c.name)
    )
    return [
        ClassCard(r.school_id, r.source_id, r.name, r.grade, r.level, r.homeroom_teacher_source_id)
        for r in rows
    ]


def student_group_ids(connection: Connection, school_id: str, student_id: str) -> list[str]:
    """The living groups, streams and individual plans the student belongs to."""
    rows = connection.execute(
        select(group_students.c.group_source_id)
        .join(
            groups,
            and_(
                groups.c.school_id == group_students.c.school_id,
                groups.c.source_id == group_students.c.group_source_id,
            ),
        )
        .where(
            group_students.c.school_id == school_id,
            group_students.c.student_source_id == student_id,
            groups.c.deleted_at.is_(None),
        )
        .order_by(group_students.c.group_source_id)
    )
    return [row[0] for row in rows]


_PEOPLE: dict[str, Table] = {"teacher": teachers, "guardian": guardians, "student": students}


def people_names(
    connection: Connection, school_id: str, ids: Iterable[str], *, kind: str
) -> dict[str, str]:
    """Full names (with patronymic) of teachers, guardians or students, by KROS id."""
    table = _PEOPLE[kind]
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = connection.execute(
        select(table.c.source_id, table.c.last_name, table.c.first_name, table.c.middle_name).where(
            table.c.school_id == school_id, table.c.source_id.in_(wanted)
        )
    )
    return {
        row.source_id: full_name(row.last_name, row.first_name, row.middle_name) for row in rows
    }


def subject_names(connection: Connection, school_id: str) -> dict[str, str]:
    rows = connection.execute(
        select(subjects.c.source_id, subjects.c.name).where(subjects.c.school_id == school_id)
    )
    return {row.source_id: row.name for row in rows}


def school_info(connection: Connection, school_id: str) -> tuple[str, str]:
    """The school's short name and time zone (defaults while the school is not synced)."""
    row = connection.execute(
        select(schools.c.short_name, schools.c.timezone).where(
            schools.c.school_id == school_id, schools.c.deleted_at.is_(None)
        )
    ).first()
    if row is None:
        return school_id, DEFAULT_TIMEZONE
    return row.short_name, row.timezone or DEFAULT_TIMEZONE


def school_ids(connection: Connection) -> list[str]:
    """Every school the store knows (synced or being synced)."""
    rows = connection.execute(select(schools.c.school_id).distinct().order_by(schools.c.school_id))
    return [row[0] for row in rows]
