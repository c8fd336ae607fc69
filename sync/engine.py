"""The sync engine: every stream of every school, applied exactly once.

For each page KROS sends, one transaction renews the stream's lease (the fence against
a run that lost it), takes the version counter, applies the page's records, quarantines
the ones that cannot be stored, and moves the checkpoint. A run killed at any point
leaves the store at a page boundary, and the next run resumes from the checkpoint;
re-reading what was already applied changes nothing, so the end state is the one a
clean run reaches (SPEC.md, Quality bars).

Pages are fetched by the client while earlier ones are written (one writer thread, so
SQLite's single writer is never contended); the API's limits set the pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, insert, update

from kros_adapter.client import KrosClient
from kros_adapter.errors import KrosChangesExpiredError, KrosConfigurationError, KrosError
from kros_adapter.pagination import Page
from mappings.engine import mapping
from mappings.errors import RecordError
from schemas.tables import metadata, sync_runs
from sync import archive, checkpoints
from sync.batches import Batch, normalize_batch, retry_quarantined, store_batch
from sync.checkpoints import Checkpoint
from sync.errors import LeaseHeldError, SyncError
from sync.leases import DEFAULT_LEASE_SECONDS, Lease, new_holder
from sync.reconcile import live_ids, reconcile, remember_seen
from sync.references import ReferenceIndex
from sync.store import Store
from sync.streams import StreamSpec, select_streams
from sync.versions import VersionAllocator
from sync.writer import WriteCounts

log = structlog.get_logger("sync.engine")

T = TypeVar("T")
Clock = Callable[[], datetime]

# KROS keeps tombstones 30 days; a listing resumes from its position only well inside.
_RESUMABLE_AGE = timedelta(days=29)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    school_ids: Sequence[str]
    streams: Sequence[str] = ()
    full: bool = False
    overlap_seconds: float = 120.0
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    archive_days: float = 0.0
    """Keep each page's raw payload this long for ``kros-adapter replay``; 0: off."""


@dataclass(slots=True)
class StreamResult:
    school_id: str
    stream: str
    read: int = 0
    written: int = 0
    tombstoned: int = 0
    quarantined: int = 0
    requests: int = 0
    mode: str = ""
    seconds: float = 0.0
    error: str | None = None


@dataclass(slots=True)
class RunSummary:
    streams: list[StreamResult] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    @property
    def records_read(self) -> int:
        return sum(result.read for result in self.streams)

    @property
    def failed(self) -> list[StreamResult]:
        return [result for result in self.streams if result.error]


ProgressCallback = Callable[[StreamResult, int], None]
"""Told of every page applied: the stream's running result and the records just read."""


class SyncEngine:
    def __init__(
        self,
        store: Store,
        client: KrosClient,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        holder: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.holder = holder or new_holder()
        self.progress = progress or (lambda result, records: None)
        self.references = ReferenceIndex()
        self._write_lock = asyncio.Lock()

    async def run(self, options: SyncOptions) -> RunSummary:
        """Sync the chosen streams of every school; a failing stream does not stop others."""
        started = time.perf_counter()
        requests_before = self.client.stats.requests
        streams = select_streams(list(options.streams))
        summary = RunSummary()
        for school_id in options.school_ids:
            for phase in sorted({stream.phase for stream in streams}):
                batch = [stream for stream in streams if stream.phase == phase]
                results = await asyncio.gather(
                    *(self._run_stream(school_id, stream, options) for stream in batch)
                )
                summary.streams.extend(results)
        summary.requests = self.client.stats.requests - requests_before
        summary.seconds = time.perf_counter() - started
        return summary

    # ------------------------------------------------------------------ a stream

    async def _run_stream(
        self, school_id: str, stream: StreamSpec, options: SyncOptions
    ) -> StreamResult:
        result = StreamResult(school_id, stream.name)
        lease = Lease(school_id, stream.name, self.holder, timedelta(seconds=options.lease_seconds))
        started = time.perf_counter()
        try:
            run_id, checkpoint, held_ids = await self._write(
                lambda c: self._begin_run(c, lease, result)
            )
        except LeaseHeldError as exc:
            result.mode = "refused"
            result.error = str(exc)
            return result
        renewer = asyncio.create_task(self._keep_renewing(lease, options.lease_seconds))
        try:
            runner = _StreamRun(self, school_id, stream, options, lease, result, held_ids)
            await runner.run(checkpoint)
        except asyncio.CancelledError:
            # Stopped from outside (the service's stop timeout): say so, then stop.
            result.error = INTERRUPTED
            raise
        except (SyncError, RecordError) as exc:
            result.error = str(exc)
        except Exception as exc:
            # KROS and store errors end this stream only; the run summary reports them.
            result.error = f"{type(exc).__name__}: {exc}"
            if not _is_expected(exc):
                raise
        finally:
            renewer.cancel()
            result.seconds = time.perf_counter() - started
            await self._write(lambda c: self._end_run(c, lease, run_id, result))
        return result

    def _begin_run(
        self, connection: Connection, lease: Lease, result: StreamResult
    ) -> tuple[int, Checkpoint, set[str]]:
        """Take the lease, record the run, and give held records another chance (a fixed
        alias, a reference that arrived late) — one transaction."""
        now = self.clock()
        # Runs of this stream still "running" were killed: their lease is what we take.
        connection.execute(
            update(sync_runs)
            .where(
                sync_runs.c.school_id == result.school_id,
                sync_runs.c.stream == result.stream,
                sync_runs.c.status == "running",
            )
            .values(status="interrupted")
        )
        run_id = connection.execute(
            insert(sync_runs)
            .values(
                school_id=result.school_id,
                stream=result.stream,
                started_at=now,
                status="running",
                records_read=0,
                records_written=0,
                records_tombstoned=0,
                records_quarantined=0,
                requests=0,
            )
            .returning(sync_runs.c.id)
        ).scalar_one()
        lease.acquire(connection, now, int(run_id))
        released, still_held = retry_quarantined(
            connection, result.school_id, result.stream, now, self.references
        )
        result.written += released
        checkpoint = checkpoints.load(connection, result.school_id, result.stream)
        return int(run_id), checkpoint, still_held

    def _end_run(
        self, connection: Connection, lease: Lease, run_id: int, result: StreamResult
    ) -> None:
        connection.execute(
            update(sync_runs)
            .where(sync_runs.c.id == run_id)
            .values(
                finished_at=self.clock(),
                status=_status(result),
                records_read=result.read,
                records_written=result.written,
                records_tombstoned=result.tombstoned,
                records_quarantined=result.quarantined,
                requests=result.requests,
                error=result.error,
            )
        )
        lease.release(connection)
        archive.purge(connection, self.clock())

    async def _keep_renewing(self, lease: Lease, ttl: float) -> None:
        # Pages renew the lease as they commit; this covers long waits between pages
        # (Retry-After, a slow document), so a live run never loses its lease.
        while True:
            await asyncio.sleep(ttl / 3)
            await self._write(lambda c: lease.renew(c, self.clock()))

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one writing transaction, in the writer thread, one at a time."""

        def transaction() -> T:
            with self.store.write() as connection:
                return work(connection)

        async with self._write_lock:
            return await asyncio.to_thread(transaction)


class _StreamRun:
    """One stream of one school, from its checkpoint to its next watermark."""

    def __init__(
        self,
        engine: SyncEngine,
        school_id: str,
        stream: StreamSpec,
        options: SyncOptions,
        lease: Lease,
        result: StreamResult,
        held_ids: set[str],
    ) -> None:
        self.engine = engine
        self.school_id = school_id
        self.stream = stream
        self.options = options
        self.lease = lease
        self.result = result
        self.held_ids = held_ids
        """Ids of this stream in quarantine while the run goes: only they can need
        releasing, so the other ids of a page are never looked up in quarantine."""
        self.mapping = mapping(stream.mapping)
        self.table = metadata.tables[self.mapping.table]

    async def run(self, checkpoint: Checkpoint) -> None:
        if self.stream.kind == "school":
            await self._school(checkpoint)
        elif self.stream.kind == "reference":
            await self._reference(checkpoint)
        elif self.stream.kind == "document":
            await self._document(checkpoint)
        else:
            await self._journal(checkpoint)

    # -------------------------------------------------------------- the kinds

    async def _school(self, checkpoint: Checkpoint) -> None:
        self.result.mode = "etag"
        resource = await self.engine.client.get_school(
            self.school_id, etag=None if self.options.full else checkpoint.etag
        )
        self.result.requests += 1
        if resource.record is None:
            return
        batch = normalize_batch(self.stream.name, self.school_id, [resource.record])
        done = checkpoint.completed(etag=resource.etag or "")
        await self.engine._write(lambda c: self._apply(c, batch, done, seen=False))

    async def _reference(self, checkpoint: Checkpoint) -> None:
        """Reference data: read whole when its ETag changed, reconciled every time."""
        self.result.mode = "full"
        etag = None if self.options.full else checkpoint.etag
        reconcile = checkpoint.watermark is not None
        current = checkpoint
        async for page in self.engine.client.iter_pages(
            self.school_id, self.stream.name, etag=etag
        ):
            self.result.requests += 1
            if page.not_modified:
                self.result.mode = "304"
                return
            current = current.page_applied(
                listing_started_at=page.listing_server_time, full=True, position=None
            )
            final = current.completed(etag=page.etag or "") if page.is_last else current
            await self._apply_page(page, final, reconcile=reconcile, listing_started=current)
            current = final

    async def _journal(self, checkpoint: Checkpoint) -> None:
        full, since = self._plan(checkpoint)
        try:
            await self._listing(checkpoint, full=full, since=since)
        except KrosChangesExpiredError:
            # CONTRACT.md §3: the changes are gone; read everything and reconcile.
            log.warning("sync.changes_expired", school=self.school_id, stream=self.stream.name)
            checkpoint = await self.engine._write(
                lambda c: checkpoints.load(c, self.school_id, self.stream.name)
            )
            await self._listing(checkpoint, full=True, since=None)

    def _plan(self, checkpoint: Checkpoint) -> tuple[bool, datetime | None]:
        """Full read or changes since when, resuming an interrupted listing if any."""
        overlap = timedelta(seconds=self.options.overlap_seconds)
        if checkpoint.in_progress:
            self.result.mode = "resumed full" if checkpoint.listing_full else "resumed"
            position = checkpoint.position_updated_at
            started = checkpoint.listing_started_at
            if position is not None and started is not None and started - position < _RESUMABLE_AGE:
                return checkpoint.listing_full, position
            if checkpoint.listing_full or checkpoint.watermark is None:
                return True, None
            return False, checkpoint.watermark - overlap
        if self.options.full or checkpoint.watermark is None:
            self.result.mode = "full"
            return True, None
        self.result.mode = "incremental"
        return False, checkpoint.watermark - overlap

    async def _listing(self, checkpoint: Checkpoint, *, full: bool, since: datetime | None) -> None:
        # A full read reconciles deletions, except the very first listing of a stream:
        # nothing can be in the store for it that this listing (or an interrupted
        # attempt of it, whose deletions come back as tombstones) did not write.
        reconcile = full and checkpoint.watermark is not None
        current = checkpoint
        async for page in self.engine.client.iter_pages(
            self.school_id, self.stream.name, updated_since=since
        ):
            self.result.requests += 1
            current = current.page_applied(
                listing_started_at=page.listing_server_time, full=full, position=page.position
            )
            final = current.completed() if page.is_last else current
            await self._apply_page(page, final, reconcile=reconcile, listing_started=current)
            current = final

    async def _document(self, checkpoint: Checkpoint) -> None:
        watermark = None if self.options.full else checkpoint.watermark
        try:
            await self._read_document(checkpoint, watermark)
        except KrosChangesExpiredError:
            log.warning("sync.changes_expired", school=self.school_id, stream=self.stream.name)
            await self._read_document(checkpoint, None)

    async def _read_document(self, checkpoint: Checkpoint, watermark: datetime | None) -> None:
        """A document is applied in one transaction once it has been read whole and
        found sound: a refused document leaves nothing behind."""
        overlap = timedelta(seconds=self.options.overlap_seconds)
        full = watermark is None
        since = None if watermark is None else watermark - overlap
        self.result.mode = "full" if full else "incremental"
        records: list[dict[str, Any]] = []
        async with self.engine.client.open_document(
            self.school_id, self.stream.name, updated_since=since
        ) as document:
            self.result.requests += 1
            async for record in document.records():
                records.append(record)
            started = document.server_time
        listing = checkpoint.page_applied(listing_started_at=started, full=full, position=None)
        done = listing.completed()
        self.result.read += len(records)
        batch = await asyncio.to_thread(normalize_batch, self.stream.name, self.school_id, records)
        reconcile_from = listing if full and checkpoint.watermark is not None else None
        await self.engine._write(
            lambda c: self._apply(c, batch, done, seen=False, reconcile_from=reconcile_from)
        )
        self.engine.progress(self.result, len(records))

    # -------------------------------------------------------------- applying

    async def _apply_page(
        self, page: Page, checkpoint: Checkpoint, *, reconcile: bool, listing_started: Checkpoint
    ) -> None:
        self.result.read += len(page.items)
        reconcile_from = listing_started if (reconcile and page.is_last) else None
        # Mapping is pure: it runs before the write lock, beside the previous page's write.
        batch = await asyncio.to_thread(
            normalize_batch, self.stream.name, self.school_id, page.items
        )
        await self.engine._write(
            lambda c: self._apply(
                c, batch, checkpoint, seen=reconcile, reconcile_from=reconcile_from
            )
        )
        self.engine.progress(self.result, len(page.items))

    def _apply(
        self,
        connection: Connection,
        batch: Batch,
        checkpoint: Checkpoint,
        *,
        seen: bool,
        reconcile_from: Checkpoint | None = None,
    ) -> None:
        now = self.engine.clock()
        self.lease.renew(connection, now)
        versions = VersionAllocator(connection)
        counts, held = store_batch(
            connection,
            batch,
            self.school_id,
            versions,
            now,
            self.engine.references,
            self.held_ids,
        )
        records = batch.payloads
        if self.options.archive_days > 0:
            archive.archive(
                connection,
                self.school_id,
                self.stream.name,
                records,
                now,
                timedelta(days=self.options.archive_days),
            )
        if seen:
            remember_seen(connection, self.school_id, self.stream.name, records)
        started = reconcile_from.listing_started_at if reconcile_from else None
        if started is not None:
            counts.tombstoned += reconcile(
                connection,
                self.table,
                self.school_id,
                self.stream.name,
                listing_started_at=started,
                overlap=timedelta(seconds=self.options.overlap_seconds),
                versions=versions,
                present=None if seen else live_ids(records),
            )
        checkpoints.save(connection, checkpoint, now)
        versions.close()
        self._count(counts, held)

    def _count(self, counts: WriteCounts, quarantined: int) -> None:
        self.result.written += counts.written
        self.result.tombstoned += counts.tombstoned
        self.result.quarantined += quarantined


INTERRUPTED = "interrupted"


def _status(result: StreamResult) -> str:
    if result.error == INTERRUPTED:
        return INTERRUPTED
    return "failed" if result.error else "succeeded"


def _is_expected(exc: Exception) -> bool:
    """KROS failures end one stream; configuration errors end the whole run (exit 2)."""
    return isinstance(exc, KrosError) and not isinstance(exc, KrosConfigurationError)
