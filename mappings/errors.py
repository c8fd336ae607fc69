"""Errors of the normalization layer.

::

    MappingError                 root
    ├── RecordError              one record cannot be normalized: it goes to quarantine
    │   └── UnknownCodeError     a value the dictionaries do not know (mark, code, kind)
    └── DictionaryError          a dictionary or mapping file is invalid: refused whole
"""

from __future__ import annotations


class MappingError(Exception):
    """Root of the errors of :mod:`mappings`."""


class RecordError(MappingError):
    """A data error of one record; the sync quarantines the record with this reason."""


class UnknownCodeError(RecordError):
    """A value outside a dictionary; an alias in ``mappings/dictionaries`` fixes it."""

    def __init__(self, dictionary: str, value: object) -> None:
        super().__init__(f"unknown {dictionary} value {value!r}")
        self.dictionary = dictionary
        self.value = value


class DictionaryError(MappingError):
    """A dictionary file that cannot be used; nothing of it is applied."""
