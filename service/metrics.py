"""Prometheus metrics of ``kros-adapter serve``, and who may read them.

Every metric lives in the service's own :class:`~prometheus_client.CollectorRegistry`
(not the library's global one), so that tests and the demo can build several services in
one process. Three kinds of figures:

* counted as things happen — sync runs by stream and status, records read / written /
  tombstoned / quarantined, web requests and their latency;
* set after each run — the quarantine rate per stream and its alert flag
  (:class:`QuarantineWatch`, which also logs ``quarantine.alert``);
* read when Prometheus scrapes — the lag per stream (now − watermark) from the store,
  and KROS HTTP requests by status from the shared client's own counters.

``/metrics`` answers a loopback client, or a bearer token (``web.metrics_token``):
it names every school and stream and their health, which is nobody else's business.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mappings.engine import mapping
from schemas.tables import metadata
from service.logging import get_logger
from sync.engine import StreamResult
from sync.quarantine import pending_counts
from sync.status import stream_statuses
from sync.store import Store

log = get_logger("service.metrics")

# Each counter would otherwise carry a second series, "…_created", with its creation time:
# twice the series for nothing Prometheus itself uses.
disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "kros_adapter"
Clock = Callable[[], datetime]

FORWARDING_HEADERS = frozenset({b"forwarded", b"x-forwarded-for", b"x-real-ip"})
"""A request that came through a proxy is not a loopback request, whatever its socket says."""

WEB_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Dense around 100 ms: SPEC's bar for a marks page is a p95 under it."""


class ServiceMetrics:
    """The service's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        stream = ["school", "stream"]
        self.sync_runs = Counter(
            f"{PREFIX}_sync_runs",
            "Stream runs by outcome: succeeded, failed, or skipped (another run held the lease).",
            [*stream, "status"],
            registry=self.registry,
        )
        self.records_read = self._records("read", "Records read from KROS.", stream)
        self.records_written = self._records(
            "written", "Records inserted or changed in the store.", stream
        )
        self.records_tombstoned = self._records(
            "tombstoned", "Records marked deleted (tombstones and reconciliation).", stream
        )
        self.records_quarantined = self._records(
            "quarantined", "Records held in quarantine by a run.", stream
        )
        self.quarantine_rate = Gauge(
            f"{PREFIX}_quarantine_rate",
            "Share of a stream's records held in quarantine (held ÷ (stored + held)).",
            stream,
            registry=self.registry,
        )
        self.quarantine_alert = Gauge(
            f"{PREFIX}_quarantine_alert",
            "1 while a stream's quarantine rate is above sync.quarantine_alert_rate.",
            stream,
            registry=self.registry,
        )
        self.web_requests = Counter(
            f"{PREFIX}_web_requests",
            "HTTP requests to the web (cabinet, health, metrics) by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.web_latency = Histogram(
            f"{PREFIX}_web_request_duration_seconds",
            "Time to answer an HTTP request, to the last byte of the body.",
            ["method", "route"],
            buckets=WEB_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _records(self, what: str, documentation: str, labels: list[str]) -> Counter:
        return Counter(
            f"{PREFIX}_sync_records_{what}", documentation, labels, registry=self.registry
        )

    def observe_run(self, result: StreamResult, status: str) -> None:
        """Count one stream's run (``status``: succeeded, failed or skipped)."""
        labels = (result.school_id, result.stream)
        self.sync_runs.labels(*labels, status).inc()
        self.records_read.labels(*labels).inc(result.read)
        self.records_written.labels(*labels).inc(result.written)
        self.records_tombstoned.labels(*labels).inc(result.tombstoned)
        self.records_quarantined.labels(*labels).inc(result.quarantined)

    def watch_store(self, store: Store, school_ids: Sequence[str], clock: Clock) -> None:
        """Report each stream's lag from the store whenever Prometheus scrapes."""
        self.registry.register(_LagCollector(store, tuple(school_ids), clock))

    def watch_kros_requests(self, by_status: Callable[[], Mapping[int, int]]) -> None:
        """Report the KROS client's requests by HTTP status (its own running counts)."""
        self.registry.register(_KrosRequestsCollector(by_status))

    def render(self) -> bytes:
        """The text format Prometheus reads (blocking: collectors may read the store)."""
        return generate_latest(self.registry)


class _LagCollector(Collector):
    def __init__(self, store: Store, school_ids: tuple[str, ...], clock: Clock) -> None:
        self._store = store
        self._school_ids = school_ids
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        lag = GaugeMetricFamily(
            f"{PREFIX}_sync_lag_seconds",
            "Seconds since a stream's watermark (KROS's time of its last complete read).",
            labels=["school", "stream"],
        )
        try:
            with self._store.read() as connection:
                statuses = stream_statuses(connection, list(self._school_ids), self._clock())
        except Exception as exc:
            # A scrape must still answer with the other metrics; /readyz reports the store.
            log.warning("metrics.store_unreadable", error=str(exc))
            return [lag]
        for status in statuses:
            if status.lag_seconds is not None:
                lag.add_metric([status.school_id, status.stream], status.lag_seconds)
        return [lag]

    def describe(self) -> Iterable[Metric]:
        # Describing must not read the store (registration happens before it is ready).
        return [GaugeMetricFamily(f"{PREFIX}_sync_lag_seconds", "", labels=["school", "stream"])]


class _KrosRequestsCollector(Collector):
    def __init__(self, by_status: Callable[[], Mapping[int, int]]) -> None:
        self._by_status = by_status

    def collect(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            f"{PREFIX}_kros_requests",
            "HTTP requests to KROS by response status (retries and token requests included).",
            labels=["status"],
        )
        for status, count in sorted(dict(self._by_status()).items()):
            requests.add_metric([str(status)], count)
        return [requests]


# --- the quarantine rate and its alert --------------------------------------------------


class QuarantineWatch:
    """After each run: the share of each stream's records held in quarantine, as a gauge,
    and a ``quarantine.alert`` warning while it is above ``sync.quarantine_alert_rate``.

    The share is of everything the store holds for the stream (held ÷ (stored + held)),
    not of one run's reads: an incremental run that read ten records must not turn eight
    long-held ones into an 80 % alarm every few minutes.
    """

    def __init__(self, store: Store, metrics: ServiceMetrics, alert_rate: float) -> None:
        self._store = store
        self._metrics = metrics
        self._alert_rate = alert_rate
        self._known: set[tuple[str, str]] = set()

    async def check(self, results: Sequence[StreamResult]) -> None:
        changed = [result for result in results if self._may_have_changed(result)]
        if changed:
            rates = await asyncio.to_thread(self._rates, changed)
            self.record(rates)

    def _may_have_changed(self, result: StreamResult) -> bool:
        # Only a run that stored, held or released something can move the rate; every
        # stream is measured once at first so that the gauge exists from the start.
        moved = result.read or result.written or result.tombstoned or result.quarantined
        return bool(moved) or (result.school_id, result.stream) not in self._known

    def _rates(self, results: Sequence[StreamResult]) -> dict[tuple[str, str], float]:
        with self._store.read() as connection:
            held = pending_counts(connection)
            rates: dict[tuple[str, str], float] = {}
            for result in results:
                key = (result.school_id, result.stream)
                stored = _stored_rows(connection, result.school_id, result.stream)
                count = held.get(key, 0)
                rates[key] = count / (stored + count) if count else 0.0
        return rates

    def record(self, rates: Mapping[tuple[str, str], float]) -> None:
        """Set the gauges and log an alert for each stream above the rate."""
        for (school_id, stream), rate in rates.items():
            self._known.add((school_id, stream))
            alert = rate > self._alert_rate
            self._metrics.quarantine_rate.labels(school_id, stream).set(rate)
            self._metrics.quarantine_alert.labels(school_id, stream).set(1 if alert else 0)
            if alert:
                log.warning(
                    "quarantine.alert",
                    school=school_id,
                    stream=stream,
                    rate=round(rate, 4),
                    alert_rate=self._alert_rate,
                    hint="kros-adapter quarantine list",
                )


def _stored_rows(connection: Connection, school_id: str, stream: str) -> int:
    table = metadata.tables[mapping(stream).table]
    query = select(func.count()).where(table.c.school_id == school_id, table.c.deleted_at.is_(None))
    return int(connection.execute(query).scalar_one())


# --- /metrics --------------------------------------------------------------------------


def is_loopback_request(scope: Scope) -> bool:
    """From this machine, and not relayed by a proxy (whose own address may be loopback)."""
    client = scope.get("client")
    if not client:
        return False
    if any(name in FORWARDING_HEADERS for name, _value in scope.get("headers", ())):
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def metrics_endpoint(metrics: ServiceMetrics, token: str) -> Callable[[Request], Any]:
    """The ``/metrics`` handler: loopback, or ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode() if token else None

    async def endpoint(request: Request) -> Response:
        if not is_loopback_request(request.scope):
            given = request.headers.get("authorization", "").encode()
            if expected is None:
                return PlainTextResponse(
                    "metrics answer loopback only (set web.metrics_token for other hosts)\n",
                    status_code=403,
                )
            if not hmac.compare_digest(given, expected):
                return PlainTextResponse(
                    "a bearer token is required\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        body = await asyncio.to_thread(metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return endpoint


# --- web requests -----------------------------------------------------------------------


class WebMetricsMiddleware:
    """Counts every HTTP request and times it to the end of its body.

    The route label is the matched route's template (``/children/{id}/marks``) that
    Starlette leaves in the scope, never the raw path: ids in paths would make a time
    series per child, and invitation codes in paths would end up in /metrics.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = _route_label(scope, status)
            method = str(scope.get("method", ""))
            self.metrics.web_requests.labels(method, route, str(status)).inc()
            self.metrics.web_latency.labels(method, route).observe(time.perf_counter() - started)


def _route_label(scope: Scope, status: int) -> str:
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    # No template: a middleware below copied the scope (as ASGI allows), or nothing
    # matched. Never the raw path: it may hold an invitation code or a child's id.
    return "unmatched" if status == 404 else "other"
