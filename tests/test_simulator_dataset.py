"""The simulator's generated school: deterministic, shaped as CONTRACT.md §4–§6, realistic.

A scale-1 school is generated once per module (about 1.5 s); most checks run on it.
Property tests use tiny schools (scale 0.05–0.15), which take a fraction of a second.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kros_adapter.simulator import calendar
from kros_adapter.simulator.dataset import (
    BAD_ATTENDANCE_CODES,
    BAD_MARK_VALUES,
    attachment_bytes,
    generate,
    numeric_mark,
    round_half_up,
    school_letters,
    students_per_class,
)
from kros_adapter.simulator.model import (
    COLLECTIONS,
    DEFAULT_TODAY,
    Record,
    SchoolData,
)
from kros_adapter.simulator.names import feminine_surname, patronymic
from kros_adapter.timestamps import REGION_TZ, parse_date, parse_timestamp

ROOT = Path(__file__).resolve().parent.parent
TODAY = DEFAULT_TODAY
MARK_VALUES = {"5", "4", "3", "2", "1", "5-", "4+", "4-", "3+", "3-", "зач", "незач", "осв", "н/а"}
ATTENDANCE_CODES = {"н", "б", "у", "п", "о"}


def canonical(data: SchoolData) -> str:
    """The whole school as one JSON text (deliberate errors included)."""
    errors = [dataclasses.astuple(e) for e in data.deliberate_errors]
    whole = [data.school, data.collections, data.final_grades, data.exam_results, errors]
    return json.dumps(whole, ensure_ascii=False, sort_keys=True)


@pytest.fixture(scope="module")
def school() -> SchoolData:
    return generate(1, seed=1, scale=1.0, today=TODAY)


@pytest.fixture(scope="module")
def school_problems(school: SchoolData) -> Problems:
    return check_shapes(school)


@pytest.fixture(scope="module")
def tiny() -> SchoolData:
    return generate(1, seed=7, scale=0.05, today=TODAY)


def by_id(data: SchoolData, collection: str) -> dict[str, Record]:
    return {r["id"]: r for r in data.collections[collection]}


# --------------------------------------------------------------------------- the contract's shapes

# A field's kind: "str", "int", "bool", "date", "ts" (RFC 3339), "list", "dict", a tuple
# of allowed values, or "@collection" (a reference) / "@@collection" (a list of them).
# A trailing "?" marks a field the contract lets be absent or null.
SHAPES: dict[str, dict[str, Any]] = {
    "academic-years": {"id": "str", "title": "str", "startsOn": "date", "endsOn": "date"},
    "periods": {
        "id": "str",
        "yearId": "@academic-years",
        "kind": ("quarter", "half_year", "trimester", "year"),
        "number": "int",
        "title": "str",
        "startsOn": "date",
        "endsOn": "date",
    },
    "holidays": {
        "id": "str",
        "yearId": "@academic-years",
        "title": "str",
        "kind": ("autumn", "winter", "spring", "summer", "extra"),
        "startsOn": "date",
        "endsOn": "date",
        "grades": "list?",
    },
    "subjects": {"id": "str", "name": "str", "shortName": "str?", "level": ("НОО", "ООО", "СОО")},
    "teachers": {
        "id": "str",
        "lastName": "str",
        "firstName": "str",
        "middleName": "str?",
        "position": "str?",
        "subjectIds": "@@subjects",
    },
    "classes": {
        "id": "str",
        "yearId": "@academic-years",
        "name": "str",
        "grade": tuple(range(1, 12)),
        "letter": "str",
        "level": ("НОО", "ООО", "СОО"),
        "homeroomTeacherId": "@teachers?",
    },
    "groups": {
        "id": "str",
        "yearId": "@academic-years",
        "name": "str",
        "kind": ("group", "stream", "individual"),
        "subjectId": "@subjects",
        "classIds": "@@classes",
        "studentIds": "@@students",
        "teacherIds": "@@teachers",
    },
    "students": {
        "id": "str",
        "lastName": "str",
        "firstName": "str",
        "middleName": "str?",
        "birthDate": "date",
        "classId": "@classes",
        "individualPlan": "bool",
        "status": ("active", "left"),
        "enrolledOn": "date",
        "leftOn": "date?",
    },
    "guardians": {
        "id": "str",
        "lastName": "str",
        "firstName": "str",
        "middleName": "str?",
        "relation": ("mother", "father", "guardian", "trustee"),
        "studentIds": "@@students",
        "contacts": "list",
    },
    "curriculum": {
        "id": "str",
        "yearId": "@academic-years",
        "classId": "@classes?",
        "groupId": "@groups?",
        "subjectId": "@subjects",
        "periodId": "@periods",
        "plannedLessons": "int",
        "byType": "dict",
    },
    "lessons": {
        "id": "str",
        "date": "date",
        "slot": tuple(range(1, 9)),
        "startsAt": "ts",
        "endsAt": "ts",
        "classId": "@classes?",
        "groupId": "@groups?",
        "subjectId": "@subjects",
        "teacherId": "@teachers",
        "room": "str?",
        "topic": "str?",
        "lessonType": ("lesson", "control", "lab", "practical", "test", "excursion"),
        "status": ("scheduled", "conducted", "cancelled"),
        "periodId": "@periods",
    },
    "lesson-changes": {
        "id": "str",
        "lessonId": "@lessons",
        "kind": ("substitution", "move", "cancel"),
        "teacherId": "@teachers?",
        "newDate": "date?",
        "newSlot": "int?",
        "newRoom": "str?",
        "reason": "str?",
        "announcedAt": "ts",
    },
    "control-works": {
        "id": "str",
        "date": "date",
        "classId": "@classes?",
        "groupId": "@groups?",
        "subjectId": "@subjects",
        "kind": ("control", "test", "vpr", "diagnostic"),
        "title": "str",
    },
    "homework": {
        "id": "str",
        "lessonId": "@lessons",
        "subjectId": "@subjects",
        "classId": "@classes?",
        "groupId": "@groups?",
        "assignedOn": "date",
        "dueOn": "date",
        "text": "str",
        "attachments": "list",
    },
    "marks": {
        "id": "str",
        "studentId": "@students",
        "lessonId": "@lessons?",
        "subjectId": "@subjects",
        "teacherId": "@teachers",
        "date": "date",
        "value": "str",
        "weight": (1, 2, 3, 4, 5),
        "workKind": (
            "answer",
            "control",
            "homework",
            "test",
            "lab",
            "dictation",
            "essay",
            "other",
        ),
        "comment": "str?",
    },
    "attendance": {
        "id": "str",
        "studentId": "@students",
        "lessonId": "@lessons",
        "date": "date",
        "code": "str",
        "comment": "str?",
    },
    "recommendations": {
        "id": "str",
        "studentId": "@students",
        "subjectId": "@subjects?",
        "teacherId": "@teachers",
        "date": "date",
        "text": "str",
    },
    "consents": {
        "id": "str",
        "guardianId": "@guardians",
        "studentId": "@students",
        "decision": ("given", "refused", "revoked"),
        "channels": "list",
        "decidedAt": "ts",
        "basis": "dict",
    },
}
SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str) and v != "",
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
    "date": lambda v: isinstance(v, str) and bool(parse_date(v)),
    "ts": lambda v: isinstance(v, str) and bool(parse_timestamp(v)),
}


@dataclasses.dataclass
class Problems:
    shapes: list[str] = dataclasses.field(default_factory=list)
    dangling: set[tuple[str, str]] = dataclasses.field(default_factory=set)


def check_shapes(data: SchoolData) -> Problems:
    """Every record against SHAPES; dangling references are collected, not failed."""
    problems = Problems()
    ids = {name: {r["id"] for r in records} for name, records in data.collections.items()}
    for name, records in data.collections.items():
        shape = SHAPES[name]
        for record in records:
            extra = set(record) - set(shape) - {"updated_at"}
            if extra:
                problems.shapes.append(f"{name} {record['id']}: unknown fields {extra}")
            if not SCALARS["ts"](record.get("updated_at")):
                problems.shapes.append(f"{name} {record['id']}: bad updated_at")
            for key, kind in shape.items():
                error, dangling = check_field(record, key, kind, ids)
                if error:
                    problems.shapes.append(f"{name} {record['id']}.{key}: {error}")
                if dangling:
                    problems.dangling.add((name, record["id"]))
    return problems


def check_field(
    record: Record, key: str, kind: Any, ids: dict[str, set[str]]
) -> tuple[str | None, bool]:
    optional = isinstance(kind, str) and kind.endswith("?")
    kind = kind.rstrip("?") if isinstance(kind, str) else kind
    value = record.get(key)
    if value is None:
        return (None if optional else "missing"), False
    if isinstance(kind, tuple):
        return (None if value in kind else f"{value!r} not allowed"), False
    if kind.startswith("@@"):
        if not isinstance(value, list):
            return "not a list", False
        return None, any(v not in ids[kind[2:]] for v in value)
    if kind.startswith("@"):
        return None, value not in ids[kind[1:]]
    return (None if SCALARS[kind](value) else f"{value!r} is not {kind}"), False


def errors_of(data: SchoolData, *, reason_contains: str) -> set[tuple[str, str]]:
    return {
        (e.collection, e.record_id) for e in data.deliberate_errors if reason_contains in e.reason
    }


# --------------------------------------------------------------------------- determinism


def test_the_same_arguments_give_identical_data(tiny: SchoolData) -> None:
    again = generate(1, seed=7, scale=0.05, today=TODAY)
    assert canonical(again) == canonical(tiny)


def test_the_data_does_not_depend_on_the_process_hash_seed(tiny: SchoolData) -> None:
    """Another interpreter with another PYTHONHASHSEED produces the same bytes."""
    script = (
        "import dataclasses, hashlib, json\n"
        "from kros_adapter.simulator.dataset import generate\n"
        "from kros_adapter.simulator.model import DEFAULT_TODAY\n"
        "d = generate(1, seed=7, scale=0.05, today=DEFAULT_TODAY)\n"
        "errors = [dataclasses.astuple(e) for e in d.deliberate_errors]\n"
        "whole = [d.school, d.collections, d.final_grades, d.exam_results, errors]\n"
        "text = json.dumps(whole, ensure_ascii=False, sort_keys=True)\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == hashlib.sha256(canonical(tiny).encode()).hexdigest()


def test_another_seed_gives_other_data(tiny: SchoolData) -> None:
    other = generate(1, seed=8, scale=0.05, today=TODAY)
    assert canonical(other) != canonical(tiny)
    names = {(s["lastName"], s["firstName"]) for s in other.collections["students"]}
    assert names != {(s["lastName"], s["firstName"]) for s in tiny.collections["students"]}


def test_schools_share_id_patterns_but_not_people(tiny: SchoolData) -> None:
    """Ids collide across schools on purpose: the adapter's store must scope them."""
    second = generate(2, seed=7, scale=0.05, today=TODAY)
    assert second.school["id"] == "sch-2" and tiny.school["id"] == "sch-1"
    assert second.school["name"] != tiny.school["name"]
    assert by_id(second, "students").keys() & by_id(tiny, "students").keys()
    assert by_id(second, "students")["st-0001"] != by_id(tiny, "students")["st-0001"]


# --------------------------------------------------------------------------- shapes


def test_every_record_has_the_contract_shape(school: SchoolData, school_problems: Problems) -> None:
    assert set(school.collections) == set(COLLECTIONS)
    assert school_problems.shapes == []


def test_references_resolve_except_the_deliberate_errors(
    school: SchoolData, school_problems: Problems
) -> None:
    dangling = school_problems.dangling
    assert dangling == errors_of(school, reason_contains="does not exist")
    assert {c for c, _ in dangling} == {"marks", "homework"}


def test_the_school_resource(school: SchoolData) -> None:
    record = school.school
    assert record["id"] == "sch-1"
    assert record["name"] == "МБОУ «Красногвардейская школа №1»"
    assert "Республика Крым" in record["address"]
    assert record["timezone"] == "Europe/Simferopol"
    digits = [int(c) for c in record["inn"]]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    assert len(digits) == 10
    assert digits[9] == sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def test_mark_values_are_the_contracts_except_the_deliberate_ones(school: SchoolData) -> None:
    unknown = {
        ("marks", m["id"])
        for m in school.collections["marks"]
        if m["value"].strip().lower() not in MARK_VALUES
    }
    assert unknown == errors_of(school, reason_contains="mark value")
    values = {m["value"] for m in school.collections["marks"]}
    assert set(BAD_MARK_VALUES) <= values
    assert {"зач", "незач", "осв", "н/а", "4+", "5-"} <= values
    assert any(v != v.strip() for v in values), "no spacing variants"
    assert any(v.strip() in ("Зач", "ЗАЧ") for v in values), "no case variants"


def test_attendance_codes_are_the_contracts_except_the_deliberate_ones(
    school: SchoolData,
) -> None:
    unknown = {
        ("attendance", a["id"])
        for a in school.collections["attendance"]
        if a["code"] not in ATTENDANCE_CODES
    }
    assert unknown == errors_of(school, reason_contains="attendance code")
    assert {a["code"] for a in school.collections["attendance"]} >= ATTENDANCE_CODES
    assert {a["code"] for a in school.collections["attendance"]} - ATTENDANCE_CODES <= set(
        BAD_ATTENDANCE_CODES
    )


def test_deliberate_errors_are_listed_once_and_point_at_records(school: SchoolData) -> None:
    listed = [(e.collection, e.record_id) for e in school.deliberate_errors]
    assert len(listed) == len(set(listed))
    for collection in {c for c, _ in listed}:
        ids = by_id(school, collection)
        assert all(record_id in ids for c, record_id in listed if c == collection)


# --------------------------------------------------------------------------- time


def all_updated(data: SchoolData) -> Iterator[str]:
    yield data.school["updated_at"]
    for records in data.collections.values():
        for record in records:
            yield record["updated_at"]
    for record in data.final_grades + data.exam_results:
        yield record["updated"]


def test_every_updated_at_is_not_after_today(school: SchoolData) -> None:
    assert all(parse_timestamp(text) <= TODAY for text in all_updated(school))


def test_some_timestamps_use_other_offsets_for_the_same_instant(school: SchoolData) -> None:
    offsets = Counter(text[19:] for text in all_updated(school))
    assert {"+03:00", "Z", "+00:00", "+05:00"} <= set(offsets)
    share = 1 - offsets["+03:00"] / sum(offsets.values())
    assert 0.01 < share < 0.03


def test_marks_are_entered_near_their_lesson(school: SchoolData) -> None:
    lessons = by_id(school, "lessons")
    for mark in school.collections["marks"]:
        lesson = lessons.get(mark["lessonId"] or "")
        if lesson is None:
            continue
        updated = parse_timestamp(mark["updated_at"])
        start = parse_timestamp(lesson["startsAt"])
        # A moved lesson happens up to a few days after its timetable slot.
        assert start - timedelta(hours=1) <= updated <= start + timedelta(days=8)


def test_lesson_statuses_follow_the_clock(school: SchoolData) -> None:
    changes = {c["lessonId"]: c for c in school.collections["lesson-changes"]}
    for lesson in school.collections["lessons"]:
        change = changes.get(lesson["id"])
        if change is not None and change["kind"] == "cancel":
            assert lesson["status"] == "cancelled"
        elif change is None or change["kind"] == "substitution":
            ended = parse_timestamp(lesson["endsAt"]) <= TODAY
            assert lesson["status"] == ("conducted" if ended else "scheduled")


def test_lessons_cover_school_days_from_september_to_two_weeks_ahead(
    school: SchoolData,
) -> None:
    dates = {date.fromisoformat(lesson["date"]) for lesson in school.collections["lessons"]}
    assert min(dates) == date(2026, 9, 1)
    assert max(dates) == date(2026, 12, 18)
    assert all(d.weekday() < 5 for d in dates)
    assert not any(date(2026, 10, 25) <= d <= date(2026, 11, 4) for d in dates)
    assert date(2026, 11, 4) not in dates


def test_lessons_carry_their_period_and_bells(school: SchoolData) -> None:
    classes = by_id(school, "classes")
    groups = by_id(school, "groups")
    periods = by_id(school, "periods")
    for lesson in school.collections["lessons"]:
        class_id = lesson["classId"] or groups[lesson["groupId"]]["classIds"][0]
        grade = classes[class_id]["grade"]
        period = periods[lesson["periodId"]]
        assert period["kind"] == ("half_year" if grade >= 10 else "quarter")
        assert period["startsOn"] <= lesson["date"] <= period["endsOn"]
        starts = parse_timestamp(lesson["startsAt"]).astimezone(REGION_TZ)
        assert starts.time() == calendar.BELLS[lesson["slot"]]
        assert (lesson["classId"] is None) != (lesson["groupId"] is None)


def test_nobody_is_in_two_lessons_at_once(school: SchoolData) -> None:
    groups = by_id(school, "groups")
    roster: dict[str, list[str]] = defaultdict(list)
    for student in school.collections["students"]:
        roster[student["classId"]].append(student["id"])
    teachers: Counter[tuple[str, str, int]] = Counter()
    students: Counter[tuple[str, str, int]] = Counter()
    for lesson in school.collections["lessons"]:
        cell = (lesson["date"], lesson["slot"])
        teachers[(lesson["teacherId"], *cell)] += 1
        members = (
            groups[lesson["groupId"]]["studentIds"]
            if lesson["groupId"]
            else roster[lesson["classId"]]
        )
        for student_id in members:
            students[(student_id, *cell)] += 1
    assert max(teachers.values()) == 1
    assert max(students.values()) == 1


# --------------------------------------------------------------------------- volumes at scale 1


@pytest.mark.parametrize(
    ("collection", "low", "high"),
    [
        ("academic-years", 2, 2),
        ("periods", 14, 14),
        ("holidays", 10, 10),
        ("subjects", 25, 25),
        ("teachers", 55, 65),
        ("classes", 33, 33),
        ("groups", 95, 120),
        ("students", 891, 891),
        ("guardians", 1250, 1500),
        ("curriculum", 1600, 1900),
        ("lessons", 13000, 15500),
        ("lesson-changes", 300, 550),
        ("control-works", 700, 1100),
        ("homework", 5500, 8000),
        ("marks", 115_000, 155_000),
        ("attendance", 9_000, 15_000),
        ("recommendations", 200, 450),
        ("consents", 1300, 1800),
    ],
)
def test_volumes_at_scale_1(school: SchoolData, collection: str, low: int, high: int) -> None:
    assert low <= len(school.collections[collection]) <= high


def test_document_volumes_at_scale_1(school: SchoolData) -> None:
    assert 7500 <= len(school.final_grades) <= 9000
    assert 200 <= len(school.exam_results) <= 250


def test_scale_sets_parallels_and_class_size() -> None:
    assert school_letters(1) == "АБВ"
    assert school_letters(0.05) == "А"
    assert school_letters(2) == "АБВГДЕ"
    assert students_per_class(1) == students_per_class(1 / 3) == 27
    assert students_per_class(0.05) == 4
    assert students_per_class(0.2) == 16
    with pytest.raises(ValueError, match="parallels"):
        school_letters(20)


def test_a_tiny_school_is_small(tiny: SchoolData) -> None:
    assert len(tiny.collections["classes"]) == 11
    assert len(tiny.collections["students"]) == 44


# --------------------------------------------------------------------------- the school's people


def test_grade_one_has_no_marks(school: SchoolData) -> None:
    first_graders = {
        s["id"]
        for s in school.collections["students"]
        if by_id(school, "classes")[s["classId"]]["grade"] == 1
    }
    assert first_graders
    assert not [m for m in school.collections["marks"] if m["studentId"] in first_graders]


def test_siblings_share_guardians(school: SchoolData) -> None:
    families = [g for g in school.collections["guardians"] if len(g["studentIds"]) >= 2]
    assert len(families) >= 50
    students = by_id(school, "students")
    for guardian in families:
        if guardian["relation"] != "father":
            continue
        # A father's children carry his surname and his first name in their patronymic.
        for student_id in guardian["studentIds"]:
            child = students[student_id]
            assert child["lastName"] in (
                guardian["lastName"],
                feminine_surname(guardian["lastName"]),
            )
            if child["middleName"]:
                assert child["middleName"] in (
                    patronymic(guardian["firstName"], female=False),
                    patronymic(guardian["firstName"], female=True),
                )


def test_guardians_are_about_one_and_a_half_per_student(school: SchoolData) -> None:
    ratio = len(school.collections["guardians"]) / len(school.collections["students"])
    assert 1.4 <= ratio <= 1.7
    relations = Counter(g["relation"] for g in school.collections["guardians"])
    assert relations["mother"] > relations["father"] > relations["guardian"] > 0
    assert relations["trustee"] > 0


def test_names_agree_in_gender(school: SchoolData) -> None:
    for student in school.collections["students"]:
        middle = student["middleName"]
        if middle is None:
            continue
        female = middle.endswith("на")
        assert female or middle.endswith("ич"), middle
        if student["lastName"].endswith(("ов", "ев", "ёв", "ин")):
            assert not female, student
        if student["lastName"].endswith(("ова", "ева", "ёва", "ина", "ская")):
            assert female, student


def test_students_leave_and_follow_individual_plans(school: SchoolData) -> None:
    students = school.collections["students"]
    left = [s for s in students if s["status"] == "left"]
    assert 0.005 <= len(left) / len(students) <= 0.04
    assert all(s["leftOn"] and s["leftOn"] <= TODAY.date().isoformat() for s in left)
    assert all(s["leftOn"] is None for s in students if s["status"] == "active")
    individual = {s["id"] for s in students if s["individualPlan"]}
    groups = [g for g in school.collections["groups"] if g["kind"] == "individual"]
    assert individual == {sid for g in groups for sid in g["studentIds"]}


def test_groups_of_every_kind(school: SchoolData) -> None:
    kinds = Counter(g["kind"] for g in school.collections["groups"])
    assert kinds["group"] == 2 * (30 + 15)  # English from grade 2, Informatics from 7
    assert kinds["stream"] == 4
    streams = [g for g in school.collections["groups"] if g["kind"] == "stream"]
    assert all(len(g["classIds"]) == 3 for g in streams)


def test_teachers_have_realistic_subjects(school: SchoolData) -> None:
    subjects = {s["id"]: s["name"] for s in school.collections["subjects"]}
    positions = Counter(t["position"] for t in school.collections["teachers"])
    assert positions["Учитель начальных классов"] == 12
    taught = {sid for t in school.collections["teachers"] for sid in t["subjectIds"]}
    assert taught == set(subjects)


def test_today_has_substitutions(school: SchoolData, tiny: SchoolData) -> None:
    for data in (school, tiny):
        lessons = by_id(data, "lessons")
        today = [
            c
            for c in data.collections["lesson-changes"]
            if c["kind"] == "substitution" and lessons[c["lessonId"]]["date"] == "2026-12-04"
        ]
        assert today
        assert all(parse_timestamp(c["announcedAt"]) <= TODAY for c in today)
        assert all(c["teacherId"] != lessons[c["lessonId"]]["teacherId"] for c in today)


def test_changes_are_announced_before_their_lessons(school: SchoolData) -> None:
    lessons = by_id(school, "lessons")
    kinds = Counter(c["kind"] for c in school.collections["lesson-changes"])
    assert kinds["substitution"] > kinds["move"] > 0 and kinds["cancel"] > 0
    for change in school.collections["lesson-changes"]:
        lesson = lessons[change["lessonId"]]
        assert parse_timestamp(change["announcedAt"]) < parse_timestamp(lesson["startsAt"])
        if change["kind"] == "move":
            assert change["newDate"] >= lesson["date"] and change["newSlot"]


def test_homework_is_due_at_the_next_lesson(school: SchoolData) -> None:
    lessons = by_id(school, "lessons")
    broken = errors_of(school, reason_contains="lessonId")
    grade_one = {c["id"] for c in school.collections["classes"] if c["grade"] == 1}
    with_attachments = 0
    for homework in school.collections["homework"]:
        assert homework["dueOn"] > homework["assignedOn"]
        assert homework["classId"] not in grade_one
        for attachment in homework["attachments"]:
            with_attachments += 1
            assert attachment["url"].startswith("/ej/v1/schools/sch-1/attachments/")
            assert attachment["url"].endswith(".pdf") or attachment["url"].endswith(".png")
        if ("homework", homework["id"]) in broken:
            continue
        lesson = lessons[homework["lessonId"]]
        assert lesson["status"] == "conducted"
        assert lesson["subjectId"] == homework["subjectId"]
    share = with_attachments / len(school.collections["homework"])
    assert 0.07 < share < 0.15


def test_about_four_percent_of_student_lessons_have_attendance(school: SchoolData) -> None:
    groups = by_id(school, "groups")
    class_sizes = Counter(s["classId"] for s in school.collections["students"])
    student_lessons = sum(
        len(groups[lesson["groupId"]]["studentIds"])
        if lesson["groupId"]
        else class_sizes[lesson["classId"]]
        for lesson in school.collections["lessons"]
        if lesson["status"] == "conducted"
    )
    assert 0.03 <= len(school.collections["attendance"]) / student_lessons <= 0.05


def test_attendance_codes_have_a_realistic_mix(school: SchoolData) -> None:
    codes = Counter(a["code"] for a in school.collections["attendance"])
    assert codes.most_common(1)[0][0] == "б"
    assert codes["п"] < codes["у"]


def test_consents_follow_the_contract(school: SchoolData) -> None:
    consents = school.collections["consents"]
    decisions = Counter(c["decision"] for c in consents)
    pairs = Counter((c["guardianId"], c["studentId"]) for c in consents)
    assert 0.75 <= decisions["given"] / len(pairs) <= 0.95
    assert decisions["refused"] > decisions["revoked"] > 0
    history: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for consent in consents:
        history[(consent["guardianId"], consent["studentId"])].append(consent)
        if consent["decision"] == "given":
            assert consent["channels"][0] == "cabinet"
        else:
            assert consent["channels"] == ["paper"]
        basis = consent["basis"]
        if basis["kind"] == "paper":
            assert set(basis) == {"kind", "documentNo", "documentDate", "registeredBy"}
        else:
            assert set(basis) == {"kind", "documentNo", "documentDate", "signature", "signer"}
            assert base64.b64decode(basis["signature"], validate=True)
    for records in history.values():
        if any(r["decision"] == "revoked" for r in records):
            first, last = sorted(records, key=lambda r: r["decidedAt"])
            assert (first["decision"], last["decision"]) == ("given", "revoked")
    guardians = by_id(school, "guardians")
    assert all(s in guardians[g]["studentIds"] for g, s in pairs)
    assert {c["basis"]["kind"] for c in consents} == {"paper", "esign"}


# --------------------------------------------------------------------------- documents


def test_quarter_grades_are_the_rounded_weighted_averages(school: SchoolData) -> None:
    grades = school.final_grades
    assert {g["periodId"] for g in grades} == {"p-2026-q1"}
    assert all(isinstance(v, str) for g in grades for v in g.values())
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for mark in school.collections["marks"]:
        number = numeric_mark(mark["value"])
        if number is not None and mark["date"] <= "2026-10-24":
            tally[(mark["studentId"], mark["subjectId"])][0] += number * mark["weight"]
            tally[(mark["studentId"], mark["subjectId"])][1] += mark["weight"]
    numeric = 0
    for grade in grades:
        if grade.get("deferred") or grade["value"] in ("зач", "незач", "осв", "н/а"):
            continue
        total, weight = tally[(grade["studentId"], grade["subjectId"])]
        assert grade["value"] == str(min(5, max(2, round_half_up(total, weight))))
        numeric += 1
    assert numeric > 0.9 * len(grades)


def test_some_quarter_grades_are_deferred_for_illness(school: SchoolData) -> None:
    deferred = [g for g in school.final_grades if g.get("deferred") == "true"]
    assert 0.003 < len(deferred) / len(school.final_grades) < 0.02
    for grade in deferred:
        assert grade["value"] == "" and grade["deferReason"] == "illness"
        assert date.fromisoformat(grade["deferredUntil"]) > TODAY.date()


def test_quarter_grades_cover_grades_two_to_nine(school: SchoolData) -> None:
    classes = by_id(school, "classes")
    graded = {classes[g["classId"]]["grade"] for g in school.final_grades}
    assert graded == set(range(2, 10))
    for grade in school.final_grades:
        assert grade["className"] == classes[grade["classId"]]["name"]
        assert grade["kind"] == "quarter"


def test_exam_results(school: SchoolData) -> None:
    results = school.exam_results
    assert all(isinstance(v, str) for r in results for v in r.values())
    essay = [r for r in results if r["exam"] == "Итоговое сочинение"]
    assert essay and {r["heldOn"] for r in essay} == {"2026-12-03"}
    assert {r["mark"] for r in essay} <= {"зач", "незач"}
    assert all(0 <= int(r["score"]) <= 5 and r["maxScore"] == "5" for r in essay)
    assert all(parse_timestamp(r["resultAt"]) <= TODAY for r in results)
    mock = [r for r in results if r["exam"] != "Итоговое сочинение"]
    assert mock and all(r["heldOn"].startswith("2026-11") for r in mock)
    assert all(0 <= int(r["score"]) <= int(r["maxScore"]) for r in mock)
    assert {r["mark"] for r in mock} <= {"2", "3", "4", "5"}


# --------------------------------------------------------------------------- other days


def test_a_start_in_september_has_no_documents_yet() -> None:
    early = generate(1, seed=3, scale=0.05, today=datetime(2026, 9, 15, 12, 0, tzinfo=REGION_TZ))
    assert early.final_grades == [] and early.exam_results == []
    moment = datetime(2026, 9, 15, 12, 0, tzinfo=REGION_TZ)
    assert all(parse_timestamp(text) <= moment for text in all_updated(early))
    assert check_shapes(early).shapes == []


@pytest.mark.parametrize(
    "moment",
    [datetime(2026, 8, 15, 12, 0), datetime(2026, 9, 1, 7, 0), datetime(2026, 9, 1, 9, 0)],
)
def test_a_start_before_the_journal_has_records_still_works(moment: datetime) -> None:
    """Before the first lessons there is nothing to mark, and nothing to spoil."""
    today = moment.replace(tzinfo=REGION_TZ)
    data = generate(1, seed=3, scale=0.05, today=today)
    assert check_shapes(data).shapes == []
    assert all(parse_timestamp(text) <= today for text in all_updated(data))
    listed = {(e.collection, e.record_id) for e in data.deliberate_errors}
    assert listed <= {(c, r["id"]) for c, records in data.collections.items() for r in records}


def test_a_start_in_january_has_second_quarter_and_half_year_grades() -> None:
    later = generate(1, seed=3, scale=0.05, today=datetime(2027, 1, 20, 9, 0, tzinfo=REGION_TZ))
    periods = {g["periodId"] for g in later.final_grades}
    assert periods == {"p-2026-q1", "p-2026-q2", "p-2026-h1"}
    assert check_shapes(later).shapes == []


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10**6), scale=st.sampled_from([0.05, 0.08, 0.1, 0.15]))
def test_any_small_school_is_valid(seed: int, scale: float) -> None:
    data = generate(1, seed=seed, scale=scale, today=TODAY)
    problems = check_shapes(data)
    assert problems.shapes == []
    assert problems.dangling == errors_of(data, reason_contains="does not exist")
    reasons = [e.reason for e in data.deliberate_errors]
    for value in BAD_MARK_VALUES:
        assert any(repr(value) in r for r in reasons)
    assert any("attendance code" in r for r in reasons)
    assert any("studentId" in r for r in reasons)
    assert any("lessonId" in r for r in reasons)


# --------------------------------------------------------------------------- small pieces


def test_attachment_bytes_are_real_files() -> None:
    pdf = attachment_bytes("att-000001-1", "Задание.pdf")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    png = attachment_bytes("att-000002-1", "Схема.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert attachment_bytes("att-000001-1", "Задание.pdf") == pdf


@pytest.mark.parametrize(
    ("masculine", "feminine"),
    [
        ("Иванов", "Иванова"),
        ("Соловьёв", "Соловьёва"),
        ("Никитин", "Никитина"),
        ("Покровский", "Покровская"),
        ("Савицкий", "Савицкая"),
        ("Луговской", "Луговская"),
        ("Шевченко", "Шевченко"),
        ("Ковальчук", "Ковальчук"),
        ("Черных", "Черных"),
    ],
)
def test_feminine_surnames(masculine: str, feminine: str) -> None:
    assert feminine_surname(masculine) == feminine


def test_patronymics() -> None:
    assert patronymic("Илья", female=False) == "Ильич"
    assert patronymic("Илья", female=True) == "Ильинична"
    assert patronymic("Сергей", female=True) == "Сергеевна"
    assert patronymic("Рустем", female=False) == "Рустемович"


def test_round_half_up_is_exact() -> None:
    assert round_half_up(9, 2) == 5  # 4.5 → 5
    assert round_half_up(7, 2) == 4  # 3.5 → 4
    assert round_half_up(22, 5) == 4  # 4.4 → 4
