"""The normalization engine: one KROS record in, one store row (and its link rows) out.

::

    from mappings.engine import normalize
    result = normalize("marks", "sch-1", record)   # NormalizedRecord or Tombstone
    # raises RecordError (a data error of this one record: quarantine it)

The mapping files are read, checked against the store's tables and compiled once, on
first use; a fault in any of them raises :class:`~mappings.errors.DictionaryError`
and none is used. :func:`reload` re-reads the files and the code dictionaries (after
an alias was added) and swaps the whole set in only when all of it is sound.

Records are independent: nothing of one record's normalization is kept for the
next, apart from memoized parses of the same raw text.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mappings.codes import attendance_codes, mark_dictionary, vocabulary
from mappings.errors import MappingError, RecordError
from mappings.records import Normalized, NormalizedRecord, Row, Tombstone
from mappings.spec import MappingSpec, read_directory
from mappings.steps import (
    DATA_ERRORS,
    MISSING,
    LinkBuilder,
    NamedStep,
    column_step,
    condition_checks,
    link_builder,
    run_steps,
)
from mappings.values import describe, parse_json_bool, parse_text_bool, parse_timestamp

__all__ = [
    "COLLECTIONS_DIRECTORY",
    "CompiledMapping",
    "Normalized",
    "NormalizedRecord",
    "Tombstone",
    "collections",
    "compile_mappings",
    "load",
    "mapping",
    "normalize",
    "reload",
]

COLLECTIONS_DIRECTORY = Path(__file__).parent / "collections"
"""Where the mapping files live: one ``<collection>.toml`` per KROS collection."""


class CompiledMapping:
    """One collection's mapping, compiled into closures."""

    __slots__ = (
        "_checks",
        "_deleted",
        "_flag",
        "_id",
        "_links",
        "_school",
        "_steps",
        "_updated",
        "collection",
        "link_tables",
        "spec",
        "table",
    )

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self.collection = spec.collection
        self.table = spec.table
        self.link_tables: tuple[str, ...] = tuple(link.table for link in spec.links)
        self._id = spec.id_field
        self._updated = spec.updated_field
        self._deleted = spec.deleted_field
        self._school = spec.school_field
        self._flag = parse_text_bool if spec.format == "xml" else parse_json_bool
        self._steps: list[NamedStep] = [
            (c.source, column_step(c, spec.format)) for c in spec.columns
        ]
        self._checks: list[NamedStep] = condition_checks(spec.columns)
        self._links: list[tuple[str, LinkBuilder]] = [
            (link.table, link_builder(link, spec.format)) for link in spec.links
        ]

    def normalize(self, school_id: str, record: Mapping[str, Any]) -> Normalized:
        """The row of ``record``, or its tombstone; :class:`RecordError` if it is bad."""
        if type(record) is not dict:
            raise RecordError(f"a record must be an object, got {describe(record)}")
        source_id = record.get(self._id)
        if type(source_id) is not str or not source_id or source_id.isspace():
            problem = MISSING if source_id is None else f"not an id: {describe(source_id)}"
            raise RecordError(problem, field=self._id)
        try:
            return self._normalize(school_id, source_id, record)
        except RecordError as exc:
            exc.source_id = source_id
            raise

    def _normalize(self, school_id: str, source_id: str, record: Mapping[str, Any]) -> Normalized:
        raw_updated = record.get(self._updated)
        if raw_updated is None:
            raise RecordError(MISSING, field=self._updated)
        try:
            updated_at = parse_timestamp(raw_updated)
        except DATA_ERRORS as exc:
            raise RecordError(str(exc), field=self._updated) from exc
        deleted = record.get(self._deleted)
        if deleted is not None:
            try:
                if self._flag(deleted):
                    return Tombstone(source_id, updated_at, self.table)
            except DATA_ERRORS as exc:
                raise RecordError(str(exc), field=self._deleted) from exc
        if self._school is not None:
            school = record.get(self._school)
            if school is not None and school != school_id:
                raise RecordError(
                    f"belongs to school {school!r}, not {school_id!r}", field=self._school
                )
        row: Row = {
            "school_id": school_id,
            "source_id": source_id,
            "source_updated_at": updated_at,
            "deleted_at": None,
        }
        run_steps(self._steps, record, row, "")
        if self._checks:
            run_steps(self._checks, record, row, "")
        links: dict[str, list[Row]] = {}
        for table, build in self._links:
            links[table] = build(record, row)
        return NormalizedRecord(self.table, source_id, updated_at, row, links)


def compile_mappings(specs: Mapping[str, MappingSpec]) -> dict[str, CompiledMapping]:
    return {collection: CompiledMapping(spec) for collection, spec in specs.items()}


_lock = threading.Lock()
_compiled: dict[str, CompiledMapping] | None = None


def _mappings() -> dict[str, CompiledMapping]:
    global _compiled
    compiled = _compiled
    if compiled is None:
        with _lock:
            if _compiled is None:
                _compiled = compile_mappings(read_directory(COLLECTIONS_DIRECTORY))
            compiled = _compiled
    return compiled


def load() -> None:
    """Read and check the mapping files now: at start-up, so a bad file stops the service
    before any sync rather than at its first record."""
    _mappings()


def reload() -> None:
    """Re-read the dictionaries and mapping files; keep the old set if any is bad."""
    global _compiled
    with _lock:
        for cached in (mark_dictionary, attendance_codes, vocabulary):
            cached.cache_clear()
        # Compiled closures hold the dictionaries they were built with, so a failure
        # here leaves the old set working as it was.
        fresh = compile_mappings(read_directory(COLLECTIONS_DIRECTORY))
        _compiled = fresh


def mapping(collection: str) -> CompiledMapping:
    """The compiled mapping of ``collection`` (``marks``, ``final-grades``, ``school`` …)."""
    try:
        return _mappings()[collection]
    except KeyError:
        raise MappingError(f"no mapping for collection {collection!r}") from None


def collections() -> tuple[str, ...]:
    """Every collection that has a mapping file."""
    return tuple(_mappings())


def normalize(collection: str, school_id: str, record: Mapping[str, Any]) -> Normalized:
    """Normalize one KROS record of ``collection`` for the school ``school_id``.

    Returns the :class:`NormalizedRecord` to upsert, or a :class:`Tombstone` for
    ``{"deleted": true}`` (XML: ``deleted="true"``). Raises :class:`RecordError`, with
    the field and the reason, when the record cannot be stored; no other record is
    affected.
    """
    compiled = _compiled if _compiled is not None else _mappings()
    found = compiled.get(collection)
    if found is None:
        raise MappingError(f"no mapping for collection {collection!r}")
    return found.normalize(school_id, record)
