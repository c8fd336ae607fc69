"""Where each (school, stream) stands: its watermark and the listing in progress.

A checkpoint is written in the same transaction as the rows of the page it covers
(SYNC-LESSONS.md, lesson 1), so after a crash the store and its checkpoint agree. It
never holds a page cursor (cursors expire in 15 minutes); it holds the newest
``(updated_at, id)`` applied, from which a listing resumes (lesson 3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select

from schemas.tables import checkpoints
from sync.dialects import dialect_insert


@dataclass(frozen=True, slots=True)
class Checkpoint:
    school_id: str
    stream: str
    watermark: datetime | None = None
    """The first ``server_time`` of the last listing that completed."""
    listing_started_at: datetime | None = None
    """The first ``server_time`` of the listing in progress; ``None`` between listings."""
    listing_full: bool = False
    """The listing in progress is a full read, reconciled when it completes."""
    position_updated_at: datetime | None = None
    position_source_id: str | None = None
    etag: str | None = None

    @property
    def in_progress(self) -> bool:
        return self.listing_started_at is not None

    def page_applied(
        self, *, listing_started_at: datetime, full: bool, position: tuple[datetime, str] | None
    ) -> Checkpoint:
        started = self.listing_started_at
        return replace(
            self,
            # A resumed listing keeps the start of the first attempt: the earlier instant
            # is the safe watermark.
            listing_started_at=min(started, listing_started_at) if started else listing_started_at,
            listing_full=full,
            position_updated_at=position[0] if position else self.position_updated_at,
            position_source_id=position[1] if position else self.position_source_id,
        )

    def completed(self, *, etag: str | None = None) -> Checkpoint:
        return replace(
            self,
            watermark=self.listing_started_at or self.watermark,
            listing_started_at=None,
            listing_full=False,
            position_updated_at=None,
            position_source_id=None,
            etag=etag if etag is not None else self.etag,
        )


def load(connection: Connection, school_id: str, stream: str) -> Checkpoint:
    row = connection.execute(
        select(checkpoints).where(
            checkpoints.c.school_id == school_id, checkpoints.c.stream == stream
        )
    ).one_or_none()
    if row is None:
        return Checkpoint(school_id, stream)
    return Checkpoint(
        school_id=school_id,
        stream=stream,
        watermark=row.watermark,
        listing_started_at=row.listing_started_at,
        listing_full=bool(row.listing_full),
        position_updated_at=row.position_updated_at,
        position_source_id=row.position_source_id,
        etag=row.etag,
    )


def save(connection: Connection, checkpoint: Checkpoint, now: datetime) -> None:
    values = {
        "watermark": checkpoint.watermark,
        "listing_started_at": checkpoint.listing_started_at,
        "listing_full": checkpoint.listing_full,
        "position_updated_at": checkpoint.position_updated_at,
        "position_source_id": checkpoint.position_source_id,
        "etag": checkpoint.etag,
        "updated_at": now,
    }
    statement = dialect_insert(connection, checkpoints).values(
        school_id=checkpoint.school_id, stream=checkpoint.stream, **values
    )
    connection.execute(
        statement.on_conflict_do_update(index_elements=["school_id", "stream"], set_=values)
    )
