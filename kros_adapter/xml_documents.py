"""The two official KROS documents (CONTRACT.md §5): a hardened streaming parser and a writer.

``final-grades.xml`` (root ``Vedomost``, records ``Grade`` under ``Class``/``Student``) and
``exam-results.xml`` (root ``ExamResults``, records ``Result``) live in the namespace
``urn:kros:ej:1``. They can hold a whole school (hundreds of megabytes) and they are
untrusted input: CONTRACT.md §5 says no DTD, entity or external reference is ever
legitimate in them. The parser therefore yields records as they complete, never holding
the document, and refuses anything outside that narrow shape with
:class:`~kros_adapter.errors.KrosDocumentRefusedError` and a one-line reason.

Defences, in the order a byte meets them, and why each exists:

1. **Size bound.** Every chunk is counted before anything looks at it; the chunk that takes
   the total past ``max_bytes`` is refused unparsed, so a hostile or runaway response
   costs at most ``max_bytes`` of reading and nothing more is pulled from the stream.
2. **Encoding check.** The XML declaration is read before parsing starts; a UTF-16/32
   byte order mark, NUL bytes or an ``encoding`` other than UTF-8 are refused. The
   contract says UTF-8 everywhere, and every later byte-level check relies on it.
3. **Byte scan for declarations and entity references.** Every chunk is searched, across
   chunk boundaries, for ``<!`` that does not open a comment or CDATA section (that is
   ``<!DOCTYPE``, ``<!ENTITY``, ``<!ELEMENT`` …) and for ``&`` that is not one of the five
   predefined entities or a character reference; the last few bytes of each chunk wait
   for the next, so nothing reaches libxml2 unchecked. This refuses billion laughs,
   quadratic blow-up, external entities and external DTDs *before libxml2 sees them*: libxml2
   expands internal entities inside attribute values even with ``resolve_entities=False``,
   and it silently stops at an undefined entity reference instead of raising. The scan
   looks at bytes, not markup, so it also refuses such text inside a comment or CDATA
   section; KROS documents have neither.
4. **A locked-down libxml2.** ``resolve_entities=False, no_network=True, load_dtd=False,
   huge_tree=False`` and a forced UTF-8 decoder, so that if layer 3 ever missed
   something libxml2 still fetches nothing, loads no DTD, and keeps its own limits on
   depth (256), text size and entity amplification. A DOCTYPE that reached libxml2
   anyway is refused again when the root element starts, before any record leaves.
5. **Structure.** The root must be the kind's root element in ``urn:kros:ej:1``; nesting
   deeper than ``max_depth`` is refused (no KROS document is deeper than 4, and deep
   nesting is a cheap way to exhaust a parser's time, stack and memory);
   record elements out of their place are refused rather than silently dropped, while
   unknown elements elsewhere are skipped, so that KROS may add content later.
6. **Flat memory.** Input is handed to libxml2 in slices of at most 64 KiB; every
   element is cleared when it ends and unlinked from its parent when its next sibling
   ends, so memory does not grow with the document.

A refusal can come after records have been yielded (a document is only known to be
well-formed at its end): callers must treat the records of a document as committed only
once the iteration (or :meth:`StreamingDocumentParser.close`) has finished.

The writer (used by the simulator) produces the same documents from records in the
parser's output form; it builds text directly with cached escaping instead of lxml
trees, because it serves documents of hundreds of megabytes.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, cast

from lxml import etree

from kros_adapter.errors import KrosDocumentRefusedError

__all__ = [
    "NAMESPACE",
    "DocumentKind",
    "StreamingDocumentParser",
    "aiter_document",
    "iter_document",
    "write_exam_results",
    "write_final_grades",
]

NAMESPACE: Final = "urn:kros:ej:1"
"""The namespace of both documents (CONTRACT.md §5)."""

Record = dict[str, str]

_NS: Final = "{" + NAMESPACE + "}"
_SLICE: Final = 64 * 1024
"""At most this many bytes go to libxml2 before its events are consumed and the tree is
pruned: it bounds the tree that exists between two prunings, whatever the caller's
chunk size."""


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True, slots=True)
class _Level:
    """One element level of a document: its tag and the attributes it passes down."""

    tag: str
    context: tuple[tuple[str, str], ...] = ()
    """(attribute, record key) pairs copied into the records below this element."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """The shape of a document: ``levels[0]`` is the root, ``levels[-1]`` the record."""

    levels: tuple[_Level, ...]

    @property
    def root(self) -> _Level:
        return self.levels[0]

    @property
    def record_depth(self) -> int:
        return len(self.levels)


class DocumentKind(enum.Enum):
    """The two official documents of CONTRACT.md §5."""

    FINAL_GRADES = "final-grades"
    EXAM_RESULTS = "exam-results"

    @property
    def root_tag(self) -> str:
        """The root element in Clark notation, e.g. ``{urn:kros:ej:1}Vedomost``."""
        return _LAYOUTS[self].root.tag

    @property
    def record_tag(self) -> str:
        """The record element in Clark notation, e.g. ``{urn:kros:ej:1}Grade``."""
        return _LAYOUTS[self].levels[-1].tag


_LAYOUTS: Final[dict[DocumentKind, _Layout]] = {
    DocumentKind.FINAL_GRADES: _Layout(
        (
            _Level(_NS + "Vedomost", (("schoolId", "schoolId"), ("periodId", "periodId"))),
            _Level(_NS + "Class", (("id", "classId"), ("name", "className"))),
            _Level(_NS + "Student", (("id", "studentId"),)),
            _Level(_NS + "Grade"),
        )
    ),
    DocumentKind.EXAM_RESULTS: _Layout(
        (
            _Level(_NS + "ExamResults", (("schoolId", "schoolId"), ("yearId", "yearId"))),
            _Level(_NS + "Result"),
        )
    ),
}


# --------------------------------------------------------------------------- byte checks

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_DECLARATION_LIMIT: Final = 1024
"""An XML declaration is a few dozen bytes; past this the prolog is not one."""
_ENCODING_RE: Final = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")

_FORBIDDEN_RE: Final = re.compile(
    rb"<!(?!--|\[CDATA\[)"
    rb"|&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)"
)
"""``<!`` other than a comment or CDATA (a DOCTYPE or other declaration), or ``&`` other
than a predefined entity or a character reference (an entity only a DTD could define)."""
_SHOWN_RE: Final = re.compile(rb"<![A-Za-z-]{0,12}|&[^;&<\s]{0,16};?")
"""What a refusal quotes of the offending bytes: the declaration keyword or the reference."""


_LOOKAHEAD: Final = 12
"""Bytes after a match's start that decide it: ``&#x10FFFF;`` and ``&#1114111;`` are 10,
``<![CDATA[`` is 9. Bytes closer than this to the end of the data seen so far may start
a legitimate reference, so they are held back until the next chunk decides them."""


def _refusal(kind: DocumentKind, reason: str) -> KrosDocumentRefusedError:
    # One line, whatever libxml2 put in its message.
    return KrosDocumentRefusedError(f"{kind.value} document refused: {' '.join(reason.split())}")


def _prolog_is_decided(kind: DocumentKind, head: bytes, *, final: bool) -> bool:
    """Check the start of the document's bytes for a non-UTF-8 encoding.

    Returns ``False`` while ``head`` is too short to decide (more bytes are needed) and
    ``True`` once the encoding is known to be UTF-8 (declared or by default); raises a
    refusal otherwise. Malformed declarations are left for libxml2 to report.
    """
    if len(head) < 4 and not final:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        raise _refusal(kind, "not UTF-8: a UTF-16 or UTF-32 byte order mark or NUL bytes")
    body = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    if len(body) < 6 and not final:
        return False
    if not body.startswith(b"<?xml") or body[5:6] not in (b" ", b"\t", b"\r", b"\n"):
        return True  # no declaration: XML's default encoding is UTF-8
    end = body.find(b"?>")
    if end < 0:
        return final or len(body) > _DECLARATION_LIMIT
    match = _ENCODING_RE.search(body, 0, end)
    if match is not None and match.group(1).lower() not in (b"utf-8", b"utf8"):
        declared = match.group(1).decode("ascii", "replace")
        raise _refusal(kind, f"encoding declaration {declared!r} is not UTF-8 (line 1)")
    return True


class _DeclarationScanner:
    """Layer 3: refuses DTD declarations and entity references in the raw bytes.

    The last ``_LOOKAHEAD - 1`` bytes are held back until more arrive (or the input
    ends), so every byte passed on has been checked with its full look-ahead: a
    ``<!DOCTYPE`` or ``&ent;`` split across chunks, even fed one byte at a time, is
    refused before libxml2 has seen any of it.
    """

    def __init__(self, kind: DocumentKind) -> None:
        self._kind = kind
        self._held = b""
        self._lines_before_held = 0

    def admit(self, chunk: bytes, *, final: bool = False) -> bytes:
        """The bytes that are now known to be clean; refuses the first that is not."""
        window = self._held + chunk if self._held else chunk
        cut = len(window) if final else max(0, len(window) - (_LOOKAHEAD - 1))
        match = _FORBIDDEN_RE.search(window)
        if match is not None and match.start() < cut:
            raise self._refuse(window, match.start())
        self._lines_before_held += window.count(b"\n", 0, cut)
        self._held = window[cut:]
        return window[:cut] if cut < len(window) else window

    def _refuse(self, window: bytes, position: int) -> KrosDocumentRefusedError:
        line = self._lines_before_held + window.count(b"\n", 0, position) + 1
        shown = _SHOWN_RE.match(window, position)
        found = (shown.group() if shown else window[position : position + 2]).decode(
            "utf-8", "replace"
        )
        if found.startswith("<!"):
            what = f"a markup declaration ({found!r}): DTDs are never legitimate in KROS documents"
        else:
            what = f"an entity reference ({found!r}) other than the predefined XML entities"
        return _refusal(self._kind, f"{what}, at line {line}")


# --------------------------------------------------------------------------- the parser


def _new_lxml_parser() -> etree.XMLPullParser:
    """Layer 4: libxml2 with every door closed (see the module docstring)."""
    return etree.XMLPullParser(
        events=("start", "end"),
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _line(element: etree._Element) -> str:
    line = element.sourceline
    return f" at line {line}" if line else ""


def _local(tag: str) -> tuple[str, str]:
    """``{ns}name`` → (``ns``, ``name``)."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


class StreamingDocumentParser:
    """Push parser for one KROS document: ``feed`` chunks, get the records they complete.

    Each record is a ``dict[str, str]``: the record element's attributes exactly as in
    the document (namespaced ones in Clark notation) over the context inherited from
    its ancestors — ``schoolId``, ``periodId``, ``classId``, ``className``, ``studentId``
    for final grades; ``schoolId``, ``yearId`` for exam results. The nearest value wins:
    a ``Grade`` with its own ``periodId`` keeps it over the root's. Tombstones
    (``deleted="true"``) are records too.

    Any refusal is a :class:`KrosDocumentRefusedError`; after one, every call raises it
    again.
    """

    def __init__(self, kind: DocumentKind, *, max_bytes: int, max_depth: int = 32) -> None:
        if max_bytes < 1 or max_depth < 1:
            raise ValueError("max_bytes and max_depth must be positive")
        self.kind = kind
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self._layout = _LAYOUTS[kind]
        self._known_tags = frozenset(level.tag for level in self._layout.levels)
        self._record_depth = self._layout.record_depth
        self._lxml: etree.XMLPullParser | None = _new_lxml_parser()
        self._scanner = _DeclarationScanner(kind)
        self._received = 0
        self._head: bytes | None = b""  # bytes held until the prolog is checked; then None
        # One entry per open element: the context it passes down, or None inside
        # elements that are skipped.
        self._stack: list[Record | None] = []
        self._root_seen = False
        self._root_closed = False
        self._failure: KrosDocumentRefusedError | None = None

    # -- public

    def feed(self, chunk: bytes) -> list[Record]:
        """Parse ``chunk``; returns the records it completed (possibly none)."""
        records: list[Record] = []
        with self._refusals_stick():
            self._count(chunk)
            data = self._scanner.admit(self._past_prolog(chunk, final=False))
            if data:
                self._feed_lxml(data, records)
        return records

    def close(self) -> list[Record]:
        """End of input: returns the last records, or refuses an incomplete document."""
        records: list[Record] = []
        with self._refusals_stick():
            data = self._scanner.admit(self._past_prolog(b"", final=True), final=True)
            if data:
                self._feed_lxml(data, records)
            self._close_lxml(records)
        return records

    # -- the steps of feed and close

    def _count(self, chunk: bytes) -> None:
        # Layer 1: counted before anything else looks at the chunk.
        self._received += len(chunk)
        if self._received > self.max_bytes:
            raise _refusal(
                self.kind,
                f"larger than max_bytes={self.max_bytes} "
                f"(refused on reaching {self._received} bytes)",
            )

    def _past_prolog(self, chunk: bytes, *, final: bool) -> bytes:
        """Layer 2: hold bytes back until the encoding is known; then pass them through."""
        if self._head is None:
            return chunk
        head = self._head + chunk
        if not _prolog_is_decided(self.kind, head, final=final):
            self._head = head
            return b""
        self._head = None
        return head

    def _feed_lxml(self, data: bytes, records: list[Record]) -> None:
        parser = self._require_lxml()
        for start in range(0, len(data), _SLICE):
            piece = data if len(data) <= _SLICE else data[start : start + _SLICE]
            try:
                parser.feed(piece)
            except etree.LxmlError as exc:
                # A structural refusal among the events already parsed (too deep, wrong
                # root) explains the failure better than libxml2's own message.
                self._consume_events(parser, records)
                raise _refusal(self.kind, f"malformed XML{_lxml_where(exc)}") from exc
            self._consume_events(parser, records)

    def _close_lxml(self, records: list[Record]) -> None:
        parser = self._require_lxml()
        self._lxml = None
        try:
            parser.close()
        except etree.LxmlError as exc:
            # No events are read here: after this error libxml2 closes the open elements
            # itself, and those invented ends must not pass for the document's.
            if not self._root_seen:
                reason = "no root element (empty or truncated document)"
            elif not self._root_closed:
                reason = f"truncated: the document ends inside its root element{_lxml_where(exc)}"
            else:
                reason = f"malformed XML{_lxml_where(exc)}"
            raise _refusal(self.kind, reason) from exc
        self._consume_events(parser, records)
        if not self._root_closed:  # libxml2 raises for this; kept for clarity
            raise _refusal(self.kind, "truncated: the document ends inside its root element")

    def _require_lxml(self) -> etree.XMLPullParser:
        if self._lxml is None:
            raise RuntimeError("the parser is closed")
        return self._lxml

    @contextlib.contextmanager
    def _refusals_stick(self) -> Iterator[None]:
        if self._failure is not None:
            raise self._failure
        if self._lxml is None:
            raise RuntimeError("the parser is closed")
        try:
            yield
        except KrosDocumentRefusedError as exc:
            self._failure = exc
            self._lxml = None  # let libxml2's buffers go at once
            self._head = None
            raise

    # -- events

    def _consume_events(self, parser: etree.XMLPullParser, records: list[Record]) -> None:
        # Only "start" and "end" were asked for, so every event carries an element.
        for event, element in cast(Iterator[tuple[str, etree._Element]], parser.read_events()):
            if event == "start":
                self._on_start(element)
            else:
                self._on_end(element, records)

    def _on_start(self, element: etree._Element) -> None:
        depth = len(self._stack) + 1
        if depth > self.max_depth:
            raise _refusal(
                self.kind, f"nesting deeper than max_depth={self.max_depth}{_line(element)}"
            )
        if depth == 1:
            self._stack.append(self._open_root(element))
            return
        parent = self._stack[-1]
        levels = self._layout.levels
        if parent is not None and depth <= len(levels) and element.tag == levels[depth - 1].tag:
            self._stack.append(_inherit(parent, levels[depth - 1], element))
        elif element.tag in self._known_tags:
            # A record out of its place would be lost if skipped; refuse instead.
            _, name = _local(element.tag)
            raise _refusal(self.kind, f"element {name} out of its place{_line(element)}")
        else:
            self._stack.append(None)  # unknown content: skipped, with everything inside it

    def _open_root(self, element: etree._Element) -> Record:
        docinfo = element.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            # Layer 3 should have refused it already; this is the second lock.
            raise _refusal(self.kind, "a DOCTYPE declaration reached the parser")
        expected = self._layout.root
        if element.tag != expected.tag:
            raise _refusal(self.kind, _wrong_root(element, expected.tag))
        self._root_seen = True
        return _inherit({}, expected, element)

    def _on_end(self, element: etree._Element, records: list[Record]) -> None:
        depth = len(self._stack)
        context = self._stack.pop()
        if context is not None and depth == self._record_depth:
            record = context.copy()
            record.update(cast(list[tuple[str, str]], element.items()))  # always str from XML
            records.append(record)
        if depth == 1:
            self._root_closed = True
        _prune(element)


def _inherit(parent: Record, level: _Level, element: etree._Element) -> Record:
    """The context an element passes to the records below it."""
    if not level.context:
        return parent
    context = parent.copy()
    for attribute, key in level.context:
        value = element.get(attribute)
        if value is not None:
            context[key] = value
    return context


def _prune(element: etree._Element) -> None:
    """Drop a finished element's content and its finished preceding siblings.

    The element itself stays until its next sibling finishes: removing the node libxml2
    just closed is not safe, removing earlier ones is (the lxml iterparse idiom).
    """
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _wrong_root(element: etree._Element, expected_tag: str) -> str:
    namespace, name = _local(element.tag)
    _, expected = _local(expected_tag)
    if name == expected:
        return (
            f"root element {name} is in namespace {namespace or '(none)'!r}, "
            f"not {NAMESPACE!r}{_line(element)}"
        )
    return f"root element {name} is not {expected} in {NAMESPACE!r}{_line(element)}"


def _lxml_where(exc: etree.LxmlError) -> str:
    """libxml2's message with its line number, for a refusal's reason."""
    message = _POSITION_SUFFIX_RE.sub("", str(getattr(exc, "msg", "") or exc))
    position = getattr(exc, "position", None)
    line = position[0] if isinstance(position, tuple) and position else 0
    return f" at line {line}: {message}" if line else f": {message}"


_POSITION_SUFFIX_RE: Final = re.compile(r",? line \d+, column \d+\s*$")


# --------------------------------------------------------------------------- convenience


def iter_document(
    kind: DocumentKind, chunks: Iterable[bytes], *, max_bytes: int, max_depth: int = 32
) -> Iterator[Record]:
    """Records of a document read from ``chunks``; stops pulling chunks at a refusal."""
    parser = StreamingDocumentParser(kind, max_bytes=max_bytes, max_depth=max_depth)
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()


async def aiter_document(
    kind: DocumentKind, chunks: AsyncIterable[bytes], *, max_bytes: int, max_depth: int = 32
) -> AsyncIterator[Record]:
    """:func:`iter_document` over an async stream (e.g. ``httpx``'s ``aiter_bytes``)."""
    parser = StreamingDocumentParser(kind, max_bytes=max_bytes, max_depth=max_depth)
    async for chunk in chunks:
        for record in parser.feed(chunk):
            yield record
    for record in parser.close():
        yield record


# --------------------------------------------------------------------------- the writer

_CHUNK: Final = 64 * 1024
_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'

_GRADE_CONTEXT: Final = frozenset({"schoolId", "periodId", "classId", "className", "studentId"})
_RESULT_CONTEXT: Final = frozenset({"schoolId", "yearId"})

_INVALID_CHARS: Final = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NEEDS_ESCAPE_RE: Final = re.compile(f'[&<>"\t\n\r{_INVALID_CHARS}]')
_INVALID_RE: Final = re.compile(f"[{_INVALID_CHARS}]")
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


@functools.lru_cache(maxsize=16384)
def _escape(value: str) -> str:
    """An attribute value as XML text; cached because most values repeat (kinds, marks,
    dates, subject and teacher ids) across hundreds of thousands of records."""
    if _NEEDS_ESCAPE_RE.search(value) is None:
        return value
    invalid = _INVALID_RE.search(value)
    if invalid is not None:
        raise ValueError(
            f"U+{ord(invalid.group()):04X} cannot be written in XML 1.0 (in {value!r})"
        )
    # Tab, newline and carriage return as character references: a parser normalizes
    # literal ones in attribute values to spaces, so they would not survive a round trip.
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


@functools.lru_cache(maxsize=1024)
def _attribute_opening(name: str) -> str:
    """`` name="`` for a checked attribute name (names come from code, but a wrong one
    would make the whole document malformed)."""
    if _NAME_RE.match(name) is None:
        raise ValueError(f"not a plain XML attribute name: {name!r}")
    return f' {name}="'


def _attributes(values: Iterable[tuple[str, object]], skip: frozenset[str] = frozenset()) -> str:
    """`` a="1" b="2"`` from (name, value) pairs, leaving out ``None`` values and the
    names in ``skip``. The hot loop of the writer: one pass, cached lookups."""
    opening, escape = _attribute_opening, _escape
    parts: list[str] = []
    for name, value in values:
        if name in skip:
            continue
        if isinstance(value, str):
            parts.append(f'{opening(name)}{escape(value)}"')
        elif value is not None:
            # Writing str(value) would guess a format (True vs "true"); records carry
            # strings exactly as KROS writes them.
            raise TypeError(f"attribute {name!r} must be a string, got {type(value).__name__}")
    return "".join(parts)


def _record_attributes(
    record: Mapping[str, object], context: frozenset[str], own: str, inherited: str | None
) -> str:
    """A record's own attributes: everything but its context keys, plus ``own`` (the
    period or year) when the root does not already say it."""
    attributes = _attributes(record.items(), context)
    value = record.get(own)
    if value is not None and value != inherited:
        attributes += _attributes(((own, value),))
    return attributes


def _check_school(record: Mapping[str, object], school_id: str) -> None:
    school = record.get("schoolId")
    if school is not None and school != school_id:
        raise ValueError(
            f"record {record.get('id')!r} belongs to school {school!r}, not {school_id!r}"
        )


def _required(record: Mapping[str, object], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise ValueError(f"record {record.get('id')!r} has no {key} string")
    return value


class _Chunker:
    """Collects text and hands it out as UTF-8 chunks of roughly ``_CHUNK`` bytes."""

    __slots__ = ("_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0

    def add(self, text: str) -> bytes | None:
        self._parts.append(text)
        self._size += len(text)
        return self.take() if self._size >= _CHUNK else None

    def take(self) -> bytes:
        data = "".join(self._parts).encode("utf-8")
        self._parts.clear()
        self._size = 0
        return data


def write_final_grades(
    grades: Iterable[Mapping[str, object]],
    *,
    school_id: str,
    period_id: str | None,
    generated: str,
) -> Iterator[bytes]:
    """The ``Vedomost`` document of CONTRACT.md §5, as UTF-8 chunks of about 64 KiB.

    ``grades`` are records in the parser's output form, sorted by class and student:
    consecutive records with the same ``classId`` / ``studentId`` share one ``Class`` /
    ``Student`` element (whose ``name`` is the first record's ``className``). Context keys
    are not written on ``Grade``, except a ``periodId`` that the root does not carry.
    ``None`` values are left out; a value of another non-string type is a ``TypeError``.
    """
    out = _Chunker()
    root = _attributes((("schoolId", school_id), ("periodId", period_id), ("generated", generated)))
    out.add(f'{_DECLARATION}<Vedomost xmlns="{NAMESPACE}"{root}>')
    class_id: str | None = None
    student_id: str | None = None
    for grade in grades:
        _check_school(grade, school_id)
        grade_class, grade_student = _required(grade, "classId"), _required(grade, "studentId")
        opening = ""
        if grade_class != class_id:
            opening = _closing(class_id, student_id) + _class_opening(grade_class, grade)
            class_id, student_id = grade_class, None
        if grade_student != student_id:
            if student_id is not None:
                opening += "\n    </Student>"
            opening += f"\n    <Student{_attributes((('id', grade_student),))}>"
            student_id = grade_student
        element = _record_attributes(grade, _GRADE_CONTEXT, "periodId", period_id)
        chunk = out.add(f"{opening}\n      <Grade{element}/>")
        if chunk is not None:
            yield chunk
    out.add(f"{_closing(class_id, student_id)}\n</Vedomost>\n")
    yield out.take()


def _class_opening(class_id: str, grade: Mapping[str, object]) -> str:
    return f"\n  <Class{_attributes((('id', class_id), ('name', grade.get('className'))))}>"


def _closing(class_id: str | None, student_id: str | None) -> str:
    text = "\n    </Student>" if student_id is not None else ""
    return text + "\n  </Class>" if class_id is not None else text


def write_exam_results(
    results: Iterable[Mapping[str, object]], *, school_id: str, year_id: str | None
) -> Iterator[bytes]:
    """The ``ExamResults`` document of CONTRACT.md §5, as UTF-8 chunks of about 64 KiB.

    ``results`` are records in the parser's output form; ``schoolId`` and ``yearId`` are
    context, and a ``yearId`` that the root does not carry is written on the ``Result``.
    """
    out = _Chunker()
    root = _attributes((("schoolId", school_id), ("yearId", year_id)))
    out.add(f'{_DECLARATION}<ExamResults xmlns="{NAMESPACE}"{root}>')
    for result in results:
        _check_school(result, school_id)
        element = _record_attributes(result, _RESULT_CONTEXT, "yearId", year_id)
        chunk = out.add(f"\n  <Result{element}/>")
        if chunk is not None:
            yield chunk
    out.add("\n</ExamResults>\n")
    yield out.take()
