"""Bring a store's schema up to date, programmatically (the CLI and tests call this).

::

    from schemas.migrate import upgrade, current_revision
    upgrade("sqlite:///store.db")          # or postgresql+psycopg://…
    current_revision("sqlite:///store.db")  # "0001", or None for an empty database
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"
"""The Alembic script directory (``env.py``, ``versions/``)."""


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """An Alembic configuration for this project's migrations, without an ``alembic.ini``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # Config is a ConfigParser: a "%" in a password would start an interpolation.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply every revision up to ``revision`` to the database at ``url``."""
    command.upgrade(alembic_config(url), revision)


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """The same, on a connection the caller holds (and commits)."""
    command.upgrade(alembic_config(connection=connection), revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` when it has none."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no revisions under {MIGRATIONS}")
    return head
