"""Seeded fault injection: the deviations of CONTRACT.md §1 and §7, on purpose.

Profile ``"flaky"`` answers about one request in eight with a fault. Every decision is
a hash of (seed, the exact request, the attempt number of that exact request), so the
same sequence of requests meets the same faults whatever the timing — a failing
client run can be replayed. "The exact request" is method, path and sorted query, with
a cursor replaced by the position it encodes (its issue time would differ per run).

Guarantees a client may rely on: the same exact request is never faulted more than
three times in a row, and a request that just got a ``401`` never gets another one on
its retry (the contract makes a second ``401`` in a row a configuration error).
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from kros_adapter.simulator import cursors
from kros_adapter.simulator.model import FaultProfile

MAX_FAULTS_IN_A_ROW = 3
_MAX_TRACKED_REQUESTS = 200_000


class FaultKind(StrEnum):
    SERVER_ERROR = "500"
    """500 with the JSON envelope."""
    BAD_GATEWAY = "502"
    """502 as a proxy's HTML page."""
    GATEWAY_TIMEOUT = "504"
    """504 as a proxy's HTML page."""
    UNAVAILABLE = "503"
    """503 overload, ``Retry-After`` as an HTTP date."""
    RATE_LIMITED = "429"
    """429, ``Retry-After`` in seconds or as an HTTP date."""
    REVOKE_TOKEN = "401"
    """The request's token is revoked for real, then 401 invalid_token."""
    CURSOR_EXPIRED = "410"
    """410 cursor_expired, only for a request carrying a cursor."""
    DUPLICATES = "duplicates"
    """The page starts a few items before the cursor."""
    LOWER_LIMIT = "lower_limit"
    """``limit`` silently lowered."""
    ZULU_TIME = "zulu_time"
    """``server_time`` written in UTC with ``Z``."""


ERROR_KINDS = frozenset(
    {
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.GATEWAY_TIMEOUT,
        FaultKind.UNAVAILABLE,
        FaultKind.RATE_LIMITED,
        FaultKind.REVOKE_TOKEN,
        FaultKind.CURSOR_EXPIRED,
    }
)
"""Faults that replace the answer; the others alter a successful page."""

ANYWHERE = frozenset(
    {
        FaultKind.SERVER_ERROR,
        FaultKind.BAD_GATEWAY,
        FaultKind.GATEWAY_TIMEOUT,
        FaultKind.UNAVAILABLE,
        FaultKind.RATE_LIMITED,
    }
)
"""Faults any endpoint may meet, the token endpoint included: a proxy's, or overload."""

_RATES: tuple[tuple[FaultKind, float], ...] = (
    (FaultKind.SERVER_ERROR, 0.020),
    (FaultKind.BAD_GATEWAY, 0.015),
    (FaultKind.GATEWAY_TIMEOUT, 0.010),
    (FaultKind.UNAVAILABLE, 0.010),
    (FaultKind.RATE_LIMITED, 0.015),
    (FaultKind.REVOKE_TOKEN, 0.010),
    (FaultKind.CURSOR_EXPIRED, 0.015),
    (FaultKind.DUPLICATES, 0.015),
    (FaultKind.LOWER_LIMIT, 0.010),
    (FaultKind.ZULU_TIME, 0.010),
)
LAST_PAGE_QUIRK_RATE = 0.3
"""Share of last pages whose ``next_cursor`` is ``""`` or missing instead of ``null``."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What the injector decided for one request."""

    kind: FaultKind | None
    variant: int
    """A second seeded draw (0–65535) for the details: how far back, which header form."""
    last_page: str | None
    """If this turns out to be a last page: ``"empty"`` or ``"missing"`` next_cursor."""

    @property
    def is_error(self) -> bool:
        return self.kind in ERROR_KINDS


NO_FAULT = Decision(None, 0, None)


class FaultInjector:
    """Decides, per request, whether and how to misbehave. Thread-safe."""

    def __init__(self, seed: int, profile: FaultProfile = "none") -> None:
        self._seed = seed
        self._profile: FaultProfile = profile
        self._attempts: dict[str, int] = {}
        self._streaks: dict[str, tuple[int, FaultKind | None]] = {}
        self._lock = threading.Lock()

    @property
    def profile(self) -> FaultProfile:
        return self._profile

    def set_profile(self, profile: FaultProfile) -> None:
        with self._lock:
            self._profile = profile
            self._attempts.clear()
            self._streaks.clear()

    def decide(self, request_key: str, applicable: Collection[FaultKind]) -> Decision:
        """The decision for the next attempt of ``request_key``.

        ``applicable`` are the kinds that make sense for this endpoint; a draw of any
        other kind means no fault (so rates are per request of each kind).
        """
        if self._profile == "none":
            return NO_FAULT
        with self._lock:
            if len(self._attempts) > _MAX_TRACKED_REQUESTS:
                self._attempts.clear()
                self._streaks.clear()
            attempt = self._attempts.get(request_key, 0)
            self._attempts[request_key] = attempt + 1
            draw = hashlib.blake2b(
                f"{self._seed}\x1f{request_key}\x1f{attempt}".encode(), digest_size=16
            ).digest()
            kind = _pick(int.from_bytes(draw[:8]) / 2**64)
            if kind not in applicable:
                kind = None
            variant = int.from_bytes(draw[8:10])
            quirk = int.from_bytes(draw[10:14]) / 2**32
            last_page = None
            if quirk < LAST_PAGE_QUIRK_RATE:
                last_page = "empty" if variant % 2 else "missing"
            streak, last_kind = self._streaks.get(request_key, (0, None))
            if kind in ERROR_KINDS and (
                streak >= MAX_FAULTS_IN_A_ROW
                or (kind is FaultKind.REVOKE_TOKEN and last_kind is FaultKind.REVOKE_TOKEN)
            ):
                kind = None
            if kind in ERROR_KINDS:
                self._streaks[request_key] = (streak + 1, kind)
            else:
                self._streaks.pop(request_key, None)
            return Decision(kind, variant, last_page)


def applicable(*, api: bool, token_valid: bool, listing: bool, cursor: bool) -> set[FaultKind]:
    """The kinds that make sense for a request: a ``401`` needs a token to revoke, the
    page quirks need a JSON listing, cursor faults a cursor."""
    kinds = set(ANYWHERE)
    if api and token_valid:
        kinds.add(FaultKind.REVOKE_TOKEN)
    if api and listing:
        kinds |= {FaultKind.LOWER_LIMIT, FaultKind.ZULU_TIME}
        if cursor:
            kinds |= {FaultKind.CURSOR_EXPIRED, FaultKind.DUPLICATES}
    return kinds


def request_key(method: str, path: str, query: Iterable[tuple[str, str]]) -> str:
    """The identity of "the same exact request": method, path and sorted query, with a
    cursor counted by its position (its issue time differs from run to run)."""
    normal = []
    for name, value in query:
        if name == "cursor":
            try:
                cursor = cursors.decode(value)
                value = f"@{cursor.position[0]}/{cursor.position[1]}/{cursor.fingerprint}"
            except cursors.CursorError:
                pass
        normal.append((name, value))
    return f"{method} {path}?{urlencode(sorted(normal))}"


def _pick(u: float) -> FaultKind | None:
    total = 0.0
    for kind, rate in _RATES:
        total += rate
        if u < total:
            return kind
    return None


def http_date_after(seconds: int, *, wall_now: float) -> str:
    """An HTTP date ``seconds`` after the current whole second of the wall clock: the
    wait it asks for lies in (``seconds`` - 1, ``seconds``].

    Real wall time, not the simulated clock: the client compares the date with its own.
    """
    return email.utils.formatdate(math.floor(wall_now) + seconds, usegmt=True)


def proxy_page(status: int) -> str:
    """The HTML page a reverse proxy sends for 502 and 504 (CONTRACT.md §7)."""
    title = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
