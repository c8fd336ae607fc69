"""The service's sync schedule: APScheduler jobs per school and stream group.

For every school, two jobs (``[schedule]``):

* ``sync:<school>:reference`` — the reference data (the school, academic years, subjects,
  teachers, periods, holidays, classes, groups), nightly by cron;
* ``sync:<school>:journal`` — everything else, every few minutes;

plus, once, ``sync:<school>:start`` (every stream, when the service starts) and
``sync:<school>:resync`` (every stream, when an administrator presses the button).

Each job has ``max_instances=1`` and ``coalesce=True``: a job still running when its next
time comes is not started twice, and runs missed while the service was busy or stopped
fold into one (within ``misfire_grace_seconds``). The jobs of one school also wait for
each other in this process, so a resync never races the journal job for leases. Across
processes the store's leases decide: a stream another process is syncing (say a
``kros-adapter sync`` by hand) is *skipped* — logged and counted as such, not as an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from kros_adapter.timestamps import REGION_TZ
from service.config import ScheduleSection
from service.logging import get_logger
from service.metrics import ServiceMetrics
from sync.engine import RunSummary, StreamResult, SyncOptions
from sync.streams import STREAMS

log = get_logger("service.scheduler")

StreamGroup = Literal["reference", "journal", "all"]
Cause = Literal["schedule", "start", "resync"]

REFERENCE_STREAMS: tuple[str, ...] = tuple(
    stream.name for stream in STREAMS if stream.kind in ("school", "reference")
)
JOURNAL_STREAMS: tuple[str, ...] = tuple(
    stream.name for stream in STREAMS if stream.kind in ("journal", "document")
)
GROUP_STREAMS: Mapping[StreamGroup, tuple[str, ...]] = {
    "reference": REFERENCE_STREAMS,
    "journal": JOURNAL_STREAMS,
    "all": (),  # the engine's "every stream", in phase order
}

SyncRunner = Callable[[SyncOptions], Awaitable[RunSummary]]
"""Runs one sync; the service's runs ``SyncEngine(store, client).run``."""

AfterRun = Callable[[Sequence[StreamResult]], Awaitable[None]]
OutcomeListener = Callable[["JobOutcome"], None]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What one job did: a result per stream, or the error that ended the whole run."""

    school_id: str
    group: StreamGroup
    cause: Cause
    results: tuple[StreamResult, ...] = ()
    error: str | None = None
    seconds: float = 0.0

    @property
    def skipped(self) -> tuple[str, ...]:
        """Streams another run was syncing (their lease was held)."""
        return tuple(result.stream for result in self.results if is_lease_refusal(result))

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(
            result.stream
            for result in self.results
            if result.error and not is_lease_refusal(result)
        )


def is_lease_refusal(result: StreamResult) -> bool:
    """The engine marks a stream whose lease another run holds with the mode "refused"."""
    return result.mode == "refused"


def job_id(school_id: str, name: str) -> str:
    return f"sync:{school_id}:{name}"


class SyncScheduler:
    """The sync jobs of every school on an :class:`AsyncIOScheduler`.

    Create it, then :meth:`start` it inside the running event loop; :meth:`stop` stops
    scheduling and waits for the running jobs.
    """

    def __init__(
        self,
        schedule: ScheduleSection,
        school_ids: Sequence[str],
        options: SyncOptions,
        run_sync: SyncRunner,
        *,
        metrics: ServiceMetrics | None = None,
        after_run: AfterRun | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(REGION_TZ),
    ) -> None:
        self._schedule = schedule
        self._school_ids = tuple(school_ids)
        self._options = options
        self._run_sync = run_sync
        self._metrics = metrics
        self._after_run = after_run
        self._clock = clock
        self._locks = {school_id: asyncio.Lock() for school_id in self._school_ids}
        self._running: set[asyncio.Task[object]] = set()
        self._listeners: list[OutcomeListener] = []
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def school_ids(self) -> tuple[str, ...]:
        return self._school_ids

    def add_listener(self, listener: OutcomeListener) -> None:
        """Call ``listener`` (in the event loop) after every job, with what it did."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Schedule every school's jobs; call from inside the running event loop."""
        self._loop = asyncio.get_running_loop()
        # APScheduler logs every job's start and end at INFO, and its own warnings for
        # missed or overlapping runs; this module logs those events as its own lines.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        schedule = self._schedule
        scheduler = AsyncIOScheduler(
            event_loop=self._loop,
            timezone=REGION_TZ,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(schedule.misfire_grace_seconds),
            },
        )
        for school_id in self._school_ids:
            scheduler.add_job(
                self._job,
                CronTrigger.from_crontab(schedule.reference_cron, timezone=REGION_TZ),
                args=[school_id, "reference", "schedule"],
                id=job_id(school_id, "reference"),
                name=f"{school_id} reference data",
            )
            scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=schedule.journal_interval_seconds, timezone=REGION_TZ),
                args=[school_id, "journal", "schedule"],
                id=job_id(school_id, "journal"),
                name=f"{school_id} journal",
            )
            if schedule.sync_on_start:
                scheduler.add_job(
                    self._job,
                    DateTrigger(run_date=self._clock()),
                    args=[school_id, "all", "start"],
                    id=job_id(school_id, "start"),
                    name=f"{school_id} every stream, at start",
                )
        scheduler.add_listener(
            self._on_scheduler_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info(
            "scheduler.started",
            schools=list(self._school_ids),
            journal_interval_seconds=schedule.journal_interval_seconds,
            reference_cron=schedule.reference_cron,
        )

    def next_runs(self) -> dict[str, datetime | None]:
        """Each scheduled job's next run time, by job id (for logs and tests)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    def request_resync(self, school_id: str | None) -> None:
        """Sync every stream of ``school_id`` (``None``: of every school) now.

        Safe to call from any thread: the web's handlers may run in a thread pool.
        """
        schools = self._school_ids if school_id is None else (school_id,)
        unknown = [school for school in schools if school not in self._locks]
        if unknown:
            raise ValueError(f"school {unknown[0]!r} is not served here (kros.school_ids)")
        if self._loop is None:
            raise RuntimeError("the scheduler has not been started")
        self._loop.call_soon_threadsafe(self._add_resync, schools)

    def _add_resync(self, schools: Sequence[str]) -> None:
        if self._stopping or self._scheduler is None:
            log.info("sync.resync_ignored", reason="the service is stopping")
            return
        for school_id in schools:
            self._scheduler.add_job(
                self._job,
                DateTrigger(run_date=self._clock()),
                args=[school_id, "all", "resync"],
                id=job_id(school_id, "resync"),
                name=f"{school_id} resync",
                replace_existing=True,  # a second press before it starts is the same resync
            )
            log.info("sync.resync_requested", school=school_id)

    async def run_now(self, school_id: str, group: StreamGroup, cause: Cause) -> JobOutcome:
        """Run one job in the caller's task, outside the schedule (tests, the demo)."""
        return await self._job(school_id, group, cause)

    async def stop(self, grace_seconds: float) -> bool:
        """Stop scheduling and wait up to ``grace_seconds`` for running jobs to finish.

        Jobs still running then are cancelled: the page transaction in flight still
        commits or rolls back whole in its thread, and the next run resumes from the last
        committed page. True when every job finished by itself.
        """
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        running = set(self._running)
        finished = True
        if running:
            log.info("scheduler.waiting", jobs=len(running), grace_seconds=grace_seconds)
            _done, pending = await asyncio.wait(running, timeout=grace_seconds)
            if pending:
                finished = False
                log.warning("scheduler.stop_timeout", cancelled=len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        log.info("scheduler.stopped", finished=finished)
        return finished

    # ------------------------------------------------------------------ the job

    async def _job(self, school_id: str, group: StreamGroup, cause: Cause) -> JobOutcome:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            async with self._locks[school_id]:
                if self._stopping:
                    outcome = JobOutcome(school_id, group, cause, error="the service is stopping")
                    log.info("sync.not_started", school=school_id, group=group, cause=cause)
                else:
                    outcome = await self._sync(school_id, group, cause)
        finally:
            if task is not None:
                self._running.discard(task)
        for listener in self._listeners:
            listener(outcome)
        return outcome

    async def _sync(self, school_id: str, group: StreamGroup, cause: Cause) -> JobOutcome:
        started = time.perf_counter()
        options = replace(self._options, school_ids=[school_id], streams=GROUP_STREAMS[group])
        try:
            summary = await self._run_sync(options)
        except Exception as exc:
            # The engine lets through only what ends a whole run (a refused account, a
            # store that is gone); the schedule goes on and tries again next time.
            log.error("sync.run_failed", school=school_id, group=group, cause=cause, exc_info=True)
            return JobOutcome(
                school_id,
                group,
                cause,
                error=f"{type(exc).__name__}: {exc}",
                seconds=time.perf_counter() - started,
            )
        outcome = JobOutcome(
            school_id,
            group,
            cause,
            results=tuple(summary.streams),
            seconds=time.perf_counter() - started,
        )
        self._report(outcome, summary.requests)
        if self._after_run is not None:
            try:
                await self._after_run(summary.streams)
            except Exception:
                log.error("sync.after_run_failed", school=school_id, exc_info=True)
        return outcome

    def _report(self, outcome: JobOutcome, requests: int) -> None:
        for result in outcome.results:
            if is_lease_refusal(result):
                status = "skipped"
                log.info(
                    "sync.skipped",
                    school=result.school_id,
                    stream=result.stream,
                    reason=result.error,
                )
            elif result.error:
                status = "failed"
                log.error(
                    "sync.stream_failed",
                    school=result.school_id,
                    stream=result.stream,
                    error=result.error,
                )
            else:
                status = "succeeded"
            if self._metrics is not None:
                self._metrics.observe_run(result, status)
        results = outcome.results
        log.info(
            "sync.run",
            school=outcome.school_id,
            group=outcome.group,
            cause=outcome.cause,
            streams=len(results),
            read=sum(result.read for result in results),
            written=sum(result.written for result in results),
            tombstoned=sum(result.tombstoned for result in results),
            quarantined=sum(result.quarantined for result in results),
            skipped=len(outcome.skipped),
            failed=len(outcome.failed),
            requests=requests,
            seconds=round(outcome.seconds, 3),
        )

    def _on_scheduler_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("sync.skipped", job=event.job_id, reason="the previous run is still going")
        elif event.code == EVENT_JOB_MISSED:
            log.warning("sync.missed", job=event.job_id, scheduled=str(event.scheduled_run_time))
        else:
            log.error("sync.job_error", job=event.job_id, error=repr(event.exception))
