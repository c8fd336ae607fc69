"""Errors of the normalization layer.

::

    MappingError                 root
    ├── RecordError              one record cannot be normalized: it goes to quarantine
    │   └── UnknownCodeError     a value the dictionaries do not know (mark, code, kind)
    └── DictionaryError          a dictionary or mapping file is invalid: refused whole

A :class:`RecordError` raised by the engine names the source field it is about
(``field``) and, once known, the record's KROS id (``source_id``); ``str(error)`` is
the reason the sync stores in quarantine, e.g. ``value: unknown mark value '5/4'``.
"""

from __future__ import annotations


class MappingError(Exception):
    """Root of the errors of :mod:`mappings`."""


class RecordError(MappingError):
    """A data error of one record; the sync quarantines the record with this reason."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.source_id: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class UnknownCodeError(RecordError):
    """A value outside a dictionary; an alias in ``mappings/dictionaries`` fixes it."""

    def __init__(self, dictionary: str, value: object) -> None:
        super().__init__(f"unknown {dictionary} value {value!r}")
        self.dictionary = dictionary
        self.value = value


class DictionaryError(MappingError):
    """A dictionary or mapping file that cannot be used; nothing of it is applied."""
