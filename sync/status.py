"""What ``kros-adapter status`` shows: per stream, the last run, the watermark, the lag
and the quarantine, with the quarantine rate that raises an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from mappings.engine import mapping
from schemas.tables import ENTITY_TABLES, checkpoints, sync_runs
from sync.quarantine import pending_counts
from sync.streams import STREAMS


@dataclass(frozen=True, slots=True)
class StreamStatus:
    school_id: str
    stream: str
    last_status: str | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None
    watermark: datetime | None
    in_progress: bool
    quarantined: int
    records_read: int
    lag_seconds: float | None
    stored: int = 0
    """Live rows of the stream's table for the school."""

    @property
    def quarantine_rate(self) -> float:
        """The share of the stream's records held in quarantine (a rising rate is an
        alert: KROS sends values the dictionaries do not know)."""
        total = self.stored + self.quarantined
        return self.quarantined / total if total else 0.0


def stream_statuses(
    connection: Connection, school_ids: list[str], now: datetime
) -> list[StreamStatus]:
    latest = (
        select(sync_runs.c.school_id, sync_runs.c.stream, func.max(sync_runs.c.id).label("id"))
        .group_by(sync_runs.c.school_id, sync_runs.c.stream)
        .subquery()
    )
    runs = {
        (row.school_id, row.stream): row
        for row in connection.execute(select(sync_runs).join(latest, sync_runs.c.id == latest.c.id))
    }
    marks = {(row.school_id, row.stream): row for row in connection.execute(select(checkpoints))}
    held = pending_counts(connection)
    stored = _stored_counts(connection, school_ids)
    statuses: list[StreamStatus] = []
    for school_id in school_ids:
        for stream in STREAMS:
            key = (school_id, stream.name)
            run = runs.get(key)
            mark = marks.get(key)
            watermark = mark.watermark if mark else None
            statuses.append(
                StreamStatus(
                    school_id=school_id,
                    stream=stream.name,
                    last_status=run.status if run else None,
                    last_started_at=run.started_at if run else None,
                    last_finished_at=run.finished_at if run else None,
                    last_error=run.error if run else None,
                    watermark=watermark,
                    in_progress=bool(mark and mark.listing_started_at),
                    quarantined=held.get(key, 0),
                    records_read=int(run.records_read) if run else 0,
                    lag_seconds=(now - watermark).total_seconds() if watermark else None,
                    stored=stored.get((school_id, mapping(stream.mapping).table), 0),
                )
            )
    return statuses


def _stored_counts(connection: Connection, school_ids: list[str]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for table in ENTITY_TABLES:
        rows = connection.execute(
            select(table.c.school_id, func.count())
            .where(table.c.school_id.in_(school_ids), table.c.deleted_at.is_(None))
            .group_by(table.c.school_id)
        )
        for school_id, count in rows:
            counts[(school_id, table.name)] = int(count)
    return counts
