"""The sync side of the command line: wiring configuration to the store and the engine,
and rendering what they report. Commands in :mod:`service.cli` stay thin."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from kros_adapter.client import KrosClient
from publish.export import export_jsonl
from service.config import AppConfig
from sync.archive import ReplayCounts
from sync.archive import replay as replay_archive
from sync.batches import retry_quarantined
from sync.engine import RunSummary, StreamResult, SyncEngine, SyncOptions
from sync.leases import new_holder
from sync.quarantine import pending
from sync.status import StreamStatus, stream_statuses
from sync.store import Store
from sync.streams import STREAMS, select_streams

log = structlog.get_logger("service.sync")


@contextmanager
def open_store(config: AppConfig) -> Iterator[Store]:
    store = Store(config.store.url)
    try:
        store.upgrade()
        yield store
    finally:
        store.dispose()


def sync_options(
    config: AppConfig, *, full: bool, streams: Sequence[str], school: str | None
) -> SyncOptions:
    select_streams(list(streams))  # an unknown stream is a usage error before any work
    schools = [school] if school else list(config.kros.school_ids)
    return SyncOptions(
        school_ids=schools,
        streams=tuple(streams),
        full=full,
        overlap_seconds=config.kros.overlap_seconds,
        lease_seconds=config.sync.lease_seconds,
        archive_days=config.sync.raw_payload_retention_days,
    )


def run_sync(config: AppConfig, options: SyncOptions, console: Console) -> RunSummary:
    """One sync now, with a progress bar on a terminal and log lines otherwise."""
    with open_store(config) as store:
        return asyncio.run(_run(config, store, options, console))


async def _run(
    config: AppConfig, store: Store, options: SyncOptions, console: Console
) -> RunSummary:
    async with KrosClient(config.kros_client_settings()) as client:
        if not console.is_terminal:
            engine = SyncEngine(store, client, progress=_log_page)
            return await engine.run(options)
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.fields[records]:>9,} записей"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            tasks: dict[tuple[str, str], TaskID] = {}
            streams = select_streams(list(options.streams))
            for school_id in options.school_ids:
                for stream in streams:
                    tasks[(school_id, stream.name)] = progress.add_task(
                        f"{school_id} {stream.name}", total=None, records=0
                    )

            def advance(result: StreamResult, records: int) -> None:
                progress.update(tasks[(result.school_id, result.stream)], records=result.read)

            summary = await SyncEngine(store, client, progress=advance).run(options)
            for result in summary.streams:
                progress.update(tasks[(result.school_id, result.stream)], total=1, completed=1)
            return summary


def _log_page(result: StreamResult, records: int) -> None:
    log.info("sync.page", school=result.school_id, stream=result.stream, records=records)


def summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"Синхронизация: {summary.requests} запросов, {summary.seconds:.1f} с")
    for column in ("school", "stream", "mode", "read", "written", "tombstoned", "quarantined"):
        table.add_column(column, justify="right" if column in _NUMERIC else "left")
    table.add_column("result")
    for r in summary.streams:
        table.add_row(
            r.school_id,
            r.stream,
            r.mode,
            f"{r.read:,}",
            f"{r.written:,}",
            f"{r.tombstoned:,}",
            f"{r.quarantined:,}",
            r.error or "ok",
        )
    table.add_row(
        "",
        "total",
        "",
        f"{summary.records_read:,}",
        f"{sum(r.written for r in summary.streams):,}",
        f"{sum(r.tombstoned for r in summary.streams):,}",
        f"{sum(r.quarantined for r in summary.streams):,}",
        f"{len(summary.failed)} failed" if summary.failed else "ok",
    )
    return table


_NUMERIC = {"read", "written", "tombstoned", "quarantined"}


def status_rows(config: AppConfig) -> list[StreamStatus]:
    with open_store(config) as store, store.read() as connection:
        return stream_statuses(connection, list(config.kros.school_ids), datetime.now(UTC))


def status_table(statuses: list[StreamStatus], alert_rate: float) -> Table:
    table = Table(title="Состояние синхронизации")
    for column in ("school", "stream", "last run", "watermark", "lag", "quarantined", "note"):
        table.add_column(column)
    for s in statuses:
        note = []
        if s.last_error:
            note.append(s.last_error)
        if s.in_progress:
            note.append("listing in progress (resumes on next run)")
        if s.quarantined and s.quarantine_rate > alert_rate:
            note.append(f"ALERT: quarantine rate {s.quarantine_rate:.1%}")
        table.add_row(
            s.school_id,
            s.stream,
            f"{s.last_status} {s.last_finished_at:%Y-%m-%d %H:%M}"
            if s.last_finished_at
            else (s.last_status or "never"),
            f"{s.watermark:%Y-%m-%d %H:%M:%S}" if s.watermark else "—",
            _lag(s.lag_seconds),
            str(s.quarantined),
            "; ".join(note),
        )
    return table


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def export(config: AppConfig, since_version: int, out: object) -> int:
    with open_store(config) as store, store.read() as connection:
        return export_jsonl(connection, out, since_version=since_version)  # type: ignore[arg-type]


def quarantine_rows(config: AppConfig, school: str | None, stream: str | None) -> Table:
    with open_store(config) as store, store.read() as connection:
        rows = pending(connection, school_id=school, stream=stream)
    table = Table(title=f"Карантин: {len(rows)} записей")
    for column in ("school", "stream", "id", "reason", "attempts", "last seen"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["school_id"],
            row["stream"],
            row["source_id"],
            row["reason"],
            str(row["attempts"]),
            f"{row['last_seen_at']:%Y-%m-%d %H:%M}",
        )
    return table


def retry_quarantine(config: AppConfig) -> tuple[int, int]:
    """Re-normalize every held record after a mapping or dictionary fix."""
    released = still = 0
    with open_store(config) as store:
        for school_id in config.kros.school_ids:
            for stream in STREAMS:
                with store.write() as connection:
                    done, left = retry_quarantined(
                        connection, school_id, stream.name, datetime.now(UTC)
                    )
                released += done
                still += len(left)
    return released, still


def upgrade(config: AppConfig) -> str:
    with open_store(config):
        pass
    from schemas.migrate import current_revision

    return current_revision(config.store.url) or "none"


def replay(config: AppConfig, *, streams: Sequence[str], school: str | None) -> ReplayCounts:
    select_streams(list(streams))
    schools = [school] if school else list(config.kros.school_ids)
    with open_store(config) as store:
        return replay_archive(
            store,
            schools,
            streams,
            holder=new_holder(),
            now=datetime.now(UTC),
            lease_ttl=timedelta(seconds=config.sync.lease_seconds),
        )
