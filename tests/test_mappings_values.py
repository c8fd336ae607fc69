"""mappings.values re-implements kros_adapter.timestamps (the layers forbid importing it):
both must give the same answer for any text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kros_adapter import timestamps
from mappings import values

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
timestamp_texts = st.one_of(
    st.datetimes(timezones=offsets).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset: refused by both
    st.text(alphabet="0123456789-:T+Zz. ", max_size=30),
    st.text(max_size=30),
)


def outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except ValueError:
        return ValueError


@given(timestamp_texts)
def test_timestamps_parse_as_kros_adapter_parses_them(text: str) -> None:
    assert outcome(values.parse_timestamp, text) == outcome(timestamps.parse_timestamp, text)


@given(st.one_of(st.dates().map(date.isoformat), st.text(alphabet="0123456789- ", max_size=12)))
def test_dates_parse_as_kros_adapter_parses_them(text: str) -> None:
    mine = outcome(values.parse_date, text)
    theirs = outcome(timestamps.parse_date, text)
    # kros_adapter takes fromisoformat's "2026-1204"-style spellings of length 10 too.
    assert mine == theirs or (mine is ValueError and len(text.strip()) == 10)


@given(st.datetimes(timezones=offsets))
def test_any_instant_comes_back_as_aware_utc(moment: datetime) -> None:
    parsed = values.parse_timestamp(moment.isoformat())
    assert parsed == moment and parsed.tzinfo is UTC


def test_memoized_parses_are_the_same_answers() -> None:
    text = "2026-12-04T16:23:05+03:00"
    assert values.parse_timestamp(text) is values.parse_timestamp(text)
    assert values.parse_timestamp(text) == datetime(2026, 12, 4, 13, 23, 5, tzinfo=UTC)


@pytest.mark.parametrize("value", [5, None, ["2026-12-04"], b"2026-12-04"])
def test_dates_and_timestamps_must_be_text(value: object) -> None:
    with pytest.raises(TypeError):
        values.parse_date(value)
    with pytest.raises(TypeError):
        values.parse_timestamp(value)


@given(st.integers())
def test_xml_integers_round_trip(number: int) -> None:
    assert values.parse_text_int(str(number)) == number
    assert values.parse_text_int(f" {number} ") == number


@pytest.mark.parametrize("text", ["", "-", "+5", "1_000", "٣", "5.0", "1e3", "0x1f"])
def test_xml_integers_are_plain_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError, match="not an integer"):
        values.parse_text_int(text)


@pytest.mark.parametrize(
    ("text", "meaning"), [("true", True), ("false", False), ("1", True), (" 0 ", False)]
)
def test_xml_booleans_are_those_of_xml_schema(text: str, meaning: bool) -> None:
    assert values.parse_text_bool(text) is meaning


@pytest.mark.parametrize("text", ["True", "yes", "", "2"])
def test_other_booleans_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        values.parse_text_bool(text)


def test_json_integers_and_booleans_are_not_each_other() -> None:
    with pytest.raises(TypeError):
        values.parse_json_int(True)
    with pytest.raises(TypeError):
        values.parse_json_bool(1)
