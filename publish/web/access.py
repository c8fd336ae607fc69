"""Who may see what: the one place that decides.

A guardian sees only children KROS links to them, and only while consent is in force
for the cabinet; a student only themself; a class teacher only the students of the
classes they lead; secretaries and administrators see no journals. Ids in a URL only
say which page is asked for: every request is checked here against the viewer's own
bindings, and a page about someone else answers "not found" — not "forbidden" — so that
it does not even confirm the person exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from publish.accounts import Account, Role
from publish.consent import ConsentState, consent_states
from publish.queries.people import (
    ClassCard,
    StudentCard,
    children_of_guardian,
    class_card,
    student_card,
    student_group_ids,
)


@dataclass(frozen=True, slots=True)
class StudentAccess:
    card: StudentCard | None
    allowed: bool
    consent: ConsentState | None = None
    """For a guardian without consent: the state that closes the cabinet (for the page)."""
    group_ids: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """False: answer 404, the viewer has no business with this student."""
        return self.card is not None and (self.allowed or self.consent is not None)


DENIED = StudentAccess(None, False)


def student_access(
    connection: Connection, account: Account, school_id: str, student_id: str
) -> StudentAccess:
    card = student_card(connection, school_id, student_id)
    if card is None:
        return DENIED
    if account.role is Role.STUDENT:
        allowed = account.ids_of("student", school_id) == [student_id]
        return _granted(connection, card) if allowed else DENIED
    if account.role is Role.CLASS_TEACHER:
        teachers = set(account.ids_of("teacher", school_id))
        homeroom = class_card(connection, school_id, card.class_source_id)
        if homeroom is not None and homeroom.homeroom_teacher_source_id in teachers:
            return _granted(connection, card)
        return DENIED
    if account.role is Role.GUARDIAN:
        guardian_ids = account.ids_of("guardian", school_id)
        if not guardian_ids:
            return DENIED
        states = consent_states(connection, school_id, [student_id], guardian_ids=guardian_ids)
        linked = [states[(g, student_id)] for g in guardian_ids if (g, student_id) in states]
        linked = [state for state in linked if state.linked]
        if not linked:
            return DENIED
        if any(state.allows("cabinet") for state in linked):
            return _granted(connection, card)
        return StudentAccess(card, False, consent=linked[0])
    return DENIED


def _granted(connection: Connection, card: StudentCard) -> StudentAccess:
    groups = tuple(student_group_ids(connection, card.school_id, card.source_id))
    return StudentAccess(card, True, group_ids=groups)


def class_access(
    connection: Connection, account: Account, school_id: str, class_id: str
) -> ClassCard | None:
    """The class, if the viewer leads it."""
    if account.role is not Role.CLASS_TEACHER:
        return None
    card = class_card(connection, school_id, class_id)
    if card is None or card.homeroom_teacher_source_id not in account.ids_of("teacher", school_id):
        return None
    return card


@dataclass(frozen=True, slots=True)
class ChildEntry:
    card: StudentCard
    consent: ConsentState

    @property
    def open(self) -> bool:
        return self.consent.allows("cabinet")


def guardian_children(connection: Connection, account: Account) -> list[ChildEntry]:
    """A guardian's children across every school they are bound in, with consent."""
    entries: list[ChildEntry] = []
    for person in account.people:
        if person.kind != "guardian":
            continue
        children = children_of_guardian(connection, person.school_id, person.source_id)
        states = consent_states(
            connection,
            person.school_id,
            [c.source_id for c in children],
            guardian_ids=[person.source_id],
        )
        for child in children:
            state = states[(person.source_id, child.source_id)]
            entries.append(ChildEntry(child, state))
    # The same child linked to two guardian records of the account shows once, open if
    # either record opens it.
    best: dict[tuple[str, str], ChildEntry] = {}
    for entry in entries:
        key = (entry.card.school_id, entry.card.source_id)
        if key not in best or (entry.open and not best[key].open):
            best[key] = entry
    return sorted(best.values(), key=lambda e: (e.card.first_name, e.card.school_id))
