"""Every record of a simulated school maps, except exactly the deliberately spoiled ones.

The simulator spoils a few records on purpose (``SchoolData.deliberate_errors``): unknown
mark values and attendance codes, which normalization must refuse, and dangling
references, which it cannot see (references are kept as KROS ids) and must let through.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from kros_adapter.simulator import model
from kros_adapter.simulator.dataset import generate
from kros_adapter.xml_documents import (
    DocumentKind,
    iter_document,
    write_exam_results,
    write_final_grades,
)
from mappings.engine import normalize
from mappings.errors import RecordError, UnknownCodeError
from mappings.records import NormalizedRecord

SCHOOL = "sch-1"


@cache
def school() -> model.SchoolData:
    return generate(1, seed=1, scale=0.05, today=model.DEFAULT_TODAY)


def refused(collection: str, records: list[model.Record]) -> dict[str, RecordError]:
    errors: dict[str, RecordError] = {}
    for record in records:
        try:
            result = normalize(collection, SCHOOL, record)
        except RecordError as error:
            errors[record["id"]] = error
        else:
            assert isinstance(result, NormalizedRecord)
    return errors


def test_exactly_the_unknown_values_are_refused() -> None:
    data = school()
    refusals: dict[tuple[str, str], RecordError] = {}
    for collection, records in data.collections.items():
        refusals.update({(collection, i): e for i, e in refused(collection, records).items()})

    spoiled_values = {
        (e.collection, e.record_id)
        for e in data.deliberate_errors
        if e.reason.startswith(("mark value", "attendance code"))
    }
    assert spoiled_values, "the simulator spoils at least one mark and one code"
    assert set(refusals) == spoiled_values
    assert all(isinstance(error, UnknownCodeError) for error in refusals.values())
    assert Counter(c for c, _ in refusals) == Counter(c for c, _ in spoiled_values)


def test_the_school_itself_maps() -> None:
    assert refused("school", [school().school]) == {}


def test_final_grades_map_after_a_round_trip_through_the_xml_document() -> None:
    grades = school().final_grades
    document = write_final_grades(
        grades, school_id=SCHOOL, period_id=None, generated="2026-12-04T10:00:00+03:00"
    )
    records = list(iter_document(DocumentKind.FINAL_GRADES, document, max_bytes=1 << 30))

    assert len(records) == len(grades)
    assert refused("final-grades", records) == {}
    deferred = [r for r in records if r.get("deferred") == "true"]
    for record in deferred:
        result = normalize("final-grades", SCHOOL, record)
        assert isinstance(result, NormalizedRecord)
        assert result.row["deferred"] is True and result.row["value_kind"] is None


def test_exam_results_map_after_a_round_trip_through_the_xml_document() -> None:
    results = school().exam_results
    document = write_exam_results(results, school_id=SCHOOL, year_id="y-2026")
    records = list(iter_document(DocumentKind.EXAM_RESULTS, document, max_bytes=1 << 30))

    assert len(records) == len(results) > 0
    assert refused("exam-results", records) == {}


@pytest.mark.parametrize("collection", ["marks", "attendance", "homework"])
def test_dangling_references_are_not_data_errors_of_the_mapping(collection: str) -> None:
    data = school()
    dangling = {
        e.record_id
        for e in data.deliberate_errors
        if e.collection == collection and "does not exist" in e.reason
    }
    records = [r for r in data.collections[collection] if r["id"] in dangling]
    assert refused(collection, records) == {}
