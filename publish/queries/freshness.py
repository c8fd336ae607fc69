"""How fresh the cabinet's data is: «данные на 14:05», and whether KROS is out of reach.

From ``sync_runs``: per stream, the end of its last successful run. The data are as old
as the stalest stream (a page must not claim 14:05 while marks stopped at 09:00); KROS
was last reached when the newest run succeeded. A page warns when that is longer ago
than ``stale_after`` (SPEC.md, "The people and their web").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from schemas.tables import sync_runs
from sync.streams import STREAMS


@dataclass(frozen=True, slots=True)
class Freshness:
    data_as_of: datetime | None
    """The oldest of the streams' last successful syncs; None before the first sync."""
    last_contact: datetime | None
    """The newest successful sync of any stream."""
    stale: bool
    """KROS has not been reached for longer than allowed (or never)."""


def freshness(
    connection: Connection, school_ids: Sequence[str], now: datetime, stale_after: timedelta
) -> Freshness:
    latest: list[datetime] = []
    for school_id in school_ids:
        for stream in STREAMS:
            # One indexed look-up per stream (school_id, stream, started_at): sync_runs
            # grows by a row per stream and run, so no scan over its history.
            finished = connection.execute(
                select(sync_runs.c.finished_at)
                .where(
                    sync_runs.c.school_id == school_id,
                    sync_runs.c.stream == stream.name,
                    sync_runs.c.status == "succeeded",
                )
                .order_by(sync_runs.c.started_at.desc())
                .limit(1)
            ).scalar()
            if finished is not None:
                latest.append(finished)
    if not latest:
        return Freshness(None, None, True)
    last_contact = max(latest)
    return Freshness(min(latest), last_contact, now - last_contact > stale_after)
