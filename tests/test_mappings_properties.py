"""Property tests of normalization: valid input always maps, broken input is a RecordError."""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.codes import vocabulary
from mappings.engine import collections, mapping, normalize
from mappings.errors import RecordError
from mappings.records import NormalizedRecord, Tombstone
from tests.test_mappings_engine import SAMPLES

CONTRACT_MARKS: dict[str, tuple[int | None, str | None, str]] = {
    "5": (5, None, "numeric"),
    "4": (4, None, "numeric"),
    "3": (3, None, "numeric"),
    "2": (2, None, "numeric"),
    "1": (1, None, "numeric"),
    "5-": (5, "-", "numeric"),
    "4+": (4, "+", "numeric"),
    "4-": (4, "-", "numeric"),
    "3+": (3, "+", "numeric"),
    "3-": (3, "-", "numeric"),
    "зач": (None, None, "pass"),
    "незач": (None, None, "fail"),
    "осв": (None, None, "released"),
    "н/а": (None, None, "not_certified"),
}

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


@st.composite
def rfc3339(draw: st.DrawFn) -> tuple[str, datetime]:
    """An RFC 3339 text as KROS or the field writes it, and the instant it means."""
    moment = draw(instants)
    text = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds", "auto"])))
    meant = datetime.fromisoformat(text)  # what is left of the instant once written
    if moment.utcoffset() == timedelta(0) and draw(st.booleans()):
        text = text.removesuffix("+00:00") + "Z"
    return text, meant


@st.composite
def spelled_mark(draw: st.DrawFn) -> tuple[str, str]:
    """A contract mark value with the field's spacing and letter case, and the value."""
    value = draw(st.sampled_from(sorted(CONTRACT_MARKS)))
    flips = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    cased = "".join(c.upper() if flip else c for c, flip in zip(value, flips, strict=True))
    pad = st.text(alphabet=" \t\u00a0", max_size=2)
    return draw(pad) + cased + draw(pad), value


@given(
    spelled_mark(),
    rfc3339(),
    st.dates(),
    st.integers(min_value=1, max_value=5),
    st.sampled_from(sorted(vocabulary("work_kinds").meanings.values())),
    st.none() | st.text(min_size=1).filter(lambda t: t.strip() != ""),
)
def test_any_valid_mark_maps(
    mark: tuple[str, str],
    stamp: tuple[str, datetime],
    day: Any,
    weight: int,
    work_kind: str,
    comment: str | None,
) -> None:
    text, value = mark
    record = {
        **SAMPLES["marks"],
        "value": text,
        "updated_at": stamp[0],
        "date": day.isoformat(),
        "weight": weight,
        "workKind": work_kind,
        "comment": comment,
    }
    result = normalize("marks", "sch-1", record)

    assert isinstance(result, NormalizedRecord)
    row = result.row
    assert (row["value_number"], row["value_sign"], row["value_kind"]) == CONTRACT_MARKS[value]
    assert row["value_text"] == text
    assert row["source_updated_at"] == stamp[1]
    assert row["source_updated_at"].tzinfo is UTC
    assert row["date"] == day
    assert row["comment"] == comment


@given(rfc3339(), st.sampled_from(sorted(collections())))
def test_any_tombstone_maps(stamp: tuple[str, datetime], collection: str) -> None:
    xml = mapping(collection).spec.format == "xml"
    spec = mapping(collection).spec
    record = {
        "id": "x-1",
        spec.deleted_field: "true" if xml else True,
        spec.updated_field: stamp[0],
    }
    result = normalize(collection, "sch-1", record)
    assert result == Tombstone("x-1", stamp[1], mapping(collection).table)


def required_fields(collection: str) -> list[str]:
    spec = mapping(collection).spec
    fields = [spec.id_field, spec.updated_field]
    fields += [c.source for c in spec.columns if not c.optional]
    fields += [link.source for link in spec.links if not link.optional]
    return fields


REQUIRED = [(c, f) for c in sorted(SAMPLES) for f in required_fields(c)]
LIST_FIELDS = {(c, link.source) for c in SAMPLES for link in mapping(c).spec.links}
COUNT_FIELDS = {
    (c, column.source)
    for c in SAMPLES
    for column in mapping(c).spec.columns
    if column.convert == "counts"
}


def set_path(record: dict[str, Any], path: str, value: Any, *, remove: bool = False) -> None:
    *parents, last = path.split(".")
    target = record
    for part in parents:
        target = target[part]
    if remove:
        target.pop(last, None)
    else:
        target[last] = value


never_valid = st.sampled_from([None, [], {}, {"a": 1}, ["st-1"], 1.5, float("nan")])
"""Values no required scalar field accepts, in either format."""
never_a_list = st.sampled_from([None, {}, {"a": 1}, "st-1", 1.5, 7, True])
"""Values no required list accepts (an empty list is a valid one)."""
never_counts = st.sampled_from([None, [], ["a"], "st-1", 1.5, 7, True, {"a": -1}, {"a": "1"}])
"""Values no map of counts accepts (an empty one is valid)."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.parametrize(("collection", "field"), REQUIRED)
@given(st.data())
def test_a_required_field_missing_or_of_a_wrong_kind_is_a_record_error(
    collection: str, field: str, data: st.DataObject
) -> None:
    record = copy.deepcopy(SAMPLES[collection])
    if data.draw(st.booleans(), label="remove"):
        set_path(record, field, None, remove=True)
    else:
        wrong = never_valid
        if (collection, field) in LIST_FIELDS:
            wrong = never_a_list
        elif (collection, field) in COUNT_FIELDS:
            wrong = never_counts
        set_path(record, field, data.draw(wrong, label="value"))

    with pytest.raises(RecordError) as caught:
        normalize(collection, "sch-1", record)
    assert str(caught.value)


@pytest.mark.parametrize("collection", sorted(SAMPLES))
@given(st.data())
def test_any_value_in_any_field_maps_or_is_a_record_error(
    collection: str, data: st.DataObject
) -> None:
    record = copy.deepcopy(SAMPLES[collection])
    fields = [*sorted(record), "deleted", "unexpected"]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="changes")):
        field = data.draw(st.sampled_from(fields), label="field")
        record[field] = data.draw(json_values, label="value")
    try:
        result = normalize(collection, "sch-1", record)
    except RecordError as error:
        assert str(error)
    else:
        assert isinstance(result, NormalizedRecord | Tombstone)


@given(st.sampled_from(sorted(SAMPLES)), st.dictionaries(st.text(max_size=8), json_values))
def test_any_object_maps_or_is_a_record_error(collection: str, record: dict[str, Any]) -> None:
    with contextlib.suppress(RecordError):
        normalize(collection, "sch-1", record)


@pytest.mark.parametrize("collection", ["final-grades", "exam-results"])
@given(st.data())
def test_xml_records_of_any_text_map_or_are_record_errors(
    collection: str, data: st.DataObject
) -> None:
    # XML attributes are always text: whatever text any attribute holds.
    record = dict(SAMPLES[collection])
    for field in data.draw(st.lists(st.sampled_from(sorted(record)), max_size=3), label="fields"):
        record[field] = data.draw(st.text(max_size=12), label="text")
    with contextlib.suppress(RecordError):
        normalize(collection, "sch-1", record)
