"""The ground truth a store must equal: the simulator's dump, normalized.

``expected`` maps the simulator's canonical dump through the same mappings the sync
uses; records the mappings refuse, or that name an entity nobody sent, are the ones
quarantine must hold. ``stored`` reads a store back in the same form. Versions and
surrogate ids are left out: they depend on the order of writes, not on the data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from mappings.engine import mapping
from mappings.errors import RecordError
from mappings.records import NormalizedRecord
from schemas.tables import ENTITY_TABLES, LINK_TABLES, metadata
from sync.quarantine import source_id_of
from sync.references import TARGETS
from sync.streams import STREAMS

Digest = dict[str, dict[str, Any]]


def expected(dump: dict[str, Any], school_id: str) -> tuple[Digest, set[tuple[str, str]]]:
    """(table → source_id → row with links, the (stream, id) pairs quarantine must hold)."""
    normalized: list[tuple[str, NormalizedRecord]] = []
    held: set[tuple[str, str]] = set()
    for stream in STREAMS:
        records = [dump["school"]] if stream.name == "school" else dump[stream.name]
        compiled = mapping(stream.mapping)
        for record in records:
            try:
                item = compiled.normalize(school_id, record)
            except RecordError:
                held.add((stream.name, source_id_of(record)))
                continue
            assert isinstance(item, NormalizedRecord)
            normalized.append((stream.name, item))
    known: dict[str, set[str]] = defaultdict(set)
    for _stream, item in normalized:
        known[item.table].add(item.source_id)
    digest: Digest = {table.name: {} for table in ENTITY_TABLES}
    for stream, item in normalized:
        if any(
            isinstance(item.row.get(column), str)
            and target != item.table
            and item.row[column] not in known[target]
            for column, target in TARGETS.items()
        ):
            held.add((stream, item.source_id))
            continue
        links = {name: sorted(rows, key=_row_key) for name, rows in item.links.items()}
        digest[item.table][item.source_id] = {**item.row, "links": links}
    return digest, held


def stored(engine: Engine, school_id: str) -> Digest:
    """The live rows of one school, as :func:`expected` shapes them."""
    digest: Digest = {table.name: {} for table in ENTITY_TABLES}
    with engine.connect() as connection:
        for table in ENTITY_TABLES:
            rows = connection.execute(
                select(table).where(table.c.school_id == school_id, table.c.deleted_at.is_(None))
            ).mappings()
            for row in rows:
                values = {k: v for k, v in row.items() if k not in ("id", "change_version")}
                values["links"] = {}
                digest[table.name][row["source_id"]] = values
        for link_name, (parent, column) in LINK_TABLES.items():
            link = metadata.tables[link_name]
            for entry in digest[parent.name].values():
                entry["links"].setdefault(link_name, [])
            for row in connection.execute(
                select(link).where(link.c.school_id == school_id)
            ).mappings():
                entry = digest[parent.name].get(row[column])
                if entry is not None:
                    entry["links"][link_name].append(dict(row))
        for entries in digest.values():
            for entry in entries.values():
                for name in entry["links"]:
                    entry["links"][name].sort(key=_row_key)
    return digest


def held(engine: Engine, school_id: str) -> set[tuple[str, str]]:
    from schemas.tables import quarantine

    with engine.connect() as connection:
        rows = connection.execute(
            select(quarantine.c.stream, quarantine.c.source_id).where(
                quarantine.c.school_id == school_id, quarantine.c.resolved_at.is_(None)
            )
        )
        return {(stream, source_id) for stream, source_id in rows}


def all_versions(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        versions: list[int] = []
        for table in ENTITY_TABLES:
            versions.extend(connection.execute(select(table.c.change_version)).scalars())
        return versions


def assert_store_equals(engine: Engine, dump: dict[str, Any], school_id: str) -> None:
    want, want_held = expected(dump, school_id)
    got = stored(engine, school_id)
    for table in want:
        missing = want[table].keys() - got[table].keys()
        extra = got[table].keys() - want[table].keys()
        assert not missing and not extra, (
            f"{table}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
        )
        for source_id, row in want[table].items():
            assert got[table][source_id] == row, f"{table} {source_id} differs"
    assert held(engine, school_id) == want_held
    versions = all_versions(engine)
    assert len(versions) == len(set(versions)), "change_version is not unique"


def _row_key(row: dict[str, Any]) -> str:
    return repr(sorted(row.items()))
