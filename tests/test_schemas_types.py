"""UTCDateTime: an instant with any offset comes back the same, in UTC, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from schemas.types import UTCDateTime
from tests.store_fixtures import store_engine_fixture, store_url_fixture  # noqa: F401

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets
)

MOMENTS = [
    datetime(2026, 12, 4, 16, 23, 5, tzinfo=timezone(timedelta(hours=3))),
    datetime(2026, 12, 4, 13, 23, 5, 123456, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=14))),
]


@given(instants, st.sampled_from([sqlite.dialect(), postgresql.dialect()]))
def test_bind_then_result_is_the_same_instant_in_utc(moment: datetime, dialect: Dialect) -> None:
    kind = UTCDateTime()
    stored = kind.process_bind_param(moment, dialect)
    back = kind.process_result_value(stored, dialect)
    assert back == moment
    assert back is not None and back.tzinfo is UTC


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 12, 4, 10), sqlite.dialect())


def test_round_trip_through_the_store(store_engine: Engine) -> None:
    metadata = MetaData()
    moments = Table(
        "moments",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=True),
    )
    metadata.create_all(store_engine)
    with store_engine.begin() as connection:
        connection.execute(insert(moments), [{"id": i, "at": m} for i, m in enumerate(MOMENTS)])
        connection.execute(insert(moments), [{"id": 99, "at": None}])
        rows = connection.execute(select(moments.c.at).order_by(moments.c.id)).scalars().all()

    assert rows[:-1] == MOMENTS
    assert all(r is not None and r.tzinfo is UTC for r in rows[:-1])
    assert [r.isoformat() for r in rows[:-1] if r is not None] == [
        m.astimezone(UTC).isoformat() for m in MOMENTS
    ]
    assert rows[-1] is None


def test_order_in_the_store_is_the_order_of_instants(store_engine: Engine) -> None:
    # SQLite compares the stored text: it must sort like the instants it holds.
    metadata = MetaData()
    moments = Table(
        "moments", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    metadata.create_all(store_engine)
    with store_engine.begin() as connection:
        connection.execute(insert(moments), [{"id": i, "at": m} for i, m in enumerate(MOMENTS)])
        ordered = connection.execute(select(moments.c.at).order_by(moments.c.at)).scalars().all()
    assert ordered == sorted(MOMENTS)
