"""Throwaway stores: a SQLite file per test, and a PostgreSQL schema per test.

PostgreSQL runs on 127.0.0.1:5432 (database ``test``, user ``postgres``, trust auth)
on every development machine and in CI. Each test gets a schema of its own, named
uniquely, made the connection's ``search_path`` through the URL, and dropped
afterwards, so parallel or repeated runs never meet. Tests on it are marked
``postgres``.

Until ``tests/conftest.py`` lists this module in ``pytest_plugins``, a test module
imports the fixture functions it uses; they are registered under the names without
``_fixture``, so that a test's parameters do not shadow the imports::

    from tests.store_fixtures import store_url_fixture  # noqa: F401

    def test_something(store_url: str) -> None: ...
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import Engine, create_engine

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_POSTGRES_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=5"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema while the block runs; yields a URL whose search_path is it."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        admin = psycopg.connect(_POSTGRES_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432 (this test needs it): {exc}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_SERVER}?options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sqlite_file(directory: Path) -> str:
    """The URL of a fresh SQLite file in ``directory``."""
    return f"sqlite:///{directory / 'store.db'}"


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path: Path) -> str:
    """The URL of a fresh, empty SQLite file."""
    return sqlite_file(tmp_path)


@pytest.fixture(name="postgres_url")
def postgres_url_fixture() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema, dropped after the test."""
    with postgres_schema() as url:
        yield url


@pytest.fixture(
    name="store_url",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs twice: on a SQLite file and on a PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_file(tmp_path)
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(name="store_engine")
def store_engine_fixture(store_url: str) -> Iterator[Engine]:
    """An engine on ``store_url``, disposed of after the test."""
    engine = create_engine(store_url)
    try:
        yield engine
    finally:
        engine.dispose()
