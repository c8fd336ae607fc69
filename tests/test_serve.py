"""service.serve: the whole service in-process — schedule, web, health, metrics, stop.

The cabinet is a stand-in Starlette app here (``StandInCabinet``), so that these tests
exercise the service's part: what it hands the cabinet, and everything around it.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from schemas.tables import sync_runs
from service.config import AppConfig, GradingSection
from service.errors import ServiceError
from service.serve import Service, WebParts, _uvicorn_config, listen_socket
from sync.store import Store
from tests.job_outcomes import WAIT, Outcomes

TINY = SimulatorOptions(scale=0.05, seed=5, frozen_clock=True, rate_limit=False)


class StandInCabinet:
    """A tiny cabinet: records what the service handed it; ``POST /resync`` presses the
    administrator's button."""

    def __init__(self) -> None:
        self.parts: WebParts | None = None

    def __call__(self, parts: WebParts) -> Starlette:
        self.parts = parts

        async def home(_request: Request) -> PlainTextResponse:
            return PlainTextResponse("кабинет")

        async def marks(request: Request) -> PlainTextResponse:
            return PlainTextResponse(f"оценки {request.path_params['child']}")

        async def resync(_request: Request) -> PlainTextResponse:
            parts.request_resync("sch-1")
            return PlainTextResponse("принято", status_code=202)

        return Starlette(
            routes=[
                Route("/", home),
                Route("/children/{child}/marks", marks),
                Route("/resync", resync, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        yield running


def service_config(tmp_path: Path, base_url: str, **sections: dict[str, Any]) -> AppConfig:
    data: dict[str, Any] = {
        "kros": {
            "base_url": base_url,
            "client_id": "school-1",
            "client_secret": "demo-secret",
            "school_ids": ["sch-1"],
            "max_requests_per_second": 1000,
        },
        "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "schedule": {"journal_interval_seconds": 1, "stop_timeout_seconds": 30},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return AppConfig.model_validate(data)


@dataclass
class Running:
    service: Service
    url: str
    outcomes: Outcomes
    cabinet: StandInCabinet
    stop: asyncio.Event
    task: asyncio.Task[bool]


@asynccontextmanager
async def serving(config: AppConfig) -> AsyncIterator[Running]:
    """The service on a free loopback port until the block ends; then stopped and checked."""
    sock = listen_socket("127.0.0.1", 0)
    cabinet = StandInCabinet()
    service = Service(config, web_app=cabinet, sock=sock)
    outcomes = Outcomes()
    service.on_job_done(outcomes)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    ready = asyncio.create_task(service.ready.wait())
    await asyncio.wait({ready, task}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what stopped it
    assert ready.done(), "the service did not become ready"
    running = Running(service, service.url.rstrip("/"), outcomes, cabinet, stop, task)
    try:
        yield running
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.shield(task), WAIT)


def running_rows(config: AppConfig) -> list[tuple[str, str, str]]:
    store = Store(config.store.url)
    try:
        with store.read() as connection:
            rows = connection.execute(
                select(sync_runs.c.school_id, sync_runs.c.stream, sync_runs.c.status)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        store.dispose()


async def test_serve_syncs_on_start_and_on_schedule_then_stops_cleanly(tmp_path, simulator):
    config = service_config(tmp_path, simulator.base_url)
    async with serving(config) as running:
        start = await running.outcomes.wait_for("start")
        scheduled = await running.outcomes.wait_for("schedule", "journal")
        async with httpx.AsyncClient(base_url=running.url) as web:
            assert (await web.get("/")).text == "кабинет"
    assert running.task.result() is True  # every sync finished by itself
    assert start.group == "all" and not start.failed and start.error is None
    assert {result.stream for result in scheduled.results} >= {"marks", "lessons"}
    rows = running_rows(config)
    assert rows and {status for _school, _stream, status in rows} == {"succeeded"}
    assert {stream for _school, stream, _status in rows} >= {"school", "marks", "exam-results"}


async def test_the_cabinet_gets_the_services_settings(tmp_path, simulator):
    config = service_config(
        tmp_path,
        simulator.base_url,
        web={"stale_after_seconds": 600, "secure_cookies": True, "threads": 3},
        grading={"grade_5_from": 4.6},
        schedule={"sync_on_start": False, "journal_interval_seconds": 3600},
    )
    async with serving(config) as running:
        parts = running.cabinet.parts
        # Pages render in anyio's thread pool, sized by web.threads.
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 3
    assert parts is not None
    assert parts.store_url == config.store.url
    assert parts.stale_after_seconds == 600 and parts.secure_cookies is True
    assert parts.grading.rules().thresholds[0] == (5, 4.6)
    assert len(parts.session_secret) >= 32
    assert (tmp_path / "store.db.session-secret").read_text().strip() == parts.session_secret


async def test_the_resync_button_runs_every_stream_at_once(tmp_path, simulator):
    config = service_config(
        tmp_path,
        simulator.base_url,
        schedule={"sync_on_start": False, "journal_interval_seconds": 3600},
    )
    async with serving(config) as running:
        async with httpx.AsyncClient(base_url=running.url) as web:
            assert (await web.post("/resync")).status_code == 202
        outcome = await running.outcomes.wait_for("resync")
    assert outcome.group == "all" and outcome.error is None
    assert len(outcome.results) == 21


async def test_health_readiness_and_metrics_of_the_running_service(tmp_path, simulator):
    config = service_config(tmp_path, simulator.base_url)
    async with serving(config) as running:
        await running.outcomes.wait_for("start")
        async with httpx.AsyncClient(base_url=running.url) as web:
            assert (await web.get("/healthz")).json() == {"status": "ok"}
            ready = await web.get("/readyz")
            await web.get("/children/42/marks")
            metrics = await web.get("/metrics")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    # Prometheus' text format sorts the labels of a sample by name.
    assert 'kros_adapter_sync_runs_total{school="sch-1",status="succeeded",stream="marks"}' in text
    assert 'kros_adapter_sync_lag_seconds{school="sch-1",stream="marks"}' in text
    assert 'kros_adapter_kros_requests_total{status="200"}' in text
    assert 'kros_adapter_sync_records_read_total{school="sch-1",stream="marks"}' in text
    assert 'kros_adapter_quarantine_rate{school="sch-1",stream="marks"}' in text
    assert (
        'kros_adapter_web_requests_total{method="GET",route="/children/{child}/marks",'
        'status="200"} 1.0'
    ) in text
    assert 'kros_adapter_web_request_duration_seconds_bucket{le="0.1",method="GET"' in text


async def test_a_busy_port_is_a_service_error_naming_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceError, match=f"127.0.0.1:{port}.*web.port"):
            listen_socket("127.0.0.1", port)


@pytest.mark.slow
async def test_a_cli_sync_while_serving_never_runs_a_stream_twice_at_once(tmp_path, simulator):
    """The manual `kros-adapter sync` in another process meets the service's leases: each
    side syncs or skips a stream, and no stream ever has two runs at once."""
    # The service reads slowly (4 requests/s, a few seconds for every stream), so the
    # CLI's sync meets its leases on the way.
    config = service_config(tmp_path, simulator.base_url, kros={"max_requests_per_second": 4})
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[kros]
base_url = "{simulator.base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
max_requests_per_second = 1000

[store]
url = "{config.store.url}"
""",
        encoding="utf-8",
    )
    executable = str(Path(sys.executable).with_name("kros-adapter"))
    async with serving(config) as running:
        cli = await asyncio.create_subprocess_exec(
            executable,
            "--config",
            str(path),
            "sync",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await asyncio.wait_for(cli.communicate(), WAIT)
        seen = len(running.outcomes.seen)
        await running.outcomes.wait_until(lambda: len(running.outcomes.seen) > seen)
    skipped = [stream for outcome in running.outcomes.seen for stream in outcome.skipped]
    assert cli.returncode in (0, 1), err.decode()
    if cli.returncode == 1:
        assert "is being synced by" in err.decode().strip().splitlines()[-1]
    assert cli.returncode == 1 or skipped, "the two syncs never met: the test proved nothing"
    runs: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for school, stream, status, started, finished in all_runs(config):
        assert status == "succeeded"
        runs.setdefault((school, stream), []).append((started, finished))
    assert max(len(spans) for spans in runs.values()) >= 2
    for key, spans in runs.items():
        spans.sort()
        for (_start, end), (next_start, _end) in itertools.pairwise(spans):
            assert next_start >= end, f"two runs of {key} overlapped"


def all_runs(config: AppConfig) -> list[tuple[str, str, str, datetime, datetime]]:
    store = Store(config.store.url)
    try:
        with store.read() as connection:
            query = select(
                sync_runs.c.school_id,
                sync_runs.c.stream,
                sync_runs.c.status,
                sync_runs.c.started_at,
                sync_runs.c.finished_at,
            )
            return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]
    finally:
        store.dispose()


def test_uvicorn_believes_no_forwarded_header_itself():
    # uvicorn's default would take X-Forwarded-For from any request of 127.0.0.1; the
    # cabinet decides from web.trusted_proxies instead.
    config = _uvicorn_config(StandInCabinet()(_parts()))
    assert config.proxy_headers is False
    assert config.access_log is False and config.log_config is None


def _parts() -> WebParts:
    async def fetch(_school: str, _url: str) -> tuple[bytes, str]:
        return b"", "text/plain"

    return WebParts(
        store_url="sqlite://",
        session_secret="s" * 32,
        base_path="/",
        secure_cookies=False,
        trusted_proxies=(),
        stale_after_seconds=900,
        grading=GradingSection(),
        request_resync=lambda _school: None,
        fetch_attachment=fetch,
    )


async def test_the_cabinet_fetches_attachments_with_the_services_kros_client(tmp_path, simulator):
    async with httpx.AsyncClient(base_url=simulator.base_url) as sim:
        dump = (await sim.get("/_sim/dump", params={"school": "sch-1"})).json()
    url = next(file["url"] for item in dump["homework"] for file in item["attachments"])
    config = service_config(
        tmp_path,
        simulator.base_url,
        schedule={"sync_on_start": False, "journal_interval_seconds": 3600},
    )
    async with serving(config) as running:
        parts = running.cabinet.parts
        assert parts is not None
        content, content_type = await parts.fetch_attachment("sch-1", url)
    assert content and content_type


async def test_a_cabinet_that_cannot_start_is_a_service_error(tmp_path, simulator):
    @asynccontextmanager
    async def broken(_app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("the templates are missing")
        yield

    config = service_config(tmp_path, simulator.base_url, schedule={"sync_on_start": False})
    service = Service(
        config,
        web_app=lambda _parts: Starlette(lifespan=broken),
        sock=listen_socket("127.0.0.1", 0),
    )
    with pytest.raises(ServiceError, match="the web did not start"):
        await asyncio.wait_for(service.run(asyncio.Event()), WAIT)
    assert service.scheduler is not None and service.scheduler.next_runs() == {}


@pytest.mark.postgres
async def test_serve_on_postgresql_with_a_configured_session_secret(
    tmp_path, simulator, postgres_url
):
    config = service_config(
        tmp_path,
        simulator.base_url,
        store={"url": postgres_url},
        web={"session_secret": "p" * 40},
    )
    async with serving(config) as running:
        start = await running.outcomes.wait_for("start")
        async with httpx.AsyncClient(base_url=running.url) as web:
            assert (await web.get("/readyz")).status_code == 200
    assert start.error is None and not start.failed
    assert running.cabinet.parts is not None
    assert running.cabinet.parts.session_secret == "p" * 40
    assert {status for _school, _stream, status in running_rows(config)} == {"succeeded"}
