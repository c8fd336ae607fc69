"""Page cursors: opaque to clients, a tiny signed-by-fingerprint position to the server.

A cursor is base64url (no padding) of ``{"p": [updated_at_us, id], "t": issued_us,
"f": fingerprint}``: the ``(updated_at, id)`` of the last item served, the simulated
instant it was issued (cursors live 15 minutes, CONTRACT.md §2), and a fingerprint of
the query, so that a cursor of one listing cannot be replayed against another.
Keeping the position instead of an offset lets records change between pages exactly
as the contract describes (a modified record moves past the cursor).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

import orjson

CURSOR_LIFETIME_US = 15 * 60 * 1_000_000
_MAX_CURSOR_CHARS = 2048
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")

Position = tuple[int, str]


class CursorError(ValueError):
    """A cursor that is not one of ours, or belongs to another query (a 400)."""


class CursorExpiredError(Exception):
    """A cursor older than 15 simulated minutes (``410 cursor_expired``)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    position: Position
    issued_us: int
    fingerprint: str

    def encode(self) -> str:
        raw = orjson.dumps({"p": list(self.position), "t": self.issued_us, "f": self.fingerprint})
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(text: str) -> Cursor:
    """Parse a cursor string, or raise :class:`CursorError`."""
    if not text or len(text) > _MAX_CURSOR_CHARS or not _ALPHABET.fullmatch(text):
        raise CursorError("not a cursor")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise CursorError("not a cursor") from exc
    if not isinstance(data, dict):
        raise CursorError("not a cursor")
    position, issued, fp = data.get("p"), data.get("t"), data.get("f")
    if (
        not isinstance(position, list)
        or len(position) != 2
        or type(position[0]) is not int
        or not isinstance(position[1], str)
        or type(issued) is not int
        or not isinstance(fp, str)
    ):
        raise CursorError("not a cursor")
    return Cursor((position[0], position[1]), issued, fp)


def resume(text: str, fingerprint: str, now_us: int) -> Position:
    """The position a cursor of the query ``fingerprint`` resumes from, at ``now_us``."""
    cursor = decode(text)
    if cursor.fingerprint != fingerprint:
        raise CursorError("a cursor of another query")
    if now_us - cursor.issued_us > CURSOR_LIFETIME_US:
        raise CursorExpiredError("cursor expired")
    return cursor.position


def fingerprint(*parts: str) -> str:
    """A short, stable digest of a query's identity (school, collection, filters)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8)
    return digest.hexdigest()
