"""Apply normalized records to an entity table: newest wins, only real changes count.

For each record of a batch the writer compares what KROS sent with what the store holds:

- unknown: inserted, with a new ``change_version``;
- older than the stored row (a late or out-of-order copy): ignored;
- identical to the stored row (a re-read of the overlap window, a resumed listing):
  left alone, so ``change_version`` moves only on real changes;
- different: updated in place with a new ``change_version``, its link rows replaced;
- a tombstone: ``deleted_at`` set, the row kept (rows are never removed by a sync).

Everything happens inside the caller's transaction, which also holds the version
counter and the stream's checkpoint: a batch is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, update

from mappings.records import Normalized, NormalizedRecord, Tombstone
from schemas.tables import LINK_TABLES, metadata
from sync.versions import VersionAllocator

# SQLite binds at most 32,766 parameters per statement; lookups go in slices of this.
_LOOKUP_SLICE = 900


@dataclass(slots=True)
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    tombstoned: int = 0
    unchanged: int = 0
    stale: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def newest_per_id(items: Iterable[Normalized]) -> list[Normalized]:
    """One item per source id, the newest ``updated_at`` winning (the later on a tie)."""
    chosen: dict[str, Normalized] = {}
    for item in items:
        current = chosen.get(item.source_id)
        if current is None or item.updated_at >= current.updated_at:
            chosen[item.source_id] = item
    return list(chosen.values())


def apply_items(
    connection: Connection,
    table_name: str,
    school_id: str,
    items: Sequence[Normalized],
    versions: VersionAllocator,
) -> WriteCounts:
    """Upsert ``items`` (records and tombstones of one table) and return what changed."""
    table = metadata.tables[table_name]
    counts = WriteCounts()
    items = newest_per_id(items)
    if not items:
        return counts
    stored = _stored_rows(connection, table, school_id, [item.source_id for item in items])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed_links: list[NormalizedRecord] = []
    for item in items:
        current = stored.get(item.source_id)
        if isinstance(item, Tombstone):
            _tombstone(item, current, updates, versions, counts)
            continue
        if current is None:
            inserts.append({**item.row, "change_version": versions.next()})
            changed_links.append(item)
            counts.inserted += 1
        elif current["source_updated_at"] > item.updated_at:
            counts.stale += 1
        elif _same(current, item.row):
            counts.unchanged += 1
        else:
            updates.append({**item.row, "_id": current["id"], "change_version": versions.next()})
            changed_links.append(item)
            counts.updated += 1
    if inserts:
        _insert_many(connection, table, inserts)
    _update_rows(connection, table, updates)
    _replace_links(connection, school_id, changed_links)
    return counts


@dataclass(frozen=True, slots=True)
class _PreparedInsert:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    positional: bool


_PREPARED: dict[tuple[str, str, tuple[str, ...]], _PreparedInsert] = {}


def _insert_many(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """On SQLite, ``executemany`` of one INSERT, bound with SQLAlchemy's own type processors.

    The statement and its processors are prepared once per table; going to the driver
    directly skips SQLAlchemy's per-row parameter assembly, which costs more than
    SQLite's own work on a first sync (bench/: the profile of a full sync).
    """
    dialect = connection.dialect
    if dialect.name != "sqlite":
        # PostgreSQL: SQLAlchemy batches rows into multi-row VALUES ("insertmanyvalues"),
        # far fewer round trips than the driver's executemany.
        connection.execute(insert(table), rows)
        return
    columns = tuple(rows[0])
    key = (table.name, dialect.name, columns)
    prepared = _PREPARED.get(key)
    if prepared is None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        names = tuple(compiled.positiontup or ()) if compiled.positional else columns
        processors = tuple(table.c[name].type._cached_bind_processor(dialect) for name in names)
        prepared = _PreparedInsert(str(compiled), names, processors, compiled.positional)
        _PREPARED[key] = prepared
    fetch = itemgetter(*prepared.names)
    processed = [(i, p) for i, p in enumerate(prepared.processors) if p is not None]
    if len(prepared.names) == 1:
        values: list[list[Any]] = [[fetch(row)] for row in rows]
    else:
        values = [list(fetch(row)) for row in rows]
    for index, process in processed:
        for value in values:
            value[index] = process(value[index])
    params: list[Any]
    if prepared.positional:
        params = [tuple(value) for value in values]
    else:
        params = [dict(zip(prepared.names, value, strict=True)) for value in values]
    connection.exec_driver_sql(prepared.sql, params)


def _tombstone(
    item: Tombstone,
    current: dict[str, Any] | None,
    updates: list[dict[str, Any]],
    versions: VersionAllocator,
    counts: WriteCounts,
) -> None:
    if current is None:
        # Deleted before the store ever saw it: there is no row to mark.
        counts.unchanged += 1
    elif current["deleted_at"] is not None or current["source_updated_at"] > item.updated_at:
        counts.stale += 1
    else:
        updates.append(
            {
                "_id": current["id"],
                "deleted_at": item.updated_at,
                "source_updated_at": item.updated_at,
                "change_version": versions.next(),
                "_tombstone": True,
            }
        )
        counts.tombstoned += 1


def _stored_rows(
    connection: Connection, table: Table, school_id: str, source_ids: list[str]
) -> dict[str, dict[str, Any]]:
    stored: dict[str, dict[str, Any]] = {}
    for start in range(0, len(source_ids), _LOOKUP_SLICE):
        chunk = source_ids[start : start + _LOOKUP_SLICE]
        rows = connection.execute(
            select(table).where(table.c.school_id == school_id, table.c.source_id.in_(chunk))
        ).mappings()
        for row in rows:
            stored[row["source_id"]] = dict(row)
    return stored


def _same(current: dict[str, Any], row: dict[str, Any]) -> bool:
    return all(current.get(column) == value for column, value in row.items())


def _update_rows(connection: Connection, table: Table, updates: list[dict[str, Any]]) -> None:
    # Bound names must differ from column names in an UPDATE's SET clause: prefix them.
    tombstones = [row for row in updates if row.get("_tombstone")]
    records = [row for row in updates if not row.get("_tombstone")]
    for batch in (tombstones, records):
        if not batch:
            continue
        columns = [name for name in batch[0] if not name.startswith("_")]
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_v_{name}") for name in columns}),
            [{"_id": row["_id"], **{f"_v_{name}": row[name] for name in columns}} for row in batch],
        )


def _replace_links(connection: Connection, school_id: str, records: list[NormalizedRecord]) -> None:
    if not records or not records[0].links:
        return
    parents = [record.source_id for record in records]
    for link_name in records[0].links:
        link = metadata.tables[link_name]
        _parent_table, parent_column = LINK_TABLES[link_name]
        for start in range(0, len(parents), _LOOKUP_SLICE):
            connection.execute(
                delete(link).where(
                    and_(
                        link.c.school_id == school_id,
                        link.c[parent_column].in_(parents[start : start + _LOOKUP_SLICE]),
                    )
                )
            )
        rows = [row for record in records for row in record.links[link_name]]
        if rows:
            connection.execute(insert(link), rows)
