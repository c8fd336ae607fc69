"""Reconciliation after a full read: what KROS no longer has is marked deleted.

KROS keeps tombstones for 30 days; past that, deletions can only be inferred by reading
everything and comparing (CONTRACT.md §3). The ids a full listing has seen are kept in
``reconcile_seen`` page by page, in the page's own transaction, so an interrupted listing
still reconciles correctly once it resumes and completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Table, and_, bindparam, select, update

from kros_adapter.pagination import is_tombstone
from schemas.tables import reconcile_seen
from sync.dialects import dialect_insert
from sync.quarantine import source_id_of
from sync.versions import VersionAllocator

log = structlog.get_logger("sync.reconcile")


def live_ids(records: Sequence[dict[str, Any]]) -> set[str]:
    """The ids of the records that are not tombstones."""
    return {source_id_of(record) for record in records if not is_tombstone(record)}


def remember_seen(
    connection: Connection, school_id: str, stream: str, records: Sequence[dict[str, Any]]
) -> None:
    ids = sorted(live_ids(records))
    if ids:
        connection.execute(
            dialect_insert(connection, reconcile_seen).on_conflict_do_nothing(),
            [{"school_id": school_id, "stream": stream, "source_id": i} for i in ids],
        )


def reconcile(
    connection: Connection,
    table: Table,
    school_id: str,
    stream: str,
    *,
    listing_started_at: datetime,
    overlap: timedelta,
    versions: VersionAllocator,
    present: set[str] | None = None,
) -> int:
    """Mark deleted the live rows absent from a completed full read; returns how many.

    ``present`` is the set of ids read when the read was a single document; without it
    the ids remembered in ``reconcile_seen`` are used (and then forgotten). Only rows
    older than the listing's start minus the overlap count: a record changed while the
    listing ran may have moved past its cursor (CONTRACT.md §3).
    """
    alive = and_(
        table.c.school_id == school_id,
        table.c.deleted_at.is_(None),
        table.c.source_updated_at < listing_started_at - overlap,
    )
    if present is None:
        seen = select(reconcile_seen.c.source_id).where(
            reconcile_seen.c.school_id == school_id, reconcile_seen.c.stream == stream
        )
        missing = list(
            connection.execute(
                select(table.c.id).where(alive, table.c.source_id.not_in(seen))
            ).scalars()
        )
        connection.execute(
            reconcile_seen.delete().where(
                reconcile_seen.c.school_id == school_id, reconcile_seen.c.stream == stream
            )
        )
    else:
        candidates = connection.execute(select(table.c.id, table.c.source_id).where(alive))
        missing = [row_id for row_id, source_id in candidates if source_id not in present]
    if missing:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("row"))
            .values(deleted_at=bindparam("deleted"), change_version=bindparam("version")),
            [
                {"row": row_id, "deleted": listing_started_at, "version": versions.next()}
                for row_id in missing
            ],
        )
        log.info("sync.reconciled", school=school_id, stream=stream, tombstoned=len(missing))
    return len(missing)
