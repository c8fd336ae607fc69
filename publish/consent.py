"""Consent in force: may the cabinet (or another channel) show a guardian a student's journal?

SPEC.md ("The normalized store") and docs/store.md fix the rule:

1. KROS links the guardian to the student: a ``guardian_students`` row whose guardian is
   alive;
2. the newest consent record of the pair that is not deleted — newest by ``decided_at``,
   then ``source_updated_at``, then ``source_id`` compared as plain text — has the
   decision ``given``;
3. a channel is usable only if that same record lists it (the cabinet needs ``cabinet``).

A student's own journal needs no guardian's consent; this module is about guardians only.

The newest record is chosen in Python rather than with ``ORDER BY … LIMIT 1`` so that the
last tie-break is byte order on both databases without a collation clause (a pair has a
handful of records, never more).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from schemas.tables import consent_channels, consents, guardian_students, guardians

CABINET = "cabinet"
CHANNELS: tuple[str, ...] = ("cabinet", "email", "sms", "messenger", "paper")


@dataclass(frozen=True, slots=True)
class ConsentState:
    """What the store says about one (guardian, student) pair."""

    linked: bool
    """KROS links the guardian to the student (and the guardian is alive)."""
    decision: str | None
    """The deciding record's decision (given, refused, revoked); None when there is none."""
    consent_source_id: str | None
    decided_at: datetime | None
    channels: frozenset[str]
    """The channels the deciding record lists (whatever its decision)."""

    @property
    def in_force(self) -> bool:
        return self.linked and self.decision == "given"

    def allows(self, channel: str = CABINET) -> bool:
        """The channel may be used for this pair now."""
        return self.in_force and channel in self.channels

    @property
    def reason(self) -> str:
        """Why the cabinet is closed (or ``ok``): a key the pages turn into words."""
        if not self.linked:
            return "not_linked"
        if self.decision is None:
            return "no_consent"
        if self.decision != "given":
            return self.decision  # refused or revoked
        if CABINET not in self.channels:
            return "channel_not_listed"
        return "ok"


NOT_LINKED = ConsentState(False, None, None, None, frozenset())


def newest(records: Iterable[Any]) -> Any | None:
    """The deciding record among a pair's live consent rows (rule 2), or None."""
    best: Any | None = None
    for record in records:
        if record.deleted_at is not None:
            continue
        if best is None or _order_key(record) > _order_key(best):
            best = record
    return best


def _order_key(record: Any) -> tuple[datetime, datetime, bytes]:
    # Ids compare byte by byte, as docs/store.md says (UTF-8 keeps code-point order).
    return (record.decided_at, record.source_updated_at, record.source_id.encode("utf-8"))


def consent_state(
    connection: Connection, school_id: str, guardian_id: str, student_id: str
) -> ConsentState:
    """The consent state of one pair."""
    states = consent_states(connection, school_id, [student_id], guardian_ids=[guardian_id])
    return states.get((guardian_id, student_id), NOT_LINKED)


def cabinet_allowed(
    connection: Connection, school_id: str, guardian_id: str, student_id: str
) -> bool:
    """The guardian may see the student's journal in the cabinet now."""
    return consent_state(connection, school_id, guardian_id, student_id).allows(CABINET)


def consent_states(
    connection: Connection,
    school_id: str,
    student_ids: Iterable[str],
    *,
    guardian_ids: Iterable[str] | None = None,
) -> dict[tuple[str, str], ConsentState]:
    """Every linked pair of these students (optionally only these guardians), keyed by
    ``(guardian_id, student_id)``; pairs with consent records but no link come back with
    ``linked=False`` so that a page can say what is wrong."""
    students = sorted(set(student_ids))
    wanted_guardians = None if guardian_ids is None else sorted(set(guardian_ids))
    links: set[tuple[str, str]] = set()
    records: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for chunk in _chunks(students):
        link_query = (
            select(guardian_students.c.guardian_source_id, guardian_students.c.student_source_id)
            .join(
                guardians,
                and_(
                    guardians.c.school_id == guardian_students.c.school_id,
                    guardians.c.source_id == guardian_students.c.guardian_source_id,
                ),
            )
            .where(
                guardian_students.c.school_id == school_id,
                guardian_students.c.student_source_id.in_(chunk),
                guardians.c.deleted_at.is_(None),
            )
        )
        consent_query = select(
            consents.c.source_id,
            consents.c.guardian_source_id,
            consents.c.student_source_id,
            consents.c.decision,
            consents.c.decided_at,
            consents.c.source_updated_at,
            consents.c.deleted_at,
        ).where(consents.c.school_id == school_id, consents.c.student_source_id.in_(chunk))
        if wanted_guardians is not None:
            link_query = link_query.where(
                guardian_students.c.guardian_source_id.in_(wanted_guardians)
            )
            consent_query = consent_query.where(consents.c.guardian_source_id.in_(wanted_guardians))
        links.update((row[0], row[1]) for row in connection.execute(link_query))
        for row in connection.execute(consent_query):
            records[(row.guardian_source_id, row.student_source_id)].append(row)

    deciding = {pair: newest(rows) for pair, rows in records.items()}
    channels = _channels(connection, school_id, [r.source_id for r in deciding.values() if r])
    states: dict[tuple[str, str], ConsentState] = {}
    for pair in links | set(deciding):
        record = deciding.get(pair)
        states[pair] = ConsentState(
            linked=pair in links,
            decision=record.decision if record is not None else None,
            consent_source_id=record.source_id if record is not None else None,
            decided_at=record.decided_at if record is not None else None,
            channels=channels.get(record.source_id, frozenset()) if record else frozenset(),
        )
    return states


def _channels(
    connection: Connection, school_id: str, consent_ids: list[str]
) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(consent_ids)):
        rows = connection.execute(
            select(consent_channels.c.consent_source_id, consent_channels.c.channel).where(
                consent_channels.c.school_id == school_id,
                consent_channels.c.consent_source_id.in_(chunk),
            )
        )
        for consent_id, channel in rows:
            found[consent_id].add(channel)
    return {consent_id: frozenset(values) for consent_id, values in found.items()}


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    # SQLite binds at most 999 parameters in older builds: stay well below.
    for start in range(0, len(values), size):
        yield values[start : start + size]
