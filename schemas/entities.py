"""The normalized entities, as a downstream reader gets them: one model per entity table.

A model holds its table's columns and, where the KROS record holds a list, that list
read back from the link table (``Group.student_source_ids`` from ``group_students``).
``schemas/json/<table>.schema.json`` is generated from these models
(``python -m schemas.jsonschema``) and published for tools that read the store; a
test keeps models, tables and committed schemas in step.

Vocabularies are ``Literal`` types holding the canonical values of
``mappings/dictionaries/kinds.toml``; the mapping never stores anything else.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- vocabularies

Level = Literal["НОО", "ООО", "СОО"]
PeriodKind = Literal["quarter", "half_year", "trimester", "year"]
HolidayKind = Literal["autumn", "winter", "spring", "summer", "extra"]
GroupKind = Literal["group", "stream", "individual"]
StudentStatus = Literal["active", "left"]
Relation = Literal["mother", "father", "guardian", "trustee"]
LessonType = Literal["lesson", "control", "lab", "practical", "test", "excursion"]
LessonStatus = Literal["scheduled", "conducted", "cancelled"]
LessonChangeKind = Literal["substitution", "move", "cancel"]
ControlWorkKind = Literal["control", "test", "vpr", "diagnostic"]
WorkKind = Literal["answer", "control", "homework", "test", "lab", "dictation", "essay", "other"]
FinalGradeKind = Literal["quarter", "half_year", "trimester", "year", "exam", "final"]
ConsentDecision = Literal["given", "refused", "revoked"]
ConsentChannel = Literal["cabinet", "email", "sms", "messenger", "paper"]
BasisKind = Literal["paper", "esign"]
ContactKind = Literal["email", "phone", "messenger"]
MarkKind = Literal["numeric", "pass", "fail", "released", "not_certified"]
Sign = Literal["+", "-"]
AttendanceMeaning = Literal["absent", "ill", "excused", "truant", "late"]

VOCABULARIES: dict[str, object] = {
    "levels": Level,
    "period_kinds": PeriodKind,
    "holiday_kinds": HolidayKind,
    "group_kinds": GroupKind,
    "student_statuses": StudentStatus,
    "relations": Relation,
    "lesson_types": LessonType,
    "lesson_statuses": LessonStatus,
    "lesson_change_kinds": LessonChangeKind,
    "control_work_kinds": ControlWorkKind,
    "work_kinds": WorkKind,
    "final_grade_kinds": FinalGradeKind,
    "consent_decisions": ConsentDecision,
    "consent_channels": ConsentChannel,
    "basis_kinds": BasisKind,
    "contact_kinds": ContactKind,
}
"""Each ``kinds.toml`` vocabulary's ``Literal`` (a test checks that they agree)."""


def _ref(what: str) -> str:
    return f"KROS id of the {what}"


# --------------------------------------------------------------------------- base


class Entity(BaseModel):
    """The columns every entity table has."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    id: int = Field(description="Surrogate key of the row in this store; never reused")
    school_id: str = Field(description="The KROS school the row belongs to")
    source_id: str = Field(description="The KROS id of the record; unique with school_id")
    source_updated_at: AwareDatetime = Field(
        description="KROS's updated_at of the record (or of its tombstone), in UTC"
    )
    deleted_at: AwareDatetime | None = Field(
        description="When KROS deleted the record (tombstone or reconciliation), UTC; "
        "null while alive. Rows are never removed by a sync."
    )
    change_version: int = Field(
        description="Store-wide, strictly increasing version of the row's last real change, "
        "assigned in commit order: read 'everything after N' as change_version > N"
    )


class MarkValueOptional(BaseModel):
    """A mark value's four columns, empty when the record has no value."""

    value_number: int | None = Field(description="The number of a numeric mark (1–5), else null")
    value_sign: Sign | None = Field(description="'+' or '-' of a signed mark (4+), else null")
    value_kind: MarkKind | None = Field(
        description="numeric, pass (зач), fail (незач), released (осв), not_certified (н/а)"
    )
    value_text: str | None = Field(description="The value exactly as KROS sent it")


# --------------------------------------------------------------------------- reference data


class School(Entity):
    """The school itself (``GET /schools/{id}``); source_id equals school_id."""

    name: str = Field(description="Full name")
    short_name: str = Field(description="Short name")
    inn: str = Field(description="ИНН (taxpayer number)")
    address: str = Field(description="Postal address")
    timezone: str = Field(description="The school's time zone, e.g. Europe/Simferopol")


class AcademicYear(Entity):
    title: str = Field(description="e.g. 2026/2027")
    starts_on: dt.date = Field(description="First day (local date)")
    ends_on: dt.date = Field(description="Last day (local date)")


class Period(Entity):
    """An attestation period: a quarter, half-year, trimester or the year."""

    year_source_id: str = Field(description=_ref("academic year"))
    kind: PeriodKind = Field(description="quarter, half_year, trimester or year")
    number: int = Field(description="Its number within the year")
    title: str = Field(description="e.g. 2 четверть")
    starts_on: dt.date = Field(description="First day (local date)")
    ends_on: dt.date = Field(description="Last day (local date)")


class Holiday(Entity):
    year_source_id: str = Field(description=_ref("academic year"))
    title: str = Field(description="e.g. Зимние каникулы")
    kind: HolidayKind = Field(description="autumn, winter, spring, summer or extra")
    starts_on: dt.date = Field(description="First day (local date)")
    ends_on: dt.date = Field(description="Last day (local date)")
    grades: list[int] | None = Field(
        description="The grades it applies to ([1] for the extra first-grade week); "
        "null for every grade"
    )


class Subject(Entity):
    name: str = Field(description="e.g. Алгебра")
    short_name: str | None = Field(description="Abbreviation, if KROS has one")
    level: Level = Field(description="Programme level where it starts: НОО, ООО or СОО")


class Teacher(Entity):
    last_name: str = Field(description="Surname")
    first_name: str = Field(description="Given name")
    middle_name: str | None = Field(description="Patronymic, if any")
    position: str | None = Field(description="Staff position")
    subject_source_ids: list[str] = Field(
        description="KROS ids of the subjects taught (link table teacher_subjects)"
    )


class SchoolClass(Entity):
    year_source_id: str = Field(description=_ref("academic year"))
    name: str = Field(description="e.g. 5А")
    grade: int = Field(description="1–11")
    letter: str = Field(description="The class letter, e.g. А")
    level: Level = Field(description="НОО, ООО or СОО")
    homeroom_teacher_source_id: str | None = Field(
        description=_ref("homeroom teacher (классный руководитель)")
    )


class Group(Entity):
    """A group of a class, a stream across classes, or an individual plan."""

    year_source_id: str = Field(description=_ref("academic year"))
    name: str = Field(description="e.g. 5А, Английский язык, 1 группа")
    kind: GroupKind = Field(description="group, stream or individual")
    subject_source_id: str = Field(description=_ref("subject"))
    class_source_ids: list[str] = Field(description="Classes it draws from (group_classes)")
    student_source_ids: list[str] = Field(description="Its students (group_students)")
    teacher_source_ids: list[str] = Field(description="Its teachers (group_teachers)")


class Student(Entity):
    last_name: str = Field(description="Surname")
    first_name: str = Field(description="Given name")
    middle_name: str | None = Field(description="Patronymic, if any")
    birth_date: dt.date = Field(description="Date of birth")
    class_source_id: str = Field(description=_ref("class"))
    individual_plan: bool = Field(description="Learns on an individual plan")
    status: StudentStatus = Field(description="active or left")
    enrolled_on: dt.date = Field(description="Date of enrolment")
    left_on: dt.date | None = Field(description="When the student left, if they did")


class GuardianContact(BaseModel):
    """A contact of a guardian, with the basis that allows its use (152-ФЗ)."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    position: int = Field(description="Place in KROS's list, from 0")
    kind: ContactKind = Field(description="email, phone or messenger")
    value: str = Field(description="The address or number")
    basis_kind: BasisKind = Field(description="paper (written application) or esign")
    basis_document_no: str = Field(description="Number of the application or e-document")
    basis_document_date: dt.date = Field(description="Its date")
    basis_registered_by: str | None = Field(description="Who registered a paper application")
    basis_signer: str | None = Field(description="Signer of an e-signed document")
    basis_signature: str | None = Field(description="Base64 detached signature (esign)")


class Guardian(Entity):
    """A parent or other legal guardian (законный представитель)."""

    last_name: str = Field(description="Surname")
    first_name: str = Field(description="Given name")
    middle_name: str | None = Field(description="Patronymic, if any")
    relation: Relation = Field(description="mother, father, guardian or trustee")
    student_source_ids: list[str] = Field(
        description="The children KROS links the guardian to (guardian_students)"
    )
    contacts: list[GuardianContact] = Field(description="Contacts (guardian_contacts)")


class Curriculum(Entity):
    """Planned lessons of a subject for a class or group in a period."""

    year_source_id: str = Field(description=_ref("academic year"))
    class_source_id: str | None = Field(description=_ref("class, when planned for a class"))
    group_source_id: str | None = Field(description=_ref("group, when planned for a group"))
    subject_source_id: str = Field(description=_ref("subject"))
    period_source_id: str = Field(description=_ref("period"))
    planned_lessons: int = Field(description="Lessons planned in the period")
    by_type: dict[str, int] = Field(description="Planned lessons by lesson type")


# --------------------------------------------------------------------------- journal


class Lesson(Entity):
    date: dt.date = Field(description="Local date")
    slot: int = Field(description="Lesson number in the day, 1–8")
    starts_at: AwareDatetime = Field(description="UTC")
    ends_at: AwareDatetime = Field(description="UTC")
    class_source_id: str | None = Field(description=_ref("class, for a class lesson"))
    group_source_id: str | None = Field(description=_ref("group, for a group lesson"))
    subject_source_id: str = Field(description=_ref("subject"))
    teacher_source_id: str = Field(description=_ref("teacher as planned"))
    room: str | None = Field(description="Room, if set")
    topic: str | None = Field(description="Topic of the lesson, if set")
    lesson_type: LessonType = Field(
        description="lesson, control, lab, practical, test or excursion"
    )
    status: LessonStatus = Field(description="scheduled, conducted or cancelled")
    period_source_id: str = Field(description=_ref("period"))


class LessonChange(Entity):
    """A substitution, move or cancellation of a lesson."""

    lesson_source_id: str = Field(description=_ref("lesson"))
    kind: LessonChangeKind = Field(description="substitution, move or cancel")
    teacher_source_id: str | None = Field(description=_ref("substitute teacher"))
    new_date: dt.date | None = Field(description="New local date of a moved lesson")
    new_slot: int | None = Field(description="New slot of a moved lesson")
    new_room: str | None = Field(description="New room, if changed")
    reason: str | None = Field(description="Reason given, if any")
    announced_at: AwareDatetime = Field(description="When it was announced, UTC")


class ControlWork(Entity):
    date: dt.date = Field(description="Local date")
    class_source_id: str | None = Field(description=_ref("class"))
    group_source_id: str | None = Field(description=_ref("group"))
    subject_source_id: str = Field(description=_ref("subject"))
    kind: ControlWorkKind = Field(description="control, test, vpr or diagnostic")
    title: str = Field(description="e.g. Контрольный диктант")


class HomeworkAttachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    position: int = Field(description="Place in KROS's list, from 0")
    name: str = Field(description="File name")
    url: str = Field(description="Path on the KROS host; needs the adapter's bearer token")


class Homework(Entity):
    lesson_source_id: str = Field(description=_ref("lesson it was set in"))
    subject_source_id: str = Field(description=_ref("subject"))
    class_source_id: str | None = Field(description=_ref("class"))
    group_source_id: str | None = Field(description=_ref("group"))
    assigned_on: dt.date = Field(description="Local date it was set")
    due_on: dt.date = Field(description="Local date it is due")
    text: str = Field(description="The assignment")
    attachments: list[HomeworkAttachment] = Field(description="Files (homework_attachments)")


class Mark(MarkValueOptional, Entity):
    student_source_id: str = Field(description=_ref("student"))
    lesson_source_id: str | None = Field(description=_ref("lesson, if any"))
    subject_source_id: str = Field(description=_ref("subject"))
    teacher_source_id: str = Field(description=_ref("teacher"))
    date: dt.date = Field(description="Local date")
    value_kind: MarkKind = Field(
        description="numeric, pass (зач), fail (незач), released (осв), not_certified (н/а)"
    )
    value_text: str = Field(description="The value exactly as the teacher put it")
    weight: int = Field(description="1–5")
    work_kind: WorkKind = Field(
        description="answer, control, homework, test, lab, dictation, essay or other"
    )
    comment: str | None = Field(description="Teacher's comment, if any")


class AttendanceEntry(Entity):
    student_source_id: str = Field(description=_ref("student"))
    lesson_source_id: str = Field(description=_ref("lesson"))
    date: dt.date = Field(description="Local date")
    meaning: AttendanceMeaning = Field(
        description="absent (н), ill (б), excused (у), truant (п), late (о)"
    )
    code_text: str = Field(description="The code exactly as KROS sent it")
    comment: str | None = Field(description="Comment, if any")


class Recommendation(Entity):
    student_source_id: str = Field(description=_ref("student"))
    subject_source_id: str | None = Field(description=_ref("subject, if any"))
    teacher_source_id: str = Field(description=_ref("teacher"))
    date: dt.date = Field(description="Local date")
    text: str = Field(description="The recommendation")


# --------------------------------------------------------------------------- documents


class FinalGrade(MarkValueOptional, Entity):
    """A grade of the class summary sheet (сводная ведомость), final-grades.xml."""

    period_source_id: str = Field(description=_ref("period"))
    class_source_id: str = Field(description=_ref("class"))
    class_name: str | None = Field(description="The class's name as the document gave it")
    student_source_id: str = Field(description=_ref("student"))
    subject_source_id: str = Field(description=_ref("subject"))
    kind: FinalGradeKind = Field(description="quarter, half_year, trimester, year, exam or final")
    set_on: dt.date | None = Field(description="When the grade was set; null while deferred")
    teacher_source_id: str = Field(description=_ref("teacher"))
    deferred: bool = Field(description="Postponed (отсрочка); the value columns are null")
    defer_reason: str | None = Field(description="Why, e.g. illness")
    deferred_until: dt.date | None = Field(description="Deadline of a deferred grade")


class ExamResult(MarkValueOptional, Entity):
    """An exam or competitive test result, exam-results.xml."""

    year_source_id: str = Field(description=_ref("academic year"))
    student_source_id: str = Field(description=_ref("student"))
    subject_source_id: str = Field(description=_ref("subject"))
    exam: str = Field(description="e.g. ОГЭ")
    held_on: dt.date = Field(description="Local date of the exam")
    score: int = Field(description="Points scored")
    max_score: int = Field(description="Points possible")
    result_at: AwareDatetime = Field(
        description="When the result became known in KROS (the 24-hour clock starts), UTC"
    )


class Consent(Entity):
    """A guardian's decision on electronic information about a student (152-ФЗ)."""

    guardian_source_id: str = Field(description=_ref("guardian"))
    student_source_id: str = Field(description=_ref("student"))
    decision: ConsentDecision = Field(description="given, refused or revoked")
    decided_at: AwareDatetime = Field(description="UTC")
    basis_kind: BasisKind = Field(description="paper (written application) or esign")
    basis_document_no: str = Field(description="Number of the application or e-document")
    basis_document_date: dt.date = Field(description="Its date")
    basis_registered_by: str | None = Field(description="Who registered a paper application")
    basis_signer: str | None = Field(description="Signer of an e-signed document")
    basis_signature: str | None = Field(description="Base64 detached signature (esign)")
    channels: list[ConsentChannel] = Field(
        description="Where information may go (consent_channels)"
    )


ENTITY_MODELS: dict[str, type[Entity]] = {
    "schools": School,
    "academic_years": AcademicYear,
    "periods": Period,
    "holidays": Holiday,
    "subjects": Subject,
    "teachers": Teacher,
    "classes": SchoolClass,
    "groups": Group,
    "students": Student,
    "guardians": Guardian,
    "curriculum": Curriculum,
    "lessons": Lesson,
    "lesson_changes": LessonChange,
    "control_works": ControlWork,
    "homework": Homework,
    "marks": Mark,
    "attendance": AttendanceEntry,
    "recommendations": Recommendation,
    "final_grades": FinalGrade,
    "exam_results": ExamResult,
    "consents": Consent,
}
"""Entity table → its model."""

LINK_FIELDS: dict[str, tuple[str, str]] = {
    "teacher_subjects": ("teachers", "subject_source_ids"),
    "group_classes": ("groups", "class_source_ids"),
    "group_students": ("groups", "student_source_ids"),
    "group_teachers": ("groups", "teacher_source_ids"),
    "guardian_students": ("guardians", "student_source_ids"),
    "guardian_contacts": ("guardians", "contacts"),
    "homework_attachments": ("homework", "attachments"),
    "consent_channels": ("consents", "channels"),
}
"""Link table → (entity table, the model field holding its rows)."""
