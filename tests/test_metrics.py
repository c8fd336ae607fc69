"""service.metrics and service.health through the composed ASGI app: who may read
/metrics, what /readyz says, how requests are counted. No server: httpx's ASGI transport
plays the client, from whatever address a test names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from structlog.testing import capture_logs

from schemas.tables import checkpoints
from service.metrics import QuarantineWatch, ServiceMetrics, is_loopback_request
from service.serve import compose_app, ops_paths
from sync.store import Store

TOKEN = "t" * 40


async def _who(request: Request) -> PlainTextResponse:
    client = request.client.host if request.client else "?"
    forwarded = request.headers.get("x-forwarded-for", "")
    return PlainTextResponse(f"{request.url.path} {client} {request.url.scheme} {forwarded}")


CABINET = Starlette(routes=[Route("/{rest:path}", _who)])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    yield store
    store.dispose()


def app_for(
    store: Store,
    metrics: ServiceMetrics | None = None,
    *,
    token: str = "",
    base_path: str = "/",
) -> ASGIApp:
    return compose_app(
        CABINET,
        store=store,
        metrics=metrics or ServiceMetrics(),
        base_path=base_path,
        metrics_token=token,
    )


def client(app: ASGIApp, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://adapter.school")


# --- who may read /metrics ------------------------------------------------------------------


async def test_metrics_answer_loopback(store) -> None:
    async with client(app_for(store)) as web:
        response = await web.get("/metrics")
    assert response.status_code == 200
    assert "# TYPE kros_adapter_sync_runs_total counter" in response.text


@pytest.mark.parametrize("host", ["::1", "127.0.0.2"])
async def test_every_loopback_address_is_loopback(store, host) -> None:
    async with client(app_for(store), host) as web:
        assert (await web.get("/metrics")).status_code == 200


async def test_metrics_refuse_other_hosts_without_a_configured_token(store) -> None:
    async with client(app_for(store), "192.0.2.10") as web:
        response = await web.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403 and "web.metrics_token" in response.text


async def test_metrics_take_the_configured_bearer_token_from_other_hosts(store) -> None:
    async with client(app_for(store, token=TOKEN), "192.0.2.10") as web:
        missing = await web.get("/metrics")
        wrong = await web.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        right = await web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == 200


async def test_a_request_relayed_by_a_local_proxy_is_not_loopback(store) -> None:
    # A reverse proxy on the same machine connects from 127.0.0.1: without this check,
    # /metrics would be public through it.
    async with client(app_for(store)) as web:
        response = await web.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 403


def test_is_loopback_request_reads_the_client_and_the_headers() -> None:
    assert is_loopback_request({"client": ("127.0.0.1", 1), "headers": []})
    assert not is_loopback_request({"client": ("10.0.0.1", 1), "headers": []})
    assert not is_loopback_request({"client": None, "headers": []})
    assert not is_loopback_request({"client": ("unix-socket", 1), "headers": []})
    assert not is_loopback_request(
        {"client": ("127.0.0.1", 1), "headers": [(b"forwarded", b"for=1.2.3.4")]}
    )


# --- proxies and the base path ---------------------------------------------------------------


async def test_forwarded_headers_reach_the_cabinet_untouched(store) -> None:
    # The cabinet alone decides whom to believe (web.trusted_proxies): the service must
    # neither rewrite the client nor drop the headers on the way.
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    async with client(app_for(store), "10.1.2.3") as web:
        response = await web.get("/page", headers=headers)
    assert response.text == "/page 10.1.2.3 http 198.51.100.7"


async def test_health_answers_at_the_root_and_under_the_base_path(store) -> None:
    assert ops_paths("/ej/") == (
        "/healthz",
        "/readyz",
        "/metrics",
        "/ej/healthz",
        "/ej/readyz",
        "/ej/metrics",
    )
    async with client(app_for(store, base_path="/ej/")) as web:
        assert (await web.get("/healthz")).status_code == 200
        assert (await web.get("/ej/healthz")).status_code == 200
        assert (await web.get("/ej/readyz")).status_code == 200
        # Everything else, the base path included, is the cabinet's.
        assert (await web.get("/ej/marks")).text.startswith("/ej/marks ")


# --- readiness ---------------------------------------------------------------------------------


async def test_readyz_is_503_for_a_store_that_is_not_migrated(tmp_path) -> None:
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        async with client(app_for(empty)) as web:
            healthz = await web.get("/healthz")
            readyz = await web.get("/readyz")
    finally:
        empty.dispose()
    assert healthz.status_code == 200  # alive all the same
    assert readyz.status_code == 503
    assert readyz.json()["status"] == "not ready"
    assert "kros-adapter db upgrade" in readyz.json()["reason"]


async def test_readyz_is_503_for_a_store_that_does_not_answer(tmp_path) -> None:
    gone = Store(f"sqlite:///{tmp_path / 'no-such-dir' / 'store.db'}")
    try:
        async with client(app_for(gone)) as web:
            readyz = await web.get("/readyz")
    finally:
        gone.dispose()
    assert readyz.status_code == 503
    assert readyz.json()["reason"] == "the store does not answer: StoreError"


# --- what is counted -------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template_and_timed(store) -> None:
    metrics = ServiceMetrics()
    async with client(app_for(store, metrics)) as web:
        await web.get("/children/7/marks")
        await web.get("/children/8/marks")
        await web.get("/healthz")
    sample = metrics.registry.get_sample_value
    count = {"method": "GET", "route": "/{rest:path}", "status": "200"}
    assert sample("kros_adapter_web_requests_total", count) == 2  # never one series per child
    assert sample("kros_adapter_web_requests_total", {**count, "route": "/healthz"}) == 1
    latency = {"method": "GET", "route": "/{rest:path}"}
    assert sample("kros_adapter_web_request_duration_seconds_count", latency) == 2


async def test_the_lag_is_read_from_the_store_when_scraped(store) -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    with store.write() as connection:
        connection.execute(
            checkpoints.insert().values(
                school_id="sch-1",
                stream="marks",
                watermark=now - timedelta(seconds=90),
                updated_at=now,
            )
        )
    metrics = ServiceMetrics()
    metrics.watch_store(store, ["sch-1"], lambda: now)
    metrics.watch_kros_requests(lambda: {200: 5, 429: 1})
    sample = metrics.registry.get_sample_value
    assert sample("kros_adapter_sync_lag_seconds", {"school": "sch-1", "stream": "marks"}) == 90
    assert sample("kros_adapter_sync_lag_seconds", {"school": "sch-1", "stream": "lessons"}) is None
    assert sample("kros_adapter_kros_requests_total", {"status": "429"}) == 1


def test_a_store_that_fails_leaves_the_other_metrics_readable(tmp_path) -> None:
    gone = Store(f"sqlite:///{tmp_path / 'no-such-dir' / 'store.db'}")
    metrics = ServiceMetrics()
    metrics.watch_store(gone, ["sch-1"], lambda: datetime.now(UTC))
    try:
        with capture_logs() as logs:
            text = metrics.render().decode()
    finally:
        gone.dispose()
    assert "kros_adapter_sync_runs_total" in text
    assert logs[0]["event"] == "metrics.store_unreadable"


def test_quarantine_watch_sets_the_gauges_and_warns_above_the_rate(store) -> None:
    metrics = ServiceMetrics()
    watch = QuarantineWatch(store, metrics, alert_rate=0.01)
    with capture_logs() as logs:
        watch.record({("sch-1", "marks"): 0.05, ("sch-1", "lessons"): 0.001})
    sample = metrics.registry.get_sample_value
    assert sample("kros_adapter_quarantine_alert", {"school": "sch-1", "stream": "marks"}) == 1
    assert sample("kros_adapter_quarantine_alert", {"school": "sch-1", "stream": "lessons"}) == 0
    assert sample("kros_adapter_quarantine_rate", {"school": "sch-1", "stream": "marks"}) == 0.05
    assert [(line["event"], line["stream"], line["log_level"]) for line in logs] == [
        ("quarantine.alert", "marks", "warning")
    ]
