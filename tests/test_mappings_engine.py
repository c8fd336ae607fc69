"""The mapping of every collection, applied to records shaped like CONTRACT.md §4–6.

``SAMPLES`` holds one realistic record per collection (the property tests mutate
them); each test below states one behaviour of :func:`mappings.engine.normalize`.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from kros_adapter.contract import COLLECTIONS, DOCUMENTS
from mappings.engine import collections, mapping, normalize
from mappings.errors import MappingError, RecordError, UnknownCodeError
from mappings.records import NormalizedRecord, Tombstone

SCHOOL = "sch-1"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


BASIS_PAPER = {
    "kind": "paper",
    "documentNo": "123/2026",
    "documentDate": "2026-09-02",
    "registeredBy": "Секретарь Иванова Н. П.",
}
BASIS_ESIGN = {
    "kind": "esign",
    "documentNo": "ЭД-00001",
    "documentDate": "2026-09-06",
    "signature": "MEUCIQDx",
    "signer": "Васильева Инна Романовна",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "school": {
        "id": "sch-1",
        "name": "МБОУ «Красногвардейская школа №1»",
        "shortName": "Красногвардейская школа №1",
        "inn": "9102332266",
        "address": "297000, Республика Крым, пгт Красногвардейское, ул. Мира, д. 2",
        "timezone": "Europe/Simferopol",
        "updated_at": "2026-08-20T11:28:00+03:00",
    },
    "academic-years": {
        "id": "y-2026",
        "title": "2026/2027",
        "startsOn": "2026-09-01",
        "endsOn": "2027-08-31",
        "updated_at": "2026-06-15T12:00:00+03:00",
    },
    "periods": {
        "id": "p-2026-q2",
        "yearId": "y-2026",
        "kind": "quarter",
        "number": 2,
        "title": "2 четверть",
        "startsOn": "2026-11-05",
        "endsOn": "2026-12-28",
        "updated_at": "2026-06-15T12:05:00+03:00",
    },
    "holidays": {
        "id": "hol-2027-extra",
        "yearId": "y-2026",
        "title": "Дополнительные каникулы",
        "kind": "extra",
        "startsOn": "2027-02-15",
        "endsOn": "2027-02-21",
        "grades": [1],
        "updated_at": "2026-06-15T12:10:00+03:00",
    },
    "subjects": {
        "id": "sub-alg",
        "name": "Алгебра",
        "shortName": None,
        "level": "ООО",
        "updated_at": "2026-08-20T12:00:00+03:00",
    },
    "teachers": {
        "id": "t-12",
        "lastName": "Макарова",
        "firstName": "Светлана",
        "middleName": "Евгеньевна",
        "position": "Учитель математики",
        "subjectIds": ["sub-alg", "sub-geom"],
        "updated_at": "2026-08-28T10:24:00+03:00",
    },
    "classes": {
        "id": "c-5a",
        "yearId": "y-2026",
        "name": "5А",
        "grade": 5,
        "letter": "А",
        "level": "ООО",
        "homeroomTeacherId": "t-12",
        "updated_at": "2026-08-31T10:09:00+03:00",
    },
    "groups": {
        "id": "gr-001",
        "yearId": "y-2026",
        "name": "5А, Английский язык, 1 группа",
        "kind": "group",
        "subjectId": "sub-eng",
        "classIds": ["c-5a"],
        "studentIds": ["st-0001", "st-0002"],
        "teacherIds": ["t-13"],
        "updated_at": "2026-09-02T12:52:00+03:00",
    },
    "students": {
        "id": "st-0001",
        "lastName": "Лебедева",
        "firstName": "Полина",
        "middleName": "Ивановна",
        "birthDate": "2015-06-12",
        "classId": "c-5a",
        "individualPlan": False,
        "status": "active",
        "enrolledOn": "2022-09-01",
        "leftOn": None,
        "updated_at": "2026-09-01T09:17:00+03:00",
    },
    "guardians": {
        "id": "g-0007",
        "lastName": "Лебедева",
        "firstName": "Инна",
        "middleName": "Романовна",
        "relation": "mother",
        "studentIds": ["st-0001"],
        "contacts": [
            {"kind": "phone", "value": "+7 978 033-50-89", "basis": BASIS_ESIGN},
            {"kind": "email", "value": "i.lebedeva@mail.ru", "basis": BASIS_PAPER},
        ],
        "updated_at": "2026-09-06T17:04:00+03:00",
    },
    "curriculum": {
        "id": "cu-00001",
        "yearId": "y-2026",
        "classId": "c-5a",
        "groupId": None,
        "subjectId": "sub-rus",
        "periodId": "p-2026-q2",
        "plannedLessons": 38,
        "byType": {"lesson": 35, "control": 3},
        "updated_at": "2026-08-29T13:00:00+03:00",
    },
    "lessons": {
        "id": "ls-000001",
        "date": "2026-12-04",
        "slot": 1,
        "startsAt": "2026-12-04T08:00:00+03:00",
        "endsAt": "2026-12-04T08:40:00+03:00",
        "classId": "c-5a",
        "groupId": None,
        "subjectId": "sub-rus",
        "teacherId": "t-12",
        "room": "101",
        "topic": "Повторение изученного",
        "lessonType": "lesson",
        "status": "conducted",
        "periodId": "p-2026-q2",
        "updated_at": "2026-12-04T10:14:00+03:00",
    },
    "lesson-changes": {
        "id": "lc-00001",
        "lessonId": "ls-000001",
        "kind": "substitution",
        "teacherId": "t-13",
        "newDate": None,
        "newSlot": None,
        "newRoom": None,
        "reason": "Болезнь учителя",
        "announcedAt": "2026-12-04T07:43:00+03:00",
        "updated_at": "2026-12-04T07:43:00+03:00",
    },
    "control-works": {
        "id": "cw-0002",
        "date": "2026-12-22",
        "classId": "c-5a",
        "groupId": None,
        "subjectId": "sub-rus",
        "kind": "control",
        "title": "Контрольный диктант",
        "updated_at": "2026-08-28T15:04:02+03:00",
    },
    "homework": {
        "id": "hw-000001",
        "lessonId": "ls-000001",
        "subjectId": "sub-rus",
        "classId": "c-5a",
        "groupId": None,
        "assignedOn": "2026-12-04",
        "dueOn": "2026-12-07",
        "text": "§ 5, упр. 302",
        "attachments": [{"name": "Карточка.pdf", "url": "/ej/v1/schools/sch-1/attachments/a1"}],
        "updated_at": "2026-12-04T08:42:00+03:00",
    },
    "marks": {
        "id": "mk-000123",
        "studentId": "st-0001",
        "lessonId": "ls-000001",
        "subjectId": "sub-rus",
        "teacherId": "t-12",
        "date": "2026-12-04",
        "value": "4+",
        "weight": 2,
        "workKind": "dictation",
        "comment": "Молодец",
        "updated_at": "2026-12-04T16:23:05+03:00",
    },
    "attendance": {
        "id": "at-000001",
        "studentId": "st-0001",
        "lessonId": "ls-000001",
        "date": "2026-12-04",
        "code": "б",
        "updated_at": "2026-12-04T08:06:00+03:00",
    },
    "recommendations": {
        "id": "rc-00001",
        "studentId": "st-0001",
        "subjectId": None,
        "teacherId": "t-12",
        "date": "2026-12-04",
        "text": "Обратить внимание на аккуратность оформления работ",
        "updated_at": "2026-12-04T18:39:00+03:00",
    },
    "consents": {
        "id": "cn-19",
        "guardianId": "g-0007",
        "studentId": "st-0001",
        "decision": "given",
        "channels": ["cabinet", "email"],
        "decidedAt": "2026-09-02T10:15:00+03:00",
        "basis": BASIS_PAPER,
        "updated_at": "2026-09-02T10:15:00+03:00",
    },
    # The XML documents: every value is text, with the context of the record's place.
    "final-grades": {
        "schoolId": "sch-1",
        "periodId": "p-2026-q2",
        "classId": "c-5a",
        "className": "5А",
        "studentId": "st-0001",
        "id": "fg-1",
        "subjectId": "sub-math",
        "kind": "quarter",
        "value": "5",
        "setOn": "2026-12-26",
        "teacherId": "t-12",
        "updated": "2026-12-26T15:10:00+03:00",
    },
    "exam-results": {
        "schoolId": "sch-1",
        "yearId": "y-2026",
        "id": "ex-77",
        "studentId": "st-0001",
        "subjectId": "sub-math",
        "exam": "ОГЭ",
        "heldOn": "2027-05-27",
        "score": "24",
        "maxScore": "31",
        "mark": "5",
        "resultAt": "2027-06-08T12:00:00+03:00",
        "updated": "2027-06-08T12:00:00+03:00",
    },
}


def sample(collection: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of the collection's sample, with ``changes`` (``None`` removes a key)."""
    record = copy.deepcopy(SAMPLES[collection])
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def live(collection: str, record: dict[str, Any]) -> NormalizedRecord:
    result = normalize(collection, SCHOOL, record)
    assert isinstance(result, NormalizedRecord)
    return result


def test_every_contract_collection_and_document_has_a_mapping() -> None:
    assert set(collections()) == set(COLLECTIONS) | set(DOCUMENTS) | {"school"}
    assert set(SAMPLES) == set(collections())


@pytest.mark.parametrize("collection", sorted(SAMPLES))
def test_every_sample_maps_to_a_complete_row_of_its_table(collection: str) -> None:
    from schemas.tables import metadata

    result = live(collection, sample(collection))
    table = metadata.tables[result.table]

    assert set(result.row) == set(table.c.keys()) - {"id", "change_version"}
    assert result.row["school_id"] == SCHOOL
    assert result.row["source_id"] == SAMPLES[collection]["id"]
    assert result.row["deleted_at"] is None
    assert set(result.links) == set(mapping(collection).link_tables)


def test_a_mark_becomes_its_four_value_columns_and_utc_times() -> None:
    result = live("marks", sample("marks"))

    assert result.table == "marks"
    assert result.updated_at == utc(2026, 12, 4, 13, 23, 5)
    assert result.row == {
        "school_id": SCHOOL,
        "source_id": "mk-000123",
        "source_updated_at": utc(2026, 12, 4, 13, 23, 5),
        "deleted_at": None,
        "student_source_id": "st-0001",
        "lesson_source_id": "ls-000001",
        "subject_source_id": "sub-rus",
        "teacher_source_id": "t-12",
        "date": date(2026, 12, 4),
        "value_number": 4,
        "value_sign": "+",
        "value_kind": "numeric",
        "value_text": "4+",
        "weight": 2,
        "work_kind": "dictation",
        "comment": "Молодец",
    }
    assert result.links == {}


@pytest.mark.parametrize(
    ("value", "number", "kind"),
    [(" Зач ", None, "pass"), ("незачет", None, "fail"), ("осв", None, "released"),
     ("Н/А", None, "not_certified"), ("5", 5, "numeric")],
)  # fmt: skip
def test_verbal_marks_have_no_number_and_keep_their_text(
    value: str, number: int | None, kind: str
) -> None:
    row = live("marks", sample("marks", value=value)).row
    assert (row["value_number"], row["value_sign"], row["value_kind"]) == (number, None, kind)
    assert row["value_text"] == value


def test_attendance_keeps_the_meaning_and_the_code_as_sent() -> None:
    row = live("attendance", sample("attendance", code=" Б ")).row
    assert (row["meaning"], row["code_text"], row["comment"]) == ("ill", " Б ", None)


def test_reference_lists_become_link_rows_of_the_parent() -> None:
    result = live("groups", sample("groups", studentIds=["st-0001", "st-0002", "st-0001"]))

    assert result.links["group_classes"] == [
        {"school_id": SCHOOL, "group_source_id": "gr-001", "class_source_id": "c-5a"}
    ]
    # A repeated id is one link: the link table's key is the pair.
    assert [r["student_source_id"] for r in result.links["group_students"]] == [
        "st-0001",
        "st-0002",
    ]
    assert result.links["group_teachers"][0]["teacher_source_id"] == "t-13"


def test_guardian_contacts_keep_their_order_and_basis() -> None:
    result = live("guardians", sample("guardians"))

    phone, email = result.links["guardian_contacts"]
    assert phone == {
        "school_id": SCHOOL,
        "guardian_source_id": "g-0007",
        "position": 0,
        "kind": "phone",
        "value": "+7 978 033-50-89",
        "basis_kind": "esign",
        "basis_document_no": "ЭД-00001",
        "basis_document_date": date(2026, 9, 6),
        "basis_registered_by": None,
        "basis_signer": "Васильева Инна Романовна",
        "basis_signature": "MEUCIQDx",
    }
    assert (email["position"], email["basis_kind"], email["basis_registered_by"]) == (
        1,
        "paper",
        "Секретарь Иванова Н. П.",
    )
    assert result.links["guardian_students"] == [
        {"school_id": SCHOOL, "guardian_source_id": "g-0007", "student_source_id": "st-0001"}
    ]


def test_a_consent_flattens_its_basis_and_lists_its_channels() -> None:
    result = live("consents", sample("consents"))

    assert result.row["decision"] == "given"
    assert result.row["decided_at"] == utc(2026, 9, 2, 7, 15)
    assert result.row["basis_kind"] == "paper"
    assert result.row["basis_document_date"] == date(2026, 9, 2)
    assert result.row["basis_signature"] is None
    assert [r["channel"] for r in result.links["consent_channels"]] == ["cabinet", "email"]


def test_an_esign_consent_needs_its_signature() -> None:
    esign = live("consents", sample("consents", basis=BASIS_ESIGN))
    assert esign.row["basis_signer"] == "Васильева Инна Романовна"

    unsigned = {k: v for k, v in BASIS_ESIGN.items() if k != "signature"}
    with pytest.raises(
        RecordError, match=re.escape("basis.signature: is required when basis_kind is 'esign'")
    ):
        normalize("consents", SCHOOL, sample("consents", basis=unsigned))


def test_a_paper_basis_needs_who_registered_it() -> None:
    basis = {k: v for k, v in BASIS_PAPER.items() if k != "registeredBy"}
    with pytest.raises(RecordError, match=re.escape("basis.registeredBy")):
        normalize("consents", SCHOOL, sample("consents", basis=basis))


def test_a_bad_contact_names_its_place_in_the_list() -> None:
    record = sample("guardians")
    record["contacts"][1]["basis"]["documentDate"] = "02.09.2026"
    with pytest.raises(RecordError) as caught:
        normalize("guardians", SCHOOL, record)
    assert caught.value.field == "contacts[1].basis.documentDate"
    assert "not a YYYY-MM-DD date" in str(caught.value)


def test_json_columns_keep_small_lists_and_counts() -> None:
    assert live("holidays", sample("holidays")).row["grades"] == [1]
    assert live("holidays", sample("holidays", grades=None)).row["grades"] is None
    assert live("curriculum", sample("curriculum")).row["by_type"] == {"lesson": 35, "control": 3}
    with pytest.raises(RecordError, match="byType"):
        normalize("curriculum", SCHOOL, sample("curriculum", byType={"lesson": -1}))


def test_optional_fields_absent_null_or_blank_are_null() -> None:
    for record in (
        sample("lessons", room=None, topic=None),
        sample("lessons", room="", topic="   "),
    ):
        row = live("lessons", record).row
        assert (row["room"], row["topic"]) == (None, None)


def test_homework_attachments_are_link_rows_in_order() -> None:
    result = live("homework", sample("homework"))
    assert result.links["homework_attachments"] == [
        {
            "school_id": SCHOOL,
            "homework_source_id": "hw-000001",
            "position": 0,
            "name": "Карточка.pdf",
            "url": "/ej/v1/schools/sch-1/attachments/a1",
        }
    ]
    assert live("homework", sample("homework", attachments=[])).links["homework_attachments"] == []


# --------------------------------------------------------------------------- tombstones


def test_a_json_tombstone_is_a_tombstone() -> None:
    result = normalize(
        "marks",
        SCHOOL,
        {"id": "mk-000123", "deleted": True, "updated_at": "2026-12-04T10:01:00+03:00"},
    )
    assert result == Tombstone("mk-000123", utc(2026, 12, 4, 7, 1), "marks")


def test_an_xml_tombstone_is_a_tombstone() -> None:
    grade = {
        "schoolId": "sch-1",
        "periodId": "p-2026-q2",
        "classId": "c-5a",
        "studentId": "st-0001",
        "id": "fg-3",
        "subjectId": "sub-hist",
        "deleted": "true",
        "updated": "2026-12-27T09:00:00+03:00",
    }
    assert normalize("final-grades", SCHOOL, grade) == Tombstone(
        "fg-3", utc(2026, 12, 27, 6, 0), "final_grades"
    )


def test_deleted_false_is_a_live_record() -> None:
    assert isinstance(normalize("marks", SCHOOL, sample("marks", deleted=False)), NormalizedRecord)
    grade = sample("final-grades", deleted="false")
    assert isinstance(normalize("final-grades", SCHOOL, grade), NormalizedRecord)


def test_a_tombstone_needs_its_id_and_time() -> None:
    with pytest.raises(RecordError, match="updated_at: is missing"):
        normalize("marks", SCHOOL, {"id": "mk-1", "deleted": True})
    with pytest.raises(RecordError, match="id: is missing"):
        normalize("marks", SCHOOL, {"deleted": True, "updated_at": "2026-12-04T10:01:00+03:00"})
    with pytest.raises(RecordError, match="deleted"):
        normalize(
            "marks", SCHOOL, {"id": "mk-1", "deleted": "yes", "updated_at": "2026-12-04T10:01:00Z"}
        )


# --------------------------------------------------------------------------- XML records


def test_a_final_grade_from_xml_text() -> None:
    row = live("final-grades", sample("final-grades")).row
    assert row["value_number"] == 5
    assert row["value_kind"] == "numeric"
    assert row["set_on"] == date(2026, 12, 26)
    assert row["deferred"] is False
    assert row["class_name"] == "5А"
    assert row["source_updated_at"] == utc(2026, 12, 26, 12, 10)


def test_a_deferred_final_grade_has_no_value_and_a_deadline() -> None:
    grade = sample(
        "final-grades",
        value="",
        setOn=None,
        deferred="true",
        deferReason="illness",
        deferredUntil="2027-01-20",
    )
    row = live("final-grades", grade).row
    assert row["deferred"] is True
    assert row["deferred_until"] == date(2027, 1, 20)
    assert row["defer_reason"] == "illness"
    assert [row[f"value_{p}"] for p in ("number", "sign", "kind", "text")] == [None] * 4
    assert row["set_on"] is None


def test_a_final_grade_needs_a_value_unless_deferred() -> None:
    with pytest.raises(RecordError, match="value: is required when deferred is false"):
        normalize("final-grades", SCHOOL, sample("final-grades", value=""))
    with pytest.raises(RecordError, match="deferredUntil: is required when deferred is true"):
        normalize("final-grades", SCHOOL, sample("final-grades", value="", deferred="true"))


def test_final_grades_have_no_signs() -> None:
    with pytest.raises(UnknownCodeError):
        normalize("final-grades", SCHOOL, sample("final-grades", value="4+"))


def test_an_exam_result_from_xml_text() -> None:
    row = live("exam-results", sample("exam-results")).row
    assert (row["score"], row["max_score"], row["value_number"]) == (24, 31, 5)
    assert row["result_at"] == utc(2027, 6, 8, 9, 0)
    assert row["held_on"] == date(2027, 5, 27)
    no_mark = live("exam-results", sample("exam-results", mark=None)).row
    assert no_mark["value_kind"] is None


@pytest.mark.parametrize("score", ["2_4", "+24", "٢٤", "24.0", "", "двадцать"])
def test_xml_integers_are_plain_digits(score: str) -> None:
    with pytest.raises(RecordError, match="score"):
        normalize("exam-results", SCHOOL, sample("exam-results", score=score))


def test_a_document_of_another_school_is_refused() -> None:
    with pytest.raises(RecordError, match="schoolId: belongs to school 'sch-2'"):
        normalize("final-grades", SCHOOL, sample("final-grades", schoolId="sch-2"))


# --------------------------------------------------------------------------- data errors


@pytest.mark.parametrize(
    ("collection", "changes", "field", "reason"),
    [
        ("marks", {"value": "5/4"}, "value", "unknown mark value '5/4'"),
        ("marks", {"value": 5}, "value", "a mark must be text, got number 5"),
        ("marks", {"studentId": None}, "studentId", "is missing"),
        ("marks", {"date": "2026-13-01"}, "date", "not a YYYY-MM-DD date"),
        ("marks", {"weight": "3"}, "weight", "expected an integer, got text '3'"),
        ("marks", {"weight": True}, "weight", "expected an integer, got boolean true"),
        ("marks", {"weight": 6}, "weight", "6 is outside 1…5"),
        ("marks", {"workKind": "quiz"}, "workKind", "unknown work_kinds value 'quiz'"),
        ("marks", {"updated_at": "2026-12-04T16:23:05.000"}, "updated_at", "without an offset"),
        ("marks", {"updated_at": "вчера"}, "updated_at", "not an RFC 3339 timestamp"),
        ("marks", {"studentId": 17}, "studentId", "an id must be text"),
        ("marks", {"studentId": "  "}, "studentId", "is blank"),
        ("attendance", {"code": "нб"}, "code", "unknown attendance code value 'нб'"),
        ("students", {"individualPlan": "false"}, "individualPlan", "expected true or false"),
        ("lessons", {"lessonType": "seminar"}, "lessonType", "unknown lesson_types"),
        ("groups", {"studentIds": "st-0001"}, "studentIds", "expected a list, got text"),
        ("groups", {"studentIds": ["st-1", None]}, "studentIds[1]", "an id must be text, got null"),
        ("consents", {"channels": ["cabinet", "pigeon"]}, "channels[1]", "consent_channels"),
        ("consents", {"basis": "paper"}, "basis.kind", "basis must be an object"),
        ("guardians", {"contacts": ["+7 978"]}, "contacts[0]", "expected an object"),
        ("subjects", {"name": ""}, "name", "is blank"),
    ],
)
def test_a_bad_field_is_a_record_error_naming_it(
    collection: str, changes: dict[str, Any], field: str, reason: str
) -> None:
    record = sample(collection)
    record.update(changes)
    if changes.get("studentId", "") is None:
        del record["studentId"]
    with pytest.raises(RecordError) as caught:
        normalize(collection, SCHOOL, record)
    assert caught.value.field == field
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")
    assert caught.value.source_id == SAMPLES[collection]["id"]


def test_a_record_that_is_not_an_object_is_a_record_error() -> None:
    for bad in (["mk-1"], "mk-1", None, 5):
        with pytest.raises(RecordError, match="a record must be an object"):
            normalize("marks", SCHOOL, bad)  # type: ignore[arg-type]


def test_one_bad_record_does_not_affect_the_next() -> None:
    with pytest.raises(RecordError):
        normalize("marks", SCHOOL, sample("marks", value="6"))
    assert live("marks", sample("marks")).row["value_number"] == 4


def test_normalize_leaves_the_record_as_it_was() -> None:
    record = sample("guardians")
    before = copy.deepcopy(record)
    result = live("guardians", record)
    result.links["guardian_contacts"][0]["value"] = "changed"
    assert record == before


def test_timestamps_with_z_and_other_offsets_are_the_same_instant() -> None:
    times = ["2026-12-04T13:23:05Z", "2026-12-04T13:23:05+00:00", "2026-12-04T18:23:05+05:00"]
    rows = [live("marks", sample("marks", updated_at=t)).row for t in times]
    assert {r["source_updated_at"] for r in rows} == {utc(2026, 12, 4, 13, 23, 5)}


def test_an_unknown_collection_is_a_mapping_error_not_a_record_error() -> None:
    with pytest.raises(MappingError) as caught:
        normalize("pupils", SCHOOL, {})
    assert not isinstance(caught.value, RecordError)
