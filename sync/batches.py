"""From KROS records to what the writer applies and what quarantine holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mappings.engine import CompiledMapping, mapping
from mappings.errors import RecordError
from mappings.records import Normalized
from sync import quarantine
from sync.quarantine import Quarantined, source_id_of
from sync.references import dangling
from sync.streams import BY_NAME
from sync.versions import VersionAllocator
from sync.writer import WriteCounts, apply_items


def normalize_batch(
    connection: Connection,
    compiled: CompiledMapping,
    school_id: str,
    records: Sequence[dict[str, Any]],
) -> tuple[list[Normalized], list[Quarantined]]:
    """Normalize each record on its own; the ones that fail, or that name an entity the
    store does not have, are held with their reason."""
    normalized: list[Normalized] = []
    held: list[Quarantined] = []
    for record in records:
        try:
            normalized.append(compiled.normalize(school_id, record))
        except RecordError as exc:
            held.append(Quarantined(source_id_of(record), str(exc), record))
    reasons = dangling(connection, school_id, normalized)
    if reasons:
        payloads = {source_id_of(record): record for record in records}
        held.extend(
            Quarantined(item.source_id, reasons[item.source_id], payloads[item.source_id])
            for item in normalized
            if item.source_id in reasons
        )
        normalized = [item for item in normalized if item.source_id not in reasons]
    return normalized, held


def apply_batch(
    connection: Connection,
    stream: str,
    school_id: str,
    records: Sequence[dict[str, Any]],
    versions: VersionAllocator,
    now: datetime,
) -> tuple[WriteCounts, int]:
    """Store what can be stored, hold the rest; returns the counts and how many were held."""
    compiled = mapping(BY_NAME[stream].mapping)
    applied, held = normalize_batch(connection, compiled, school_id, records)
    counts = apply_items(connection, compiled.table, school_id, applied, versions)
    quarantine.hold(connection, school_id, stream, held, now)
    quarantine.release(connection, school_id, stream, [item.source_id for item in applied], now)
    return counts, len(held)


def retry_quarantined(
    connection: Connection, school_id: str, stream: str, now: datetime
) -> tuple[int, int]:
    """Give held records another chance (a new alias, a reference that arrived late).

    Returns (released, still held).
    """
    held = quarantine.pending(connection, school_id=school_id, stream=stream)
    if not held:
        return 0, 0
    versions = VersionAllocator(connection)
    _counts, still = apply_batch(
        connection, stream, school_id, [row["payload"] for row in held], versions, now
    )
    versions.close()
    return len(held) - still, still
