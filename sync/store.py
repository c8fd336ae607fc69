"""The store's connection: one engine, SQLite tuned for one writer, PostgreSQL as given.

Writes go through :meth:`Store.write`, a transaction that holds the store's write lock
from its first statement (``BEGIN IMMEDIATE`` on SQLite; the change-counter row lock on
PostgreSQL, see :mod:`sync.versions`), so that versions are assigned in commit order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from schemas.migrate import upgrade_connection
from sync.errors import StoreError

_SQLITE_BUSY_TIMEOUT_MS = 30_000


class Store:
    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _engine(url, schema=schema)

    def upgrade(self) -> None:
        """Bring the schema up to date (``kros-adapter db upgrade``; every run does it)."""
        try:
            with self.engine.begin() as connection:
                upgrade_connection(connection)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the store: {_short(exc)}") from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A writing transaction; committed when the block ends, rolled back on error."""
        try:
            with self.engine.connect() as connection:
                if self.is_sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    connection.begin()
                try:
                    yield connection
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"the store refused a write: {_short(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the store: {_short(exc)}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _engine(url: str, *, schema: str | None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # The driver's own transaction handling is off: Store.write issues BEGIN
            # IMMEDIATE itself, so the write lock is taken before anything is read.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits durable enough
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            # 64 MiB of page cache: a school's indexes stay in memory while a sync
            # inserts into them (the default 2 MiB re-reads index pages on every page).
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.close()

        return engine
    options: dict[str, Any] = {"pool_pre_ping": True}
    if schema:
        options["connect_args"] = {"options": f"-csearch_path={schema}"}
    return create_engine(url, **options)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) < 300 else text[:299] + "…"
