"""The migrations build exactly the model of schemas/tables.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, UniqueConstraint, create_engine, inspect, select

from schemas import tables
from schemas.migrate import current_revision, head_revision, upgrade, upgrade_connection
from tests.store_fixtures import (  # noqa: F401
    sqlite_url_fixture,
    store_engine_fixture,
    store_url_fixture,
)


def test_an_empty_database_has_no_revision(store_url: str) -> None:
    assert current_revision(store_url) is None


def test_upgrade_reaches_the_head_and_matches_the_model(
    store_url: str, store_engine: Engine
) -> None:
    upgrade(store_url)

    assert current_revision(store_url) == head_revision() == "0002"
    with store_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, tables.metadata) == []


def test_upgrade_twice_changes_nothing(store_url: str, store_engine: Engine) -> None:
    upgrade(store_url)
    upgrade(store_url)

    with store_engine.connect() as connection:
        rows = connection.execute(select(tables.change_counter)).all()
    assert [tuple(row) for row in rows] == [(1, 0)]  # the counter's one row, at 0


def test_every_table_of_the_model_exists(store_url: str, store_engine: Engine) -> None:
    upgrade(store_url)

    names = set(inspect(store_engine).get_table_names())
    assert set(tables.metadata.tables) <= names
    assert names - set(tables.metadata.tables) == {"alembic_version"}


def test_upgrade_on_a_connection_the_caller_holds(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            upgrade_connection(connection)
    finally:
        engine.dispose()
    assert current_revision(sqlite_url) == head_revision()


def test_the_entity_tables_are_the_ones_spec_names() -> None:
    spec = (
        "schools, academic_years, periods, holidays, subjects, teachers, classes, groups, "
        "students, guardians, curriculum, lessons, lesson_changes, control_works, homework, "
        "marks, attendance, recommendations, final_grades, exam_results, consents"
    )
    assert [t.name for t in tables.ENTITY_TABLES] == spec.split(", ")


def test_every_entity_table_has_the_common_columns() -> None:
    for table in tables.ENTITY_TABLES:
        assert [c.name for c in table.c][:6] == list(tables.META_COLUMNS), table.name
        assert table.c.deleted_at.nullable, table.name
        assert table.c.change_version.index, table.name
        unique = {
            tuple(c.name for c in constraint.columns)
            for constraint in table.constraints
            if isinstance(constraint, UniqueConstraint)
        }
        assert ("school_id", "source_id") in unique, table.name
