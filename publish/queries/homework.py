"""Homework of a student's class and groups, with attachments (downloaded via the adapter)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Connection, or_, select

from publish.queries.people import StudentCard, subject_names
from schemas.tables import homework, homework_attachments


@dataclass(frozen=True, slots=True)
class AttachmentItem:
    position: int
    name: str


@dataclass(slots=True)
class HomeworkItem:
    source_id: str
    subject: str
    assigned_on: date
    due_on: date
    text: str
    attachments: list[AttachmentItem] = field(default_factory=list)


def _belongs(student: StudentCard, group_ids: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        homework.c.class_source_id == student.class_source_id,
        homework.c.group_source_id.in_(list(group_ids)),
    )


def homework_due(
    connection: Connection,
    student: StudentCard,
    group_ids: Sequence[str],
    start: date,
    end: date,
) -> list[HomeworkItem]:
    """Homework due between two dates, by due date then subject."""
    rows = connection.execute(
        select(homework)
        .where(
            homework.c.school_id == student.school_id,
            homework.c.deleted_at.is_(None),
            homework.c.due_on >= start,
            homework.c.due_on <= end,
            _belongs(student, group_ids),
        )
        .order_by(homework.c.due_on, homework.c.subject_source_id, homework.c.source_id)
    ).all()
    names = subject_names(connection, student.school_id)
    items = {
        row.source_id: HomeworkItem(
            source_id=row.source_id,
            subject=names.get(row.subject_source_id, row.subject_source_id),
            assigned_on=row.assigned_on,
            due_on=row.due_on,
            text=row.text,
        )
        for row in rows
    }
    attachments: dict[str, list[AttachmentItem]] = defaultdict(list)
    ids = sorted(items)
    for start_at in range(0, len(ids), 500):
        for row in connection.execute(
            select(
                homework_attachments.c.homework_source_id,
                homework_attachments.c.position,
                homework_attachments.c.name,
            )
            .where(
                homework_attachments.c.school_id == student.school_id,
                homework_attachments.c.homework_source_id.in_(ids[start_at : start_at + 500]),
            )
            .order_by(homework_attachments.c.position)
        ):
            attachments[row.homework_source_id].append(AttachmentItem(row.position, row.name))
    for homework_id, found in attachments.items():
        items[homework_id].attachments = found
    return list(items.values())


@dataclass(frozen=True, slots=True)
class AttachmentSource:
    name: str
    url: str


def attachment_for(
    connection: Connection,
    student: StudentCard,
    group_ids: Sequence[str],
    homework_id: str,
    position: int,
) -> AttachmentSource | None:
    """The attachment, only if its homework is set for this student's class or groups.

    The ids in the URL choose the file; they never grant access: the homework must
    belong to the student that the viewer was already allowed to see."""
    row = connection.execute(
        select(homework_attachments.c.name, homework_attachments.c.url)
        .join(
            homework,
            (homework.c.school_id == homework_attachments.c.school_id)
            & (homework.c.source_id == homework_attachments.c.homework_source_id),
        )
        .where(
            homework_attachments.c.school_id == student.school_id,
            homework_attachments.c.homework_source_id == homework_id,
            homework_attachments.c.position == position,
            homework.c.deleted_at.is_(None),
            _belongs(student, group_ids),
        )
    ).first()
    return None if row is None else AttachmentSource(row.name, row.url)
