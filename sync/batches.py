"""From KROS records to what the writer applies and what quarantine holds.

Normalizing is pure: it runs outside the store's write lock, so the next page is
mapped while the previous one is being written. Checking references and writing run
inside the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mappings.engine import mapping
from mappings.errors import RecordError
from mappings.records import Normalized
from sync import quarantine
from sync.quarantine import Quarantined, source_id_of
from sync.references import ReferenceIndex
from sync.streams import BY_NAME
from sync.versions import VersionAllocator
from sync.writer import WriteCounts, apply_items


@dataclass(slots=True)
class Batch:
    """One page's records, normalized: what can be stored and what is held, and why."""

    stream: str
    table: str
    normalized: list[Normalized]
    held: list[Quarantined]
    payloads: Sequence[dict[str, Any]]


def normalize_batch(stream: str, school_id: str, records: Sequence[dict[str, Any]]) -> Batch:
    """Normalize each record on its own; the ones that fail are held with their reason."""
    compiled = mapping(BY_NAME[stream].mapping)
    normalized: list[Normalized] = []
    held: list[Quarantined] = []
    for record in records:
        try:
            normalized.append(compiled.normalize(school_id, record))
        except RecordError as exc:
            held.append(Quarantined(source_id_of(record), str(exc), record))
    return Batch(stream, compiled.table, normalized, held, records)


def store_batch(
    connection: Connection,
    batch: Batch,
    school_id: str,
    versions: VersionAllocator,
    now: datetime,
    references: ReferenceIndex,
    held_ids: set[str] | None = None,
) -> tuple[WriteCounts, int]:
    """Store what can be stored, hold the rest; returns the counts and how many were held.

    ``held_ids``, when given, is every id of the stream held in quarantine (kept up to
    date here): only those can need releasing, so the others are not looked up.
    """
    held = list(batch.held)
    normalized = batch.normalized
    reasons = references.dangling(connection, school_id, normalized)
    if reasons:
        payloads = {source_id_of(record): record for record in batch.payloads}
        held.extend(
            Quarantined(item.source_id, reasons[item.source_id], payloads[item.source_id])
            for item in normalized
            if item.source_id in reasons
        )
        normalized = [item for item in normalized if item.source_id not in reasons]
    counts = apply_items(connection, batch.table, school_id, normalized, versions)
    quarantine.hold(connection, school_id, batch.stream, held, now)
    stored = [item.source_id for item in normalized]
    if held_ids is not None:
        stored = [source_id for source_id in stored if source_id in held_ids]
        held_ids.difference_update(stored)
        held_ids.update(record.source_id for record in held)
    quarantine.release(connection, school_id, batch.stream, stored, now)
    return counts, len(held)


def retry_quarantined(
    connection: Connection,
    school_id: str,
    stream: str,
    now: datetime,
    references: ReferenceIndex | None = None,
) -> tuple[int, set[str]]:
    """Give held records another chance (a new alias, a reference that arrived late).

    Returns how many were stored, and the ids still held.
    """
    held = quarantine.pending(connection, school_id=school_id, stream=stream)
    still_held = {row["source_id"] for row in held}
    if not held:
        return 0, still_held
    versions = VersionAllocator(connection)
    batch = normalize_batch(stream, school_id, [row["payload"] for row in held])
    store_batch(
        connection,
        batch,
        school_id,
        versions,
        now,
        references or ReferenceIndex(),
        still_held,
    )
    versions.close()
    return len(held) - len(still_held), still_held
