"""``kros-adapter export``: the normalized store as JSON Lines, for downstream tools.

One line per entity row, in ``change_version`` order across all tables, so a reader
that remembers the last version it saw asks for ``--since-version N`` next time and
gets every insert, change and deletion (``deleted_at`` set) after N exactly once. Rows
of a list (a group's students, a homework's attachments) travel inside their parent's
line under ``links``.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Connection, Table, select

from schemas.tables import ENTITY_TABLES, LINK_TABLES, metadata

_LINKS_BY_PARENT: dict[str, list[tuple[str, str]]] = defaultdict(list)
for _link_name, (_parent, _column) in LINK_TABLES.items():
    _LINKS_BY_PARENT[_parent.name].append((_link_name, _column))

_BATCH = 2000
# Column names come as SQLAlchemy's quoted_name, a str subclass orjson refuses as a key.
_JSON_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def export_jsonl(connection: Connection, out: BinaryIO, *, since_version: int = 0) -> int:
    """Write every row changed after ``since_version`` to ``out``; returns the row count."""
    streams = [_table_lines(connection, table, since_version) for table in ENTITY_TABLES]
    written = 0
    for _version, line in heapq.merge(*streams, key=lambda item: item[0]):
        out.write(line)
        written += 1
    return written


def _table_lines(
    connection: Connection, table: Table, since_version: int
) -> Iterator[tuple[int, bytes]]:
    last = since_version
    while True:
        rows = [
            dict(row)
            for row in connection.execute(
                select(table)
                .where(table.c.change_version > last)
                .order_by(table.c.change_version)
                .limit(_BATCH)
            ).mappings()
        ]
        if not rows:
            return
        links = _links(connection, table.name, rows)
        for row in rows:
            line: dict[str, Any] = {"table": table.name, "row": row}
            own = links.get((row["school_id"], row["source_id"]))
            if own is not None:
                line["links"] = own
            yield row["change_version"], orjson.dumps(line, option=_JSON_OPTIONS)
        last = rows[-1]["change_version"]


def _links(
    connection: Connection, table_name: str, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    if table_name not in _LINKS_BY_PARENT:
        return found
    for row in rows:
        found[(row["school_id"], row["source_id"])] = {
            name: [] for name, _ in _LINKS_BY_PARENT[table_name]
        }
    ids = sorted({row["source_id"] for row in rows})
    for link_name, column in _LINKS_BY_PARENT[table_name]:
        link = metadata.tables[link_name]
        for start in range(0, len(ids), 900):
            query = select(link).where(link.c[column].in_(ids[start : start + 900]))
            for link_row in connection.execute(query).mappings():
                key = (link_row["school_id"], link_row[column])
                if key in found:
                    found[key][link_name].append(dict(link_row))
    return found
