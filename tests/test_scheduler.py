"""service.scheduler: jobs per school and stream group, leases, resync, graceful stop.

The clock of the schedule is real (APScheduler's interval trigger at one second), but no
test sleeps: each waits on an asyncio.Event that a job listener sets, with a timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from schemas.tables import leases, sync_runs
from service.config import ScheduleSection
from service.metrics import QuarantineWatch, ServiceMetrics
from service.scheduler import (
    GROUP_STREAMS,
    JOURNAL_STREAMS,
    REFERENCE_STREAMS,
    SyncScheduler,
    job_id,
)
from sync.engine import RunSummary, StreamResult, SyncEngine, SyncOptions
from sync.store import Store
from sync.streams import STREAMS
from tests.job_outcomes import WAIT, Outcomes

TINY = SimulatorOptions(scale=0.05, seed=5, frozen_clock=True, rate_limit=False)

QUIET = ScheduleSection(journal_interval_seconds=3600, sync_on_start=False, stop_timeout_seconds=5)
"""A schedule that starts nothing by itself during a test: jobs are run or asked for."""


class FakeSync:
    """A stand-in for the engine: each run waits until the test releases it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.runs: list[SyncOptions] = []

    async def __call__(self, options: SyncOptions) -> RunSummary:
        self.runs.append(options)
        self.started.set()
        await self.release.wait()
        return RunSummary(streams=[StreamResult(options.school_ids[0], "marks", read=3)])


def scheduler_with(run_sync: FakeSync, schedule: ScheduleSection = QUIET) -> SyncScheduler:
    return SyncScheduler(schedule, ["sch-1", "sch-2"], SyncOptions(school_ids=[]), run_sync)


# --- the groups and the jobs ---------------------------------------------------------------


def test_the_groups_split_every_stream_once() -> None:
    assert set(REFERENCE_STREAMS) | set(JOURNAL_STREAMS) == {stream.name for stream in STREAMS}
    assert not set(REFERENCE_STREAMS) & set(JOURNAL_STREAMS)
    assert REFERENCE_STREAMS == (
        "school",
        "academic-years",
        "subjects",
        "teachers",
        "periods",
        "holidays",
        "classes",
        "groups",
    )
    assert GROUP_STREAMS["all"] == ()  # the engine's "every stream"


async def test_each_school_gets_a_reference_and_a_journal_job_that_never_overlap() -> None:
    scheduler = scheduler_with(FakeSync())
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler._scheduler.get_jobs()}  # type: ignore[union-attr]
        assert set(jobs) == {
            job_id(school, group)
            for school in ("sch-1", "sch-2")
            for group in ("reference", "journal")
        }
        for job in jobs.values():
            assert job.max_instances == 1
            assert job.coalesce is True
            assert job.misfire_grace_time == 300
        reference = jobs[job_id("sch-1", "reference")]
        assert "hour='3'" in str(reference.trigger) and "minute='30'" in str(reference.trigger)
        assert jobs[job_id("sch-1", "journal")].trigger.interval == timedelta(hours=1)
    finally:
        await scheduler.stop(0)


async def test_sync_on_start_runs_every_stream_of_every_school_once() -> None:
    fake = FakeSync()
    fake.release.set()
    schedule = QUIET.model_copy(update={"sync_on_start": True})
    scheduler = scheduler_with(fake, schedule)
    outcomes = Outcomes()
    scheduler.add_listener(outcomes)
    scheduler.start()
    try:
        first = await outcomes.wait_for("start")
        assert first.group == "all"
        await outcomes.wait_until(lambda: len(outcomes.seen) == 2)
    finally:
        await scheduler.stop(5)
    assert sorted(options.school_ids[0] for options in fake.runs) == ["sch-1", "sch-2"]
    assert all(options.streams == () for options in fake.runs)


async def test_the_interval_job_runs_on_its_own() -> None:
    fake = FakeSync()
    fake.release.set()
    schedule = QUIET.model_copy(update={"journal_interval_seconds": 1})
    scheduler = scheduler_with(fake, schedule)
    outcomes = Outcomes()
    scheduler.add_listener(outcomes)
    scheduler.start()
    try:
        outcome = await outcomes.wait_for("schedule", "journal")
    finally:
        await scheduler.stop(5)
    assert outcome.results[0].read == 3
    assert fake.runs[0].streams == JOURNAL_STREAMS


# --- resync ------------------------------------------------------------------------------


async def test_a_resync_request_from_another_thread_runs_every_stream_now() -> None:
    fake = FakeSync()
    fake.release.set()
    scheduler = scheduler_with(fake)
    outcomes = Outcomes()
    scheduler.add_listener(outcomes)
    scheduler.start()
    try:
        # The cabinet's handlers may run in a thread pool.
        thread = threading.Thread(target=scheduler.request_resync, args=("sch-2",))
        thread.start()
        thread.join()
        outcome = await outcomes.wait_for("resync")
    finally:
        await scheduler.stop(5)
    assert (outcome.school_id, outcome.group) == ("sch-2", "all")


async def test_resync_of_every_school_and_of_an_unknown_one() -> None:
    fake = FakeSync()
    fake.release.set()
    scheduler = scheduler_with(fake)
    outcomes = Outcomes()
    scheduler.add_listener(outcomes)
    scheduler.start()
    try:
        with pytest.raises(ValueError, match="sch-9"):
            scheduler.request_resync("sch-9")
        scheduler.request_resync(None)
        await outcomes.wait_until(lambda: len(outcomes.seen) == 2)
    finally:
        await scheduler.stop(5)
    assert sorted(outcome.school_id for outcome in outcomes.seen) == ["sch-1", "sch-2"]


# --- stopping ----------------------------------------------------------------------------


async def test_stop_waits_for_the_running_job_to_finish() -> None:
    fake = FakeSync()
    scheduler = scheduler_with(fake)
    outcomes = Outcomes()
    scheduler.add_listener(outcomes)
    scheduler.start()
    scheduler.request_resync("sch-1")
    await asyncio.wait_for(fake.started.wait(), WAIT)
    stopping = asyncio.create_task(scheduler.stop(WAIT))
    await asyncio.sleep(0)  # let stop() begin waiting before the run ends
    assert not stopping.done()
    fake.release.set()
    assert await asyncio.wait_for(stopping, WAIT) is True
    assert [outcome.cause for outcome in outcomes.seen] == ["resync"]
    assert outcomes.seen[0].error is None


async def test_stop_cancels_a_job_that_outlives_the_grace_time() -> None:
    fake = FakeSync()
    scheduler = scheduler_with(fake)
    scheduler.start()
    scheduler.request_resync("sch-1")
    await asyncio.wait_for(fake.started.wait(), WAIT)
    with capture_logs() as logs:
        assert await asyncio.wait_for(scheduler.stop(0.05), WAIT) is False
    assert any(line["event"] == "scheduler.stop_timeout" for line in logs)


async def test_no_job_starts_once_stopping() -> None:
    fake = FakeSync()
    scheduler = scheduler_with(fake)
    scheduler.start()
    await scheduler.stop(0)
    outcome = await scheduler.run_now("sch-1", "journal", "schedule")
    assert outcome.error == "the service is stopping" and fake.runs == []


# --- against the simulator: leases and quarantine -----------------------------------------


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
async def client(simulator: RunningSimulator) -> AsyncIterator[KrosClient]:
    settings = ClientSettings(
        base_url=simulator.base_url,
        client_id="school-1",
        client_secret="demo-secret",
        max_requests_per_second=1000,
    )
    async with KrosClient(settings) as client:
        yield client


def real_scheduler(
    store: Store, client: KrosClient, metrics: ServiceMetrics, alert_rate: float = 0.01
) -> SyncScheduler:
    watch = QuarantineWatch(store, metrics, alert_rate)
    return SyncScheduler(
        QUIET,
        ["sch-1"],
        SyncOptions(school_ids=[]),
        lambda options: SyncEngine(store, client).run(options),
        metrics=metrics,
        after_run=watch.check,
    )


async def test_a_stream_leased_by_another_process_is_skipped_not_failed(store, client) -> None:
    metrics = ServiceMetrics()
    scheduler = real_scheduler(store, client, metrics)
    first = await scheduler.run_now("sch-1", "all", "start")
    assert first.failed == () and first.error is None
    with store.write() as connection:
        connection.execute(
            leases.insert().values(
                school_id="sch-1",
                stream="marks",
                holder="другой-сервер:7:ab",
                run_id=12,
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
    with capture_logs() as logs:
        outcome = await scheduler.run_now("sch-1", "journal", "schedule")
    assert outcome.skipped == ("marks",)
    assert outcome.failed == () and outcome.error is None
    skipped = [line for line in logs if line["event"] == "sync.skipped"]
    assert skipped and skipped[0]["stream"] == "marks" and "другой-сервер" in skipped[0]["reason"]
    assert not [line for line in logs if line["log_level"] == "error"]
    summary = next(line for line in logs if line["event"] == "sync.run")
    assert summary["skipped"] == 1 and summary["failed"] == 0
    sample = metrics.registry.get_sample_value
    labels = {"school": "sch-1", "stream": "marks"}
    assert sample("kros_adapter_sync_runs_total", {**labels, "status": "skipped"}) == 1
    assert sample("kros_adapter_sync_runs_total", {**labels, "status": "failed"}) is None
    assert sample("kros_adapter_sync_runs_total", {**labels, "status": "succeeded"}) == 1
    with store.read() as connection:
        statuses = set(connection.execute(select(sync_runs.c.status)).scalars())
    assert statuses == {"succeeded"}  # a refused run leaves no row behind


async def test_a_quarantine_rate_above_the_alert_rate_warns_and_sets_the_gauge(
    store, client
) -> None:
    metrics = ServiceMetrics()
    scheduler = real_scheduler(store, client, metrics, alert_rate=0.0)
    with capture_logs() as logs:
        outcome = await scheduler.run_now("sch-1", "all", "start")
    assert outcome.error is None
    alerts = {line["stream"]: line for line in logs if line["event"] == "quarantine.alert"}
    assert "marks" in alerts and alerts["marks"]["log_level"] == "warning"
    assert 0 < alerts["marks"]["rate"] < 0.5
    sample = metrics.registry.get_sample_value
    labels = {"school": "sch-1", "stream": "marks"}
    assert sample("kros_adapter_quarantine_alert", labels) == 1
    assert sample("kros_adapter_quarantine_rate", labels) == pytest.approx(
        alerts["marks"]["rate"], abs=1e-4
    )
    assert sample("kros_adapter_quarantine_alert", {"school": "sch-1", "stream": "school"}) == 0
