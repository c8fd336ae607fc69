"""Entities, tables, vocabularies and the published JSON Schemas agree with each other.

The round trip at the end maps every record of a simulated school, writes the rows
into a migrated store (SQLite and PostgreSQL), reads them back exactly as they went in,
and validates each row, with its link rows, against its entity model.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any, get_args

import pytest
from sqlalchemy import Connection, Engine, insert, select

from mappings.codes import Attendance, MarkKind, vocabulary
from mappings.engine import normalize
from mappings.errors import RecordError
from mappings.records import NormalizedRecord
from schemas import entities, tables
from schemas.jsonschema import render_all, stale_files
from schemas.migrate import upgrade
from tests.store_fixtures import store_engine_fixture, store_url_fixture  # noqa: F401


def nullable_in_schema(model: type[entities.Entity], field: str) -> bool:
    prop = model.model_json_schema()["properties"][field]
    return any(option.get("type") == "null" for option in prop.get("anyOf", []))


@pytest.mark.parametrize("table", [t.name for t in tables.ENTITY_TABLES])
def test_every_entity_table_has_a_model_with_its_columns(table: str) -> None:
    model = entities.ENTITY_MODELS[table]
    links = {field for link, (parent, field) in entities.LINK_FIELDS.items() if parent == table}
    columns = set(tables.metadata.tables[table].c.keys())

    assert set(model.model_fields) == columns | links


@pytest.mark.parametrize("table", [t.name for t in tables.ENTITY_TABLES])
def test_a_field_is_nullable_exactly_when_its_column_is(table: str) -> None:
    model = entities.ENTITY_MODELS[table]
    for column in tables.metadata.tables[table].c:
        assert nullable_in_schema(model, column.name) == column.nullable, column.name


def test_link_fields_name_the_link_tables_of_the_store() -> None:
    assert set(entities.LINK_FIELDS) == set(tables.LINK_TABLES)
    for link, (parent, _) in entities.LINK_FIELDS.items():
        assert tables.LINK_TABLES[link][0].name == parent


@pytest.mark.parametrize("name", sorted(entities.VOCABULARIES))
def test_vocabularies_are_those_of_kinds_toml(name: str) -> None:
    assert set(get_args(entities.VOCABULARIES[name])) == set(vocabulary(name).meanings.values())


def test_mark_kinds_and_attendance_meanings_are_those_of_the_dictionaries() -> None:
    assert set(get_args(entities.MarkKind)) == {k.value for k in MarkKind}
    assert set(get_args(entities.AttendanceMeaning)) == {a.value for a in Attendance}


def test_the_committed_json_schemas_are_current() -> None:
    assert stale_files() == [], "regenerate with: python -m schemas.jsonschema"


def test_json_schemas_name_their_table_and_describe_the_common_columns() -> None:
    rendered = render_all()
    assert set(rendered) == {f"{t.name}.schema.json" for t in tables.ENTITY_TABLES}
    assert '"x-table": "marks"' in rendered["marks.schema.json"]
    assert "everything after N" in rendered["marks.schema.json"]


# --------------------------------------------------------------------------- round trip


@cache
def simulated_rows() -> tuple[NormalizedRecord, ...]:
    """Every record of a small simulated school, normalized (data errors left out)."""
    from kros_adapter.simulator import model
    from kros_adapter.simulator.dataset import generate

    school = generate(1, seed=1, scale=0.05, today=model.DEFAULT_TODAY)
    batches: list[tuple[str, list[dict[str, Any]]]] = [("school", [school.school])]
    batches += list(school.collections.items())
    batches += [("final-grades", school.final_grades), ("exam-results", school.exam_results)]
    normalized: list[NormalizedRecord] = []
    for collection, records in batches:
        for record in records:
            try:
                result = normalize(collection, "sch-1", record)
            except RecordError:
                continue
            assert isinstance(result, NormalizedRecord)
            normalized.append(result)
    return tuple(normalized)


def write(connection: Connection, records: tuple[NormalizedRecord, ...]) -> None:
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for version, record in enumerate(records, start=1):
        by_table[record.table].append({**record.row, "change_version": version})
        for link, rows in record.links.items():
            by_table[link].extend(rows)
    for table, rows in by_table.items():
        connection.execute(insert(tables.metadata.tables[table]), rows)


def read_entities(connection: Connection, table: str) -> list[dict[str, Any]]:
    """The rows of ``table`` with their link rows, as a downstream reader assembles them."""
    source = tables.metadata.tables[table]
    rows = [dict(r._mapping) for r in connection.execute(select(source).order_by(source.c.id))]
    for link, (parent, field) in entities.LINK_FIELDS.items():
        if parent != table:
            continue
        link_table = tables.metadata.tables[link]
        parent_column = tables.LINK_TABLES[link][1]
        children: dict[str, list[Any]] = defaultdict(list)
        for child in connection.execute(select(link_table)):
            values = dict(child._mapping)
            key = values.pop(parent_column)
            del values["school_id"]
            children[key].append(values if len(values) > 1 else next(iter(values.values())))
        for row in rows:
            items = children[row["source_id"]]
            row[field] = sorted(items, key=lambda v: v["position"] if isinstance(v, dict) else v)
    return rows


def test_simulated_school_round_trips_through_the_store(
    store_url: str, store_engine: Engine
) -> None:
    records = simulated_rows()
    upgrade(store_url)
    with store_engine.begin() as connection:
        write(connection, records)

    expected = {(r.table, r.source_id): r for r in records}
    seen = 0
    with store_engine.connect() as connection:
        for table, model in entities.ENTITY_MODELS.items():
            for row in read_entities(connection, table):
                record = expected[(table, row["source_id"])]
                stored = {k: row[k] for k in record.row}
                assert stored == record.row, (table, row["source_id"])
                model.model_validate(row)
                seen += 1
    assert seen == len(records)
    assert {r.table for r in records} == set(entities.ENTITY_MODELS)
