"""The class teacher's view of a class: the current averages by subject (a running
сводная ведомость), absences, and whose guardians have not consented."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection

from publish.consent import consent_states
from publish.grading import weighted_average
from publish.queries.marks import class_attendance_counts, class_period_marks
from publish.queries.people import (
    ClassCard,
    StudentCard,
    class_students,
    guardians_of_students,
    subject_names,
)
from publish.queries.periods import PeriodCard

CONSENT_REASONS = {
    "ok": "согласие действует",
    "no_consent": "нет согласия",
    "refused": "отказ от электронной формы",
    "revoked": "согласие отозвано",
    "channel_not_listed": "кабинет не указан в согласии",
    "not_linked": "не связан с учеником в КРОС",
}


@dataclass(frozen=True, slots=True)
class GuardianConsent:
    name: str
    relation: str
    reason: str

    @property
    def in_force(self) -> bool:
        return self.reason == "ok"

    @property
    def reason_text(self) -> str:
        return CONSENT_REASONS.get(self.reason, self.reason)


@dataclass(slots=True)
class SheetRow:
    student: StudentCard
    averages: dict[str, float | None] = field(default_factory=dict)
    twos: int = 0
    absences: Counter[str] = field(default_factory=Counter)
    guardians: list[GuardianConsent] = field(default_factory=list)

    @property
    def missing_consent(self) -> bool:
        return not any(g.in_force for g in self.guardians)


@dataclass(frozen=True, slots=True)
class ClassSheet:
    card: ClassCard
    period: PeriodCard | None
    subjects: list[tuple[str, str]]
    rows: list[SheetRow]


def class_sheet(
    connection: Connection, card: ClassCard, period: PeriodCard | None, *, today: date
) -> ClassSheet:
    students = class_students(connection, card.school_id, card.source_id)
    ids = [s.source_id for s in students]
    rows = {s.source_id: SheetRow(s) for s in students}
    subject_ids: set[str] = set()
    if period is not None:
        marks = class_period_marks(connection, card.school_id, ids, period)
        for student_id, by_subject in marks.items():
            row = rows[student_id]
            for subject_id, subject_marks in by_subject.items():
                subject_ids.add(subject_id)
                row.averages[subject_id] = weighted_average(subject_marks)
                row.twos += sum(1 for m in subject_marks if m.counts and (m.number or 0) <= 2)
        counts = class_attendance_counts(
            connection, card.school_id, ids, period.starts_on, min(period.ends_on, today)
        )
        for student_id, counted in counts.items():
            rows[student_id].absences = counted
    states = consent_states(connection, card.school_id, ids)
    for student_id, guardians in guardians_of_students(connection, card.school_id, ids).items():
        for guardian_id, name, relation in guardians:
            state = states.get((guardian_id, student_id))
            reason = state.reason if state is not None else "no_consent"
            rows[student_id].guardians.append(GuardianConsent(name, relation, reason))
    names = subject_names(connection, card.school_id)
    subjects = sorted(
        ((sid, names.get(sid, sid)) for sid in subject_ids), key=lambda p: p[1].casefold()
    )
    return ClassSheet(card, period, subjects, [rows[i] for i in ids])
