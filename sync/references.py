"""Dangling references: a record naming an entity KROS never sent is quarantined.

References are kept as KROS ids, and streams are synced in phases (reference data,
then people and lessons, then the journal), so by the time a record is stored what it
names has been stored too. A record whose reference is still unknown goes to quarantine
with the reason; every run retries the stream's quarantine, so a reference that
arrives late (a lesson committed after its marks were read) resolves itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

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


def dangling(connection: Connection, school_id: str, items: Sequence[Normalized]) -> dict[str, str]:
    """``source_id → reason`` for the records of ``items`` that name an unknown entity."""
    wanted: dict[str, set[str]] = defaultdict(set)
    records = [item for item in items if isinstance(item, NormalizedRecord)]
    for record in records:
        for column, target in TARGETS.items():
            value = record.row.get(column)
            if isinstance(value, str) and target != record.table:
                wanted[target].add(value)
    known: dict[str, set[str]] = {}
    for target, values in wanted.items():
        table = metadata.tables[target]
        found: set[str] = set()
        ordered = sorted(values)
        for start in range(0, len(ordered), 900):
            found.update(
                connection.execute(
                    select(table.c.source_id).where(
                        table.c.school_id == school_id,
                        table.c.source_id.in_(ordered[start : start + 900]),
                    )
                ).scalars()
            )
        known[target] = found
    reasons: dict[str, str] = {}
    for record in records:
        for column, target in TARGETS.items():
            value = record.row.get(column)
            if isinstance(value, str) and target != record.table and value not in known[target]:
                reasons[record.source_id] = (
                    f"dangling reference: {column} {value!r} is not in {target}"
                )
                break
    return reasons
