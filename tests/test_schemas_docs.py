"""docs/store.md documents every table and column of the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Table

from schemas import tables

STORE_MD = (Path(__file__).resolve().parent.parent / "docs" / "store.md").read_text("utf-8")


def section(heading: str) -> str:
    """The text under a markdown heading ``#### `name` `` (any level) up to the next heading."""
    match = re.search(
        rf"^#+ `{re.escape(heading)}`\n(.*?)(?=^#+ |\Z)", STORE_MD, re.MULTILINE | re.DOTALL
    )
    assert match, f"docs/store.md has no section for `{heading}`"
    return match.group(1)


@pytest.mark.parametrize("table", tables.ENTITY_TABLES, ids=lambda t: t.name)
def test_every_entity_column_is_documented_in_its_tables_section(table: object) -> None:
    assert isinstance(table, Table)
    text = section(table.name)
    for column in table.c:
        if column.name not in tables.META_COLUMNS:
            assert f"| `{column.name}` |" in text, f"{table.name}.{column.name}"


def test_the_common_columns_are_documented() -> None:
    for column in tables.META_COLUMNS:
        assert f"| `{column}` |" in STORE_MD


@pytest.mark.parametrize("table", sorted(tables.LINK_TABLES))
def test_every_link_table_is_documented_with_its_columns(table: str) -> None:
    row = next((line for line in STORE_MD.splitlines() if line.startswith(f"| `{table}` |")), None)
    assert row, f"docs/store.md has no row for link table {table}"
    for column in tables.metadata.tables[table].c:
        assert f"`{column.name}`" in row or column.name == "school_id", f"{table}.{column.name}"


@pytest.mark.parametrize("table", tables.PRODUCT_TABLES, ids=lambda t: t.name)
def test_every_product_table_is_documented(table: object) -> None:
    assert isinstance(table, Table)
    text = section(table.name)
    for column in table.c:
        assert f"`{column.name}`" in text, f"{table.name}.{column.name}"


def test_the_docs_cover_reading_changes_tombstones_and_consent() -> None:
    for phrase in ("change_version > :n", "deleted_at", "Consent in force", "decided_at DESC"):
        assert phrase in STORE_MD
