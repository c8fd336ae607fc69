"""The KROS client: everything CONTRACT.md asks of a caller, and nothing of the store.

One :class:`KrosClient` serves every school and stream of an adapter instance, so its
limiter (10 requests/s, 4 in flight) and its token are shared. Callers get pages and
records; failures come as :mod:`kros_adapter.errors`, grouped by how to recover:

- retriable failures (429, 5xx, 503, transport) are retried here with backoff and
  jitter, honouring ``Retry-After`` (seconds or an HTTP date), and surface only when
  ``max_attempts`` is spent;
- a ``401`` is answered by one token refresh and one repeat; a second ``401`` in a row
  is a :class:`~kros_adapter.errors.KrosAuthenticationError`;
- ``410 cursor_expired`` resumes the listing from the newest ``(updated_at, id)``
  already handed out (or surfaces, if the caller prefers to resume itself);
  ``410 changes_expired`` always surfaces: only the caller can reconcile.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from kros_adapter.auth import AccessToken, TokenProvider
from kros_adapter.errors import (
    KrosAuthenticationError,
    KrosConfigurationError,
    KrosCursorExpiredError,
    KrosDocumentRefusedError,
    KrosError,
    KrosProtocolError,
    KrosRetriableError,
    KrosTransportError,
)
from kros_adapter.incremental import UNKNOWN_TIME, Deduplicator
from kros_adapter.pagination import (
    CursorGuard,
    Envelope,
    Page,
    Record,
    is_tombstone,
    parse_envelope,
)
from kros_adapter.ratelimit import RequestLimiter
from kros_adapter.responses import decode_json, raise_for_status, request_id_of
from kros_adapter.settings import ClientSettings
from kros_adapter.timestamps import format_timestamp
from kros_adapter.xml_documents import DocumentKind, StreamingDocumentParser

log = structlog.get_logger("kros_adapter.client")

Sleep = Callable[[float], Awaitable[None]]

DOCUMENT_KINDS: dict[str, DocumentKind] = {
    "final-grades": DocumentKind.FINAL_GRADES,
    "exam-results": DocumentKind.EXAM_RESULTS,
}
"""The two XML documents of CONTRACT.md §5, by path stem."""

_BACKOFF_INITIAL_SECONDS = 0.5
_BACKOFF_MAX_SECONDS = 30.0
_MAX_LISTING_RESTARTS = 5
# KROS keeps tombstones for 30 days (CONTRACT.md §3); resume only well inside that.
_RESUMABLE_AGE = timedelta(days=29)
_USER_AGENT = "kros-adapter/0.1"


@dataclass(slots=True)
class ClientStats:
    """What the client did, for the run summary and the benchmarks."""

    requests: int = 0
    retries: int = 0
    token_requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    bytes_received: int = 0

    def count(self, response: httpx.Response, size: int) -> None:
        self.requests += 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1
        self.bytes_received += size


@dataclass(frozen=True, slots=True)
class Resource:
    """A single reference resource (the school itself), or ``None`` when not modified."""

    record: Record | None
    etag: str | None
    request_id: str | None

    @property
    def not_modified(self) -> bool:
        return self.record is None


@dataclass(frozen=True, slots=True)
class ConsentWrite:
    """The stored consent, and whether this call created it (201) or replayed it (200)."""

    record: Record
    created: bool


@dataclass(frozen=True, slots=True)
class Attachment:
    content: bytes
    content_type: str


class KrosClient:
    """An asynchronous client of the KROS API; use it as ``async with KrosClient(…)``.

    ``transport`` lets tests inject ``httpx.MockTransport`` or respx; ``sleep`` and
    ``monotonic`` let them run retries and the rate limit without waiting.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RequestLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.stats = ClientStats()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._limiter = limiter or RequestLimiter(
            rate=settings.max_requests_per_second,
            # Half of KROS's bucket: requests reach KROS with jitter, and a client that
            # empties its bucket exactly as KROS does meets a 429 (and its whole-second
            # Retry-After) whenever two requests arrive closer than they left.
            burst=settings.max_requests_per_second / 2,
            concurrency=settings.max_concurrency,
            clock=monotonic,
            sleep=sleep,
        )
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=_tls_verification(settings.ca_bundle),
            timeout=settings.timeout_seconds,
            headers={"User-Agent": _USER_AGENT},
            limits=httpx.Limits(max_connections=settings.max_concurrency + 2),
            follow_redirects=False,
        )
        self._tokens = TokenProvider(self._request_token, clock=monotonic)
        self._kros_origin = _origin(settings.base_url)

    async def __aenter__(self) -> KrosClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ listings

    async def iter_pages(
        self,
        school_id: str,
        collection: str,
        *,
        params: Mapping[str, str] | None = None,
        updated_since: datetime | None = None,
        etag: str | None = None,
        resume_expired_cursor: bool = True,
    ) -> AsyncIterator[Page]:
        """The pages of one listing, the next one fetched while the caller applies this one.

        Without ``updated_since`` this is a full read. Records are de-duplicated by id
        within the listing, keeping the newest ``updated_at``. With ``etag`` (reference
        resources) an unchanged listing yields one empty page with ``not_modified``.
        """
        url = f"{self._school_url(school_id)}/{collection}"
        query: dict[str, str] = {**(params or {}), "limit": str(self.settings.page_limit)}
        if updated_since is not None:
            query["updated_since"] = format_timestamp(updated_since)
        listing = _ListingState()
        pending: asyncio.Task[_FetchedPage] | None = asyncio.create_task(
            self._fetch_page(url, query, None, etag)
        )
        try:
            while pending is not None:
                try:
                    fetched = await pending
                except KrosCursorExpiredError:
                    if not resume_expired_cursor or listing.restarts >= _MAX_LISTING_RESTARTS:
                        raise
                    pending = asyncio.create_task(
                        self._fetch_page(url, listing.resume_query(query), None, None)
                    )
                    continue
                if fetched.envelope is None:
                    yield listing.not_modified_page(fetched, self._wall_clock())
                    return
                envelope = fetched.envelope
                pending = None
                if envelope.next_cursor is not None:
                    listing.cursors.check(envelope.next_cursor, request_id=fetched.request_id)
                    pending = asyncio.create_task(
                        self._fetch_page(url, query, envelope.next_cursor, None)
                    )
                yield listing.page(fetched, envelope, is_last=pending is None)
        finally:
            if pending is not None:
                pending.cancel()
                with suppress(asyncio.CancelledError, KrosError):
                    await pending

    async def read_listing(
        self,
        school_id: str,
        collection: str,
        *,
        params: Mapping[str, str] | None = None,
        updated_since: datetime | None = None,
    ) -> ListingResult:
        """A whole listing folded into its newest state per id (small listings, tests)."""
        result = ListingResult()
        async for page in self.iter_pages(
            school_id, collection, params=params, updated_since=updated_since
        ):
            result.fold(page)
        return result

    async def get_school(self, school_id: str, *, etag: str | None = None) -> Resource:
        """The school resource itself; ``record`` is ``None`` when ``etag`` still matches."""
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._send("GET", self._school_url(school_id), headers=headers)
        new_etag = response.headers.get("ETag")
        if response.status_code == 304:
            return Resource(None, new_etag or etag, request_id_of(response))
        body = decode_json(response)
        if not isinstance(body, dict):
            raise KrosProtocolError(
                "the school resource is not an object", request_id=request_id_of(response)
            )
        return Resource(body, new_etag, request_id_of(response))

    # ----------------------------------------------------------------- documents

    @asynccontextmanager
    async def open_document(
        self,
        school_id: str,
        document: str,
        *,
        params: Mapping[str, str] | None = None,
        updated_since: datetime | None = None,
    ) -> AsyncIterator[DocumentStream]:
        """An XML document of CONTRACT.md §5, open for reading its records as they arrive.

        The document is never held whole: it is refused as soon as it passes
        ``max_document_bytes``, and hostile constructs (DTD, entities, deep nesting)
        are refused by the parser with :class:`KrosDocumentRefusedError`. A refusal can
        come after records were handed out: apply a document's records only once
        :meth:`DocumentStream.records` has finished.
        """
        kind = DOCUMENT_KINDS.get(document)
        if kind is None:
            raise ValueError(f"unknown KROS document {document!r}")
        query = dict(params or {})
        if updated_since is not None:
            query["updated_since"] = format_timestamp(updated_since)
        url = f"{self._school_url(school_id)}/{document}.xml"
        limit = self.settings.max_document_bytes
        async with self._open_stream(url, query) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise KrosDocumentRefusedError(
                    f"{document}.xml is {int(declared)} bytes, over max_document_bytes ({limit})",
                    request_id=request_id_of(response),
                )
            parser = StreamingDocumentParser(
                kind, max_bytes=limit, max_depth=self.settings.max_document_depth
            )
            yield DocumentStream(document, response, parser, self.stats, self._wall_clock())

    async def iter_document(
        self,
        school_id: str,
        document: str,
        *,
        params: Mapping[str, str] | None = None,
        updated_since: datetime | None = None,
    ) -> AsyncIterator[Record]:
        """The records of an XML document (see :meth:`open_document`)."""
        async with self.open_document(
            school_id, document, params=params, updated_since=updated_since
        ) as stream:
            async for record in stream.records():
                yield record

    # ------------------------------------------------------------------ consents

    async def post_consent(
        self, school_id: str, consent: Mapping[str, Any], *, idempotency_key: str
    ) -> ConsentWrite:
        """Write a consent back to KROS (CONTRACT.md §6); safe to repeat with the same key."""
        if not 0 < len(idempotency_key) <= 64:
            raise ValueError("an Idempotency-Key has 1 to 64 characters")
        response = await self._send(
            "POST",
            f"{self._school_url(school_id)}/consents",
            headers={"Idempotency-Key": idempotency_key},
            json_body=dict(consent),
        )
        body = decode_json(response)
        if not isinstance(body, dict):
            raise KrosProtocolError(
                "the stored consent is not an object", request_id=request_id_of(response)
            )
        return ConsentWrite(body, created=response.status_code == 201)

    # --------------------------------------------------------------- attachments

    async def download_attachment(self, url: str) -> Attachment:
        """A homework attachment, fetched with the bearer token (families cannot reach KROS).

        The token goes only to the KROS host: an attachment URL elsewhere is refused.
        """
        if _origin(url) != self._kros_origin:
            raise KrosProtocolError("an attachment URL points outside the KROS host")
        limit = self.settings.max_attachment_bytes
        async with self._open_stream(url, {}) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise KrosProtocolError(
                        f"an attachment is over {limit} bytes",
                        request_id=request_id_of(response),
                    )
                chunks.append(chunk)
            self.stats.bytes_received += size
            content_type = response.headers.get("Content-Type", "application/octet-stream")
            return Attachment(b"".join(chunks), content_type)

    # ------------------------------------------------------------------ plumbing

    def _school_url(self, school_id: str) -> str:
        return f"{self.settings.api_url}/schools/{school_id}"

    async def _fetch_page(
        self, url: str, query: Mapping[str, str], cursor: str | None, etag: str | None
    ) -> _FetchedPage:
        params = dict(query)
        if cursor is not None:
            params["cursor"] = cursor
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._send("GET", url, params=params, headers=headers)
        request_id = request_id_of(response)
        if response.status_code == 304:
            return _FetchedPage(None, request_id, response.headers.get("ETag") or etag, response)
        envelope = parse_envelope(decode_json(response), request_id=request_id)
        return _FetchedPage(envelope, request_id, response.headers.get("ETag"), response)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        """One request with every rule of CONTRACT.md's error table applied."""
        async for attempt in self._retrying():
            with attempt:
                response = await self._authorized_exchange(
                    lambda token: self._http.build_request(
                        method,
                        url,
                        params=params,
                        headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                        json=json_body,
                    ),
                    stream=False,
                )
                return response
        raise AssertionError("unreachable: tenacity re-raises the last error")

    @asynccontextmanager
    async def _open_stream(
        self, url: str, params: Mapping[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """A streamed GET holding its concurrency slot until the caller is done.

        Failures before the body starts are retried like any request; a failure in the
        middle of the body surfaces, because the records already handed out cannot be
        taken back.
        """
        async with AsyncExitStack() as stack:
            response: httpx.Response | None = None
            async for attempt in self._retrying():
                with attempt:
                    response = await self._authorized_exchange(
                        lambda token: self._http.build_request(
                            "GET", url, params=params, headers={"Authorization": f"Bearer {token}"}
                        ),
                        stream=True,
                        stack=stack,
                    )
            assert response is not None
            yield response

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(KrosRetriableError),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait_before_retry,
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def _wait_before_retry(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float):
            # The limiter already holds every request back until then; wait it out here too.
            return float(retry_after)
        ceiling = min(
            _BACKOFF_MAX_SECONDS, _BACKOFF_INITIAL_SECONDS * 2 ** (state.attempt_number - 1)
        )
        return self._rng.uniform(ceiling / 2, ceiling)  # "equal jitter"

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "kros.retry",
            attempt=state.attempt_number,
            error=type(error).__name__,
            detail=str(error),
            wait_seconds=round(state.upcoming_sleep, 2),
        )

    async def _authorized_exchange(
        self,
        build: Callable[[str], httpx.Request],
        *,
        stream: bool,
        stack: AsyncExitStack | None = None,
    ) -> httpx.Response:
        """Send with the current token; on ``401`` refresh it once and send once more."""
        token = await self._tokens.current()
        response = await self._exchange(build(token.value), stream=stream, stack=stack)
        if response.status_code == 401:
            fresh = await self._renew(token)
            response = await self._exchange(build(fresh.value), stream=stream, stack=stack)
            if response.status_code == 401:
                raise KrosAuthenticationError(
                    "KROS refused a freshly issued token (a second 401 in a row): check "
                    "the account's rights and kros.client_id",
                    request_id=request_id_of(response),
                )
        self._check(response)
        return response

    def _check(self, response: httpx.Response) -> None:
        try:
            raise_for_status(response, now=self._wall_clock())
        except KrosRetriableError as error:
            if error.retry_after:
                # Lesson 5: a Retry-After holds back every request of the client.
                self._limiter.pause(error.retry_after)
            raise

    async def _renew(self, stale: AccessToken) -> AccessToken:
        log.info("kros.reauthenticate")
        return await self._tokens.renew(stale)

    async def _exchange(
        self, request: httpx.Request, *, stream: bool, stack: AsyncExitStack | None = None
    ) -> httpx.Response:
        """One HTTP exchange inside the limiter; httpx errors become KROS errors here.

        A streamed response that succeeds keeps its slot (on ``stack``) until the caller
        has read it; any other response has its body read and its slot released.
        """
        started = time.perf_counter()
        slot = self._limiter.slot()
        await slot.__aenter__()
        keep_slot = False
        try:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise KrosTransportError(
                    f"cannot reach KROS at {request.url.host}: {type(exc).__name__}"
                ) from exc
            if stream and response.status_code == 200 and stack is not None:
                stack.push_async_callback(response.aclose)
                stack.push_async_exit(slot)
                keep_slot = True
            elif stream:
                try:
                    await response.aread()
                except httpx.HTTPError as exc:
                    raise KrosTransportError(
                        f"KROS broke off an error response: {type(exc).__name__}"
                    ) from exc
                finally:
                    await response.aclose()
        finally:
            if not keep_slot:
                await slot.__aexit__(None, None, None)
        self.stats.count(response, len(response.content) if not keep_slot else 0)
        log.debug(
            "kros.request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            request_id=request_id_of(response),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    async def _request_token(self) -> httpx.Response:
        self.stats.token_requests += 1
        request = self._http.build_request(
            "POST",
            self.settings.effective_token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "scope": self.settings.scope,
            },
        )
        async for attempt in self._retrying():
            with attempt:
                response = await self._exchange(request, stream=False)
                if response.status_code not in (400, 401):
                    self._check(response)
                return response
        raise AssertionError("unreachable: tenacity re-raises the last error")


class DocumentStream:
    """An open XML document: when KROS produced it, and its records as they arrive."""

    def __init__(
        self,
        document: str,
        response: httpx.Response,
        parser: StreamingDocumentParser,
        stats: ClientStats,
        fallback_time: datetime,
    ) -> None:
        self.document = document
        self.request_id = request_id_of(response)
        self.server_time = _date_header(response) or fallback_time
        """KROS's clock when it answered (its ``Date`` header): the document's watermark."""
        self._response = response
        self._parser = parser
        self._stats = stats

    async def records(self) -> AsyncIterator[Record]:
        try:
            async for chunk in self._response.aiter_bytes():
                self._stats.bytes_received += len(chunk)
                for record in self._parser.feed(chunk):
                    yield record
        except httpx.HTTPError as exc:
            raise KrosTransportError(
                f"{self.document}.xml broke off: {type(exc).__name__}",
                request_id=self.request_id,
            ) from exc
        for record in self._parser.close():
            yield record


@dataclass(slots=True)
class _FetchedPage:
    envelope: Envelope | None
    request_id: str | None
    etag: str | None
    response: httpx.Response


class _ListingState:
    """What a listing remembers between pages: numbering, de-duplication, position."""

    def __init__(self) -> None:
        self.number = 0
        self.restarts = 0
        self.server_time: datetime | None = None
        self.position: tuple[datetime, str] | None = None
        self.cursors = CursorGuard()
        self.dedupe = Deduplicator()

    def resume_query(self, query: dict[str, str]) -> dict[str, str]:
        """The query that resumes an expired listing after what was handed out.

        ``updated_since`` is inclusive, so records sharing the position's instant are
        read again and the de-duplication drops them. A position older than KROS keeps
        tombstones for would be answered ``410 changes_expired``: the listing then
        starts over instead, and the de-duplication drops what was already handed out.
        """
        self.restarts += 1
        self.cursors = CursorGuard()
        resumable = (
            self.position is not None
            and self.server_time is not None
            and self.server_time - self.position[0] < _RESUMABLE_AGE
        )
        log.info("kros.listing_resumed", restarts=self.restarts, from_position=resumable)
        if not resumable or self.position is None:
            return query
        return {**query, "updated_since": format_timestamp(self.position[0])}

    def page(self, fetched: _FetchedPage, envelope: Envelope, *, is_last: bool) -> Page:
        if self.server_time is None:
            self.server_time = envelope.server_time
        items: list[Record] = []
        position = self.position
        for record in envelope.items:
            updated = self.dedupe.check(record)
            if updated is None:
                continue
            items.append(record)
            record_id = record.get("id")
            if updated is not UNKNOWN_TIME and isinstance(record_id, str):
                key = (updated, record_id)
                if position is None or key > position:
                    position = key
        self.position = position
        self.number += 1
        return Page(
            items=items,
            server_time=envelope.server_time,
            listing_server_time=self.server_time,
            number=self.number,
            is_last=is_last,
            request_id=fetched.request_id,
            etag=fetched.etag,
            position=self.position,
            duplicates_dropped=len(envelope.items) - len(items),
            restarts=self.restarts,
        )

    def not_modified_page(self, fetched: _FetchedPage, fallback: datetime) -> Page:
        moment = _date_header(fetched.response) or fallback
        return Page(
            items=[],
            server_time=moment,
            listing_server_time=moment,
            number=1,
            is_last=True,
            request_id=fetched.request_id,
            etag=fetched.etag,
            not_modified=True,
        )


@dataclass(slots=True)
class ListingResult:
    """A listing folded to the newest state per id: live records and deleted ids."""

    records: dict[str, Record] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    listing_server_time: datetime | None = None
    pages: int = 0

    def fold(self, page: Page) -> None:
        if self.listing_server_time is None:
            self.listing_server_time = page.listing_server_time
        self.pages += 1
        for record in page.items:
            record_id = str(record.get("id"))
            if is_tombstone(record):
                self.records.pop(record_id, None)
                self.deleted.add(record_id)
            else:
                self.records[record_id] = record
                self.deleted.discard(record_id)


def _tls_verification(ca_bundle: str) -> ssl.SSLContext | bool:
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise KrosConfigurationError(
            f"kros.ca_bundle: cannot load {ca_bundle!r} ({exc.__class__.__name__})"
        ) from exc


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _date_header(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None
