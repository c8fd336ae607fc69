"""Timestamps in any offset, dates, and Retry-After (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kros_adapter.timestamps import (
    REGION_TZ,
    TimestampError,
    format_timestamp,
    parse_date,
    parse_retry_after,
    parse_timestamp,
)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))


@given(instants, offsets)
def test_any_offset_parses_to_the_same_instant(moment, offset):
    written = moment.astimezone(offset).isoformat()
    assert parse_timestamp(written) == moment
    assert parse_timestamp(written).tzinfo is UTC


@given(instants)
def test_z_and_the_regions_offset_agree(moment):
    assert parse_timestamp(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment
    assert parse_timestamp(format_timestamp(moment)) == moment
    assert format_timestamp(moment).endswith("+03:00")


@given(instants)
def test_fractional_seconds_are_kept(moment):
    precise = moment.replace(microsecond=123456)
    assert parse_timestamp(precise.isoformat()) == precise


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-04T10:00:00",
        "2026-12-04",
        "yesterday",
        "",
        "2026-13-04T10:00:00+03:00",
        "2026-12-04T10:00:00+25:00",
    ],
)
def test_unreadable_or_zoneless_timestamps_are_refused(text):
    with pytest.raises(TimestampError):
        parse_timestamp(text)


@given(st.text(max_size=40))
def test_arbitrary_text_either_parses_or_raises_timestamp_error(text):
    try:
        parsed = parse_timestamp(text)
    except TimestampError:
        return
    assert parsed.tzinfo is UTC


@given(st.dates())
def test_dates_round_trip(day):
    assert parse_date(day.isoformat()) == day


def test_region_is_utc_plus_three_without_dst():
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC).astimezone(REGION_TZ)
    winter = datetime(2026, 12, 1, 12, tzinfo=UTC).astimezone(REGION_TZ)
    assert summer.utcoffset() == winter.utcoffset() == timedelta(hours=3)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_in_seconds(seconds):
    assert parse_retry_after(str(seconds), now=datetime.now(UTC)) == seconds


def test_retry_after_as_http_date_and_garbage():
    now = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert parse_retry_after("Fri, 04 Dec 2026 13:00:30 GMT", now=now) == 30
    assert parse_retry_after("Fri, 04 Dec 2026 12:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None
    assert parse_retry_after("-5", now=now) == 0
