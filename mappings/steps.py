"""Compiling checked mapping entries into small closures, once.

Normalization is on the sync's hot path (SPEC.md asks ≥ 30,000 records/s end to end),
so nothing here is interpreted per record: each ``[columns]`` entry becomes one
closure ``step(record, row)`` that fetches its field, converts it with a parser chosen
at compile time for the file's format, and stores the result. Parsers of closed
vocabularies (marks, attendance codes, kinds) memoize the raw text, because a school
sends the same few dozen spellings millions of times.

A step raises :class:`~mappings.errors.RecordError`, ``ValueError`` or ``TypeError``;
:func:`run_steps` turns the last two into a ``RecordError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from mappings.codes import attendance_codes, mark_dictionary, vocabulary
from mappings.errors import RecordError
from mappings.records import Row
from mappings.spec import ColumnSpec, Format, LinkSpec
from mappings.values import (
    describe,
    parse_date,
    parse_json_bool,
    parse_json_int,
    parse_ref,
    parse_text,
    parse_text_bool,
    parse_text_int,
    parse_timestamp,
)

T = TypeVar("T")
Parser = Callable[[Any], Any]
Step = Callable[[Mapping[str, Any], Row], None]
"""Fills one entry's column(s) of ``row`` from ``record``."""
NamedStep = tuple[str, Step]
"""A step and the source field it reads, for error reasons."""
LinkBuilder = Callable[[Mapping[str, Any], Row], list[Row]]

DATA_ERRORS: Final = (ValueError, TypeError, KeyError, AttributeError, OverflowError)
"""What a parser raises on bad data; anything else is a bug and propagates."""

_MEMO_LIMIT: Final = 4096
MISSING: Final = "is missing"


def run_steps(steps: list[NamedStep], record: Mapping[str, Any], row: Row, prefix: str) -> None:
    """Apply ``steps``; a data error becomes a :class:`RecordError` naming its field."""
    for field, step in steps:
        try:
            step(record, row)
        except RecordError as exc:
            if exc.field is None:
                exc.field = prefix + field
            raise
        except DATA_ERRORS as exc:
            raise RecordError(str(exc), field=prefix + field) from exc


# --------------------------------------------------------------------------- parsers


def parser(spec: ColumnSpec, fmt: Format) -> Parser:
    """The function converting one raw value of ``spec`` (never called with a blank one)."""
    convert = spec.convert
    if convert.startswith("list:"):
        item = _scalar(convert.removeprefix("list:"), spec.options, fmt)
        return _list_of(item)
    if convert.startswith("code:"):
        dictionary = vocabulary(convert.removeprefix("code:"))
        return _memoized(dictionary.parse, dictionary.name)
    if convert == "mark":
        return _mark_parser(allow_signs=spec.options.get("signs", True))
    if convert == "attendance":
        return _memoized(attendance_codes().parse, "attendance code")
    if convert == "counts":
        return _counts
    if convert == "json":
        return _json
    return _scalar(convert, spec.options, fmt)


def _scalar(convert: str, options: Mapping[str, Any], fmt: Format) -> Parser:
    if convert in ("text", "optional_text"):
        return parse_text
    if convert == "ref":
        return parse_ref
    if convert == "date":
        return parse_date
    if convert == "timestamp":
        return parse_timestamp
    if convert == "bool":
        return parse_text_bool if fmt == "xml" else parse_json_bool
    if convert == "int":
        base = parse_text_int if fmt == "xml" else parse_json_int
        return _bounded(base, options.get("min"), options.get("max"))
    raise AssertionError(f"unchecked converter {convert!r}")  # spec.py refuses it first


def _bounded(base: Callable[[Any], int], low: int | None, high: int | None) -> Parser:
    if low is None and high is None:
        return base
    lowest = -(2**63) if low is None else low
    highest = 2**63 - 1 if high is None else high
    bounds = f"{'' if low is None else low}…{'' if high is None else high}"

    def parse(value: Any) -> int:
        number = base(value)
        if number < lowest or number > highest:
            raise ValueError(f"{number} is outside {bounds}")
        return number

    return parse


def _memoized(parse: Callable[[object], T], what: str) -> Callable[[Any], T]:
    memo: dict[str, T] = {}

    def cached(value: Any) -> T:
        if type(value) is not str:
            raise TypeError(f"a {what} must be text, got {describe(value)}")
        hit = memo.get(value)
        if hit is None:
            hit = parse(value)  # an unknown value raises and is not remembered
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[value] = hit
        return hit

    return cached


def _mark_parser(*, allow_signs: bool) -> Parser:
    dictionary = mark_dictionary()

    def parse(text: object) -> tuple[int | None, str | None, str, object]:
        mark = dictionary.parse(text, allow_signs=allow_signs)
        return (mark.number, mark.sign, mark.kind.value, mark.original)

    return _memoized(parse, "mark")


def _list_of(item: Parser) -> Parser:
    def parse(value: Any) -> list[Any]:
        if type(value) is not list:
            raise TypeError(f"expected a list, got {describe(value)}")
        result = []
        for position, element in enumerate(value):
            try:
                result.append(item(element))
            except DATA_ERRORS as exc:
                raise ValueError(f"item {position}: {exc}") from exc
        return result

    return parse


def _counts(value: Any) -> dict[str, int]:
    if type(value) is not dict:
        raise TypeError(f"expected an object of counts, got {describe(value)}")
    for key, count in value.items():
        if type(count) is not int or count < 0:
            raise ValueError(f"{key}: expected a count, got {describe(count)}")
    return dict(value)


def _json(value: Any) -> Any:
    if type(value) is dict:
        return dict(value)
    if type(value) is list:
        return list(value)
    raise TypeError(f"expected an object or a list, got {describe(value)}")


# --------------------------------------------------------------------------- steps


def _fetcher(path: str) -> Callable[[Mapping[str, Any]], Any] | None:
    """For a dotted path (``basis.kind``), a function walking the nested objects."""
    parts = path.split(".")
    if len(parts) == 1:
        return None

    def fetch(record: Mapping[str, Any]) -> Any:
        value: Any = record
        for depth, part in enumerate(parts):
            if value is None:
                return None
            if type(value) is not dict:
                where = ".".join(parts[:depth])
                raise TypeError(f"{where} must be an object, got {describe(value)}")
            value = value.get(part)
        return value

    return fetch


def column_step(spec: ColumnSpec, fmt: Format) -> Step:
    """The closure filling ``spec``'s column(s) of a row."""
    parse = parser(spec, fmt)
    key = spec.source
    fetch = _fetcher(key)
    optional = spec.optional
    default = spec.default

    if spec.convert == "mark":
        number, sign, kind, text = spec.outputs

        def mark_step(record: Mapping[str, Any], row: Row) -> None:
            raw = record.get(key) if fetch is None else fetch(record)
            if raw is None or (optional and type(raw) is str and (not raw or raw.isspace())):
                if not optional:
                    raise RecordError(MISSING)
                row[number] = row[sign] = row[kind] = row[text] = None
                return
            row[number], row[sign], row[kind], row[text] = parse(raw)

        return mark_step

    if spec.convert == "attendance":
        meaning, original = spec.outputs

        def attendance_step(record: Mapping[str, Any], row: Row) -> None:
            raw = record.get(key) if fetch is None else fetch(record)
            if raw is None:
                if not optional:
                    raise RecordError(MISSING)
                row[meaning] = row[original] = None
                return
            row[meaning] = parse(raw)
            row[original] = raw

        return attendance_step

    column = spec.target
    if optional:

        def optional_step(record: Mapping[str, Any], row: Row) -> None:
            raw = record.get(key) if fetch is None else fetch(record)
            if raw is None or (type(raw) is str and (not raw or raw.isspace())):
                row[column] = default
            else:
                row[column] = parse(raw)

        return optional_step

    def required_step(record: Mapping[str, Any], row: Row) -> None:
        raw = record.get(key) if fetch is None else fetch(record)
        if raw is None:
            raise RecordError(MISSING)
        row[column] = parse(raw)

    return required_step


def condition_checks(specs: tuple[ColumnSpec, ...]) -> list[NamedStep]:
    """The ``required_when`` rules, checked once every column of the row is filled."""
    checks: list[NamedStep] = []
    for spec in specs:
        if spec.required_when is None:
            continue
        other, expected = spec.required_when
        filled = spec.outputs[-1]  # a mark's text, or the column itself
        shown = str(expected).lower() if isinstance(expected, bool) else repr(expected)

        def check(
            record: Mapping[str, Any],
            row: Row,
            other: str = other,
            expected: Any = expected,
            filled: str = filled,
            shown: str = shown,
        ) -> None:
            if row[filled] is None and row[other] == expected:
                raise RecordError(f"is required when {other} is {shown}")

        checks.append((spec.source, check))
    return checks


def link_builder(spec: LinkSpec, fmt: Format) -> LinkBuilder:
    """The closure listing a record's rows of ``spec.table``."""
    key = spec.source
    fetch = _fetcher(key)
    parent = spec.parent_column
    optional = spec.optional
    positional = spec.positional

    def items(record: Mapping[str, Any]) -> list[Any]:
        raw = record.get(key) if fetch is None else fetch(record)
        if raw is None:
            if optional:
                return []
            raise RecordError(MISSING, field=key)
        if type(raw) is not list:
            raise RecordError(f"expected a list, got {describe(raw)}", field=key)
        return raw

    if spec.item is not None:
        item_parser = parser(spec.item, fmt)
        column = spec.item.target

        def scalar_rows(record: Mapping[str, Any], row: Row) -> list[Row]:
            school_id = row["school_id"]
            source_id = row["source_id"]
            rows: list[Row] = []
            seen: set[Any] = set()
            for position, element in enumerate(items(record)):
                try:
                    value = item_parser(element)
                except RecordError as exc:
                    exc.field = f"{key}[{position}]"
                    raise
                except DATA_ERRORS as exc:
                    raise RecordError(str(exc), field=f"{key}[{position}]") from exc
                # The link table's key is the pair: a repeated id is one link.
                if value in seen:
                    continue
                seen.add(value)
                link: Row = {"school_id": school_id, parent: source_id, column: value}
                if positional:
                    link["position"] = position
                rows.append(link)
            return rows

        return scalar_rows

    steps = [(c.source, column_step(c, fmt)) for c in spec.columns]
    checks = condition_checks(spec.columns)

    def object_rows(record: Mapping[str, Any], row: Row) -> list[Row]:
        school_id = row["school_id"]
        source_id = row["source_id"]
        rows: list[Row] = []
        for position, element in enumerate(items(record)):
            where = f"{key}[{position}]"
            if type(element) is not dict:
                raise RecordError(f"expected an object, got {describe(element)}", field=where)
            link: Row = {"school_id": school_id, parent: source_id}
            if positional:
                link["position"] = position
            run_steps(steps, element, link, where + ".")
            run_steps(checks, element, link, where + ".")
            rows.append(link)
        return rows

    return object_rows
