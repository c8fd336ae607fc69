"""KROS's changes minute by minute: deterministic, inside the minute, consistent with the state.

The planner reads a small dict-backed :class:`LiveView` over a tiny generated school.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kros_adapter.simulator.dataset import generate
from kros_adapter.simulator.model import DEFAULT_TODAY, Mutation, Record, SchoolData
from kros_adapter.simulator.mutations import plan_minute
from kros_adapter.timestamps import REGION_TZ, format_timestamp, parse_timestamp

SEED = 5
MINUTE = DEFAULT_TODAY  # a Friday, 10:00, in the middle of the school day


class DictView:
    """The smallest LiveView: records by collection and id, ids kept sorted."""

    def __init__(self, data: SchoolData) -> None:
        self.records: dict[str, dict[str, Record]] = {
            name: {r["id"]: r for r in records} for name, records in data.collections.items()
        }
        self.records["final-grades"] = {r["id"]: r for r in data.final_grades}
        self.records["exam-results"] = {r["id"]: r for r in data.exam_results}

    def ids(self, collection: str) -> Sequence[str]:
        return sorted(self.records.get(collection, {}))

    def get(self, collection: str, record_id: str) -> Record | None:
        return self.records.get(collection, {}).get(record_id)

    def apply(self, mutations: list[Mutation]) -> None:
        for mutation in mutations:
            collection = self.records[mutation.collection]
            if mutation.op == "upsert":
                collection[mutation.record["id"]] = mutation.record
            else:
                del collection[mutation.record["id"]]


@pytest.fixture(scope="module")
def data() -> SchoolData:
    return generate(1, seed=SEED, scale=0.05, today=DEFAULT_TODAY)


@pytest.fixture
def view(data: SchoolData) -> DictView:
    return DictView(copy.deepcopy(data))


def plan(view: DictView, minute: datetime = MINUTE, rate: float = 20.0) -> list[Mutation]:
    return plan_minute(view, seed=SEED, school_index=1, minute_start=minute, rate=rate)


def minutes(count: int, start: datetime = MINUTE) -> list[datetime]:
    return [start + timedelta(minutes=n) for n in range(count)]


def as_json(mutations: list[Mutation]) -> str:
    return json.dumps(
        [(m.collection, m.op, m.record, m.updated_at.isoformat(), m.commit_at.isoformat())
         for m in mutations],
        ensure_ascii=False,
        sort_keys=True,
    )  # fmt: skip


# --------------------------------------------------------------------------- determinism


def test_the_same_minute_and_state_give_the_same_changes(view: DictView) -> None:
    first = plan(view)
    assert first
    assert as_json(plan(view)) == as_json(first)


def test_other_minutes_seeds_and_schools_give_other_changes(view: DictView) -> None:
    base = as_json(plan(view))
    assert as_json(plan(view, MINUTE + timedelta(minutes=1))) != base
    other_seed = plan_minute(view, seed=SEED + 1, school_index=1, minute_start=MINUTE, rate=20)
    assert as_json(other_seed) != base
    other_school = plan_minute(view, seed=SEED, school_index=2, minute_start=MINUTE, rate=20)
    assert as_json(other_school) != base


def test_a_rate_of_zero_changes_nothing(view: DictView) -> None:
    assert all(plan(view, minute, rate=0) == [] for minute in minutes(30))


def test_the_rate_is_the_mean_count(view: DictView) -> None:
    counts = [len(plan(view, minute, rate=6)) for minute in minutes(200)]
    # A few planned changes find nothing fitting and are dropped.
    assert 4.5 <= sum(counts) / len(counts) <= 6.5
    assert len(set(counts)) > 3, "the count varies from minute to minute"


def test_a_naive_minute_is_refused(view: DictView) -> None:
    with pytest.raises(ValueError, match="aware"):
        plan(view, datetime(2026, 12, 4, 10, 0))


# --------------------------------------------------------------------------- timing


def check_timing(mutations: list[Mutation], minute: datetime) -> None:
    for mutation in mutations:
        assert minute <= mutation.updated_at < minute + timedelta(seconds=60)
        assert 0 <= (mutation.commit_at - mutation.updated_at).total_seconds() <= 60
        key = "updated" if mutation.collection == "final-grades" else "updated_at"
        if mutation.op == "upsert":
            assert mutation.record[key] == format_timestamp(mutation.updated_at)
            assert parse_timestamp(mutation.record[key]) == mutation.updated_at


def test_every_change_happens_within_its_minute(view: DictView) -> None:
    for minute in minutes(60):
        check_timing(plan(view, minute), minute)


def test_a_minute_that_does_not_start_on_a_whole_second(view: DictView) -> None:
    minute = MINUTE + timedelta(microseconds=400_000)
    for n in range(20):
        check_timing(plan(view, minute + timedelta(minutes=n)), minute + timedelta(minutes=n))


def test_about_a_tenth_commit_late(view: DictView) -> None:
    changes = [m for minute in minutes(120) for m in plan(view, minute)]
    late = [m for m in changes if m.commit_at > m.updated_at]
    assert 0.05 <= len(late) / len(changes) <= 0.15


# --------------------------------------------------------------------------- consistency


def test_new_ids_never_collide(view: DictView, data: SchoolData) -> None:
    generated = {r["id"] for records in data.collections.values() for r in records}
    seen: set[tuple[str, str]] = set()
    for minute in minutes(120):
        for mutation in plan(view, minute):
            if mutation.op != "upsert" or view.get(mutation.collection, mutation.record["id"]):
                continue
            key = (mutation.collection, mutation.record["id"])
            assert key not in seen
            assert mutation.record["id"] not in generated
            seen.add(key)
    assert len(seen) > 500


def test_deletions_and_edits_refer_to_live_records(view: DictView) -> None:
    for minute in minutes(120):
        changes = plan(view, minute)
        touched = Counter(
            (m.collection, m.record["id"])
            for m in changes
            if m.op == "delete" or view.get(m.collection, m.record["id"]) is not None
        )
        assert all(count == 1 for count in touched.values()), "a record changed twice"
        for mutation in changes:
            if mutation.op == "delete":
                assert mutation.record["id"] in view.ids(mutation.collection)
        view.apply(changes)


def test_the_view_is_never_modified(view: DictView) -> None:
    before = copy.deepcopy(view.records)
    for minute in minutes(60):
        plan(view, minute)
    assert view.records == before


def test_the_mix_covers_every_kind_of_change(view: DictView) -> None:
    kinds: Counter[tuple[str, str]] = Counter()
    for minute in minutes(300):
        changes = plan(view, minute)
        for mutation in changes:
            new = view.get(mutation.collection, mutation.record["id"]) is None
            kinds[(mutation.collection, "new" if new else mutation.op)] += 1
        view.apply(changes)
    assert kinds[("marks", "new")] == max(kinds.values())
    for kind in [
        ("marks", "upsert"),
        ("marks", "delete"),
        ("attendance", "new"),
        ("attendance", "delete"),
        ("homework", "new"),
        ("lesson-changes", "new"),
        ("consents", "new"),
        ("final-grades", "upsert"),
    ]:
        assert kinds[kind] > 0, kind


def test_new_marks_belong_to_held_lessons_of_their_students(view: DictView) -> None:
    for minute in minutes(60):
        for mutation in plan(view, minute):
            if mutation.collection != "marks" or view.get("marks", mutation.record["id"]):
                continue
            mark = mutation.record
            lesson = view.get("lessons", mark["lessonId"])
            assert lesson is not None and lesson["status"] != "cancelled"
            assert parse_timestamp(lesson["startsAt"]) <= minute
            assert mark["date"] == lesson["date"] and mark["subjectId"] == lesson["subjectId"]
            student = view.get("students", mark["studentId"])
            assert student is not None and student["status"] == "active"
            if lesson["classId"]:
                assert student["classId"] == lesson["classId"]
                grade = view.get("classes", lesson["classId"])
            else:
                group = view.get("groups", lesson["groupId"])
                assert group is not None and student["id"] in group["studentIds"]
                grade = view.get("classes", group["classIds"][0])
            assert grade is not None and grade["grade"] >= 2
            assert 1 <= mark["weight"] <= 5


def test_substitutions_concern_later_lessons(view: DictView) -> None:
    found = 0
    for minute in minutes(120):
        for mutation in plan(view, minute):
            if mutation.collection != "lesson-changes":
                continue
            found += 1
            change = mutation.record
            lesson = view.get("lessons", change["lessonId"])
            assert lesson is not None and lesson["status"] == "scheduled"
            assert parse_timestamp(lesson["startsAt"]) > minute
            assert change["teacherId"] != lesson["teacherId"]
            assert change["announcedAt"] == change["updated_at"]
    assert found


def test_homework_and_consents_have_the_contract_shape(view: DictView) -> None:
    for minute in minutes(300):
        for mutation in plan(view, minute):
            record = mutation.record
            if mutation.collection == "homework" and mutation.op == "upsert":
                assert record["dueOn"] > record["assignedOn"]
                for attachment in record["attachments"]:
                    assert attachment["url"].startswith("/ej/v1/schools/sch-1/attachments/att-m")
            if mutation.collection == "consents":
                guardian = view.get("guardians", record["guardianId"])
                assert guardian is not None and record["studentId"] in guardian["studentIds"]
                assert record["basis"]["kind"] in ("paper", "esign")
                assert record["decidedAt"] == record["updated_at"]


def test_final_grade_changes_keep_their_document_context(view: DictView) -> None:
    seen: Counter[str] = Counter()
    for minute in minutes(600):
        changes = plan(view, minute)
        for mutation in changes:
            if mutation.collection != "final-grades":
                continue
            seen[mutation.op] += 1
            record = mutation.record
            assert {"id", "periodId", "classId", "className", "studentId"} <= set(record)
            if mutation.op == "upsert":
                assert record["updated"] == format_timestamp(mutation.updated_at)
                assert all(isinstance(v, str) for v in record.values())
                assert "deferred" not in record or record["value"] == ""
        view.apply(changes)
    assert seen["upsert"] and seen["delete"]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    offset=st.integers(0, 7 * 24 * 60),
    seconds=st.floats(0, 59.999),
    rate=st.floats(0, 40),
)
def test_any_minute_and_rate_keep_the_rules(
    data: SchoolData, offset: int, seconds: float, rate: float
) -> None:
    view = DictView(data)
    minute = (MINUTE + timedelta(minutes=offset, seconds=seconds)).astimezone(REGION_TZ)
    changes = plan(view, minute, rate)
    check_timing(changes, minute)
    ids = [(m.collection, m.record["id"]) for m in changes]
    assert len(ids) == len(set(ids))
