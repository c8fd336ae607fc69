"""What KROS changes in a school minute by minute, so incremental syncs find something.

:func:`plan_minute` looks at a school's live state through a :class:`LiveView` and
returns the changes of one minute: mostly new marks for lessons already held, some
corrected or deleted marks, attendance, homework, substitutions for later lessons,
and now and then a consent or a corrected period grade. The plan is deterministic:
the random stream is seeded by ``seed``, the school and the minute, and every choice
walks the view's sorted ids.

It relies on one property of the generated data (``dataset``): lesson ids sort in
the order of the lessons' ``startsAt``, so the lessons around a moment are found by
bisection instead of a scan. Records it does not recognise are skipped, never
guessed at.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from kros_adapter.simulator.dataset import (
    ATTACHMENT_NAMES,
    PASS_FAIL_SUBJECT_NAMES,
    SUBSTITUTION_REASONS,
    WORK_WEIGHTS,
    attachment_path,
    homework_text,
    numeric_mark,
)
from kros_adapter.simulator.model import LiveView, Mutation, Record, school_id
from kros_adapter.timestamps import REGION_TZ, TimestampError, format_timestamp, parse_timestamp

CHANGES: tuple[tuple[str, float], ...] = (
    ("new_mark", 0.50),
    ("edit_mark", 0.12),
    ("delete_mark", 0.04),
    ("new_attendance", 0.12),
    ("delete_attendance", 0.03),
    ("new_homework", 0.09),
    ("substitution", 0.06),
    ("consent", 0.02),
    ("final_grade", 0.02),
)
"""The mix of one minute's changes (shares of ``rate``)."""

LATE_COMMIT_SHARE = 0.1
"""Changes committed 1–60 s after their ``updated_at`` (CONTRACT.md §3)."""

RECENT_LESSONS = 400
"""How many lessons before (and after) the minute a change may concern: about two school
days of a full school."""

TRIES = 4
"""Attempts to find a fitting record before a change is given up for this minute."""

NUMERIC_VALUES = (("5", 0.33), ("4", 0.38), ("3", 0.21), ("2", 0.07), ("1", 0.01))
SIGNED = {"5": "5-", "4": "4+", "3": "3-"}
ABSENCE_CODES = (("н", 0.3), ("б", 0.3), ("о", 0.2), ("у", 0.15), ("п", 0.05))
CONSENT_DECISIONS = (("given", 0.6), ("revoked", 0.25), ("refused", 0.15))
DEFERRAL_KEYS = ("deferred", "deferReason", "deferredUntil")
DOCUMENT_CONTEXT = ("periodId", "classId", "className", "studentId", "subjectId")


def plan_minute(
    view: LiveView,
    *,
    seed: int,
    school_index: int,
    minute_start: datetime,
    rate: float,
) -> list[Mutation]:
    """The changes KROS makes to one school in the minute starting at ``minute_start``.

    ``rate`` is the mean number of changes (a Poisson draw decides the count). Every
    ``updated_at`` lies within the minute; about 10% commit up to 60 s later.
    """
    if minute_start.tzinfo is None:
        raise ValueError("minute_start must be an aware datetime")
    if rate <= 0:
        return []
    return _MinutePlanner(view, seed, school_index, minute_start).plan(rate)


class _MinutePlanner:
    def __init__(self, view: LiveView, seed: int, school_index: int, minute: datetime) -> None:
        self.view = view
        self.school_id = school_id(school_index)
        self.minute = minute.astimezone(REGION_TZ)
        self.epoch_minute = math.floor(minute.timestamp() / 60)
        self.rng = random.Random(f"{seed}:{school_index}:{self.epoch_minute}")
        # The first whole second inside the minute, and how many seconds remain in it.
        first = self.minute.replace(microsecond=0)
        if first < self.minute:
            first += timedelta(seconds=1)
        self.first_second = first
        self.seconds = max(1, 60 - int((first - self.minute).total_seconds()))
        self.count = 0
        self.touched: set[tuple[str, str]] = set()
        self._students_by_class: dict[str, list[str]] | None = None
        self._window: tuple[Sequence[str], Sequence[str]] | None = None

    def plan(self, rate: float) -> list[Mutation]:
        planners: dict[str, Callable[[], Mutation | None]] = {
            "new_mark": self.new_mark,
            "edit_mark": self.edit_mark,
            "delete_mark": self.delete_mark,
            "new_attendance": self.new_attendance,
            "delete_attendance": self.delete_attendance,
            "new_homework": self.new_homework,
            "substitution": self.substitution,
            "consent": self.consent,
            "final_grade": self.final_grade,
        }
        mutations = []
        for _ in range(_poisson(self.rng, rate)):
            mutation = planners[_weighted(self.rng, CHANGES)]()
            if mutation is not None:
                mutations.append(mutation)
        mutations.sort(key=lambda m: (m.updated_at, m.commit_at))
        return mutations

    # ------------------------------------------------------------ the changes

    def new_mark(self) -> Mutation | None:
        found = self._recent_marked_lesson()
        if found is None:
            return None
        lesson, student = found
        work = _work_kind(lesson.get("lessonType"), self.rng)
        record: Record = {
            "id": self._new_id("mk"),
            "studentId": student,
            "lessonId": lesson["id"],
            "subjectId": lesson["subjectId"],
            "teacherId": lesson["teacherId"],
            "date": lesson["date"],
            "value": self._value_for(lesson["subjectId"]),
            "weight": WORK_WEIGHTS[work],
            "workKind": work,
        }
        return self._upsert("marks", record)

    def edit_mark(self) -> Mutation | None:
        mark = self._existing("marks")
        if mark is None:
            return None
        record = dict(mark)
        if self.rng.random() < 0.6:
            record["value"] = self._corrected_value(str(mark.get("value", "")))
        else:
            weights = [w for w in range(1, 6) if w != mark.get("weight")]
            record["weight"] = self.rng.choice(weights)
        return self._upsert("marks", record)

    def delete_mark(self) -> Mutation | None:
        return self._delete("marks")

    def new_attendance(self) -> Mutation | None:
        for _ in range(TRIES):
            lesson = self._recent_lesson(before=True)
            if lesson is None:
                return None
            students = self._students_of(lesson)
            if not students:
                continue
            record: Record = {
                "id": self._new_id("at"),
                "studentId": self.rng.choice(students),
                "lessonId": lesson["id"],
                "date": lesson["date"],
                "code": _weighted(self.rng, ABSENCE_CODES),
            }
            return self._upsert("attendance", record)
        return None

    def delete_attendance(self) -> Mutation | None:
        return self._delete("attendance")

    def new_homework(self) -> Mutation | None:
        found = self._recent_marked_lesson()
        if found is None:
            return None
        lesson, _ = found
        homework_id = self._new_id("hw")
        attachments = []
        if self.rng.random() < 0.1:
            name = self.rng.choice(ATTACHMENT_NAMES)
            attachment_id = f"att-m{self.epoch_minute}-{self.count}"
            url = attachment_path(self.school_id, attachment_id, name)
            attachments.append({"name": name, "url": url})
        subject_code = str(lesson["subjectId"]).removeprefix("sub-")
        record: Record = {
            "id": homework_id,
            "lessonId": lesson["id"],
            "subjectId": lesson["subjectId"],
            "classId": lesson.get("classId"),
            "groupId": lesson.get("groupId"),
            "assignedOn": lesson["date"],
            "dueOn": self._next_lesson_date(lesson),
            "text": homework_text(subject_code, self.rng),
            "attachments": attachments,
        }
        return self._upsert("homework", record)

    def substitution(self) -> Mutation | None:
        for _ in range(TRIES):
            lesson = self._recent_lesson(before=False)
            if lesson is None:
                return None
            if lesson.get("status") != "scheduled" or self._changed(lesson["id"]):
                continue
            substitute = self._substitute_for(lesson)
            if substitute is None:
                continue
            updated_at = self._moment()
            record: Record = {
                "id": self._new_id("lc"),
                "lessonId": lesson["id"],
                "kind": "substitution",
                "teacherId": substitute,
                "newDate": None,
                "newSlot": None,
                "newRoom": None,
                "reason": self.rng.choice(SUBSTITUTION_REASONS),
                "announcedAt": format_timestamp(updated_at),
            }
            return self._upsert("lesson-changes", record, updated_at)
        return None

    def consent(self) -> Mutation | None:
        guardian = self._existing("guardians", recent=False, touch=False)
        if guardian is None or not guardian.get("studentIds"):
            return None
        decision = _weighted(self.rng, CONSENT_DECISIONS)
        channels = ["cabinet", "email"] if decision == "given" else ["paper"]
        updated_at = self._moment()
        record: Record = {
            "id": self._new_id("cn"),
            "guardianId": guardian["id"],
            "studentId": self.rng.choice(list(guardian["studentIds"])),
            "decision": decision,
            "channels": channels,
            "decidedAt": format_timestamp(updated_at),
            "basis": self._basis(guardian, updated_at),
        }
        return self._upsert("consents", record, updated_at)

    def final_grade(self) -> Mutation | None:
        grade = self._existing("final-grades", recent=False)
        if grade is None:
            return None
        updated_at = self._moment()
        if self.rng.random() < 0.1:
            record = {"id": grade["id"]}
            record.update({k: grade[k] for k in DOCUMENT_CONTEXT if k in grade})
            return self._mutation("final-grades", "delete", record, updated_at)
        record = dict(grade)
        if record.get("deferred") == "true":
            # The deferred attestation took place: the grade is set, the deferral ends.
            for key in DEFERRAL_KEYS:
                record.pop(key, None)
            record["value"] = _weighted(self.rng, NUMERIC_VALUES[:3])
            record["setOn"] = updated_at.date().isoformat()
        else:
            record["value"] = self._corrected_value(str(record.get("value", "")), signs=False)
        record["updated"] = format_timestamp(updated_at)
        return self._mutation("final-grades", "upsert", record, updated_at)

    # ------------------------------------------------------------ finding records

    def _lesson_window(self) -> tuple[Sequence[str], Sequence[str]]:
        """Lesson ids just before and just after the minute (bisection on ``startsAt``)."""
        if self._window is None:
            ids = self.view.ids("lessons")
            low, high = 0, len(ids)
            while low < high:
                middle = (low + high) // 2
                starts = _starts_at(self.view.get("lessons", ids[middle]))
                if starts is not None and starts <= self.minute:
                    low = middle + 1
                else:
                    high = middle
            self._window = (
                ids[max(0, low - RECENT_LESSONS) : low],
                ids[low : low + RECENT_LESSONS],
            )
        return self._window

    def _recent_lesson(self, *, before: bool) -> Record | None:
        """A lesson that started before the minute (or starts after it), not cancelled."""
        window = self._lesson_window()[0 if before else 1]
        if not window:
            return None
        for _ in range(TRIES):
            # Lean towards the lessons closest to the minute.
            offset = int(len(window) * self.rng.random() ** 2)
            lesson_id = window[len(window) - 1 - offset] if before else window[offset]
            lesson = self.view.get("lessons", lesson_id)
            if lesson is None or lesson.get("status") == "cancelled":
                continue
            starts = _starts_at(lesson)
            if starts is None or (starts <= self.minute) != before:
                continue
            return lesson
        return None

    def _recent_marked_lesson(self) -> tuple[Record, str] | None:
        """A recent lesson of grades 2–11 (grade 1 is unmarked) and one of its students."""
        for _ in range(TRIES):
            lesson = self._recent_lesson(before=True)
            if lesson is None:
                return None
            if (self._grade_of(lesson) or 0) < 2:
                continue
            students = self._students_of(lesson)
            if students:
                return lesson, self.rng.choice(students)
        return None

    def _grade_of(self, lesson: Record) -> int | None:
        class_id = lesson.get("classId")
        if class_id is None and lesson.get("groupId"):
            group = self.view.get("groups", lesson["groupId"])
            class_ids = group.get("classIds") if group else None
            class_id = class_ids[0] if class_ids else None
        school_class = self.view.get("classes", class_id) if class_id else None
        grade = school_class.get("grade") if school_class else None
        return grade if isinstance(grade, int) else None

    def _students_of(self, lesson: Record) -> list[str]:
        """Active students of the lesson's class or group."""
        if lesson.get("groupId"):
            group = self.view.get("groups", lesson["groupId"])
            candidates = list(group.get("studentIds", [])) if group else []
        else:
            candidates = self._class_rosters().get(lesson.get("classId") or "", [])
        active = []
        for student_id in candidates:
            student = self.view.get("students", student_id)
            if student is not None and student.get("status") == "active":
                active.append(student_id)
        return active

    def _class_rosters(self) -> dict[str, list[str]]:
        if self._students_by_class is None:
            rosters: dict[str, list[str]] = {}
            for student_id in self.view.ids("students"):
                student = self.view.get("students", student_id)
                if student is not None and student.get("classId"):
                    rosters.setdefault(student["classId"], []).append(student_id)
            self._students_by_class = rosters
        return self._students_by_class

    def _existing(
        self, collection: str, *, recent: bool = True, touch: bool = True
    ) -> Record | None:
        """A live record not yet changed this minute; with ``recent``, likely a newer one."""
        ids = self.view.ids(collection)
        if not ids:
            return None
        for _ in range(TRIES):
            if recent:
                position = len(ids) - 1 - int(len(ids) * self.rng.random() ** 4)
            else:
                position = self.rng.randrange(len(ids))
            record_id = ids[position]
            if (collection, record_id) in self.touched:
                continue
            record = self.view.get(collection, record_id)
            if record is None:
                continue
            if touch:
                self.touched.add((collection, record_id))
            return record
        return None

    def _changed(self, lesson_id: str) -> bool:
        """Whether the lesson already has a change (one change per lesson is enough)."""
        for change_id in self.view.ids("lesson-changes"):
            change = self.view.get("lesson-changes", change_id)
            if change is not None and change.get("lessonId") == lesson_id:
                return True
        return ("lesson", lesson_id) in self.touched

    def _substitute_for(self, lesson: Record) -> str | None:
        teacher_ids = self.view.ids("teachers")
        same_subject, others = [], []
        for teacher_id in teacher_ids:
            if teacher_id == lesson.get("teacherId"):
                continue
            teacher = self.view.get("teachers", teacher_id)
            if teacher is None:
                continue
            if lesson.get("subjectId") in (teacher.get("subjectIds") or ()):
                same_subject.append(teacher_id)
            else:
                others.append(teacher_id)
        options = same_subject or others
        if not options:
            return None
        self.touched.add(("lesson", lesson["id"]))
        return self.rng.choice(options)

    def _next_lesson_date(self, lesson: Record) -> str:
        """The date of the next lesson of the same class or group in the same subject."""
        unit = ("classId", lesson.get("classId")) if lesson.get("classId") else None
        unit = unit or ("groupId", lesson.get("groupId"))
        for lesson_id in self._lesson_window()[1]:
            later = self.view.get("lessons", lesson_id)
            if (
                later is not None
                and later.get("date", "") > lesson["date"]
                and later.get(unit[0]) == unit[1]
                and later.get("subjectId") == lesson["subjectId"]
            ):
                return str(later["date"])
        return _add_days(lesson["date"], 7)

    # ------------------------------------------------------------ values

    def _value_for(self, subject: str) -> str:
        record = self.view.get("subjects", subject)
        if record is not None and record.get("name") in PASS_FAIL_SUBJECT_NAMES:
            return "зач" if self.rng.random() < 0.95 else "незач"
        value = _weighted(self.rng, NUMERIC_VALUES)
        if value in SIGNED and self.rng.random() < 0.05:
            value = SIGNED[value]
        return value

    def _corrected_value(self, value: str, *, signs: bool = True) -> str:
        """What a teacher corrects a value to: another number, or the other pass word."""
        word = value.strip().lower()
        if word in ("зач", "незач"):
            return "незач" if word == "зач" else "зач"
        current = numeric_mark(value) if value.strip() else None
        options = [v for v, _ in NUMERIC_VALUES[:4] if current is None or int(v) != current]
        corrected = self.rng.choice(options)
        if signs and corrected in SIGNED and self.rng.random() < 0.05:
            corrected = SIGNED[corrected]
        return corrected

    def _basis(self, guardian: Record, decided: datetime) -> Record:
        number = f"{self.epoch_minute % 100000}-{self.count}/{decided.year}"
        if self.rng.random() < 0.7:
            return {
                "kind": "paper",
                "documentNo": number,
                "documentDate": decided.date().isoformat(),
                "registeredBy": "Секретарь учебной части",
            }
        signer = " ".join(
            str(guardian[key])
            for key in ("lastName", "firstName", "middleName")
            if guardian.get(key)
        )
        return {
            "kind": "esign",
            "documentNo": f"ЭД-{number}",
            "documentDate": decided.date().isoformat(),
            "signature": _b64(self.rng.randbytes(128)),
            "signer": signer,
        }

    # ------------------------------------------------------------ mutations

    def _new_id(self, prefix: str) -> str:
        """Ids of this minute: never equal to generated ids (``mk-000123``) or other minutes'."""
        self.count += 1
        return f"{prefix}-m{self.epoch_minute}-{self.count}"

    def _moment(self) -> datetime:
        return self.first_second + timedelta(seconds=self.rng.randrange(self.seconds))

    def _upsert(
        self, collection: str, record: Record, updated_at: datetime | None = None
    ) -> Mutation:
        updated_at = updated_at or self._moment()
        record["updated_at"] = format_timestamp(updated_at)
        return self._mutation(collection, "upsert", record, updated_at)

    def _delete(self, collection: str) -> Mutation | None:
        record = self._existing(collection)
        if record is None:
            return None
        return self._mutation(collection, "delete", {"id": record["id"]}, self._moment())

    def _mutation(
        self,
        collection: str,
        op: Literal["upsert", "delete"],
        record: Record,
        updated_at: datetime,
    ) -> Mutation:
        commit_at = updated_at
        if self.rng.random() < LATE_COMMIT_SHARE:
            commit_at += timedelta(seconds=self.rng.randint(1, 60))
        return Mutation(collection, op, record, updated_at, commit_at)


# --------------------------------------------------------------------------- helpers


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; a normal approximation for large means)."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    total = sum(share for _, share in options)
    roll = rng.random() * total
    for value, share in options:
        if roll < share:
            return value
        roll -= share
    return options[-1][0]


def _work_kind(lesson_type: object, rng: random.Random) -> str:
    if lesson_type in ("control", "test", "lab"):
        return str(lesson_type)
    if lesson_type in ("practical", "excursion"):
        return "other"
    return "homework" if rng.random() < 0.3 else "answer"


def _starts_at(lesson: Record | None) -> datetime | None:
    if lesson is None:
        return None
    try:
        return parse_timestamp(str(lesson.get("startsAt", "")))
    except TimestampError:
        return None


def _add_days(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
