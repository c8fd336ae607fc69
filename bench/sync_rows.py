"""What a sync costs: `SyncEngine` runs against a simulator in its own process.

Each function builds the client and the store the way the service does and times
``SyncEngine.run`` whole: the token, HTTP, decode, validation, mapping and the writes
(the store's migration is setup, not sync, and is left out).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from sync.engine import RunSummary, SyncEngine, SyncOptions
from sync.store import Store

SCHOOL_ID = "sch-1"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
UNLIMITED = 1e6
"""Requests per second for the client when the simulator's limit is off."""


@dataclass(frozen=True)
class SyncFigures:
    records: int
    requests: int
    """Every HTTP request of the run, a token request included."""
    token_requests: int
    seconds: float
    streams: int
    written: int
    not_modified: int
    failed: tuple[str, ...]

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def client_settings(base_url: str, *, rate: float) -> ClientSettings:
    return ClientSettings(
        base_url=base_url,
        client_id="school-1",
        client_secret="demo-secret",
        max_requests_per_second=rate,
    )


async def _timed_run(engine: SyncEngine, options: SyncOptions, client: KrosClient) -> SyncFigures:
    tokens_before = client.stats.token_requests
    not_modified_before = client.stats.by_status.get(304, 0)
    summary: RunSummary = await engine.run(options)
    return SyncFigures(
        records=summary.records_read,
        requests=summary.requests,
        token_requests=client.stats.token_requests - tokens_before,
        seconds=summary.seconds,
        streams=len(summary.streams),
        written=sum(result.written + result.tombstoned for result in summary.streams),
        not_modified=client.stats.by_status.get(304, 0) - not_modified_before,
        failed=tuple(f"{result.stream}: {result.error}" for result in summary.failed),
    )


def full_sync(
    base_url: str, store: Store, *, rate: float, streams: Sequence[str] = ()
) -> SyncFigures:
    """A first full sync of the school into ``store`` (already migrated)."""

    async def run() -> SyncFigures:
        async with KrosClient(client_settings(base_url, rate=rate)) as client:
            engine = SyncEngine(store, client)
            options = SyncOptions(school_ids=[SCHOOL_ID], streams=streams, full=True)
            return await _timed_run(engine, options, client)

    return asyncio.run(run())


def full_then_unchanged(
    base_url: str, store: Store, *, rate: float
) -> tuple[SyncFigures, SyncFigures]:
    """A full sync, then an incremental one after the clock moved past the overlap with
    nothing changed: what a scheduled run costs on a quiet evening."""

    async def run() -> tuple[SyncFigures, SyncFigures]:
        # One client for both runs, as the service keeps it: the token is still valid.
        async with KrosClient(client_settings(base_url, rate=rate)) as client:
            engine = SyncEngine(store, client)
            full = await _timed_run(engine, SyncOptions(school_ids=[SCHOOL_ID], full=True), client)
            await _quiet_and_advance(base_url, seconds=300)
            # Scheduled runs are minutes apart, so each starts with a full token bucket
            # (the client's and KROS's); right after the full sync both are empty, which
            # would time the rate limit's refill rather than the incremental run.
            await asyncio.sleep(1.0)
            incremental = await _timed_run(engine, SyncOptions(school_ids=[SCHOOL_ID]), client)
            return full, incremental

    return asyncio.run(run())


async def _quiet_and_advance(base_url: str, *, seconds: float) -> None:
    # Mutations are paused *before* the clock moves: advancing the simulated clock with
    # them on would apply five minutes of changes, and the run would no longer be idle.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as admin:
        (await admin.post("/_sim/mutations", json={"paused": True})).raise_for_status()
        response = await admin.post("/_sim/clock", json={"advance_seconds": seconds})
        response.raise_for_status()


@contextmanager
def sqlite_store(directory: str) -> Iterator[Store]:
    store = Store(f"sqlite:///{directory}/store-{uuid.uuid4().hex[:8]}.db")
    try:
        store.upgrade()
        yield store
    finally:
        store.dispose()


@contextmanager
def postgres_store(url: str = POSTGRES_URL) -> Iterator[Store]:
    """A store in a schema of its own, dropped afterwards, so the run starts empty and
    leaves the shared test database as it found it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        store = Store(url, schema=schema)
        try:
            store.upgrade()
            yield store
        finally:
            store.dispose()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def postgres_available(url: str = POSTGRES_URL) -> bool:
    """Whether PostgreSQL answers; without it its row says so instead of failing the run."""
    engine = create_engine(url)
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()
