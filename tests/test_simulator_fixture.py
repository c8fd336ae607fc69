"""A small hand-made school and a scripted mutation planner for the simulator's tests
(with one test of its own; the server's tests import it).

Kept apart from the real generator (``kros_adapter.simulator.dataset``) on purpose: the
server's tests state exact expectations, which need data whose every record is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote

from kros_adapter.simulator.model import LiveView, Mutation, Record, SchoolData, school_id
from kros_adapter.timestamps import REGION_TZ, format_timestamp

TODAY = datetime(2026, 12, 4, 10, 0, tzinfo=REGION_TZ)
BASE_URL = "http://127.0.0.1:8081"
Q1 = ("2026-09-01", "2026-10-26")
Q2 = ("2026-11-05", "2026-12-28")


def _stamp(today: datetime, minutes_ago: int) -> str:
    return format_timestamp(today - timedelta(minutes=minutes_ago))


def _day(start: str, offset: int) -> str:
    return (date.fromisoformat(start) + timedelta(days=offset)).isoformat()


def tiny_school(school_index: int, *, seed: int, scale: float, today: datetime) -> SchoolData:
    """About 400 records; ``updated_at`` values repeat so that ties are broken by id."""
    sid = school_id(school_index)

    def at(i: int) -> str:
        return _stamp(today, 30 + (i * 37) % 240)

    c: dict[str, list[Record]] = {}
    c["academic-years"] = [
        {"id": "y-2025", "title": "2025/2026", "startsOn": "2025-09-01", "endsOn": "2026-05-31"},
        {"id": "y-2026", "title": "2026/2027", "startsOn": "2026-09-01", "endsOn": "2027-05-31"},
    ]
    c["periods"] = [
        {"id": "p-2025-q4", "yearId": "y-2025", "kind": "quarter", "number": 4,
         "title": "4 четверть", "startsOn": "2026-04-01", "endsOn": "2026-05-31"},
        {"id": "p-2026-q1", "yearId": "y-2026", "kind": "quarter", "number": 1,
         "title": "1 четверть", "startsOn": Q1[0], "endsOn": Q1[1]},
        {"id": "p-2026-q2", "yearId": "y-2026", "kind": "quarter", "number": 2,
         "title": "2 четверть", "startsOn": Q2[0], "endsOn": Q2[1]},
    ]  # fmt: skip
    c["holidays"] = [
        {"id": "h-1", "yearId": "y-2026", "title": "Осенние каникулы", "kind": "autumn",
         "startsOn": "2026-10-27", "endsOn": "2026-11-04"},
    ]  # fmt: skip
    c["subjects"] = [
        {"id": "sub-math", "name": "Математика", "shortName": "Мат", "level": "ООО"},
        {"id": "sub-rus", "name": "Русский язык", "shortName": None, "level": "ООО"},
    ]
    c["teachers"] = [
        {"id": "t-1", "lastName": "Иванова", "firstName": "Анна", "subjectIds": ["sub-math"]},
        {"id": "t-2", "lastName": "Петров", "firstName": "Олег", "subjectIds": ["sub-rus"]},
    ]
    c["classes"] = [
        {"id": "c-4a", "yearId": "y-2025", "name": "4А", "grade": 4, "letter": "А",
         "level": "НОО"},
        {"id": "c-5a", "yearId": "y-2026", "name": "5А", "grade": 5, "letter": "А",
         "level": "ООО", "homeroomTeacherId": "t-1"},
        {"id": "c-5b", "yearId": "y-2026", "name": "5Б", "grade": 5, "letter": "Б",
         "level": "ООО"},
    ]  # fmt: skip
    c["groups"] = [
        {"id": "g-1", "yearId": "y-2026", "name": "5 англ", "kind": "group",
         "subjectId": "sub-rus", "classIds": ["c-5a"], "studentIds": ["st-0001"],
         "teacherIds": ["t-2"]},
    ]  # fmt: skip
    c["students"] = [
        {"id": f"st-{i:04d}", "lastName": f"Ученик{i}", "firstName": "Имя",
         "birthDate": "2015-03-01", "classId": "c-5a" if i % 2 else "c-5b",
         "individualPlan": i == 3, "status": "active", "enrolledOn": "2022-09-01"}
        for i in range(1, 11)
    ]  # fmt: skip
    c["guardians"] = [
        {"id": f"g-{i:04d}", "lastName": f"Родитель{i}", "firstName": "Имя",
         "relation": "mother", "studentIds": [f"st-{i:04d}", f"st-{i + 5:04d}"],
         "contacts": [{"kind": "email", "value": f"parent{i}@example.org",
                       "basis": {"kind": "paper", "documentNo": f"{i}/2026",
                                 "documentDate": "2026-09-01", "registeredBy": "Секретарь"}}]}
        for i in range(1, 6)
    ]  # fmt: skip
    c["curriculum"] = [
        {"id": f"cu-{n}", "yearId": "y-2026", "classId": cls, "subjectId": sub,
         "periodId": "p-2026-q2", "plannedLessons": 30, "byType": {"lesson": 28, "control": 2}}
        for n, (cls, sub) in enumerate(
            [("c-5a", "sub-math"), ("c-5a", "sub-rus"), ("c-5b", "sub-math"), ("c-5b", "sub-rus")]
        )
    ]  # fmt: skip
    c["lessons"] = [
        {"id": f"ls-{i:04d}", "date": _day("2026-10-20", i), "slot": 1 + i % 6,
         "startsAt": "08:30", "endsAt": "09:15", "classId": "c-5a" if i % 2 else "c-5b",
         "subjectId": "sub-math", "teacherId": "t-1", "lessonType": "lesson",
         "status": "conducted", "periodId": "p-2026-q2"}
        for i in range(1, 41)
    ]  # fmt: skip
    c["lesson-changes"] = [
        {"id": f"lc-{i}", "lessonId": f"ls-{i * 10:04d}", "kind": "substitution",
         "teacherId": "t-2", "announcedAt": _stamp(today, 2000 + i)}
        for i in range(1, 5)
    ]  # fmt: skip
    c["control-works"] = [
        {"id": f"cw-{i}", "date": d, "classId": "c-5a", "subjectId": "sub-math",
         "kind": "control", "title": f"Контрольная {i}"}
        for i, d in enumerate(["2026-10-10", "2026-10-20", "2026-11-10", "2026-12-01"], 1)
    ]  # fmt: skip
    names = ["Задание 1.pdf", "Схема.docx", "readme.txt"]
    c["homework"] = [
        {"id": f"hw-{i}", "lessonId": f"ls-{i:04d}", "subjectId": "sub-math",
         "classId": "c-5a", "assignedOn": _day("2026-11-01", 10 * i),
         "dueOn": _day("2026-11-03", 10 * i), "text": "Упражнения",
         "attachments": [{"name": name,
                          "url": f"/ej/v1/schools/{sid}/attachments/at-{i}/{quote(name)}"}]}
        for i, name in enumerate(names, 1)
    ]  # fmt: skip
    c["marks"] = [
        {"id": f"mk-{i:04d}", "studentId": f"st-{1 + i % 10:04d}", "subjectId": "sub-math",
         "teacherId": "t-1", "date": _day("2026-10-01", i % 60), "value": "54321"[i % 5],
         "weight": 1 + i % 3, "workKind": "answer"}
        for i in range(1, 251)
    ]  # fmt: skip
    c["attendance"] = [
        {"id": f"at-{i:04d}", "studentId": f"st-{1 + i % 10:04d}", "lessonId": f"ls-{i:04d}",
         "date": _day("2026-10-20", i), "code": "нбупо"[i % 5]}
        for i in range(1, 21)
    ]  # fmt: skip
    c["recommendations"] = [
        {"id": f"rc-{i}", "studentId": "st-0001", "teacherId": "t-1", "date": "2026-12-01",
         "text": "Повторить дроби"}
        for i in range(1, 4)
    ]  # fmt: skip
    c["consents"] = [
        {"id": "cn-1", "guardianId": "g-0001", "studentId": "st-0001", "decision": "given",
         "channels": ["cabinet", "email"], "decidedAt": "2026-09-02T10:15:00+03:00",
         "basis": {"kind": "paper", "documentNo": "1/2026", "documentDate": "2026-09-02",
                   "registeredBy": "Секретарь"}},
    ]  # fmt: skip
    serial = 0
    for records in c.values():
        for record in records:
            serial += 1
            record["updated_at"] = at(serial)
    school = {
        "id": sid,
        "name": f"МБОУ «Школа № {school_index}»",
        "shortName": f"Школа № {school_index}",
        "inn": "9102000000",
        "address": "г. Симферополь",
        "timezone": "Europe/Simferopol",
        "updated_at": _stamp(today, 10_000),
    }
    final_grades = [
        {"id": f"fg-{i}", "subjectId": "sub-math", "kind": "quarter", "value": "5",
         "setOn": "2026-10-26", "teacherId": "t-1", "updated": at(i),
         "periodId": "p-2026-q1" if i <= 3 else "p-2026-q2",
         "classId": "c-5a" if i % 2 else "c-5b", "className": "5А" if i % 2 else "5Б",
         "studentId": f"st-{i:04d}"}
        for i in range(1, 7)
    ]  # fmt: skip
    exam_results = [
        {"id": f"ex-{i}", "studentId": f"st-{i:04d}", "subjectId": "sub-math", "exam": "ОГЭ",
         "heldOn": "2026-05-27", "score": "24", "maxScore": "31", "mark": "5",
         "resultAt": at(i), "updated": at(i), "yearId": "y-2025" if i == 1 else "y-2026"}
        for i in range(1, 4)
    ]  # fmt: skip
    return SchoolData(school, c, final_grades, exam_results)


MutationMaker = Callable[[LiveView, datetime], Mutation]


@dataclass
class ScriptedPlanner:
    """A stand-in for ``mutations.plan_minute``: returns what a test scheduled for a minute
    and remembers every call."""

    script: dict[datetime, list[MutationMaker]] = field(default_factory=dict)
    calls: list[tuple[int, datetime, float]] = field(default_factory=list)

    def at(self, minute: datetime, *makers: MutationMaker) -> None:
        self.script.setdefault(minute, []).extend(makers)

    def __call__(
        self,
        view: LiveView,
        *,
        seed: int,
        school_index: int,
        minute_start: datetime,
        rate: float,
    ) -> list[Mutation]:
        self.calls.append((school_index, minute_start, rate))
        return [make(view, minute_start) for make in self.script.get(minute_start, [])]


def update(
    collection: str, record_id: str, changes: Record, *, after: float = 5, delay: float = 30
) -> MutationMaker:
    """Upsert: the planned record with ``changes``, ``after`` s into the minute, committed
    ``delay`` s later."""

    def make(view: LiveView, minute: datetime) -> Mutation:
        when = minute + timedelta(seconds=after)
        current = view.get(collection, record_id) or {"id": record_id}
        key = "updated" if collection in ("final-grades", "exam-results") else "updated_at"
        record = {**current, **changes, key: format_timestamp(when)}
        return Mutation(collection, "upsert", record, when, when + timedelta(seconds=delay))

    return make


def delete(
    collection: str, record_id: str, *, after: float = 5, delay: float = 30
) -> MutationMaker:
    def make(view: LiveView, minute: datetime) -> Mutation:
        when = minute + timedelta(seconds=after)
        current = view.get(collection, record_id) or {}
        record = {"id": record_id}
        for key in ("periodId", "classId", "className", "studentId", "yearId"):
            if key in current:
                record[key] = current[key]
        return Mutation(collection, "delete", record, when, when + timedelta(seconds=delay))

    return make


def test_the_fixture_school_has_unique_ids_and_timestamps_everywhere() -> None:
    """The hand-made school is the ground the server's tests stand on."""
    data = tiny_school(1, seed=1, scale=0.05, today=TODAY)
    for name, records in data.collections.items():
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)), name
        assert all(r["updated_at"] <= format_timestamp(TODAY) for r in records), name
    assert len({r["id"] for r in data.final_grades}) == len(data.final_grades)
