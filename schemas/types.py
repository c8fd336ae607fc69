"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones: SQLAlchemy writes a ``DATETIME`` as text and reads it back
naive, while PostgreSQL's ``timestamptz`` reads back in the session's zone. The store
promises identical behaviour on both, so :class:`UTCDateTime` accepts only aware
values, stores UTC, and always returns aware UTC — the same value that went in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: written as UTC, read back as an aware UTC ``datetime``.

    A naive value is refused when bound: guessing its zone would shift records by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if type(value) is datetime and value.tzinfo is UTC:
            # The common case (every instant the mappings produce): already UTC.
            return value.replace(tzinfo=None) if dialect.name == "sqlite" else value
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"UTCDateTime refuses a naive datetime: {value!r}")
        utc = value.astimezone(UTC)
        # SQLite keeps text and would keep whatever offset it is given; store naive UTC.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the text SQLAlchemy's ``DATETIME`` would write, produced directly.

        SQLAlchemy formats each value through a ``%``-template; ``isoformat`` writes the
        same ``YYYY-MM-DD HH:MM:SS.ffffff`` several times faster, and instants are the
        most frequent values a sync binds.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            naive = self.process_bind_param(value, dialect)
            return None if naive is None else naive.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite, ``jsonb`` on PostgreSQL.

    PostgreSQL's plain ``json`` has no equality operator, so an upsert could not ask
    ``IS DISTINCT FROM`` of such a column; ``jsonb`` can.
    """
    return JSON().with_variant(JSONB(), "postgresql")
