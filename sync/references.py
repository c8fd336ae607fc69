"""Dangling references: a record naming an entity KROS never sent is quarantined.

References are kept as KROS ids, and streams are synced in phases (reference data,
then people and lessons, then the journal), so by the time a record is stored what it
names has been stored too. A record whose reference is still unknown goes to quarantine
with the reason; every run retries the stream's quarantine, so a reference that
arrives late (a lesson committed after its marks were read) resolves itself.

The ids of each referenced table are loaded once per run and kept: rows are never
removed from the store, so an id once known stays known, and only ids not yet seen are
looked up again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection, select

from mappings.records import Normalized, NormalizedRecord
from schemas.tables import metadata

TARGETS: dict[str, str] = {
    "student_source_id": "students",
    "lesson_source_id": "lessons",
    "subject_source_id": "subjects",
    "teacher_source_id": "teachers",
    "class_source_id": "classes",
    "group_source_id": "groups",
    "period_source_id": "periods",
    "year_source_id": "academic_years",
    "guardian_source_id": "guardians",
    "homeroom_teacher_source_id": "teachers",
}
"""Reference column → the table whose ``source_id`` it names."""


class ReferenceIndex:
    """The source ids known per (school, table), filled from the store as needed."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], set[str]] = {}

    def dangling(
        self, connection: Connection, school_id: str, items: Sequence[Normalized]
    ) -> dict[str, str]:
        """``source_id → reason`` for the records of ``items`` naming an unknown entity."""
        records = [item for item in items if isinstance(item, NormalizedRecord)]
        if not records:
            return {}
        columns = _reference_columns(records[0].table)
        for column, target in columns:
            values = {record.row.get(column) for record in records}
            values.discard(None)
            self._learn(connection, school_id, target, values)  # type: ignore[arg-type]
        reasons: dict[str, str] = {}
        for column, target in columns:
            known = self._known[(school_id, target)]
            for record in records:
                value = record.row.get(column)
                if value is not None and value not in known and record.source_id not in reasons:
                    reasons[record.source_id] = (
                        f"dangling reference: {column} {value!r} is not in {target}"
                    )
        return reasons

    def _learn(self, connection: Connection, school_id: str, target: str, values: set[str]) -> None:
        table = metadata.tables[target]
        known = self._known.get((school_id, target))
        if known is None:
            known = set(
                connection.execute(
                    select(table.c.source_id).where(table.c.school_id == school_id)
                ).scalars()
            )
            self._known[(school_id, target)] = known
            return
        unknown = sorted(values - known)
        for start in range(0, len(unknown), 900):
            known.update(
                connection.execute(
                    select(table.c.source_id).where(
                        table.c.school_id == school_id,
                        table.c.source_id.in_(unknown[start : start + 900]),
                    )
                ).scalars()
            )


@cache
def _reference_columns(table: str) -> tuple[tuple[str, str], ...]:
    """The reference columns of ``table`` and the tables they name (itself excluded)."""
    names = metadata.tables[table].c.keys()
    return tuple(
        (column, target)
        for column, target in TARGETS.items()
        if column in names and target != table
    )
