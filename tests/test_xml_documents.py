"""The official XML documents: parsing CONTRACT.md §5, writing, round trips, XSD, memory.

Hostile input lives in ``test_xml_hostile.py``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from kros_adapter.errors import KrosDocumentRefusedError
from kros_adapter.xml_documents import (
    NAMESPACE,
    DocumentKind,
    StreamingDocumentParser,
    aiter_document,
    iter_document,
    write_exam_results,
    write_final_grades,
)

XSD_DIR = Path(__file__).resolve().parent.parent / "schemas" / "xsd"
MiB = 1024 * 1024

# Verbatim from CONTRACT.md §5.
FINAL_GRADES_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<Vedomost xmlns="urn:kros:ej:1" schoolId="sch-1" periodId="p-2026-q2"
          generated="2026-12-28T18:00:00+03:00">
  <Class id="c-5a" name="5А">
    <Student id="st-0001">
      <Grade id="fg-1" subjectId="sub-math" kind="quarter" value="5"
             setOn="2026-12-26" teacherId="t-12" updated="2026-12-26T15:10:00+03:00"/>
      <Grade id="fg-2" subjectId="sub-rus" kind="quarter" value=""
             deferred="true" deferReason="illness" deferredUntil="2027-01-20"
             teacherId="t-07" updated="2026-12-26T15:12:00+03:00"/>
      <Grade id="fg-3" subjectId="sub-hist" deleted="true" updated="2026-12-27T09:00:00+03:00"/>
    </Student>
  </Class>
</Vedomost>
""".encode()

EXAM_RESULTS_SAMPLE = """<ExamResults xmlns="urn:kros:ej:1" schoolId="sch-1" yearId="y-2026">
  <Result id="ex-77" studentId="st-0001" subjectId="sub-math" exam="ОГЭ"
          heldOn="2027-05-27" score="24" maxScore="31" mark="5"
          resultAt="2027-06-08T12:00:00+03:00" updated="2027-06-08T12:00:00+03:00"/>
</ExamResults>
""".encode()

SAMPLE_CONTEXT = {
    "schoolId": "sch-1",
    "periodId": "p-2026-q2",
    "classId": "c-5a",
    "className": "5А",
    "studentId": "st-0001",
}
FINAL_GRADES_RECORDS = [
    SAMPLE_CONTEXT
    | {
        "id": "fg-1",
        "subjectId": "sub-math",
        "kind": "quarter",
        "value": "5",
        "setOn": "2026-12-26",
        "teacherId": "t-12",
        "updated": "2026-12-26T15:10:00+03:00",
    },
    SAMPLE_CONTEXT
    | {
        "id": "fg-2",
        "subjectId": "sub-rus",
        "kind": "quarter",
        "value": "",
        "deferred": "true",
        "deferReason": "illness",
        "deferredUntil": "2027-01-20",
        "teacherId": "t-07",
        "updated": "2026-12-26T15:12:00+03:00",
    },
    SAMPLE_CONTEXT
    | {
        "id": "fg-3",
        "subjectId": "sub-hist",
        "deleted": "true",
        "updated": "2026-12-27T09:00:00+03:00",
    },
]
EXAM_RESULTS_RECORDS = [
    {
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
    }
]


def parse(kind: DocumentKind, data: bytes, *, chunk: int = 65536) -> list[dict[str, str]]:
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    return list(iter_document(kind, pieces, max_bytes=max(len(data), 1)))


def written(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


def school_grades(classes: int = 3, students: int = 4, subjects: int = 5) -> list[dict[str, str]]:
    """Realistic final grades, sorted by class and student, with deferrals and tombstones."""
    grades: list[dict[str, str]] = []
    for c in range(classes):
        for s in range(students):
            for g in range(subjects):
                context = {
                    "schoolId": "sch-1",
                    "periodId": "p-2026-q2",
                    "classId": f"c-{c}",
                    "className": f"{5 + c}Б",
                    "studentId": f"st-{c}-{s}",
                }
                grade_id = f"fg-{c}-{s}-{g}"
                if g == 3:
                    grade = {"id": grade_id, "deleted": "true", "updated": "2026-12-27T09:00:00Z"}
                else:
                    grade = {
                        "id": grade_id,
                        "subjectId": f"sub-{g}",
                        "kind": "quarter" if g else "year",
                        "value": ["5", "4", "зач", "н/а"][(s + g) % 4],
                        "setOn": "2026-12-26",
                        "teacherId": f"t-{g}",
                        "updated": "2026-12-26T15:10:00+03:00",
                    }
                    if g == 4:
                        grade |= {
                            "value": "",
                            "deferred": "true",
                            "deferReason": "болезнь",
                            "deferredUntil": "2027-01-20",
                        }
                grades.append(context | grade)
    return grades


# --------------------------------------------------------------------------- CONTRACT samples


def test_contract_final_grades_sample_parses_to_its_records() -> None:
    assert parse(DocumentKind.FINAL_GRADES, FINAL_GRADES_SAMPLE) == FINAL_GRADES_RECORDS


def test_contract_exam_results_sample_parses_to_its_records() -> None:
    assert parse(DocumentKind.EXAM_RESULTS, EXAM_RESULTS_SAMPLE) == EXAM_RESULTS_RECORDS


@pytest.mark.parametrize(
    ("kind", "sample", "records"),
    [
        (DocumentKind.FINAL_GRADES, FINAL_GRADES_SAMPLE, FINAL_GRADES_RECORDS),
        (DocumentKind.EXAM_RESULTS, EXAM_RESULTS_SAMPLE, EXAM_RESULTS_RECORDS),
    ],
)
def test_one_byte_chunks_give_the_same_records(
    kind: DocumentKind, sample: bytes, records: list[dict[str, str]]
) -> None:
    assert parse(kind, sample, chunk=1) == records


def test_feed_returns_the_records_each_chunk_completes() -> None:
    parser = StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=10_000)
    cut = FINAL_GRADES_SAMPLE.index(b'<Grade id="fg-3"')
    first = parser.feed(FINAL_GRADES_SAMPLE[:cut])
    rest = parser.feed(FINAL_GRADES_SAMPLE[cut:]) + parser.close()
    # libxml2 may hold back the last bytes it was given, so a record may surface one
    # chunk late, never early and never twice.
    assert [r["id"] for r in first] in (["fg-1"], ["fg-1", "fg-2"])
    assert first + rest == FINAL_GRADES_RECORDS


async def test_aiter_document_reads_an_async_stream() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(FINAL_GRADES_SAMPLE), 7):
            yield FINAL_GRADES_SAMPLE[i : i + 7]

    records = [
        r async for r in aiter_document(DocumentKind.FINAL_GRADES, chunks(), max_bytes=10_000)
    ]
    assert records == FINAL_GRADES_RECORDS


# --------------------------------------------------------------------------- parser details


def test_a_grade_keeps_its_own_period_over_the_roots() -> None:
    doc = (
        b'<Vedomost xmlns="urn:kros:ej:1" schoolId="s" periodId="p-root" generated="g">'
        b'<Class id="c"><Student id="st">'
        b'<Grade id="a" updated="u"/><Grade id="b" periodId="p-own" updated="u"/>'
        b"</Student></Class></Vedomost>"
    )
    periods = [r["periodId"] for r in parse(DocumentKind.FINAL_GRADES, doc)]
    assert periods == ["p-root", "p-own"]


def test_a_root_without_period_gives_records_without_period() -> None:
    doc = (
        b'<Vedomost xmlns="urn:kros:ej:1" schoolId="s" generated="g">'
        b'<Class id="c"><Student id="st"><Grade id="a" updated="u"/></Student></Class>'
        b"</Vedomost>"
    )
    [record] = parse(DocumentKind.FINAL_GRADES, doc)
    assert "periodId" not in record
    assert "className" not in record  # the Class had no name


def test_a_prefixed_namespace_is_the_same_namespace() -> None:
    doc = (
        b'<ej:ExamResults xmlns:ej="urn:kros:ej:1" schoolId="s" yearId="y">'
        b'<ej:Result id="r" updated="u"/></ej:ExamResults>'
    )
    assert parse(DocumentKind.EXAM_RESULTS, doc) == [
        {"schoolId": "s", "yearId": "y", "id": "r", "updated": "u"}
    ]


def test_unknown_elements_are_skipped_with_their_content() -> None:
    doc = (
        b'<ExamResults xmlns="urn:kros:ej:1" xmlns:x="urn:other" schoolId="s">'
        b'<Signature><Value>abc</Value><x:Result id="not-ours"/></Signature>'
        b"<!-- a comment --><?pi data?>"
        b'<Result id="r" updated="u" x:note="n"/></ExamResults>'
    )
    assert parse(DocumentKind.EXAM_RESULTS, doc) == [
        {"schoolId": "s", "id": "r", "updated": "u", "{urn:other}note": "n"}
    ]


def test_character_references_and_predefined_entities_are_decoded() -> None:
    doc = (
        b'<ExamResults xmlns="urn:kros:ej:1" schoolId="s">'
        b'<Result id="&#1040;&#x411;" exam="&lt;&gt;&amp;&quot;&apos;" updated="1&#10;2"/>'
        b"</ExamResults>"
    )
    [record] = parse(DocumentKind.EXAM_RESULTS, doc, chunk=1)
    assert record["id"] == "АБ"
    assert record["exam"] == "<>&\"'"
    assert record["updated"] == "1\n2"


def test_utf8_declarations_and_bom_are_accepted() -> None:
    body = b'<ExamResults xmlns="urn:kros:ej:1" schoolId="s"/>'
    for prolog in (
        b"",
        b'<?xml version="1.0"?>\n',
        b"<?xml version='1.0' encoding='utf-8'?>",
        b"\xef\xbb\xbf",
        b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    ):
        assert parse(DocumentKind.EXAM_RESULTS, prolog + body, chunk=1) == []


def test_a_refusal_sticks_and_a_closed_parser_takes_no_more() -> None:
    parser = StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=10)
    with pytest.raises(KrosDocumentRefusedError) as first:
        parser.feed(FINAL_GRADES_SAMPLE)
    with pytest.raises(KrosDocumentRefusedError) as again:
        parser.feed(b" ")
    assert again.value is first.value
    with pytest.raises(KrosDocumentRefusedError):
        parser.close()

    closed = StreamingDocumentParser(DocumentKind.EXAM_RESULTS, max_bytes=10_000)
    closed.feed(EXAM_RESULTS_SAMPLE)
    closed.close()
    with pytest.raises(RuntimeError):
        closed.feed(b" ")


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=0)
    with pytest.raises(ValueError):
        StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=10, max_depth=0)


def test_kinds_name_their_elements() -> None:
    assert DocumentKind.FINAL_GRADES.root_tag == f"{{{NAMESPACE}}}Vedomost"
    assert DocumentKind.FINAL_GRADES.record_tag == f"{{{NAMESPACE}}}Grade"
    assert DocumentKind.EXAM_RESULTS.root_tag == f"{{{NAMESPACE}}}ExamResults"
    assert DocumentKind.EXAM_RESULTS.record_tag == f"{{{NAMESPACE}}}Result"


# --------------------------------------------------------------------------- writer


def test_writer_reproduces_the_contract_samples_records() -> None:
    grades = written(
        write_final_grades(
            FINAL_GRADES_RECORDS,
            school_id="sch-1",
            period_id="p-2026-q2",
            generated="2026-12-28T18:00:00+03:00",
        )
    )
    assert parse(DocumentKind.FINAL_GRADES, grades) == FINAL_GRADES_RECORDS
    # One Class and one Student for the three grades, context not repeated on Grade.
    assert grades.count(b"<Class ") == 1
    assert grades.count(b"<Student ") == 1
    assert b"classId" not in grades
    assert b"studentId" not in grades

    results = written(write_exam_results(EXAM_RESULTS_RECORDS, school_id="sch-1", year_id="y-2026"))
    assert parse(DocumentKind.EXAM_RESULTS, results) == EXAM_RESULTS_RECORDS


def test_writer_groups_consecutive_classes_and_students() -> None:
    grades = school_grades(classes=3, students=4, subjects=5)
    doc = written(
        write_final_grades(grades, school_id="sch-1", period_id="p-2026-q2", generated="g")
    )
    assert doc.count(b"<Class ") == 3
    assert doc.count(b"<Student ") == 12
    assert parse(DocumentKind.FINAL_GRADES, doc) == grades


def test_writer_without_period_writes_each_grades_period() -> None:
    grades = [r | {"periodId": f"p-{i % 2}"} for i, r in enumerate(school_grades(1, 2, 3))]
    doc = written(write_final_grades(grades, school_id="sch-1", period_id=None, generated="g"))
    root = doc[: doc.index(b">", doc.index(b"<Vedomost"))]
    assert b"periodId" not in root
    assert parse(DocumentKind.FINAL_GRADES, doc) == grades


def test_writer_without_year_writes_each_results_year() -> None:
    results = [
        EXAM_RESULTS_RECORDS[0] | {"id": "ex-1", "yearId": "y-2025"},
        EXAM_RESULTS_RECORDS[0] | {"id": "ex-2", "yearId": "y-2026"},
        {"schoolId": "sch-1", "id": "ex-3", "deleted": "true", "updated": "2027-01-01T00:00:00Z"},
    ]
    doc = written(write_exam_results(results, school_id="sch-1", year_id=None))
    assert parse(DocumentKind.EXAM_RESULTS, doc) == results


def test_writer_leaves_out_none_and_refuses_other_non_strings() -> None:
    record = FINAL_GRADES_RECORDS[0] | {"comment": None}
    doc = written(write_final_grades([record], school_id="sch-1", period_id=None, generated="g"))
    assert b"comment" not in doc
    assert parse(DocumentKind.FINAL_GRADES, doc) == [FINAL_GRADES_RECORDS[0]]

    bad_values: list[dict[str, object]] = [{"score": 24}, {"deleted": True}]
    for bad in bad_values:
        with pytest.raises(TypeError, match="must be a string"):
            written(
                write_exam_results(
                    [{**EXAM_RESULTS_RECORDS[0], **bad}], school_id="sch-1", year_id="y-2026"
                )
            )


def test_writer_refuses_what_xml_cannot_carry() -> None:
    def write(record: dict[str, object]) -> bytes:
        return written(write_exam_results([record], school_id="sch-1", year_id=None))

    with pytest.raises(ValueError, match="U\\+0001"):
        write({"id": "a\x01b", "updated": "u"})
    with pytest.raises(ValueError, match="attribute name"):
        write({"id": "a", "bad name": "u"})
    with pytest.raises(ValueError, match="school"):
        write({"id": "a", "schoolId": "sch-2"})
    with pytest.raises(ValueError, match="classId"):
        written(
            write_final_grades(
                [{"id": "a", "studentId": "s"}], school_id="s", period_id=None, generated="g"
            )
        )


def test_writer_escapes_attribute_values() -> None:
    value = "a \"quoted\" <tag> & 'apos'\n\ttab\r end  Ёжик "
    records = [EXAM_RESULTS_RECORDS[0] | {"exam": value}]
    doc = written(write_exam_results(records, school_id="sch-1", year_id="y-2026"))
    assert "Ёжик".encode() in doc  # Cyrillic stays UTF-8, not character references
    assert b"&#10;" in doc and b"&#9;" in doc and b"&#13;" in doc
    assert parse(DocumentKind.EXAM_RESULTS, doc) == records


def test_writer_yields_chunks_of_about_64_kib() -> None:
    grades = school_grades(classes=20, students=30, subjects=12)
    chunks = list(
        write_final_grades(grades, school_id="sch-1", period_id="p-2026-q2", generated="g")
    )
    assert len(chunks) > 3
    assert all(64 * 1024 <= len(c) < 80 * 1024 for c in chunks[:-1])
    assert parse(DocumentKind.FINAL_GRADES, b"".join(chunks)) == grades


def test_empty_documents_round_trip() -> None:
    grades = written(write_final_grades([], school_id="s", period_id="p", generated="g"))
    results = written(write_exam_results([], school_id="s", year_id=None))
    assert parse(DocumentKind.FINAL_GRADES, grades) == []
    assert parse(DocumentKind.EXAM_RESULTS, results) == []


# --------------------------------------------------------------------------- property


# Every character XML 1.0 can carry (no C0 controls but tab, LF, CR; no surrogates;
# no U+FFFE/U+FFFF), with the troublesome ones made likely.
XML_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'<>&;#\t\n\r  ЁёАяZz0")),
        st.characters(
            codec="utf-8",  # no surrogates
            exclude_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)]
            + ["\ufffe", "\uffff"],
        ),
    ),
    max_size=40,
)
ATTRIBUTE_NAMES = st.sampled_from(
    ["id", "subjectId", "kind", "value", "teacherId", "deferReason", "comment", "x-y.z"]
)


@st.composite
def grade_lists(draw: st.DrawFn) -> list[dict[str, str]]:
    grades: list[dict[str, str]] = []
    for n in range(draw(st.integers(0, 12))):
        attributes = draw(st.dictionaries(ATTRIBUTE_NAMES, XML_TEXT, max_size=6))
        # Class and student change or stay, as in a sorted document.
        context = {
            "schoolId": "sch-1",
            "periodId": "p-1",
            "classId": draw(st.sampled_from(["c-1", "c-2", "Класс «5А» & <Б>"])),
            "className": draw(XML_TEXT),
            "studentId": draw(XML_TEXT),
        }
        same_student: bool = draw(st.booleans())
        if grades and same_student:
            previous = grades[-1]
            context |= {k: previous[k] for k in ("classId", "className", "studentId")}
        elif grades and grades[-1]["classId"] == context["classId"]:
            context["className"] = grades[-1]["className"]  # one name per Class element
        grades.append(context | attributes | {"updated": f"u{n}"})
    return grades


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(grades=grade_lists(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_round_trip_of_arbitrary_text_at_any_chunk_boundaries(
    grades: list[dict[str, str]], cuts: list[int]
) -> None:
    doc = written(write_final_grades(grades, school_id="sch-1", period_id="p-1", generated="g"))
    bounds = sorted({0, len(doc), *(c % (len(doc) + 1) for c in cuts)})
    chunks = [doc[a:b] for a, b in itertools.pairwise(bounds)]
    parsed = list(iter_document(DocumentKind.FINAL_GRADES, chunks, max_bytes=len(doc)))
    assert parsed == grades


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(values=st.lists(XML_TEXT, min_size=1, max_size=5))
def test_exam_results_round_trip_arbitrary_text(values: list[str]) -> None:
    results = [
        {"schoolId": "s", "yearId": "y", "id": str(i), "exam": v, "mark": v[::-1]}
        for i, v in enumerate(values)
    ]
    doc = written(write_exam_results(results, school_id="s", year_id="y"))
    assert parse(DocumentKind.EXAM_RESULTS, doc, chunk=3) == results


# --------------------------------------------------------------------------- XSD


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / name)))


def test_writer_output_is_valid_against_the_xsd() -> None:
    grades_xsd = schema("final-grades.xsd")
    for period in ("p-2026-q2", None):
        doc = written(
            write_final_grades(
                school_grades(),
                school_id="sch-1",
                period_id=period,
                generated="2026-12-28T18:00:00+03:00",
            )
        )
        grades_xsd.assertValid(etree.fromstring(doc))

    results = [
        EXAM_RESULTS_RECORDS[0],
        EXAM_RESULTS_RECORDS[0] | {"id": "ex-78", "yearId": "y-2025", "score": "12.5"},
        {"schoolId": "sch-1", "id": "ex-79", "deleted": "true", "updated": "2027-06-09T00:00:00Z"},
    ]
    doc = written(write_exam_results(results, school_id="sch-1", year_id="y-2026"))
    schema("exam-results.xsd").assertValid(etree.fromstring(doc))


def test_contract_samples_are_valid_against_the_xsd() -> None:
    schema("final-grades.xsd").assertValid(etree.fromstring(FINAL_GRADES_SAMPLE))
    schema("exam-results.xsd").assertValid(etree.fromstring(EXAM_RESULTS_SAMPLE))


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("final-grades.xsd", FINAL_GRADES_SAMPLE.replace(b'kind="quarter"', b'kind="month"', 1)),
        ("final-grades.xsd", FINAL_GRADES_SAMPLE.replace(b'deleted="true"', b'deleted="yes"')),
        (
            "final-grades.xsd",
            FINAL_GRADES_SAMPLE.replace(b' updated="2026-12-27T09:00:00+03:00"', b""),
        ),
        ("final-grades.xsd", FINAL_GRADES_SAMPLE.replace(b'+03:00"/>', b'"/>', 1)),
        ("exam-results.xsd", EXAM_RESULTS_SAMPLE.replace(b"urn:kros:ej:1", b"urn:kros:ej:2")),
        (
            "exam-results.xsd",
            EXAM_RESULTS_SAMPLE.replace(b'heldOn="2027-05-27"', b'heldOn="27.05.2027"'),
        ),
    ],
)
def test_the_xsd_rejects_documents_outside_the_contract(name: str, doc: bytes) -> None:
    assert not schema(name).validate(etree.fromstring(doc))


# --------------------------------------------------------------------------- flat memory

FLAT_MEMORY_CHILD = """
import json, resource, sys
from kros_adapter.xml_documents import DocumentKind, iter_document, write_final_grades

def grades(count):
    for i in range(count):
        c, s = divmod(i // 12, 30)
        yield {
            "schoolId": "sch-1", "periodId": "p-2026-q2", "classId": f"c-{c}",
            "className": f"{5 + c % 7}А", "studentId": f"st-{c}-{s}", "id": f"fg-{i:08d}",
            "subjectId": f"sub-{i % 12}", "kind": "quarter", "value": str(2 + i % 4),
            "setOn": "2026-12-26", "teacherId": f"t-{i % 12}",
            "updated": "2026-12-26T15:10:00+03:00",
        }

count = int(sys.argv[1])
size = 0
def chunks():
    global size
    for chunk in write_final_grades(
        grades(count), school_id="sch-1", period_id="p-2026-q2", generated="g"
    ):
        size += len(chunk)
        yield chunk

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
parsed = sum(1 for _ in iter_document(DocumentKind.FINAL_GRADES, chunks(), max_bytes=1 << 30))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"records": parsed, "bytes": size, "before_kib": before, "after_kib": after}))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_30_mb_document_streams_in_flat_memory() -> None:
    count = 200_000  # ~150 bytes a grade: ~30 MB
    done = subprocess.run(
        [sys.executable, "-c", FLAT_MEMORY_CHILD, str(count)],
        capture_output=True,
        check=True,
        timeout=110,
    )
    report = json.loads(done.stdout)
    assert report["records"] == count
    assert report["bytes"] > 28 * 1000 * 1000
    growth_mib = (report["after_kib"] - report["before_kib"]) / 1024  # ru_maxrss is KiB on Linux
    assert growth_mib < 50, report
