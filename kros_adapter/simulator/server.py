"""The KROS simulator's HTTP server: CONTRACT.md, served exactly, and fast.

Layers of a request, outermost first (see :class:`_Gate`):

1. ``X-Request-Id`` on every response, and per-route statistics (``/_sim/stats``);
2. the rate limit (token bucket + in-flight cap per client), unless switched off;
3. the nightly maintenance window, only with ``options.maintenance``;
4. seeded faults (profile ``"flaky"``), see :mod:`.faults`;
5. the bearer token;
6. the handler: it catches the school up with the simulated clock (plans mutations,
   commits the due ones) and answers from the pre-serialized store under one lock.

``/_sim/…`` admin endpoints skip 2–5, answer loopback clients only, and are not
counted. The :class:`Simulator` offers the same controls in Python for in-process
tests.
"""

from __future__ import annotations

import gc
import hmac
import ipaddress
import itertools
import math
import mimetypes
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kros_adapter import xml_documents
from kros_adapter.simulator import cursors, dataset, faults, mutations
from kros_adapter.simulator.clock import ClockError, SimClock
from kros_adapter.simulator.faults import (
    NO_FAULT,
    Decision,
    FaultInjector,
    FaultKind,
    http_date_after,
    proxy_page,
)
from kros_adapter.simulator.model import (
    COLLECTIONS,
    DOCUMENTS,
    JOURNAL_COLLECTIONS,
    REFERENCE_COLLECTIONS,
    SIMULATOR_CLIENTS,
    FaultProfile,
    LiveView,
    Mutation,
    SchoolData,
    SimulatorOptions,
    school_id,
)
from kros_adapter.simulator.store import FILTERS, SchoolStore, to_us
from kros_adapter.simulator.throttle import Throttle
from kros_adapter.timestamps import (
    REGION_TZ,
    TimestampError,
    format_timestamp,
    parse_date,
    parse_timestamp,
)

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
TOKEN_PATH = "/oauth/token"
API_PREFIX = "/ej/v1/"
TOKEN_LIFETIME = timedelta(seconds=3600)
TOMBSTONE_RETENTION_US = 30 * 24 * 3600 * 1_000_000
SCOPES = ("ej.read", "ej.consents.write")
DEFAULT_LIMIT, MAX_LIMIT = 200, 1000
_PAGE_FAULTS = frozenset({FaultKind.LOWER_LIMIT, FaultKind.DUPLICATES})

_MESSAGES = {
    "invalid_parameter": "Неверные параметры запроса",
    "invalid_token": "Токен доступа отсутствует, истёк или отозван",
    "forbidden": "Нет прав на эту школу или ресурс",
    "not_found": "Ресурс не найден",
    "method_not_allowed": "Метод не поддерживается",
    "idempotency_conflict": "Ключ идемпотентности уже использован с другим телом запроса",
    "cursor_expired": "Курсор устарел, начните чтение заново",
    "changes_expired": "Изменения за этот период больше не хранятся, нужно полное чтение",
    "rate_limited": "Слишком много запросов",
    "internal_error": "Внутренняя ошибка сервера",
    "maintenance": "Плановые работы: сервис недоступен с 01:00 до 03:00",
    "unavailable": "Сервис временно перегружен",
}


class Generate(Protocol):
    def __call__(
        self, school_index: int, *, seed: int, scale: float, today: datetime
    ) -> SchoolData: ...


class PlanMinute(Protocol):
    def __call__(
        self,
        view: LiveView,
        *,
        seed: int,
        school_index: int,
        minute_start: datetime,
        rate: float,
    ) -> list[Mutation]: ...


class ApiError(Exception):
    """An error answered with the contract's envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or _MESSAGES[code])
        self.status = status
        self.code = code
        self.message = message or _MESSAGES[code]
        self.headers = headers or {}


@dataclass(slots=True)
class _Token:
    client_id: str
    scopes: frozenset[str]
    expires_us: int


@dataclass(slots=True)
class _Context:
    """Per-request facts the gate hands to the handlers (in ``scope["kros"]``)."""

    request_id: str
    fault: Decision = NO_FAULT
    token: _Token | None = None
    form: dict[str, str] | None = None


class _Stats:
    """Requests served, by route and status (admin requests excluded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, Counter[int]] = {}

    def record(self, route: str, status: int) -> None:
        with self._lock:
            self._routes.setdefault(route, Counter())[status] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            routes = {
                route: {str(s): n for s, n in sorted(counts.items())}
                for route, counts in sorted(self._routes.items())
            }
            by_status: Counter[int] = Counter()
            for counts in self._routes.values():
                by_status.update(counts)
        return {
            "total": sum(by_status.values()),
            "by_status": {str(s): n for s, n in sorted(by_status.items())},
            "routes": routes,
        }

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()


class Simulator:
    """The simulated KROS: its schools, clock, tokens, limits and faults.

    Thread-safe: uvicorn serves it from one thread while tests drive it from another.
    """

    def __init__(
        self,
        options: SimulatorOptions,
        *,
        base_url: str | None = None,
        generate: Generate | None = None,
        plan_minute: PlanMinute | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.base_url = (base_url or f"http://{_url_host(options.host)}:{options.port}").rstrip("/")
        self.clock = SimClock(options.today, frozen=options.frozen_clock, monotonic=monotonic)
        self.throttle = Throttle(monotonic=monotonic)
        self.faults = FaultInjector(options.seed, options.faults)
        if generate is None:
            generate = dataset.generate
        self._plan_minute: PlanMinute = plan_minute or mutations.plan_minute
        self._lock = threading.RLock()
        self._paused = False
        self._tokens: dict[str, _Token] = {}
        self._idempotency: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self._request_ids = itertools.count(1)
        self._request_prefix = secrets.token_hex(3)
        self._stats = _Stats()
        self.schools = _build_schools(options, generate, self.base_url, self.clock.now())

    # -- time and mutations -----------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    @contextmanager
    def reading(self) -> Iterator[datetime]:
        """Hold the state still, caught up with the clock; yields the instant it is at."""
        with self._lock:
            now = self.clock.now()
            for store in self.schools.values():
                store.catch_up(now, self._plan)
            yield now

    def _plan(self, store: SchoolStore, minute: datetime) -> list[Mutation]:
        rate = self._mutation_rate(minute)
        if rate <= 0:
            return []
        return self._plan_minute(
            store,
            seed=self.options.seed,
            school_index=store.index,
            minute_start=minute,
            rate=rate,
        )

    def _mutation_rate(self, minute: datetime) -> float:
        if self._paused:
            return 0.0
        if self.options.mutations_per_minute is not None:
            return self.options.mutations_per_minute
        school_hours = 8 <= minute.astimezone(REGION_TZ).hour < 20
        return (20.0 if school_hours else 1.0) * self.options.scale

    def advance(self, seconds: float) -> datetime:
        """Move the simulated clock forward, and catch the schools up."""
        self.clock.advance(seconds)
        with self.reading() as now:
            return now

    def set_time(self, moment: datetime) -> datetime:
        """Jump the simulated clock to ``moment`` (never backwards)."""
        self.clock.set(moment)
        with self.reading() as now:
            return now

    def pause_mutations(self, paused: bool) -> None:
        """Stop (or resume) planning changes. Changes already planned — those of minutes
        begun before the pause — still commit, late ones up to 60 s after their date."""
        with self.reading():  # minutes begun before the pause keep their rate
            self._paused = paused

    def set_faults(self, profile: FaultProfile) -> None:
        self.faults.set_profile(profile)

    def maintenance_retry_after(self) -> int | None:
        """Seconds until 03:00 while inside the nightly window, else ``None``."""
        if not self.options.maintenance:
            return None
        local = self.clock.now().astimezone(REGION_TZ)
        if not 1 <= local.hour < 3:
            return None
        end = local.replace(hour=3, minute=0, second=0, microsecond=0)
        return max(1, math.ceil((end - local).total_seconds()))

    # -- tokens -----------------------------------------------------------------------

    def issue_token(self, client_id: str, scopes: frozenset[str]) -> str:
        now_us = to_us(self.clock.now())
        with self._lock:
            if len(self._tokens) > 10_000:
                self._tokens = {k: t for k, t in self._tokens.items() if t.expires_us > now_us}
            token = secrets.token_urlsafe(32)
            self._tokens[token] = _Token(
                client_id, scopes, now_us + TOKEN_LIFETIME // timedelta(microseconds=1)
            )
        return token

    def token(self, text: str | None) -> _Token | None:
        """The token's grant if it is known, unrevoked and unexpired (simulated time)."""
        if not text:
            return None
        found = self._tokens.get(text)
        if found is None or found.expires_us <= to_us(self.clock.now()):
            return None
        return found

    def revoke_token(self, text: str) -> None:
        with self._lock:
            self._tokens.pop(text, None)

    def revoke_tokens(self) -> int:
        """Revoke every token issued so far; returns how many were live."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    # -- schools ------------------------------------------------------------------------

    def school_for(self, token: _Token | None, wanted: str, scope: str = "ej.read") -> SchoolStore:
        """The school a request may read: 403 without the right, 404 if unknown."""
        if token is None:
            raise ApiError(401, "invalid_token")
        allowed = SIMULATOR_CLIENTS[token.client_id][1]
        if (allowed is not None and wanted not in allowed) or scope not in token.scopes:
            raise ApiError(403, "forbidden")
        store = self.schools.get(wanted)
        if store is None:
            raise ApiError(404, "not_found", "Школа не найдена")
        return store

    def remember_consent(
        self, client_id: str, key: str, request_fingerprint: bytes, response: bytes
    ) -> None:
        self._idempotency[(client_id, key)] = (request_fingerprint, response)

    def recall_consent(self, client_id: str, key: str) -> tuple[bytes, bytes] | None:
        return self._idempotency.get((client_id, key))

    # -- ground truth and statistics -----------------------------------------------------

    def counts(self) -> dict[str, Any]:
        """Live committed records per school and collection (``/_sim/truth``)."""
        with self.reading() as now:
            return {
                "server_time": format_timestamp(now),
                "schools": {sid: store.counts() for sid, store in self.schools.items()},
            }

    def dump_json(self, school: str) -> bytes:
        with self.reading():
            store = self.schools.get(school)
            if store is None:
                raise KeyError(school)
            return store.dump_json()

    def dump(self, school: str) -> dict[str, Any]:
        """The canonical ground truth of one school: live committed records, by id."""
        result: dict[str, Any] = orjson.loads(self.dump_json(school))
        return result

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    def record_request(self, route: str, status: int) -> None:
        self._stats.record(route, status)

    def next_request_id(self) -> str:
        return f"sim-{self._request_prefix}-{next(self._request_ids):08d}"


def _build_schools(
    options: SimulatorOptions, generate: Generate, base_url: str, start: datetime
) -> dict[str, SchoolStore]:
    # Building allocates millions of long-lived objects; the cyclic garbage collector
    # would rescan them over and over for nothing (it more than doubles the build time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        schools: dict[str, SchoolStore] = {}
        for index in range(1, options.schools + 1):
            data = generate(index, seed=options.seed, scale=options.scale, today=options.today)
            if data.school.get("id") != school_id(index):
                raise ValueError(f"school {index} was generated as {data.school.get('id')!r}")
            schools[school_id(index)] = SchoolStore(index, data, base_url=base_url, start=start)
        return schools
    finally:
        if collecting:
            gc.enable()


# -- the gate ------------------------------------------------------------------------------


class _Gate:
    """The outermost ASGI layer: request id, statistics, limits, maintenance, faults, auth."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.sim = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = _Context(self.sim.next_request_id())
        scope["kros"] = ctx
        header = (b"x-request-id", ctx.request_id.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # KROS's own clock in the Date header, as a real server sends it: clients
                # take a document's watermark from it (documents have no server_time).
                date = formatdate(self.sim.now().timestamp(), usegmt=True).encode("ascii")
                message["headers"] = [*message.get("headers", ()), header, (b"date", date)]
            await send(message)

        path: str = scope["path"]
        if path.startswith("/_sim/"):
            if not _loopback(scope):
                await _error_response(ApiError(403, "forbidden"), ctx)(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
            return
        try:
            await self._api(scope, receive, send_with_id, ctx)
        finally:
            self.sim.record_request(_route_label(scope["method"], path), status)

    async def _api(self, scope: Scope, receive: Receive, send: Send, ctx: _Context) -> None:
        sim = self.sim
        if scope["path"] == TOKEN_PATH and scope["method"] == "POST":
            body = await _read_body(receive)
            receive = _replay(body)
            ctx.form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            client_id = ctx.form.get("client_id", "")
            client = client_id if client_id in SIMULATOR_CLIENTS else None
            token_text = None
        else:
            token_text = _bearer(scope)
            ctx.token = sim.token(token_text)
            client = ctx.token.client_id if ctx.token else None
        # Unauthenticated callers share a bucket per address, so they cannot flood either.
        client_key = client or f"anonymous:{_client_host(scope)}"
        if sim.options.rate_limit:
            retry_after = sim.throttle.acquire(client_key)
            if retry_after is not None:
                error = ApiError(429, "rate_limited", headers={"Retry-After": str(retry_after)})
                await _error_response(error, ctx)(scope, receive, send)
                return
        try:
            await self._admitted(scope, receive, send, ctx, token_text)
        finally:
            if sim.options.rate_limit:
                sim.throttle.release(client_key)

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, ctx: _Context, token_text: str | None
    ) -> None:
        sim = self.sim
        maintenance = sim.maintenance_retry_after()
        if maintenance is not None:
            error = ApiError(503, "maintenance", headers={"Retry-After": str(maintenance)})
            await _error_response(error, ctx)(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        parts = path.split("/")
        kinds = faults.applicable(
            api=path.startswith(API_PREFIX),
            token_valid=ctx.token is not None,
            listing=method == "GET" and len(parts) == 6 and parts[5] in COLLECTIONS,
            cursor=any(name == "cursor" for name, _ in query),
        )
        decision = sim.faults.decide(faults.request_key(method, path, query), kinds)
        if decision.is_error:
            if decision.kind is FaultKind.REVOKE_TOKEN and token_text:
                sim.revoke_token(token_text)  # for real: the client must re-authenticate
            await _fault_response(decision, ctx)(scope, receive, send)
            return
        ctx.fault = decision
        if path.startswith(API_PREFIX) and ctx.token is None:
            await _error_response(ApiError(401, "invalid_token"), ctx)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _fault_response(decision: Decision, ctx: _Context) -> Response:
    kind = decision.kind
    if kind is FaultKind.BAD_GATEWAY or kind is FaultKind.GATEWAY_TIMEOUT:
        status = int(kind.value)
        return HTMLResponse(proxy_page(status), status_code=status)
    if kind is FaultKind.UNAVAILABLE:
        retry = http_date_after(2, wall_now=time.time())
        return _error_response(ApiError(503, "unavailable", headers={"Retry-After": retry}), ctx)
    if kind is FaultKind.RATE_LIMITED:
        seconds = 1 + decision.variant % 2
        as_date = decision.variant % 4 >= 2
        retry = http_date_after(seconds, wall_now=time.time()) if as_date else str(seconds)
        return _error_response(ApiError(429, "rate_limited", headers={"Retry-After": retry}), ctx)
    if kind is FaultKind.REVOKE_TOKEN:
        return _error_response(ApiError(401, "invalid_token"), ctx)
    if kind is FaultKind.CURSOR_EXPIRED:
        return _error_response(ApiError(410, "cursor_expired"), ctx)
    return _error_response(ApiError(500, "internal_error"), ctx)


# -- handlers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Listing:
    limit: int
    cursor: str | None
    since_us: int | None
    filters: dict[str, str]


class _Api:
    """The contract's endpoints, bound to one simulator."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    async def token(self, request: Request) -> Response:
        form = _ctx(request).form or {}
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return _oauth_error("unsupported_grant_type" if grant else "invalid_request")
        client_id = form.get("client_id", "")
        known = SIMULATOR_CLIENTS.get(client_id)
        # The built-in secrets are demo secrets: they are worthless beyond loopback.
        if (
            known is None
            or not hmac.compare_digest(known[0].encode(), form.get("client_secret", "").encode())
            or not _loopback(request.scope)
        ):
            return _oauth_error("invalid_client")
        asked = form.get("scope", "").split() or list(SCOPES)
        if not set(asked) <= set(SCOPES):
            return _oauth_error("invalid_scope")
        granted = [s for s in SCOPES if s in asked]
        token = self.sim.issue_token(client_id, frozenset(granted))
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(granted),
        }
        return _json(orjson.dumps(body), headers={"Cache-Control": "no-store"})

    async def school(self, request: Request) -> Response:
        ctx = _ctx(request)
        store = self.sim.school_for(ctx.token, request.path_params["school_id"])
        _params(request, allowed=())
        with self.sim.reading():
            tag = _etag(store.school_id, "school", "0")
            if _not_modified(request, tag):
                return Response(status_code=304, headers={"ETag": tag})
            return _json(store.school_blob, headers={"ETag": tag})

    async def consents(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._post_consent(request)
        return await self.collection(request)

    async def collection(self, request: Request) -> Response:
        ctx = _ctx(request)
        name = request.path_params.get("collection", "consents")
        store = self.sim.school_for(ctx.token, request.path_params["school_id"])
        if name.endswith(".xml") and name[:-4] in DOCUMENTS:
            return self._document(request, store, name[:-4])
        if name not in COLLECTIONS:
            raise ApiError(404, "not_found")
        listing = _parse_listing(request, name)
        fault = ctx.fault
        with self.sim.reading() as now:
            now_us = to_us(now)
            _check_since(listing.since_us, now_us)
            canonical = sorted(listing.filters.items())
            fingerprint = cursors.fingerprint(
                store.school_id, name, str(listing.since_us), *(f"{k}={v}" for k, v in canonical)
            )
            after = _cursor_position(listing.cursor, fingerprint, now_us)
            tag = None
            # A page a fault has cut or shifted must not be cached under the real one's tag.
            if name in REFERENCE_COLLECTIONS and fault.kind not in _PAGE_FAULTS:
                version = str(store.collections[name].version)
                tag = _etag(
                    store.school_id, name, version, fingerprint, str(listing.limit), str(after)
                )
                if _not_modified(request, tag):
                    return Response(status_code=304, headers={"ETag": tag})
            limit = listing.limit
            if fault.kind is FaultKind.LOWER_LIMIT:
                limit = max(1, limit // (2 + fault.variant % 3))
            back = 1 + fault.variant % 5 if fault.kind is FaultKind.DUPLICATES else 0
            page = store.page(
                name,
                predicate=store.predicate(name, listing.filters),
                since_us=listing.since_us,
                after=after,
                limit=limit,
                back=back,
            )
            next_cursor = None
            if page.more and page.last is not None:
                next_cursor = cursors.Cursor(page.last, now_us, fingerprint).encode()
        server_time = (
            now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            if fault.kind is FaultKind.ZULU_TIME
            else format_timestamp(now)
        )
        body = _envelope(page.blobs, next_cursor, server_time, fault.last_page)
        return _json(body, headers={"ETag": tag} if tag else None)

    def _document(self, request: Request, store: SchoolStore, name: str) -> Response:
        params = _params(request, allowed=(*FILTERS[name], "updated_since"))
        since_us = _since(params)
        filters = {k: v for k, v in params.items() if k != "updated_since"}
        with self.sim.reading() as now:
            _check_since(since_us, to_us(now))
            records = store.document(name, filters, since_us)
        if name == "final-grades":
            chunks = xml_documents.write_final_grades(
                records,
                school_id=store.school_id,
                period_id=filters.get("periodId"),
                generated=format_timestamp(now),
            )
        else:
            chunks = xml_documents.write_exam_results(
                records, school_id=store.school_id, year_id=filters.get("yearId")
            )
        return StreamingResponse(_stream(chunks), media_type=XML_TYPE)

    async def _post_consent(self, request: Request) -> Response:
        ctx = _ctx(request)
        store = self.sim.school_for(
            ctx.token, request.path_params["school_id"], scope="ej.consents.write"
        )
        _params(request, allowed=())
        key = request.headers.get("idempotency-key")
        if key is None or not 1 <= len(key) <= 64:
            raise ApiError(
                400, "invalid_parameter", "Нужен заголовок Idempotency-Key (1–64 символа)"
            )
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_parameter", "Тело запроса — не JSON") from exc
        assert ctx.token is not None  # school_for checked it
        client_id = ctx.token.client_id
        request_fingerprint = (
            store.school_id.encode() + b"\x1f" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        )
        with self.sim.reading() as now:
            prior = self.sim.recall_consent(client_id, key)
            if prior is not None:
                if prior[0] != request_fingerprint:
                    raise ApiError(409, "idempotency_conflict")
                return _json(prior[1])
            problem = store.consent_problem(body)
            if problem is not None:
                raise ApiError(400, "invalid_parameter", problem)
            blob = orjson.dumps(store.add_consent(body, now))
            self.sim.remember_consent(client_id, key, request_fingerprint, blob)
        return _json(blob, status_code=201)

    async def attachment(self, request: Request) -> Response:
        ctx = _ctx(request)
        store = self.sim.school_for(ctx.token, request.path_params["school_id"])
        attachment_id = request.path_params["attachment_id"]
        name = request.path_params["name"]
        with self.sim.reading():
            known = store.attachments.get(attachment_id)
        if known is None or known != name:
            raise ApiError(404, "not_found", "Вложение не найдено")
        content = dataset.attachment_bytes(attachment_id, name)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        return Response(
            content, media_type=content_type, headers={"Content-Disposition": disposition}
        )

    # -- admin -------------------------------------------------------------------------

    async def truth(self, request: Request) -> Response:
        return _json(orjson.dumps(self.sim.counts()))

    async def dump(self, request: Request) -> Response:
        school = request.query_params.get("school", school_id(1))
        try:
            return _json(self.sim.dump_json(school))
        except KeyError as exc:
            raise ApiError(404, "not_found", "Школа не найдена") from exc

    async def clock(self, request: Request) -> Response:
        body = await _admin_body(request)
        try:
            step = body.get("advance_seconds")
            if isinstance(step, int | float) and not isinstance(step, bool):
                now = self.sim.advance(float(step))
            elif isinstance(body.get("set"), str):
                now = self.sim.set_time(parse_timestamp(body["set"]))
            else:
                raise ApiError(400, "invalid_parameter", "Нужно advance_seconds или set")
        except (ClockError, TimestampError, OverflowError) as exc:
            raise ApiError(400, "invalid_parameter", str(exc)) from exc
        return _json(orjson.dumps({"server_time": format_timestamp(now)}))

    async def mutations(self, request: Request) -> Response:
        paused = (await _admin_body(request)).get("paused")
        if not isinstance(paused, bool):
            raise ApiError(400, "invalid_parameter", "Нужно paused: true или false")
        self.sim.pause_mutations(paused)
        return _json(orjson.dumps({"paused": paused}))

    async def set_faults(self, request: Request) -> Response:
        profile = (await _admin_body(request)).get("profile")
        if profile == "none" or profile == "flaky":
            self.sim.set_faults(profile)
            return _json(orjson.dumps({"profile": profile}))
        raise ApiError(400, "invalid_parameter", "Профиль сбоев: none или flaky")

    async def revoke_tokens(self, request: Request) -> Response:
        return _json(orjson.dumps({"revoked": self.sim.revoke_tokens()}))

    async def stats(self, request: Request) -> Response:
        return _json(orjson.dumps(self.sim.stats()))

    async def reset_stats(self, request: Request) -> Response:
        self.sim.reset_stats()
        return _json(orjson.dumps({"reset": True}))


def create_app(simulator: Simulator) -> Starlette:
    """The ASGI application serving ``simulator`` over CONTRACT.md."""
    api = _Api(simulator)
    schools = "/ej/v1/schools/{school_id}"
    routes = [
        Route(TOKEN_PATH, api.token, methods=["POST"]),
        Route(schools, api.school, methods=["GET"]),
        Route(
            schools + "/attachments/{attachment_id}/{name:path}", api.attachment, methods=["GET"]
        ),
        Route(schools + "/consents", api.consents, methods=["GET", "POST"]),
        Route(schools + "/{collection}", api.collection, methods=["GET"]),
        Route("/_sim/truth", api.truth, methods=["GET"]),
        Route("/_sim/dump", api.dump, methods=["GET"]),
        Route("/_sim/clock", api.clock, methods=["POST"]),
        Route("/_sim/mutations", api.mutations, methods=["POST"]),
        Route("/_sim/faults", api.set_faults, methods=["POST"]),
        Route("/_sim/revoke-tokens", api.revoke_tokens, methods=["POST"]),
        Route("/_sim/stats", api.stats, methods=["GET"]),
        Route("/_sim/stats/reset", api.reset_stats, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(_Gate, simulator=simulator)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )


# -- running it -----------------------------------------------------------------------------


def run(options: SimulatorOptions) -> None:
    """Serve the simulator on ``options.host:options.port`` until Ctrl-C."""
    base_url = f"http://{_url_host(options.host)}:{options.port}"
    simulator = Simulator(options, base_url=base_url)
    print(
        f"KROS simulator on {base_url} (seed {options.seed}, scale {options.scale}, "
        f"schools {options.schools}); Ctrl-C stops it",
        flush=True,
    )
    uvicorn.run(create_app(simulator), host=options.host, port=options.port, **_UVICORN)


@dataclass(frozen=True, slots=True)
class RunningSimulator:
    """A simulator served on loopback by :func:`running_simulator`."""

    base_url: str
    simulator: Simulator


class _ThreadServer(uvicorn.Server):
    """uvicorn that signals the end of its start-up, successful or not."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@contextmanager
def running_simulator(
    options: SimulatorOptions,
    *,
    generate: Generate | None = None,
    plan_minute: PlanMinute | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    startup_timeout: float = 60.0,
) -> Iterator[RunningSimulator]:
    """Serve a simulator on a free loopback port in a background thread.

    ``options.host`` and ``options.port`` are ignored: the port is found by binding port
    0 first, so the simulator knows its own base URL (for attachment links) up front.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        simulator = Simulator(
            options,
            base_url=base_url,
            generate=generate,
            plan_minute=plan_minute,
            monotonic=monotonic,
        )
        server = _ThreadServer(uvicorn.Config(create_app(simulator), **_UVICORN))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="kros-simulator", daemon=True
        )
        thread.start()
        try:
            if not server.ready.wait(startup_timeout) or not server.started:
                raise RuntimeError("the KROS simulator did not start")
            yield RunningSimulator(base_url, simulator)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    finally:
        sock.close()


_UVICORN: dict[str, Any] = {
    "http": "httptools",
    "ws": "none",
    "lifespan": "off",
    "access_log": False,
    "date_header": False,  # the gate sends the simulated clock's Date instead
    "server_header": False,
    # Logging belongs to the process that embeds the simulator (service.logging):
    # uvicorn must not install its own handlers or levels.
    "log_config": None,
    "log_level": None,
}


# -- small pieces ---------------------------------------------------------------------------


def _ctx(request: Request) -> _Context:
    ctx: _Context = request.scope["kros"]
    return ctx


def _json(
    body: bytes, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status_code=status_code, media_type=JSON_TYPE, headers=headers)


def _error_response(error: ApiError, ctx: _Context) -> Response:
    body = {"error": {"code": error.code, "message": error.message, "request_id": ctx.request_id}}
    headers = dict(error.headers)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return _json(orjson.dumps(body), status_code=error.status, headers=headers)


def _oauth_error(code: str) -> Response:
    return _json(
        orjson.dumps({"error": code}), status_code=400, headers={"Cache-Control": "no-store"}
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc, _ctx(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError(405, "method_not_allowed", headers=dict(exc.headers or {}))
    else:
        error = ApiError(404, "not_found")
    return _error_response(error, _ctx(request))


def _params(request: Request, *, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query as a dict: a parameter unknown here, repeated or empty is a 400."""
    result: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise ApiError(400, "invalid_parameter", f"Неизвестный параметр {name}")
        if name in result:
            raise ApiError(400, "invalid_parameter", f"Параметр {name} указан дважды")
        if not value:
            raise ApiError(400, "invalid_parameter", f"Пустое значение параметра {name}")
        result[name] = value
    return result


def _parse_listing(request: Request, name: str) -> _Listing:
    incremental = ("updated_since",) if name in JOURNAL_COLLECTIONS else ()
    params = _params(request, allowed=("limit", "cursor", *incremental, *FILTERS[name]))
    limit = DEFAULT_LIMIT
    if "limit" in params:
        text = params["limit"]
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise ApiError(400, "invalid_parameter", "limit: целое число от 1 до 1000")
        limit = int(text)
    for bound in ("from", "to"):
        if bound in params:
            try:
                params[bound] = parse_date(params[bound]).isoformat()
            except TimestampError as exc:
                raise ApiError(400, "invalid_parameter", f"{bound}: дата ГГГГ-ММ-ДД") from exc
    filters = {k: v for k, v in params.items() if k not in ("limit", "cursor", "updated_since")}
    return _Listing(limit, params.get("cursor"), _since(params), filters)


def _since(params: dict[str, str]) -> int | None:
    if "updated_since" not in params:
        return None
    try:
        return to_us(parse_timestamp(params["updated_since"]))
    except TimestampError as exc:
        raise ApiError(
            400, "invalid_parameter", "updated_since: время RFC 3339 со смещением"
        ) from exc


def _check_since(since_us: int | None, now_us: int) -> None:
    if since_us is not None and since_us < now_us - TOMBSTONE_RETENTION_US:
        raise ApiError(410, "changes_expired")


def _cursor_position(text: str | None, fingerprint: str, now_us: int) -> cursors.Position | None:
    if text is None:
        return None
    try:
        return cursors.resume(text, fingerprint, now_us)
    except cursors.CursorError as exc:
        raise ApiError(
            400, "invalid_parameter", "Неверный курсор или курсор другого запроса"
        ) from exc
    except cursors.CursorExpiredError as exc:
        raise ApiError(410, "cursor_expired") from exc


def _envelope(
    blobs: list[bytes], next_cursor: str | None, server_time: str, quirk: str | None
) -> bytes:
    if next_cursor is not None:
        tail = b',"next_cursor":"' + next_cursor.encode("ascii") + b'"'
    elif quirk == "missing":
        tail = b""
    elif quirk == "empty":
        tail = b',"next_cursor":""'
    else:
        tail = b',"next_cursor":null'
    return (
        b'{"items":['
        + b",".join(blobs)
        + b"]"
        + tail
        + b',"server_time":"'
        + server_time.encode("ascii")
        + b'"}'
    )


def _etag(*parts: str) -> str:
    return '"' + cursors.fingerprint(*parts) + '"'


def _not_modified(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return tag in candidates or "*" in candidates


async def _stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The writer's chunks (about 64 KiB each) as an async stream: Starlette would
    otherwise hop to a worker thread for every chunk of a synchronous iterator."""
    for chunk in chunks:
        yield chunk


async def _admin_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_parameter", "Тело запроса — не JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_parameter", "Тело запроса должно быть объектом JSON")
    return body


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands a body already read to the application once more."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _loopback(scope: Scope) -> bool:
    try:
        return ipaddress.ip_address(_client_host(scope)).is_loopback
    except ValueError:
        return False


def _route_label(method: str, path: str) -> str:
    """A path with its identifiers replaced by placeholders, for statistics."""
    parts = path.split("/")
    if len(parts) >= 5 and parts[1:4] == ["ej", "v1", "schools"]:
        parts[4] = "{school_id}"
        if len(parts) >= 8 and parts[5] == "attachments":
            parts[6:] = ["{attachment_id}", "{name}"]
    return f"{method} {'/'.join(parts)}"


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
