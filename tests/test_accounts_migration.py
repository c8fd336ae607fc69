"""Migration 0002 adds the cabinet's account tables, and takes them away again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from schemas import tables
from schemas.migrate import alembic_config, current_revision, upgrade

ACCOUNT_TABLE_NAMES = {table.name for table in tables.ACCOUNT_TABLES}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_0002_adds_the_account_tables_and_downgrades_cleanly(store_url: str) -> None:
    upgrade(store_url, "0001")
    assert not ACCOUNT_TABLE_NAMES & _tables(store_url)

    upgrade(store_url)
    assert current_revision(store_url) == "0002"
    assert _tables(store_url) >= ACCOUNT_TABLE_NAMES

    command.downgrade(alembic_config(store_url), "0001")
    assert current_revision(store_url) == "0001"
    assert not ACCOUNT_TABLE_NAMES & _tables(store_url)
    upgrade(store_url)
    assert _tables(store_url) >= ACCOUNT_TABLE_NAMES


def test_the_account_tables_hold_no_entity_columns() -> None:
    # They are the product's own and never enter the change feed or the export.
    for table in tables.ACCOUNT_TABLES:
        assert "change_version" not in table.c, table.name
        assert table not in tables.ENTITY_TABLES
