"""Per-school state of the simulator: what KROS holds, indexed the way pages are read.

Two layers per school:

- the **planned** state — every mutation applied as soon as it is planned. It is the
  :class:`~kros_adapter.simulator.model.LiveView` the mutation planner sees, so that it
  never, say, deletes a record twice while the first delete is still uncommitted;
- the **committed** state — what clients see. A mutation reaches it when its
  ``commit_at`` has passed (late commits, CONTRACT.md §3).

Each committed JSON record is kept pre-serialized (orjson) together with its sort key
``(updated_at in µs, id)`` in two sorted indexes: live records (full listings) and live
records plus tombstones (incremental listings). A page is a bisect and a bytes join of
a slice, so serving never decodes or re-encodes a record.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import orjson

from kros_adapter.simulator.cursors import Position
from kros_adapter.simulator.model import (
    COLLECTIONS,
    DOCUMENTS,
    Mutation,
    Record,
    SchoolData,
)
from kros_adapter.timestamps import (
    REGION_TZ,
    TimestampError,
    format_timestamp,
    parse_date,
    parse_timestamp,
)

MINUTE_US = 60 * 1_000_000
CATCH_UP_LIMIT_US = 24 * 60 * MINUTE_US
"""Mutations are planned minute by minute for at most the last 24 simulated hours.

A clock jump of 30 days (to test ``changes_expired``) would otherwise plan 43,200
minutes; changes older than a day before the jump simply never happen.
"""

FILTERS: dict[str, tuple[str, ...]] = {
    "academic-years": (),
    "periods": ("yearId",),
    "holidays": ("yearId",),
    "subjects": (),
    "teachers": (),
    "classes": ("yearId",),
    "groups": ("yearId",),
    "students": ("classId",),
    "guardians": (),
    "curriculum": ("yearId", "classId"),
    "lessons": ("from", "to"),
    "lesson-changes": ("from", "to"),
    "control-works": ("periodId",),
    "homework": ("from", "to"),
    "marks": ("periodId", "studentId"),
    "attendance": ("from", "to"),
    "recommendations": (),
    "consents": (),
    "final-grades": ("periodId", "classId"),
    "exam-results": ("yearId",),
}
"""The query filters each resource takes (CONTRACT.md §4, §5); any other is a 400."""

_DATE_FIELDS: dict[str, str] = {
    "lessons": "date",
    "attendance": "date",
    "homework": "assignedOn",
    "marks": "date",
    "control-works": "date",
}
"""The date a ``from``/``to`` or ``periodId`` filter selects by (lesson-changes: the
date of the changed lesson, looked up)."""

_DOCUMENT_CONTEXT: dict[str, tuple[str, ...]] = {
    "final-grades": ("periodId", "classId", "className", "studentId", "subjectId"),
    "exam-results": ("yearId", "studentId", "subjectId"),
}
"""Keys a document tombstone keeps from its last live version, so that it still lands
in its ``<Class>``/``<Student>`` and matches the filters it matched alive."""

CONSENT_CHANNELS = frozenset({"cabinet", "email", "sms", "messenger", "paper"})
CONSENT_DECISIONS = frozenset({"given", "refused", "revoked"})
_BASIS_FIELDS: dict[str, tuple[str, ...]] = {
    "paper": ("documentNo", "documentDate", "registeredBy"),
    "esign": ("documentNo", "documentDate", "signature", "signer"),
}
_CONSENT_FIELDS = frozenset(
    {"guardianId", "studentId", "decision", "channels", "decidedAt", "basis"}
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

Predicate = Callable[[Record], bool]


def to_us(moment: datetime) -> int:
    """An aware instant as integer microseconds since the epoch (the sort key)."""
    return (moment - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return (_EPOCH + timedelta(microseconds=value)).astimezone(REGION_TZ)


class _InstantCache:
    """Parses ``updated_at`` strings once: generated data repeats them a lot."""

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}

    def __call__(self, text: object) -> int:
        if not isinstance(text, str):
            raise TimestampError(f"record without a timestamp: {text!r}")
        value = self._cache.get(text)
        if value is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            value = self._cache[text] = to_us(parse_timestamp(text))
        return value


@dataclass(slots=True)
class Entry:
    """One committed JSON record, or the tombstone of one."""

    key: Position
    record: Record
    """The live record; for a tombstone, its last live version (filters match on it)."""
    blob: bytes
    """Exactly the JSON served: the record, or ``{"id", "deleted", "updated_at"}``."""
    deleted: bool


class SortedIndex:
    """Entries ordered by ``(updated_at_us, id)`` — the order of a listing's pages."""

    __slots__ = ("entries", "keys")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries = sorted(entries, key=lambda e: e.key)
        self.keys = [e.key for e in self.entries]

    def __len__(self) -> int:
        return len(self.keys)

    def insert(self, entry: Entry) -> None:
        at = bisect.bisect_left(self.keys, entry.key)
        self.keys.insert(at, entry.key)
        self.entries.insert(at, entry)

    def remove(self, entry: Entry) -> None:
        at = bisect.bisect_left(self.keys, entry.key)
        while self.entries[at] is not entry:  # equal keys: same instant and id
            at += 1
        del self.keys[at]
        del self.entries[at]


@dataclass(slots=True)
class JsonCollection:
    """A paginated JSON collection's committed state."""

    name: str
    entries: dict[str, Entry] = field(default_factory=dict)
    live: SortedIndex = field(default_factory=SortedIndex)
    every: SortedIndex = field(default_factory=SortedIndex)
    """Live records and tombstones: what ``updated_since`` reads."""
    version: int = 0
    """Bumped on every committed change; the ``ETag`` of reference collections."""

    @classmethod
    def load(cls, name: str, records: Iterable[Record], instant: _InstantCache) -> JsonCollection:
        entries = {
            r["id"]: Entry((instant(r["updated_at"]), r["id"]), r, orjson.dumps(r), False)
            for r in records
        }
        live = SortedIndex(entries.values())
        every = SortedIndex()
        every.entries, every.keys = list(live.entries), list(live.keys)
        return cls(name, entries, live, every)

    def put(self, entry: Entry) -> None:
        """Commit a new version (live or tombstone) of a record; last writer by key wins."""
        old = self.entries.get(entry.key[1])
        if old is not None:
            if old.key > entry.key:
                return  # a change committed late must not overwrite a newer one
            if not old.deleted:
                self.live.remove(old)
            self.every.remove(old)
        self.entries[entry.key[1]] = entry
        if not entry.deleted:
            self.live.insert(entry)
        self.every.insert(entry)
        self.version += 1


@dataclass(slots=True)
class DocEntry:
    updated_us: int
    record: Record
    """The record in the XML writer's form; for a tombstone, the tombstone itself."""
    deleted: bool


@dataclass(slots=True)
class DocumentCollection:
    """The records behind one XML document (final grades or exam results)."""

    name: str
    entries: dict[str, DocEntry] = field(default_factory=dict)

    def put(self, record_id: str, entry: DocEntry) -> None:
        """Commit a new version; as for JSON records, a late commit never wins over a newer."""
        old = self.entries.get(record_id)
        if old is None or old.updated_us <= entry.updated_us:
            self.entries[record_id] = entry

    def select(self, filters: dict[str, str], since_us: int | None) -> list[Record]:
        """Records for a document, tombstones only for an incremental read, sorted as the
        writer needs them (final grades grouped by class and student)."""
        chosen = [
            e.record
            for e in self.entries.values()
            if (not e.deleted if since_us is None else e.updated_us >= since_us)
            and all(e.record.get(k) == v for k, v in filters.items())
        ]
        if self.name == "final-grades":
            chosen.sort(key=lambda r: (r.get("classId") or "", r.get("studentId") or "", r["id"]))
        else:
            chosen.sort(key=lambda r: r["id"])
        return chosen


@dataclass(slots=True)
class Page:
    """One page: the items' JSON, the position of the last one, whether more follow."""

    blobs: list[bytes]
    last: Position | None
    more: bool


@dataclass(frozen=True, slots=True)
class _Change:
    """A planned mutation waiting for its ``commit_at``."""

    collection: str
    op: Literal["upsert", "delete"]
    record: Record
    updated_us: int
    updated_text: str
    last_version: Record | None


Planner = Callable[["SchoolStore", datetime], list[Mutation]]


class SchoolStore:
    """One simulated school. Not thread-safe: the simulator holds its lock around calls."""

    def __init__(self, index: int, data: SchoolData, *, base_url: str, start: datetime) -> None:
        self.index = index
        self.school_id: str = data.school["id"]
        self.school_blob = orjson.dumps(data.school)
        self._base_url = base_url.rstrip("/")
        self._instant = _InstantCache()
        self._seq = 0
        self._consent_seq = 0
        self._pending: list[tuple[int, int, _Change]] = []
        start_us = to_us(start)
        self._next_minute_us = -(-start_us // MINUTE_US) * MINUTE_US  # the next whole minute

        raw = {name: data.collections.get(name, []) for name in COLLECTIONS}
        raw["homework"] = [self._absolute(r) for r in raw["homework"]]
        self.collections = {
            name: JsonCollection.load(name, records, self._instant) for name, records in raw.items()
        }
        self.documents = {name: DocumentCollection(name) for name in DOCUMENTS}
        for name, records in (
            ("final-grades", data.final_grades),
            ("exam-results", data.exam_results),
        ):
            entries = self.documents[name].entries
            for r in records:
                entries[r["id"]] = DocEntry(self._instant(r["updated"]), r, False)
            raw[name] = list(records)

        self._planned: dict[str, dict[str, Record]] = {
            name: {r["id"]: r for r in records} for name, records in raw.items()
        }
        self._planned_ids = {name: sorted(rs) for name, rs in self._planned.items()}
        self.attachments: dict[str, str] = {}
        for r in raw["homework"]:
            self._index_attachments(r, add=True)

    # -- LiveView, for the mutation planner ----------------------------------------

    def ids(self, collection: str) -> Sequence[str]:
        return self._planned_ids.get(collection, [])

    def get(self, collection: str, record_id: str) -> Record | None:
        return self._planned.get(collection, {}).get(record_id)

    # -- mutations --------------------------------------------------------------------

    def catch_up(self, now: datetime, plan: Planner) -> None:
        """Plan every minute that began before ``now``, then commit what is due.

        A minute is planned as soon as it begins, so a change becomes visible exactly at
        its ``commit_at`` (at most 60 s after its ``updated_at``), never later. "Began
        before" is strict: a frozen clock parked on a whole minute has not entered that
        minute yet, so pausing mutations there leaves the data still.
        """
        now_us = to_us(now)
        oldest = -(-(now_us - CATCH_UP_LIMIT_US) // MINUTE_US) * MINUTE_US
        self._next_minute_us = max(self._next_minute_us, oldest)
        while self._next_minute_us < now_us:
            for mutation in plan(self, from_us(self._next_minute_us)):
                self.stage(mutation)
            self._next_minute_us += MINUTE_US
        while self._pending and self._pending[0][0] <= now_us:
            self._commit(heapq.heappop(self._pending)[2])

    def stage(self, mutation: Mutation) -> None:
        """Apply a mutation to the planned state; commit it when ``commit_at`` passes."""
        name = mutation.collection
        planned = self._planned.get(name)
        if planned is None:
            raise ValueError(f"a mutation of an unknown collection: {name!r}")
        is_doc = name in self.documents
        last: Record | None = None
        if mutation.op == "upsert":
            record = self._absolute(mutation.record) if name == "homework" else mutation.record
            text = record["updated" if is_doc else "updated_at"]
            self._plan_put(name, record)
        else:
            record = mutation.record
            text = format_timestamp(mutation.updated_at)
            last = planned.get(record["id"])
            self._plan_drop(name, record["id"])
        change = _Change(name, mutation.op, record, self._instant(text), text, last)
        self._seq += 1
        heapq.heappush(self._pending, (to_us(mutation.commit_at), self._seq, change))

    def _plan_put(self, name: str, record: Record) -> None:
        planned, ids = self._planned[name], self._planned_ids[name]
        if record["id"] not in planned:
            bisect.insort(ids, record["id"])
        planned[record["id"]] = record

    def _plan_drop(self, name: str, record_id: str) -> None:
        if self._planned[name].pop(record_id, None) is not None:
            ids = self._planned_ids[name]
            del ids[bisect.bisect_left(ids, record_id)]

    def _commit(self, change: _Change) -> None:
        rid = change.record["id"]
        if change.collection in self.documents:
            self._commit_document(change)
            return
        collection = self.collections[change.collection]
        old = collection.entries.get(rid)
        if change.op == "upsert":
            entry = Entry(
                (change.updated_us, rid), change.record, orjson.dumps(change.record), False
            )
        else:
            last = old.record if old is not None else (change.last_version or {"id": rid})
            tomb = {"id": rid, "deleted": True, "updated_at": change.updated_text}
            entry = Entry((change.updated_us, rid), last, orjson.dumps(tomb), True)
        collection.put(entry)
        if change.collection == "homework" and collection.entries[rid] is entry:
            if old is not None and not old.deleted:
                self._index_attachments(old.record, add=False)
            if not entry.deleted:
                self._index_attachments(entry.record, add=True)

    def _commit_document(self, change: _Change) -> None:
        rid = change.record["id"]
        document = self.documents[change.collection]
        if change.op == "upsert":
            document.put(rid, DocEntry(change.updated_us, change.record, False))
            return
        old = document.entries.get(rid)
        last = old.record if old is not None and not old.deleted else change.last_version
        tomb: Record = {"id": rid, "deleted": "true", "updated": change.updated_text}
        for key in _DOCUMENT_CONTEXT[change.collection]:
            value = (last or {}).get(key, change.record.get(key))
            if value is not None:
                tomb[key] = value
        document.put(rid, DocEntry(change.updated_us, tomb, True))

    # -- reading ----------------------------------------------------------------------

    def page(
        self,
        collection: str,
        *,
        predicate: Predicate | None,
        since_us: int | None,
        after: Position | None,
        limit: int,
        back: int = 0,
    ) -> Page:
        """One page: live records (full listing) or records and tombstones changed at or
        after ``since_us``, strictly after the ``after`` position, ``back`` items earlier
        (the duplicates fault)."""
        index = self.collections[collection]
        sorted_index = index.live if since_us is None else index.every
        keys, entries = sorted_index.keys, sorted_index.entries
        floor = 0 if since_us is None else bisect.bisect_left(keys, (since_us, ""))
        start = floor if after is None else max(floor, bisect.bisect_right(keys, after))
        start = max(floor, start - back)
        if predicate is None:
            chosen = entries[start : start + limit]
            more = start + limit < len(keys)
        else:
            chosen, more = _scan(entries, start, limit, predicate)
        return Page([e.blob for e in chosen], chosen[-1].key if chosen else None, more)

    def predicate(self, collection: str, filters: dict[str, str]) -> Predicate | None:
        """A test of a record (or a tombstone's last live version) against ``filters``,
        already validated against :data:`FILTERS`; ``None`` when there are none."""
        checks: list[Predicate] = []
        low, high = filters.get("from"), filters.get("to")
        checks += [
            _equals(name, filters[name])
            for name in ("yearId", "classId", "studentId")
            if name in filters
        ]
        if "periodId" in filters:
            period = self.collections["periods"].entries.get(filters["periodId"])
            if period is None:
                return lambda r: False
            low = max(low or "", period.record.get("startsOn") or "")
            high = min(high or "9999-12-31", period.record.get("endsOn") or "")
        if low is not None or high is not None:
            checks.append(self._date_check(collection, low or "", high or "9999-12-31"))
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda r: all(check(r) for check in checks)

    def _date_check(self, collection: str, low: str, high: str) -> Predicate:
        if collection == "lesson-changes":
            lessons = self.collections["lessons"].entries

            def changed_lesson_in_range(r: Record) -> bool:
                lesson = lessons.get(r.get("lessonId") or "")
                day = lesson.record.get("date") if lesson is not None else None
                return isinstance(day, str) and low <= day <= high

            return changed_lesson_in_range
        field_name = _DATE_FIELDS[collection]
        return lambda r: isinstance(d := r.get(field_name), str) and low <= d <= high

    def document(self, name: str, filters: dict[str, str], since_us: int | None) -> list[Record]:
        return self.documents[name].select(filters, since_us)

    def counts(self) -> dict[str, int]:
        result = {name: len(c.live) for name, c in self.collections.items()}
        for name, document in self.documents.items():
            result[name] = sum(not e.deleted for e in document.entries.values())
        return result

    def dump_json(self) -> bytes:
        """The canonical ground truth: live committed records by collection, by id —
        JSON records exactly as served, document records as a parser reads them."""
        parts = [b'{"school":' + self.school_blob]
        for name, collection in self.collections.items():
            blobs = [e.blob for e in sorted(collection.live.entries, key=lambda e: e.key[1])]
            parts.append(orjson.dumps(name) + b":[" + b",".join(blobs) + b"]")
        for name, document in self.documents.items():
            # In the XML parser's output form, which adds the root's schoolId.
            records = sorted(
                (
                    {"schoolId": self.school_id, **e.record}
                    for e in document.entries.values()
                    if not e.deleted
                ),
                key=lambda r: r["id"],
            )
            parts.append(orjson.dumps(name) + b":" + orjson.dumps(records))
        return b",".join(parts) + b"}"

    # -- consents (CONTRACT.md §6) -------------------------------------------------------

    def consent_problem(self, body: Any) -> str | None:
        """Why a consent body is refused (in Russian, for the error message), or ``None``."""
        if not isinstance(body, dict):
            return "Тело запроса должно быть объектом JSON"
        if "id" in body or "updated_at" in body:
            return "Поля id и updated_at назначает КРОС"
        unknown = set(body) - _CONSENT_FIELDS
        if unknown:
            return f"Неизвестные поля: {', '.join(sorted(unknown))}"
        guardian = self.collections["guardians"].entries.get(_text(body.get("guardianId")))
        if guardian is None or guardian.deleted:
            return "Неизвестный законный представитель (guardianId)"
        student = self.collections["students"].entries.get(_text(body.get("studentId")))
        if student is None or student.deleted:
            return "Неизвестный обучающийся (studentId)"
        if body.get("decision") not in CONSENT_DECISIONS:
            return "Решение (decision) должно быть given, refused или revoked"
        channels = body.get("channels")
        if (
            not isinstance(channels, list)
            or not all(isinstance(c, str) and c in CONSENT_CHANNELS for c in channels)
            or len(set(channels)) != len(channels)
        ):
            return "Каналы (channels): без повторов, из cabinet, email, sms, messenger, paper"
        try:
            parse_timestamp(body.get("decidedAt"))  # type: ignore[arg-type]
        except TimestampError:
            return "Дата решения (decidedAt) должна быть в формате RFC 3339 со смещением"
        return _basis_problem(body.get("basis"))

    def add_consent(self, body: Record, now: datetime) -> Record:
        """Store a validated consent, committed at once; returns the stored record."""
        self._consent_seq += 1
        text = format_timestamp(now)
        record = {"id": f"cn-p{self._consent_seq:06d}", **body, "updated_at": text}
        self._plan_put("consents", record)
        self._commit(_Change("consents", "upsert", record, self._instant(text), text, None))
        return record

    # -- attachments -------------------------------------------------------------------

    def _absolute(self, record: Record) -> Record:
        """A homework record with its attachment urls made absolute on this server."""
        attachments = record.get("attachments")
        if not attachments or not any(str(a.get("url", "")).startswith("/") for a in attachments):
            return record
        fixed = [
            {**a, "url": self._base_url + a["url"]} if str(a.get("url", "")).startswith("/") else a
            for a in attachments
        ]
        return {**record, "attachments": fixed}

    def _index_attachments(self, record: Record, *, add: bool) -> None:
        for attachment in record.get("attachments") or ():
            parts = urlsplit(str(attachment.get("url", ""))).path.split("/")
            if "attachments" not in parts[:-2]:
                continue
            at = parts.index("attachments")
            attachment_id = unquote(parts[at + 1])
            if add:
                self.attachments[attachment_id] = str(attachment.get("name") or unquote(parts[-1]))
            else:
                self.attachments.pop(attachment_id, None)


def _scan(
    entries: list[Entry], start: int, limit: int, predicate: Predicate
) -> tuple[list[Entry], bool]:
    """Matching entries from ``start``; ``more`` looks ahead for one further match so that
    the last page says so instead of costing the client an empty extra page."""
    chosen: list[Entry] = []
    i, n = start, len(entries)
    while i < n and len(chosen) < limit:
        if predicate(entries[i].record):
            chosen.append(entries[i])
        i += 1
    more = any(predicate(entries[j].record) for j in range(i, n))
    return chosen, more


def _equals(field_name: str, value: str) -> Predicate:
    return lambda r: r.get(field_name) == value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _basis_problem(basis: Any) -> str | None:
    if not isinstance(basis, dict) or basis.get("kind") not in _BASIS_FIELDS:
        return "Нет основания (basis): нужен вид paper или esign"
    kind = basis["kind"]
    required = _BASIS_FIELDS[kind]
    unknown = set(basis) - {"kind", *required}
    if unknown:
        return f"Неизвестные поля основания: {', '.join(sorted(unknown))}"
    for name in required:
        value = basis.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"Основание ({kind}): не заполнено поле {name}"
    try:
        parse_date(basis["documentDate"])
    except TimestampError:
        return "Дата документа (documentDate) должна быть в формате ГГГГ-ММ-ДД"
    if kind == "esign" and not _BASE64.fullmatch(basis["signature"]):
        return "Подпись (signature) должна быть в base64"
    return None
