"""Reading and checking the mapping files (``mappings/collections/<collection>.toml``).

A mapping file says which table a collection fills and, per column, where the value
comes from and how it is converted::

    table = "marks"            # the entity table
    format = "json"            # "xml": every value is text (the official documents)
    id = "id"                  # the field holding the KROS id (default "id")
    updated = "updated_at"     # the field holding the change time (XML: "updated")
    deleted = "deleted"        # the tombstone flag (default "deleted")
    school = "schoolId"        # optional: a field that must equal the school's id

    [columns]
    date = { from = "date", convert = "date" }
    value = { from = "value", convert = "mark" }        # value_number/_sign/_kind/_text
    comment = { from = "comment", convert = "optional_text" }

    [links.group_students]     # a list of ids → one link row per id
    from = "studentIds"
    convert = "ref"
    column = "student_source_id"

    [links.guardian_contacts]  # a list of objects → one link row per object
    from = "contacts"
    [links.guardian_contacts.columns]
    basis_kind = { from = "basis.kind", convert = "code:basis_kinds" }   # dotted: nested

Converters: ``text``, ``optional_text``, ``ref`` (a KROS id), ``int`` (``min``,
``max``), ``bool``, ``date``, ``timestamp``, ``code:<vocabulary of kinds.toml>``,
``mark`` (``signs = false`` for the documents), ``attendance`` (``original`` names the
column keeping the code as sent), ``counts`` (an object of non-negative integers),
``json`` (an object or list, kept whole) and ``list:<converter>`` (a list kept as JSON).
A column is required unless ``optional = true``; an optional one may name a
``default``, or be ``required_when = { other_column = value }``.

Everything is checked against :mod:`schemas.tables` when the files are loaded: the
table and every column exist, every column of the table is filled by exactly one
entry, types match, vocabularies exist. A file with any fault raises
:class:`~mappings.errors.DictionaryError` naming the file and the key, and nothing of
the set is used.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import JSON, Table

from mappings.codes import vocabulary
from mappings.errors import DictionaryError
from schemas.tables import ENTITY_TABLES, LINK_TABLES, META_COLUMNS, metadata

Format = Literal["json", "xml"]

SCALAR_CONVERTERS: dict[str, type] = {
    "text": str,
    "optional_text": str,
    "ref": str,
    "int": int,
    "bool": bool,
    "date": date,
    "timestamp": datetime,
}
"""Converters that fill one column, and the Python type of that column."""

JSON_CONVERTERS = frozenset({"json", "counts"})
"""Converters that fill one JSON column (JSON records only)."""

_COLUMN_KEYS = frozenset(
    {"from", "convert", "optional", "default", "min", "max", "signs", "original", "required_when"}
)
_FILE_KEYS = frozenset(
    {"table", "format", "id", "updated", "deleted", "school", "columns", "links"}
)
_LINK_KEYS = frozenset({"from", "optional", "convert", "column", "columns"})
_OPTIONS_OF: dict[str, frozenset[str]] = {
    "int": frozenset({"min", "max"}),
    "mark": frozenset({"signs"}),
    "attendance": frozenset({"original"}),
}
"""Converter options beyond the common ones, by converter (``list:int`` takes int's)."""


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One ``[columns]`` entry: what fills a column (or the columns of a mark)."""

    target: str
    source: str
    convert: str
    optional: bool = False
    default: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    required_when: tuple[str, Any] | None = None

    @property
    def outputs(self) -> tuple[str, ...]:
        """The columns this entry writes."""
        if self.convert == "mark":
            return tuple(f"{self.target}_{part}" for part in ("number", "sign", "kind", "text"))
        if self.convert == "attendance":
            return (self.target, self.options["original"])
        return (self.target,)


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One ``[links.<table>]`` entry: a list of the record that fills a link table."""

    table: str
    parent_column: str
    source: str
    optional: bool
    item: ColumnSpec | None
    """For a list of scalars: how each item fills its one column."""
    columns: tuple[ColumnSpec, ...]
    """For a list of objects: how each object fills the columns."""
    positional: bool
    """The link table keeps each item's place in the list (a ``position`` column)."""


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A checked mapping file."""

    collection: str
    file: str
    table: str
    format: Format
    id_field: str
    updated_field: str
    deleted_field: str
    school_field: str | None
    columns: tuple[ColumnSpec, ...]
    links: tuple[LinkSpec, ...]


def read_directory(directory: Path) -> dict[str, MappingSpec]:
    """Every ``*.toml`` of ``directory``, checked; the collection is the file's stem."""
    specs: dict[str, MappingSpec] = {}
    for path in sorted(directory.glob("*.toml")):
        specs[path.stem] = read_file(path)
    if not specs:
        raise DictionaryError(f"{directory}: no mapping files")
    return specs


def read_file(path: Path) -> MappingSpec:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DictionaryError(f"{path.name}: {exc}") from exc
    return check(path.stem, path.name, data)


def check(collection: str, file: str, data: Mapping[str, Any]) -> MappingSpec:
    """The checked form of one mapping file's parsed TOML."""
    _no_unknown_keys(file, "", data, _FILE_KEYS)
    table_name = _string(file, "table", data.get("table"))
    entity_tables = {t.name: t for t in ENTITY_TABLES}
    if table_name not in entity_tables:
        raise DictionaryError(f"{file}: table: {table_name!r} is not an entity table")
    table = entity_tables[table_name]
    fmt = data.get("format", "json")
    if fmt not in ("json", "xml"):
        raise DictionaryError(f"{file}: format: must be 'json' or 'xml', not {fmt!r}")
    columns_data = data.get("columns")
    if not isinstance(columns_data, dict) or not columns_data:
        raise DictionaryError(f"{file}: [columns]: missing or empty")
    columns = tuple(
        _column(file, f"columns.{key}", key, entry, fmt) for key, entry in columns_data.items()
    )
    _check_coverage(file, "columns", table, columns, exempt=set(META_COLUMNS))
    links_data = data.get("links", {})
    if not isinstance(links_data, dict):
        raise DictionaryError(f"{file}: [links]: must be a table")
    links = tuple(_link(file, table, name, entry, fmt) for name, entry in links_data.items())
    school = data.get("school")
    return MappingSpec(
        collection=collection,
        file=file,
        table=table_name,
        format=fmt,
        id_field=_string(file, "id", data.get("id", "id")),
        updated_field=_string(file, "updated", data.get("updated", "updated_at")),
        deleted_field=_string(file, "deleted", data.get("deleted", "deleted")),
        school_field=None if school is None else _string(file, "school", school),
        columns=columns,
        links=links,
    )


# --------------------------------------------------------------------------- entries


def _column(file: str, where: str, target: str, entry: Any, fmt: Format) -> ColumnSpec:
    if not isinstance(entry, dict):
        raise DictionaryError(f"{file}: {where}: must be a table like {{ from = …, convert = … }}")
    _no_unknown_keys(file, where, entry, _COLUMN_KEYS)
    source = _string(file, f"{where}.from", entry.get("from"))
    convert = _string(file, f"{where}.convert", entry.get("convert"))
    optional = entry.get("optional", False)
    if not isinstance(optional, bool):
        raise DictionaryError(f"{file}: {where}.optional: must be true or false")
    if convert == "optional_text":
        optional = True
    base = _check_converter(file, where, convert, fmt)
    allowed = _OPTIONS_OF.get(base, frozenset())
    options = {k: v for k, v in entry.items() if k in {"min", "max", "signs", "original"}}
    for key in options:
        if key not in allowed:
            raise DictionaryError(f"{file}: {where}.{key}: not an option of {convert!r}")
    for key in ("min", "max"):
        if key in options and not _is_int(options[key]):
            raise DictionaryError(f"{file}: {where}.{key}: must be an integer")
    if "signs" in options and not isinstance(options["signs"], bool):
        raise DictionaryError(f"{file}: {where}.signs: must be true or false")
    if base == "attendance":
        options["original"] = _string(file, f"{where}.original", options.get("original"))
    default = entry.get("default")
    if default is not None:
        expected = SCALAR_CONVERTERS.get(convert)
        if not optional or expected not in (str, int, bool) or type(default) is not expected:
            raise DictionaryError(
                f"{file}: {where}.default: only an optional text, int or bool entry takes "
                "a default, of its own type"
            )
    required_when = entry.get("required_when")
    condition: tuple[str, Any] | None = None
    if required_when is not None:
        if not optional or not isinstance(required_when, dict) or len(required_when) != 1:
            raise DictionaryError(
                f"{file}: {where}.required_when: an optional entry's {{ column = value }}"
            )
        condition = next(iter(required_when.items()))
    return ColumnSpec(target, source, convert, optional, default, options, condition)


def _check_converter(file: str, where: str, convert: str, fmt: Format) -> str:
    """The converter's base name (``code`` for ``code:levels``), or DictionaryError."""
    if convert.startswith("code:"):
        try:
            vocabulary(convert.removeprefix("code:"))
        except DictionaryError as exc:
            raise DictionaryError(f"{file}: {where}.convert: {exc}") from exc
        return "code"
    if convert.startswith("list:"):
        item = convert.removeprefix("list:")
        if item not in SCALAR_CONVERTERS or item == "optional_text":
            raise DictionaryError(f"{file}: {where}.convert: unknown list item {item!r}")
        if fmt == "xml":
            raise DictionaryError(f"{file}: {where}.convert: XML records hold no lists")
        return item
    if convert in JSON_CONVERTERS:
        if fmt == "xml":
            raise DictionaryError(f"{file}: {where}.convert: XML records hold no JSON")
        return convert
    if convert in SCALAR_CONVERTERS or convert in ("mark", "attendance"):
        return convert
    raise DictionaryError(f"{file}: {where}.convert: unknown converter {convert!r}")


def _link(file: str, parent: Table, name: str, entry: Any, fmt: Format) -> LinkSpec:
    where = f"links.{name}"
    if not isinstance(entry, dict):
        raise DictionaryError(f"{file}: [{where}]: must be a table")
    _no_unknown_keys(file, where, entry, _LINK_KEYS)
    if fmt == "xml":
        raise DictionaryError(f"{file}: [{where}]: XML records hold no lists")
    if name not in LINK_TABLES or LINK_TABLES[name][0] is not parent:
        raise DictionaryError(f"{file}: [{where}]: not a link table of {parent.name}")
    table = metadata.tables[name]
    parent_column = LINK_TABLES[name][1]
    source = _string(file, f"{where}.from", entry.get("from"))
    optional = entry.get("optional", False)
    if not isinstance(optional, bool):
        raise DictionaryError(f"{file}: {where}.optional: must be true or false")
    positional = "position" in table.c
    exempt = {"school_id", parent_column, "position"}
    if "columns" in entry:
        if "convert" in entry or "column" in entry:
            raise DictionaryError(f"{file}: [{where}]: either columns or convert + column")
        raw_columns = entry["columns"]
        if not isinstance(raw_columns, dict) or not raw_columns:
            raise DictionaryError(f"{file}: [{where}.columns]: missing or empty")
        columns = tuple(
            _column(file, f"{where}.columns.{key}", key, value, fmt)
            for key, value in raw_columns.items()
        )
        _check_coverage(file, f"{where}.columns", table, columns, exempt=exempt)
        return LinkSpec(name, parent_column, source, optional, None, columns, positional)
    column = _string(file, f"{where}.column", entry.get("column"))
    convert = _string(file, f"{where}.convert", entry.get("convert"))
    item = _column(file, where, column, {"from": source, "convert": convert}, fmt)
    if item.convert in ("mark", "attendance") or item.convert in JSON_CONVERTERS:
        raise DictionaryError(f"{file}: {where}.convert: a list item takes one scalar value")
    _check_coverage(file, where, table, (item,), exempt=exempt)
    return LinkSpec(name, parent_column, source, optional, item, (), positional)


# --------------------------------------------------------------------------- checks


def _check_coverage(
    file: str, where: str, table: Table, entries: tuple[ColumnSpec, ...], *, exempt: set[str]
) -> None:
    """Every column of ``table`` but ``exempt`` is filled by exactly one entry, soundly."""
    filled: dict[str, ColumnSpec] = {}
    for entry in entries:
        for name in entry.outputs:
            key = f"{where}.{entry.target}"
            if name in exempt or name not in table.c:
                raise DictionaryError(f"{file}: {key}: {table.name} has no column {name!r} to fill")
            if name in filled:
                raise DictionaryError(f"{file}: {key}: column {name!r} is filled twice")
            filled[name] = entry
        _check_types(file, f"{where}.{entry.target}", table, entry)
        if entry.required_when is not None:
            other, _ = entry.required_when
            if not any(other in e.outputs for e in entries):
                raise DictionaryError(
                    f"{file}: {where}.{entry.target}.required_when: no entry fills {other!r}"
                )
    for column in table.c:
        if column.name in exempt:
            continue
        filler = filled.get(column.name)
        if filler is None:
            raise DictionaryError(f"{file}: [{where}]: nothing fills {table.name}.{column.name}")
        if filler.optional and filler.default is None and not column.nullable:
            raise DictionaryError(
                f"{file}: {where}.{filler.target}: optional, but {table.name}.{column.name} "
                "is NOT NULL (give a default or make it required)"
            )


def _check_types(file: str, where: str, table: Table, entry: ColumnSpec) -> None:
    base = entry.convert
    if base in JSON_CONVERTERS or base.startswith("list:"):
        if not isinstance(table.c[entry.target].type, JSON):
            raise DictionaryError(f"{file}: {where}: {table.name}.{entry.target} is not JSON")
        return
    expected: dict[str, type]
    if base == "mark":
        t = entry.target
        expected = {f"{t}_number": int, f"{t}_sign": str, f"{t}_kind": str, f"{t}_text": str}
    elif base == "attendance":
        expected = dict.fromkeys(entry.outputs, str)
    elif base.startswith("code:"):
        expected = {entry.target: str}
    else:
        expected = {entry.target: SCALAR_CONVERTERS[base]}
    for name, python_type in expected.items():
        actual = table.c[name].type.python_type
        if actual is not python_type:
            raise DictionaryError(
                f"{file}: {where}: {entry.convert!r} gives {python_type.__name__}, "
                f"but {table.name}.{name} holds {actual.__name__}"
            )


def _no_unknown_keys(file: str, where: str, data: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in data:
        if key not in known:
            shown = f"{where}.{key}" if where else key
            raise DictionaryError(f"{file}: {shown}: unknown key")


def _string(file: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise DictionaryError(f"{file}: {key}: must be a non-empty string")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
