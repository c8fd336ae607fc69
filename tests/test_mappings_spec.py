"""Mapping files are checked whole when loaded: a fault names the file and the key."""

from __future__ import annotations

import re
import shutil
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import mappings.codes as codes
from mappings import engine
from mappings.errors import DictionaryError
from mappings.records import NormalizedRecord
from mappings.spec import read_directory

GOOD = Path(engine.COLLECTIONS_DIRECTORY, "marks.toml").read_text("utf-8")

MARK = {
    "id": "mk-1",
    "studentId": "st-1",
    "subjectId": "sub-1",
    "teacherId": "t-1",
    "date": "2026-12-04",
    "value": "5/4",
    "weight": 1,
    "workKind": "answer",
    "updated_at": "2026-12-04T10:00:00+03:00",
}


def without(column: str) -> str:
    """marks.toml without the line filling ``column``."""
    return "".join(
        line for line in GOOD.splitlines(keepends=True) if not line.startswith(f"{column} = ")
    )


def edited(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


LINK = '[links.group_students]\nfrom = "x"\nconvert = "ref"\ncolumn = "student_source_id"\n'
XML_JSON = edited('table = "marks"', 'table = "marks"\nformat = "xml"').replace(
    'convert = "optional_text"', 'convert = "json", optional = true'
)

FAULTS: list[tuple[str, str]] = [
    ('table = "marks"\n[columns\n', "bad.toml: "),
    ('table = "pupils"\n[columns]\nx = { from = "x", convert = "text" }', "table: 'pupils'"),
    ('colour = "red"\n' + GOOD, "colour: unknown key"),
    (
        edited('convert = "date"', 'convert = "day"'),
        "columns.date.convert: unknown converter 'day'",
    ),
    (
        edited("code:work_kinds", "code:work_types"),
        "columns.work_kind.convert: kinds.toml has no vocabulary [work_types]",
    ),
    (without("weight"), "[columns]: nothing fills marks.weight"),
    (GOOD + 'grade = { from = "g", convert = "int" }\n', "columns.grade: marks has no column"),
    (GOOD + 'source_id = { from = "id", convert = "ref" }\n', "columns.source_id: marks has no"),
    (
        edited('convert = "date" }', 'convert = "date", optional = true }'),
        "columns.date: optional, but marks.date is NOT NULL",
    ),
    (
        edited('"workKind", convert = "code:work_kinds"', '"workKind", convert = "date"'),
        "columns.work_kind: 'date' gives date, but marks.work_kind holds str",
    ),
    (edited("min = 1", 'min = "one"'), "columns.weight.min: must be an integer"),
    (edited('"mark" }', '"mark", min = 1 }'), "columns.value.min: not an option of 'mark'"),
    (edited('"mark" }', '"mark", colour = 1 }'), "columns.value.colour: unknown key"),
    (edited('{ from = "date", convert = "date" }', '"date"'), "columns.date: must be a table"),
    (edited('table = "marks"', 'table = "marks"\nformat = "csv"'), "format: must be 'json'"),
    (GOOD + LINK, "[links.group_students]: not a link table of marks"),
    (XML_JSON, "columns.comment.convert: XML records hold no JSON"),
    (
        edited('"optional_text" }', '"optional_text", required_when = { colour = 1 } }'),
        "columns.comment.required_when: no entry fills 'colour'",
    ),
    (
        edited('"optional_text" }', '"optional_text", default = 5 }'),
        "columns.comment.default: only an optional text, int or bool entry takes a default",
    ),
    (
        GOOD + 'value_text = { from = "v", convert = "text" }\n',
        "column 'value_text' is filled twice",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FAULTS)
def test_a_fault_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "marks.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(DictionaryError) as caught:
        read_directory(tmp_path)
    message = str(caught.value)
    assert message.startswith("bad.toml: ")
    assert expected in message


def test_the_shipped_mapping_files_load() -> None:
    specs = read_directory(engine.COLLECTIONS_DIRECTORY)
    assert specs["marks"].table == "marks"
    assert specs["final-grades"].format == "xml"
    assert specs["final-grades"].updated_field == "updated"


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="no mapping files"):
        read_directory(tmp_path)


def test_reload_keeps_the_working_set_when_a_file_is_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_mark = {**MARK, "value": "5"}
    assert isinstance(engine.normalize("marks", "sch-1", good_mark), NormalizedRecord)
    broken = tmp_path / "collections"
    shutil.copytree(engine.COLLECTIONS_DIRECTORY, broken)
    (broken / "marks.toml").write_text(without("weight"), encoding="utf-8")
    monkeypatch.setattr(engine, "COLLECTIONS_DIRECTORY", broken)

    with pytest.raises(DictionaryError, match=re.escape("marks.toml: [columns]: nothing fills")):
        engine.reload()

    # Nothing of the broken set was applied: the old mapping still fills weight.
    result = engine.normalize("marks", "sch-1", good_mark)
    assert isinstance(result, NormalizedRecord)
    assert result.row["weight"] == 1


def test_reload_picks_up_a_new_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An alias added to marks.toml, then reload(), lets the quarantined value through."""
    shipped = resources.files("mappings").joinpath("dictionaries", "marks.toml").read_text("utf-8")
    extended = tomllib.loads(shipped + '"5/4" = "5"\n')
    real_load = codes._load

    def load(file: str) -> dict[str, Any]:
        return extended if file == "marks.toml" else real_load(file)

    monkeypatch.setattr(codes, "_load", load)
    try:
        engine.reload()
        result = engine.normalize("marks", "sch-1", MARK)
        assert isinstance(result, NormalizedRecord)
        assert (result.row["value_number"], result.row["value_text"]) == (5, "5/4")
    finally:
        monkeypatch.undo()
        engine.reload()
