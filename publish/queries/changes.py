"""The change feed of the read API: entity rows changed after version N, in version order.

The same idea as ``publish/export.py``: every entity table is read after N in
``change_version`` order and the streams are merged, so a reader that keeps the last
version it processed gets every insert, change and deletion exactly once. A page stops
after ``limit`` rows; the next page starts after the last version returned.

Read inside one snapshot (:func:`snapshot`): versions follow commit order, but without a
snapshot a commit landing between the reads of two tables could put a row below the
page's last version into a table already read, and the reader would skip it.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from schemas.tables import ENTITY_TABLES, LINK_TABLES, change_counter, metadata
from sync.store import Store

ENTITY_BY_NAME: dict[str, Table] = {table.name: table for table in ENTITY_TABLES}
LINKS_BY_PARENT: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _link_name, (_parent, _column) in LINK_TABLES.items():
    LINKS_BY_PARENT[_parent.name].append((_link_name, _column))


@contextmanager
def snapshot(store: Store) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent cut of the store."""
    with store.read() as connection:
        if not store.is_sqlite:
            connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection
            connection.rollback()
            return
        # The driver runs in autocommit (sync/store.py): open the read transaction by
        # hand; in WAL mode it keeps one snapshot from its first read on.
        connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.exec_driver_sql("ROLLBACK")


def current_version(connection: Connection) -> int:
    return int(connection.execute(select(func.max(change_counter.c.last_version))).scalar() or 0)


@dataclass(frozen=True, slots=True)
class Change:
    table: str
    version: int
    row: dict[str, Any]
    links: dict[str, list[dict[str, Any]]] | None


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    next_after: int
    has_more: bool
    current_version: int


def changes_after(
    connection: Connection,
    after: int,
    limit: int,
    *,
    tables: tuple[Table, ...] = ENTITY_TABLES,
    school_id: str | None = None,
) -> ChangePage:
    """At most ``limit`` changed rows after version ``after`` across ``tables``."""
    per_table: list[list[dict[str, Any]]] = []
    for table in tables:
        query = select(table).where(table.c.change_version > after)
        if school_id is not None:
            query = query.where(table.c.school_id == school_id)
        # limit + 1 per table tells whether more follow without a second query.
        query = query.order_by(table.c.change_version).limit(limit + 1)
        per_table.append(
            [{"__table": table.name, **dict(row)} for row in connection.execute(query).mappings()]
        )
    merged = list(heapq.merge(*per_table, key=lambda row: int(row["change_version"])))
    page, more = merged[:limit], len(merged) > limit
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in page:
        by_table[row["__table"]].append(row)
    links = {name: entity_links(connection, name, rows) for name, rows in by_table.items()}
    changes = []
    for row in page:
        name = row.pop("__table")
        changes.append(
            Change(
                table=name,
                version=int(row["change_version"]),
                row=row,
                links=links[name].get((row["school_id"], row["source_id"])),
            )
        )
    return ChangePage(
        changes=changes,
        next_after=changes[-1].version if changes else after,
        has_more=more,
        current_version=current_version(connection),
    )


def entity_links(
    connection: Connection, table_name: str, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    """The link rows of these parent rows, by parent key and link table."""
    found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    if table_name not in LINKS_BY_PARENT:
        return found
    for row in rows:
        found[(row["school_id"], row["source_id"])] = {
            name: [] for name, _ in LINKS_BY_PARENT[table_name]
        }
    ids = sorted({row["source_id"] for row in rows})
    for link_name, column in LINKS_BY_PARENT[table_name]:
        link = metadata.tables[link_name]
        for start in range(0, len(ids), 500):
            query = select(link).where(link.c[column].in_(ids[start : start + 500]))
            for link_row in connection.execute(query).mappings():
                key = (link_row["school_id"], link_row[column])
                if key in found:
                    found[key][link_name].append(dict(link_row))
    return found


def entity(
    connection: Connection, table_name: str, school_id: str, source_id: str
) -> Change | None:
    """One entity row (deleted ones too: a reader must see the tombstone) with its links."""
    table = ENTITY_BY_NAME[table_name]
    row = (
        connection.execute(
            select(table).where(table.c.school_id == school_id, table.c.source_id == source_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    data = dict(row)
    links = entity_links(connection, table_name, [data]).get((school_id, source_id))
    return Change(table_name, int(data["change_version"]), data, links)
