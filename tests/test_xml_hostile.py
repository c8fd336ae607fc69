"""Hostile XML documents: each is refused with KrosDocumentRefusedError and a clear reason,
in bounded time (every test here has a 10 s timeout) and bounded memory (the expansion
and nesting bombs run in a child process under a 512 MiB address-space limit).

Where a defence has a second layer behind the byte scan, the test runs once more with
the byte scan switched off, to show that the layer behind it holds on its own.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kros_adapter import xml_documents
from kros_adapter.errors import KrosDocumentRefusedError
from kros_adapter.xml_documents import DocumentKind, StreamingDocumentParser, iter_document

pytestmark = pytest.mark.timeout(10)

ROOT = '<Vedomost xmlns="urn:kros:ej:1" schoolId="s" generated="g"><Class id="c"><Student id="s">'
END = "</Student></Class></Vedomost>"
GOOD = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n{ROOT}<Grade id="g-1" updated="u"/>{END}\n'.encode()
)

_LOL = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
)
_BIG = "a" * 50_000
BOMBS = {
    # 10^9 "lol"s from a 1 KB document; in an attribute value libxml2 expands entities
    # even with resolve_entities=False, so both places are tried.
    "billion laughs in an attribute": (
        f'<!DOCTYPE Vedomost [{_LOL}]>{ROOT}<Grade id="&lol9;" updated="u"/>{END}'
    ),
    "billion laughs in text": (
        f'<!DOCTYPE Vedomost [{_LOL}]>{ROOT}<Grade id="g" updated="u">&lol9;</Grade>{END}'
    ),
    # One 50 KB entity used 50,000 times: 2.5 GB from 350 KB, under any nesting limit.
    "quadratic blow-up in an attribute": (
        f'<!DOCTYPE Vedomost [<!ENTITY a "{_BIG}">]>{ROOT}'
        f'<Grade id="{"&a;" * 50_000}" updated="u"/>{END}'
    ),
    "quadratic blow-up in text": (
        f'<!DOCTYPE Vedomost [<!ENTITY a "{_BIG}">]>{ROOT}'
        f'<Grade id="g" updated="u">{"&a;" * 50_000}</Grade>{END}'
    ),
    "10,000-deep nesting": f"{ROOT}{'<Deep>' * 10_000}{'</Deep>' * 10_000}{END}",
}

BOUNDED_CHILD = """
import resource, sys
limit = 512 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from kros_adapter import xml_documents
from kros_adapter.errors import KrosDocumentRefusedError
if sys.argv[1] == "without-byte-scan":
    xml_documents._DeclarationScanner.admit = lambda self, chunk, final=False: chunk
document = sys.stdin.buffer.read()
chunks = (document[i : i + 65536] for i in range(0, len(document), 65536))
kind = xml_documents.DocumentKind.FINAL_GRADES
try:
    count = sum(1 for _ in xml_documents.iter_document(kind, chunks, max_bytes=1 << 30))
except KrosDocumentRefusedError as exc:
    print("REFUSED:", exc)
    sys.exit(0)
print("ACCEPTED", count)
sys.exit(3)
"""


def refusal(
    data: bytes, *, chunk: int = 65536, max_bytes: int = 1 << 20, max_depth: int = 32
) -> str:
    """The refusal's message for ``data`` fed in chunks of ``chunk`` bytes."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    with pytest.raises(KrosDocumentRefusedError) as refused:
        list(
            iter_document(
                DocumentKind.FINAL_GRADES, pieces, max_bytes=max_bytes, max_depth=max_depth
            )
        )
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("final-grades document refused: ")
    return message


@pytest.fixture(params=["with byte scan", "without byte scan"])
def byte_scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the byte scan (layer 3) and again with only the layers behind it."""
    if request.param == "without byte scan":
        monkeypatch.setattr(
            xml_documents._DeclarationScanner, "admit", lambda self, chunk, final=False: chunk
        )
    return str(request.param)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket that nothing should ever connect to."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def assert_nothing_connected(server: socket.socket) -> None:
    # A connect() by the parser would have completed the handshake into the backlog
    # before the parse returned, so a non-blocking accept sees it without waiting.
    server.setblocking(False)
    with pytest.raises(BlockingIOError):
        server.accept()


# --------------------------------------------------------------------------- bombs


@pytest.mark.parametrize("name", list(BOMBS))
@pytest.mark.parametrize("mode", ["with-byte-scan", "without-byte-scan"])
def test_expansion_and_nesting_bombs_are_refused_in_bounded_memory(name: str, mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BOUNDED_CHILD, mode],
        input=BOMBS[name].encode(),
        capture_output=True,
        timeout=9,
    )
    # 0 and REFUSED: refused cleanly; a negative code would be a kill, 1 a MemoryError.
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.startswith(b"REFUSED: "), done.stdout


def test_billion_laughs_is_refused_for_its_doctype() -> None:
    message = refusal(BOMBS["billion laughs in an attribute"].encode())
    assert "'<!DOCTYPE'" in message
    assert "line 1" in message


def test_deep_nesting_is_refused_at_max_depth() -> None:
    message = refusal(BOMBS["10,000-deep nesting"].encode(), max_depth=40)
    assert "max_depth=40" in message


def test_libxml2s_own_depth_limit_holds_behind_a_large_max_depth() -> None:
    message = refusal(BOMBS["10,000-deep nesting"].encode(), max_depth=100_000)
    assert "depth" in message.lower()


# --------------------------------------------------------------------------- DTDs, entities


def test_external_entity_naming_a_local_file_is_refused(byte_scan: str) -> None:
    doc = (
        f'<!DOCTYPE Vedomost [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'{ROOT}<Grade id="&e;" updated="u">&e;</Grade>{END}'
    ).encode()
    message = refusal(doc)
    assert "DOCTYPE" in message
    assert "root:" not in message


def test_external_entity_naming_a_loopback_url_is_refused_without_connecting(
    byte_scan: str, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    doc = (
        f'<!DOCTYPE Vedomost [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e.xml">]>'
        f'{ROOT}<Grade id="g" updated="u">&e;</Grade>{END}'
    ).encode()
    assert "DOCTYPE" in refusal(doc)
    assert_nothing_connected(listener)


def test_parameter_entity_naming_a_loopback_url_is_refused_without_connecting(
    byte_scan: str, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    doc = (
        f'<!DOCTYPE Vedomost [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>'
        f'{ROOT}<Grade id="g" updated="u"/>{END}'
    ).encode()
    assert "DOCTYPE" in refusal(doc)
    assert_nothing_connected(listener)


def test_external_dtd_is_refused_without_connecting(
    byte_scan: str, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    doc = (
        f'<!DOCTYPE Vedomost SYSTEM "http://127.0.0.1:{port}/x.dtd">'
        f'{ROOT}<Grade id="g" updated="u"/>{END}'
    ).encode()
    assert "DOCTYPE" in refusal(doc)
    assert_nothing_connected(listener)


def test_plain_internal_subset_without_entities_is_refused(byte_scan: str) -> None:
    doc = f"<!DOCTYPE Vedomost [<!ELEMENT Vedomost ANY>]>{ROOT}{END}".encode()
    assert "DOCTYPE" in refusal(doc)


def test_xinclude_and_schema_locations_are_never_followed(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    doc = (
        '<Vedomost xmlns="urn:kros:ej:1" xmlns:xi="http://www.w3.org/2001/XInclude"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="urn:kros:ej:1 http://127.0.0.1:{port}/v.xsd"'
        ' schoolId="s" generated="g"><Class id="c"><Student id="s">'
        f'<xi:include href="http://127.0.0.1:{port}/x.xml"/>'
        '<xi:include href="file:///etc/passwd" parse="text"/>'
        f'<Grade id="g" updated="u"/>{END}'
    ).encode()
    records = list(iter_document(DocumentKind.FINAL_GRADES, [doc], max_bytes=10_000))
    assert [r["id"] for r in records] == ["g"]  # the includes were skipped as unknown elements
    assert_nothing_connected(listener)


@pytest.mark.parametrize("chunk", [1, 2, 5, 7, 64])
def test_doctype_split_across_chunks_is_refused(chunk: int) -> None:
    doc = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Vedomost>\n' + ROOT.encode()
    message = refusal(doc, chunk=chunk)
    assert "'<!DOCTYPE'" in message
    assert "line 2" in message


def test_doctype_split_in_two_feeds_is_refused_before_libxml2_sees_it() -> None:
    parser = StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=10_000)
    assert parser.feed(b"<!DOC") == []
    with pytest.raises(KrosDocumentRefusedError, match="DOCTYPE"):
        parser.feed(b'TYPE Vedomost [<!ENTITY a "b">]>')


@pytest.mark.parametrize("chunk", [1, 3, 65536])
@pytest.mark.parametrize(
    "reference", ["&foo;", "&lol9;", "&amp", "&#xZZ;", "&#12345678901;", "& ", "&e"]
)
def test_references_to_undefined_entities_are_refused(reference: str, chunk: int) -> None:
    in_attribute = f'{ROOT}<Grade id="a{reference}b;" updated="u"/>{END}'.encode()
    in_text = f'{ROOT}<Grade id="g" updated="u">{reference}</Grade>{END}'.encode()
    for doc in (in_attribute, in_text):
        message = refusal(doc, chunk=chunk)
        assert "entity reference" in message
        assert "line 1" in message


@pytest.mark.parametrize("chunk", [1, 4, 65536])
def test_declarations_inside_comments_and_cdata_need_no_refusal(chunk: int) -> None:
    # Comments and CDATA open with "<!" too; the byte scan lets exactly those through.
    doc = f"<!-- comment -->{ROOT}<![CDATA[ text ]]><Grade id='g' updated='u'/>{END}".encode()
    pieces = [doc[i : i + chunk] for i in range(0, len(doc), chunk)]
    records = list(iter_document(DocumentKind.FINAL_GRADES, pieces, max_bytes=10_000))
    assert [r["id"] for r in records] == ["g"]


# --------------------------------------------------------------------------- size


def test_a_document_over_max_bytes_is_refused_without_reading_the_rest() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        pulled += 1
        yield ROOT.encode().ljust(100)
        while True:
            pulled += 1
            yield b'<Grade id="g" updated="u"/>'.ljust(100)

    records = []
    with pytest.raises(KrosDocumentRefusedError) as refused:
        for record in iter_document(DocumentKind.FINAL_GRADES, endless(), max_bytes=1000):
            records.append(record)
    assert "max_bytes=1000" in str(refused.value)
    assert pulled == 11  # 1,100 bytes: the first chunk past the bound, and no more
    assert len(records) <= 9  # nothing from the chunk that crossed the bound


def test_the_chunk_that_crosses_max_bytes_is_not_parsed() -> None:
    parser = StreamingDocumentParser(DocumentKind.FINAL_GRADES, max_bytes=len(GOOD) - 1)
    with pytest.raises(KrosDocumentRefusedError, match=f"max_bytes={len(GOOD) - 1}"):
        parser.feed(GOOD)


def test_a_document_of_exactly_max_bytes_is_accepted() -> None:
    records = list(iter_document(DocumentKind.FINAL_GRADES, [GOOD], max_bytes=len(GOOD)))
    assert [r["id"] for r in records] == ["g-1"]


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "doc",
    [
        GOOD.decode().encode("utf-16"),  # with a byte order mark
        GOOD.decode().encode("utf-16-le"),  # without one
        GOOD.decode().encode("utf-16-be"),
        GOOD.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
        GOOD.decode().encode("utf-32"),
    ],
    ids=["utf-16", "utf-16-le", "utf-16-be", "utf-16-declared", "utf-32"],
)
def test_utf16_and_utf32_are_refused(doc: bytes) -> None:
    assert "not UTF-8" in refusal(doc, chunk=1)


@pytest.mark.parametrize("encoding", ["UTF-16", "windows-1251", "ISO-8859-5", "KOI8-R", "ascii"])
def test_a_declared_encoding_other_than_utf8_is_refused(encoding: str) -> None:
    text = GOOD.decode().replace("UTF-8", encoding).replace('id="g-1"', 'id="оценка"')
    doc = text.encode("utf-8" if encoding in ("UTF-16", "ascii") else encoding)
    message = refusal(doc, chunk=3)
    assert f"{encoding!r} is not UTF-8" in message


def test_bytes_that_are_not_utf8_are_refused() -> None:
    doc = GOOD.replace(b'id="g-1"', 'id="оценка"'.encode("windows-1251"))
    assert "malformed XML at line 2" in refusal(doc)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (b'<Vedomost schoolId="s"/>', "namespace '(none)'"),
        (b'<Vedomost xmlns="urn:kros:ej:2" schoolId="s"/>', "namespace 'urn:kros:ej:2'"),
        (b'<ExamResults xmlns="urn:kros:ej:1" schoolId="s"/>', "ExamResults is not Vedomost"),
        (b"<html><body>502 Bad Gateway</body></html>", "html is not Vedomost"),
    ],
)
def test_a_wrong_root_or_namespace_is_refused(doc: bytes, expected: str) -> None:
    assert expected in refusal(doc)


def test_a_record_out_of_its_place_is_refused_not_dropped() -> None:
    doc = f'{ROOT}</Student><Grade id="lost" updated="u"/></Class></Vedomost>'.encode()
    assert "element Grade out of its place at line 1" in refusal(doc)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (b"", "no root element"),
        (b"   \n", "no root element"),
        (b'<?xml version="1.0" encoding="UTF-8"?>', "no root element"),
        (b"not xml at all", "malformed XML"),
        (GOOD + b"<Vedomost/>", "malformed XML"),
        (GOOD.replace(b"</Student>", b"</Studnet>"), "malformed XML at line 2"),
        (GOOD.replace(b'id="g-1"', b"id=g-1"), "malformed XML at line 2"),
    ],
)
def test_malformed_documents_are_refused(doc: bytes, expected: str) -> None:
    assert expected in refusal(doc, chunk=5)


def test_every_truncation_of_a_document_is_refused() -> None:
    end = GOOD.rindex(b"</Vedomost>") + len(b"</Vedomost>")
    for cut in range(end):
        message = refusal(GOOD[:cut], chunk=16)
        assert "no root element" in message or "truncated" in message or "malformed" in message
    # Cut after the root closes: only the final newline is missing, and nothing is lost.
    records = list(iter_document(DocumentKind.FINAL_GRADES, [GOOD[:end]], max_bytes=10_000))
    assert [r["id"] for r in records] == ["g-1"]


def test_a_truncation_inside_the_root_says_so() -> None:
    cut = GOOD.index(b"</Student>")
    assert "truncated: the document ends inside its root element" in refusal(GOOD[:cut])
