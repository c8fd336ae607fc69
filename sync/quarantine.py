"""Quarantine: a record that cannot be stored is kept with its reason, never dropped.

One row per (school, stream, source id): seen again, its payload, reason and attempt
count are refreshed; stored successfully later (KROS fixed it, or an alias was added
and ``kros-adapter quarantine retry`` ran), it is marked resolved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update

from schemas.tables import quarantine
from sync.dialects import dialect_insert


@dataclass(frozen=True, slots=True)
class Quarantined:
    source_id: str
    reason: str
    payload: dict[str, Any]


def source_id_of(payload: dict[str, Any]) -> str:
    """The record's KROS id, or a stable stand-in for a record that has none."""
    value = payload.get("id")
    if isinstance(value, str) and value:
        return value
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str))
    return f"(no id) {digest.hexdigest()[:16]}"


def hold(
    connection: Connection,
    school_id: str,
    stream: str,
    records: Sequence[Quarantined],
    now: datetime,
) -> None:
    if not records:
        return
    rows = [
        {
            "school_id": school_id,
            "stream": stream,
            "source_id": record.source_id,
            "reason": record.reason,
            "payload": record.payload,
            "first_seen_at": now,
            "last_seen_at": now,
            "attempts": 1,
            "resolved_at": None,
        }
        for record in records
    ]
    statement = dialect_insert(connection, quarantine)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["school_id", "stream", "source_id"],
            set_={
                "reason": statement.excluded.reason,
                "payload": statement.excluded.payload,
                "last_seen_at": statement.excluded.last_seen_at,
                "attempts": quarantine.c.attempts + 1,
                "resolved_at": None,
            },
        ),
        rows,
    )


def release(
    connection: Connection, school_id: str, stream: str, source_ids: Sequence[str], now: datetime
) -> int:
    """Mark as resolved the quarantined records among ``source_ids`` that are now stored."""
    released = 0
    for start in range(0, len(source_ids), 900):
        result = connection.execute(
            update(quarantine)
            .where(
                quarantine.c.school_id == school_id,
                quarantine.c.stream == stream,
                quarantine.c.resolved_at.is_(None),
                quarantine.c.source_id.in_(source_ids[start : start + 900]),
            )
            .values(resolved_at=now)
        )
        released += result.rowcount
    return released


def pending(
    connection: Connection, *, school_id: str | None = None, stream: str | None = None
) -> list[dict[str, Any]]:
    query = select(quarantine).where(quarantine.c.resolved_at.is_(None))
    if school_id:
        query = query.where(quarantine.c.school_id == school_id)
    if stream:
        query = query.where(quarantine.c.stream == stream)
    query = query.order_by(quarantine.c.school_id, quarantine.c.stream, quarantine.c.source_id)
    return [dict(row) for row in connection.execute(query).mappings()]


def pending_counts(connection: Connection) -> dict[tuple[str, str], int]:
    rows = connection.execute(
        select(quarantine.c.school_id, quarantine.c.stream, func.count())
        .where(quarantine.c.resolved_at.is_(None))
        .group_by(quarantine.c.school_id, quarantine.c.stream)
    )
    return {(school, stream): int(count) for school, stream, count in rows}
