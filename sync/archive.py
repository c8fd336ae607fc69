"""The optional raw-payload archive: what KROS sent, kept for a while, so the store can
be rebuilt from it (``kros-adapter replay``) after a mapping changes, without asking
KROS again.

A page's payload is archived in the same transaction that applies it, so the archive
holds exactly what was applied. Rows past their retention are purged at the end of each
stream's run.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from schemas.tables import raw_payloads
from sync.batches import normalize_batch, store_batch
from sync.leases import Lease
from sync.references import ReferenceIndex
from sync.store import Store
from sync.streams import select_streams
from sync.versions import VersionAllocator

CONTENT_TYPE = "application/json; zlib"


def archive(
    connection: Connection,
    school_id: str,
    stream: str,
    records: Sequence[dict[str, Any]],
    now: datetime,
    retention: timedelta,
) -> None:
    if not records:
        return
    connection.execute(
        insert(raw_payloads).values(
            school_id=school_id,
            stream=stream,
            fetched_at=now,
            content_type=CONTENT_TYPE,
            payload=zlib.compress(orjson.dumps(list(records)), 3),
            expires_at=now + retention,
        )
    )


def purge(connection: Connection, now: datetime) -> int:
    return connection.execute(delete(raw_payloads).where(raw_payloads.c.expires_at <= now)).rowcount


@dataclass(slots=True)
class ReplayCounts:
    payloads: int = 0
    records: int = 0
    written: int = 0
    tombstoned: int = 0
    quarantined: int = 0


def replay(
    store: Store,
    school_ids: Sequence[str],
    streams: Sequence[str],
    *,
    holder: str,
    now: datetime,
    lease_ttl: timedelta,
) -> ReplayCounts:
    """Apply every archived payload again, oldest first, under each stream's lease.

    Replaying is idempotent: a record applied before with the same content changes
    nothing; one the current mappings read differently is updated with a new version.
    """
    counts = ReplayCounts()
    references = ReferenceIndex()
    for school_id in school_ids:
        for stream in select_streams(list(streams)):
            lease = Lease(school_id, stream.name, holder, lease_ttl)
            with store.write() as connection:
                lease.acquire(connection, now, None)
            try:
                _replay_stream(store, school_id, stream.name, lease, now, references, counts)
            finally:
                with store.write() as connection:
                    lease.release(connection)
    return counts


def _replay_stream(
    store: Store,
    school_id: str,
    stream: str,
    lease: Lease,
    now: datetime,
    references: ReferenceIndex,
    counts: ReplayCounts,
) -> None:
    with store.read() as connection:
        ids = list(
            connection.execute(
                select(raw_payloads.c.id)
                .where(raw_payloads.c.school_id == school_id, raw_payloads.c.stream == stream)
                .order_by(raw_payloads.c.id)
            ).scalars()
        )
    for payload_id in ids:
        with store.write() as connection:
            lease.renew(connection, now)
            blob = connection.execute(
                select(raw_payloads.c.payload).where(raw_payloads.c.id == payload_id)
            ).scalar_one()
            records = orjson.loads(zlib.decompress(blob))
            batch = normalize_batch(stream, school_id, records)
            versions = VersionAllocator(connection)
            written, held = store_batch(connection, batch, school_id, versions, now, references)
            versions.close()
        counts.payloads += 1
        counts.records += len(records)
        counts.written += written.written
        counts.tombstoned += written.tombstoned
        counts.quarantined += held
