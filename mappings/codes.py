"""The code dictionaries: mark values, attendance codes and the closed vocabularies.

The dictionaries are data (``mappings/dictionaries/*.toml``), so the field's surprises
(``" Зач "``, ``"зачтено"``) are fixed by adding an alias, not by changing code. A value
is normalized before lookup — whitespace trimmed and collapsed, lower-cased, ``ё`` read
as ``е`` — and anything still unknown raises :class:`UnknownCodeError` for that record.
Latin look-alikes (``"a"`` for ``"а"``) are deliberately *not* guessed: they stay in
quarantine until someone adds the alias knowingly (CONTRACT.md §7).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

from mappings.errors import DictionaryError, UnknownCodeError


class MarkKind(StrEnum):
    NUMERIC = "numeric"
    PASS = "pass"
    FAIL = "fail"
    RELEASED = "released"
    NOT_CERTIFIED = "not_certified"


class Attendance(StrEnum):
    ABSENT = "absent"
    ILL = "ill"
    EXCUSED = "excused"
    TRUANT = "truant"
    LATE = "late"


Sign = Literal["+", "-"]


@dataclass(frozen=True, slots=True)
class MarkValue:
    """A mark as the store keeps it: number (``None`` if not numeric), sign, kind, text."""

    number: int | None
    sign: Sign | None
    kind: MarkKind
    original: str


def normalize_code(text: str) -> str:
    """The lookup key of a journal value: trimmed, collapsed, lower-case, ``ё`` → ``е``."""
    return " ".join(text.split()).lower().replace("ё", "е")


@dataclass(frozen=True, slots=True)
class MarkDictionary:
    numeric: dict[str, int]
    signed: dict[str, tuple[int, Sign]]
    verbal: dict[str, MarkKind]
    aliases: dict[str, str]

    def parse(self, text: object, *, allow_signs: bool = True) -> MarkValue:
        """The meaning of a mark value, or :class:`UnknownCodeError`.

        ``allow_signs=False`` for final grades, whose values come without signs (§5).
        """
        if not isinstance(text, str):
            raise UnknownCodeError("mark", text)
        key = normalize_code(text)
        key = self.aliases.get(key, key)
        if key in self.numeric:
            return MarkValue(self.numeric[key], None, MarkKind.NUMERIC, text)
        if allow_signs and key in self.signed:
            number, sign = self.signed[key]
            return MarkValue(number, sign, MarkKind.NUMERIC, text)
        if key in self.verbal:
            return MarkValue(None, None, self.verbal[key], text)
        raise UnknownCodeError("mark", text)


@dataclass(frozen=True, slots=True)
class CodeDictionary:
    """A closed vocabulary with aliases (attendance codes, lesson types, …)."""

    name: str
    meanings: dict[str, str]
    aliases: dict[str, str]

    def parse(self, text: object) -> str:
        if not isinstance(text, str):
            raise UnknownCodeError(self.name, text)
        key = normalize_code(text)
        key = self.aliases.get(key, key)
        try:
            return self.meanings[key]
        except KeyError:
            raise UnknownCodeError(self.name, text) from None


def parse_attendance(text: object) -> Attendance:
    return Attendance(attendance_codes().parse(text))


def parse_mark(text: object, *, allow_signs: bool = True) -> MarkValue:
    return mark_dictionary().parse(text, allow_signs=allow_signs)


@cache
def mark_dictionary() -> MarkDictionary:
    data = _load("marks.toml")
    try:
        numeric = {normalize_code(k): int(v) for k, v in data["numeric"].items()}
        signed: dict[str, tuple[int, Sign]] = {}
        for key, entry in data["signed"].items():
            sign = entry["sign"]
            if sign not in ("+", "-"):
                raise DictionaryError(f"marks.toml: [signed] {key!r}: sign must be + or -")
            signed[normalize_code(key)] = (int(entry["number"]), sign)
        verbal = {normalize_code(k): MarkKind(v) for k, v in data["verbal"].items()}
        aliases = _aliases("marks.toml", data.get("aliases", {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise DictionaryError(f"marks.toml: {exc}") from exc
    known = numeric.keys() | signed.keys() | verbal.keys()
    for alias, target in aliases.items():
        if target not in known:
            raise DictionaryError(f"marks.toml: alias {alias!r} names unknown value {target!r}")
    return MarkDictionary(numeric, signed, verbal, aliases)


@cache
def attendance_codes() -> CodeDictionary:
    data = _load("attendance.toml")
    try:
        meanings = {normalize_code(k): Attendance(v).value for k, v in data["codes"].items()}
    except (KeyError, ValueError) as exc:
        raise DictionaryError(f"attendance.toml: {exc}") from exc
    return _with_aliases("attendance code", "attendance.toml", meanings, data.get("aliases", {}))


@cache
def vocabulary(name: str) -> CodeDictionary:
    """One closed vocabulary of ``kinds.toml`` (``lesson_types``, ``period_kinds``, …)."""
    data = _load("kinds.toml")
    if name not in data:
        raise DictionaryError(f"kinds.toml has no vocabulary [{name}]")
    section = data[name]
    meanings = {normalize_code(v): v for v in section.get("values", [])}
    return _with_aliases(name, "kinds.toml", meanings, section.get("aliases", {}))


def _with_aliases(
    name: str, file: str, meanings: dict[str, str], raw_aliases: Any
) -> CodeDictionary:
    aliases = _aliases(file, raw_aliases)
    for alias, target in aliases.items():
        if target not in meanings:
            raise DictionaryError(f"{file}: alias {alias!r} names unknown value {target!r}")
    return CodeDictionary(name, meanings, aliases)


def _aliases(file: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DictionaryError(f"{file}: aliases must map text to text")
    return {normalize_code(k): normalize_code(v) for k, v in raw.items()}


def _load(file: str) -> dict[str, Any]:
    text = resources.files("mappings").joinpath("dictionaries", file).read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DictionaryError(f"{file}: {exc}") from exc
