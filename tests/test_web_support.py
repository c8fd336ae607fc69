"""Shared set-up of the cabinet's tests: one real sync of a tiny simulated school.

Named ``test_web_*`` only because the cabinet's tests live under that name; it holds no
tests. The simulator is synced once per test process (:func:`synced_template`); every
test module gets its own copy of that store (:func:`store_copy`), so modules may add
accounts or rows without meeting each other, and the whole set stays well under a minute.

The sync runs at a fixed instant (the simulator's frozen "today", 2026-12-04 10:00 in
Simferopol), so ``sync_runs`` and "today" on every page are the same on every machine.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import running_simulator
from publish.accounts import DemoLogin, ensure_demo_accounts
from publish.web import WebOptions, create_web_app
from schemas.tables import students
from sync.engine import SyncEngine, SyncOptions
from sync.store import Store

TINY = SimulatorOptions(scale=0.05, seed=3, frozen_clock=True, rate_limit=False)
SCHOOL = "sch-1"
SYNCED_AT = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # 10:00 in Simferopol
SECRET = "test-session-secret-0123456789"


class Clock:
    """The cabinet's clock in tests: moved by hand, never by waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@cache
def synced_template() -> tuple[Path, tuple[DemoLogin, ...]]:
    """A SQLite store filled by one full sync of the simulator, with the demo accounts
    (Argon2 is slow on purpose: hashing them once per process, not per module, saves
    seconds), and the demo logins."""
    directory = Path(tempfile.mkdtemp(prefix="kros-cabinet-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "template.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()

    async def sync() -> None:
        with running_simulator(TINY) as running:
            settings = ClientSettings(
                base_url=running.base_url,
                client_id="school-1",
                client_secret="demo-secret",
                max_requests_per_second=1e6,
            )
            async with KrosClient(settings) as client:
                engine = SyncEngine(store, client, clock=lambda: SYNCED_AT)
                summary = await engine.run(SyncOptions(school_ids=(SCHOOL,)))
        assert not summary.failed, [r.error for r in summary.failed]

    try:
        # In a thread of its own: the caller may be inside an event loop (Playwright's
        # sync API runs one), where asyncio.run refuses to start another.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, sync()).result()
    finally:
        store.dispose()
    return path, tuple(ensure_demo_accounts(f"sqlite:///{path}", SCHOOL))


def store_copy(directory: Path) -> str:
    """A private copy of the synced store in ``directory``; returns its URL."""
    target = directory / "store.db"
    with sqlite3.connect(synced_template()[0]) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


@dataclass
class World:
    """The synced store with demo accounts, and the people the tests talk about."""

    url: str
    logins: dict[str, DemoLogin]
    clock: Clock
    resyncs: list[str | None] = field(default_factory=list)

    def options(self, **overrides: Any) -> WebOptions:
        values: dict[str, Any] = {
            "store_url": self.url,
            "session_secret": SECRET,
            "clock": self.clock,
            "request_resync": self.resyncs.append,
        }
        values.update(overrides)
        return WebOptions(**values)

    def student_name(self, student_id: str) -> str:
        store = Store(self.url)
        try:
            with store.read() as connection:
                row = connection.execute(
                    select(students.c.last_name, students.c.first_name).where(
                        students.c.school_id == SCHOOL, students.c.source_id == student_id
                    )
                ).one()
        finally:
            store.dispose()
        return f"{row.last_name} {row.first_name}"


def make_world(directory: Path) -> World:
    url = store_copy(directory)
    logins = {login.role.value: login for login in synced_template()[1]}
    return World(url=url, logins=logins, clock=Clock(SYNCED_AT + timedelta(minutes=5)))


def module_world(tmp_path_factory: Any) -> Iterator[World]:
    """Body of a module-scoped ``world`` fixture (each test module declares its own)."""
    yield make_world(tmp_path_factory.mktemp("cabinet"))


# --------------------------------------------------------------------------- HTTP

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def client_for(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://cabinet.test")


async def log_in(client: httpx.AsyncClient, login: str, password: str, prefix: str = "") -> str:
    """Log the client in; returns the session's CSRF token for later forms."""
    page = await client.get(f"{prefix}/login")
    response = await client.post(
        f"{prefix}/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    home = await client.get(f"{prefix}/", follow_redirects=True)
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def app_for(world: World, **overrides: Any) -> Any:
    return create_web_app(world.options(**overrides))
