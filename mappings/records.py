"""What the engine gives the sync for one KROS record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

Row = dict[str, Any]


@dataclass(slots=True)
class NormalizedRecord:
    """A live record, ready to upsert.

    ``row`` holds every column of ``table`` except ``id`` and ``change_version`` (the
    store assigns those): ``school_id``, ``source_id``, ``source_updated_at``,
    ``deleted_at`` (always ``None``: a live record revives a tombstoned row) and the
    entity's own columns, absent values as ``None``. Every record of a collection has
    the same keys, so rows batch into one ``executemany``.

    ``links`` maps each link table of the collection to the complete list of the
    record's link rows (possibly empty): they replace whatever the store held for
    this parent.
    """

    table: str
    source_id: str
    updated_at: datetime
    row: Row
    links: dict[str, list[Row]]


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A deletion from KROS: set ``deleted_at`` of the row, never remove it."""

    source_id: str
    updated_at: datetime
    table: str


Normalized = NormalizedRecord | Tombstone
