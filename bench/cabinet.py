"""SPEC's cabinet row: 50 guardians at once on loopback, each on their child's marks page.

A scale-1 store from one full sync (the simulator in its own process), 50 guardian
accounts of its families (each with a child whose consent opens the cabinet), and
``kros-adapter serve`` in a child process — the production composition: metrics
middleware, security headers, sessions and all; its schedule idle, so that only pages
are measured. Every guardian logs in with its own account and its own cookie jar.

Two loads, both with all 50 guardians at once:

* **paced** (the bar): each guardian opens the marks page once a second, starting at
  a random moment of the first second — 50 pages/s, what 50 families actively
  browsing ask of the server; p95 must stay under 100 ms;
* **flat out** (informational): each guardian asks again as soon as a page arrives,
  so 50 requests are always in flight: the throughput of one process, and the latency
  when requests queue behind each other.

``python -m bench.cabinet`` runs this row alone.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from bench.simulator_process import free_port, simulator_process
from bench.sync_rows import SCHOOL_ID, UNLIMITED, full_sync, sqlite_store
from publish.accounts import PersonRef, create_account
from publish.consent import consent_states
from publish.queries.people import children_of_guardians
from sync.store import Store

SIMULATOR = ("--scale", "1", "--seed", "1")
GUARDIANS = 50
PACED_ROUNDS = 20
"""Pages per guardian under the paced load: 1,000 in all, about 20 s."""
FLAT_OUT_ROUNDS = 10
PAGE_INTERVAL_SECONDS = 1.0
P95_BAR_SECONDS = 0.100
PASSWORD = "bench-guardian-password"
LOGINS_AT_ONCE = 4
_STARTUP_TIMEOUT_SECONDS = 60.0


class Results(Protocol):
    """``bench.__main__.Results``: the one table of figures."""

    def add(self, what: str, figure: str, bar: str, passed: bool | None) -> None: ...


class Console(Protocol):
    def print(self, *objects: object) -> None: ...


@dataclass(frozen=True)
class Guardian:
    login: str
    marks_path: str


@dataclass(frozen=True)
class Latencies:
    seconds: list[float]
    wall_seconds: float
    errors: int

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[18]

    @property
    def pages_per_second(self) -> float:
        return len(self.seconds) / self.wall_seconds


@dataclass(frozen=True)
class CabinetFigures:
    paced: Latencies
    flat_out: Latencies
    records: int


def cabinet_row(console: Console, results: Results, workdir: Path) -> None:
    """Measure and add the row to ``results``."""
    console.print(f"the cabinet: a scale-1 store, {GUARDIANS} guardians at once …")
    figures = measure(workdir)
    paced, flat = figures.paced, figures.flat_out
    results.add(
        f"cabinet: {GUARDIANS} guardians at once, a child's marks page",
        f"p50 {paced.p50 * 1000:.0f} ms, p95 {paced.p95 * 1000:.0f} ms ({len(paced.seconds):,} "
        f"pages, each guardian one a second, {paced.errors} errors); flat out: "
        f"{flat.pages_per_second:,.0f} pages/s, p50 {flat.p50 * 1000:.0f} ms, p95 "
        f"{flat.p95 * 1000:.0f} ms with {GUARDIANS} in flight ({flat.errors} errors)",
        f"p95 < {P95_BAR_SECONDS * 1000:.0f} ms",
        paced.p95 < P95_BAR_SECONDS and paced.errors == 0 and flat.errors == 0,
    )


def measure(workdir: Path) -> CabinetFigures:
    with simulator_process(*SIMULATOR, "--no-rate-limit") as base_url:
        with sqlite_store(str(workdir)) as store:
            synced = full_sync(base_url, store, rate=UNLIMITED)
            if synced.failed:
                raise RuntimeError(f"the full sync failed: {'; '.join(synced.failed)}")
            guardians = create_guardians(store, GUARDIANS)
        with service_process(base_url, store.url, workdir) as url:
            paced, flat = asyncio.run(_load(url, guardians))
    return CabinetFigures(paced, flat, synced.records)


# --- the accounts --------------------------------------------------------------------------


def create_guardians(store: Store, count: int) -> list[Guardian]:
    """``count`` guardian accounts, each of a family with a child of grade 2 or above
    (first-graders get no marks) whose consent opens the cabinet."""
    chosen: list[Guardian] = []
    with store.write() as connection:
        by_guardian = children_of_guardians(connection, SCHOOL_ID)
        for guardian_id in sorted(by_guardian):
            children = [child for child in by_guardian[guardian_id] if child.grade >= 2]
            states = consent_states(
                connection,
                SCHOOL_ID,
                [child.source_id for child in children],
                guardian_ids=[guardian_id],
            )
            open_to = [
                child
                for child in children
                if (state := states.get((guardian_id, child.source_id))) and state.allows()
            ]
            if not open_to:
                continue
            login = f"bench-guardian-{len(chosen) + 1}"
            create_account(
                connection,
                login=login,
                password=PASSWORD,
                role="guardian",
                display_name=login,
                people=[PersonRef(SCHOOL_ID, "guardian", guardian_id)],
            )
            chosen.append(Guardian(login, f"/s/{SCHOOL_ID}/{open_to[0].source_id}/marks"))
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"only {len(chosen)} families with the cabinet open; need {count}")


# --- the service ---------------------------------------------------------------------------


@contextmanager
def service_process(base_url: str, store_url: str, workdir: Path) -> Iterator[str]:
    """``kros-adapter serve`` on a free port, its schedule idle; yields its URL once ready."""
    port = free_port()
    config = workdir / "cabinet-bench.toml"
    config.write_text(
        f"""
[kros]
base_url = "{base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["{SCHOOL_ID}"]

[store]
url = "{store_url}"

[web]
port = {port}

[schedule]
sync_on_start = false
journal_interval_seconds = 86400
reference_cron = "0 0 1 1 *"

[logging]
level = "warning"
""",
        encoding="utf-8",
    )
    executable = str(Path(sys.executable).with_name("kros-adapter"))
    command = [executable, "--config", str(config), "serve"]
    log_path = workdir / "cabinet-bench.log"
    # A file, not a pipe: a pipe nobody reads fills up and stalls the service's logging.
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited: {_tail(log_path)}")
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not become ready")
            time.sleep(0.2)  # a benchmark waiting for a child process, not a test
        yield url
    except Exception as exc:
        raise RuntimeError(f"{exc}; the service's log ends: {_tail(log_path)}") from exc
    finally:
        process.terminate()
        process.wait(timeout=60)


def _tail(path: Path, lines: int = 3, width: int = 300) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return " | ".join(line[:width] for line in text)


# --- the load ------------------------------------------------------------------------------


async def _load(url: str, guardians: list[Guardian]) -> tuple[Latencies, Latencies]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for _ in guardians]
    try:
        # Logins first, a few at a time (each is an Argon2 verification, ~0.15 s of CPU):
        # they are not what is measured.
        gate = asyncio.Semaphore(LOGINS_AT_ONCE)

        async def login(client: httpx.AsyncClient, name: str) -> None:
            async with gate:
                await _login(client, name)

        pairs = zip(clients, guardians, strict=True)
        await asyncio.gather(*(login(client, guardian.login) for client, guardian in pairs))
        rng = random.Random(1)
        paced = await _run(clients, guardians, PACED_ROUNDS, rng, paced=True)
        flat_out = await _run(clients, guardians, FLAT_OUT_ROUNDS, rng, paced=False)
        return paced, flat_out
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


async def _login(client: httpx.AsyncClient, login: str) -> None:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    data = {"csrf_token": token.group(1), "login": login, "password": PASSWORD}
    response = await client.post("/login", data=data)
    if response.status_code != 303 or response.headers.get("location", "").endswith("/login"):
        raise RuntimeError(f"{login} could not log in: {response.status_code}")


async def _run(
    clients: list[httpx.AsyncClient],
    guardians: list[Guardian],
    rounds: int,
    rng: random.Random,
    *,
    paced: bool,
) -> Latencies:
    samples: list[float] = []
    errors = 0

    async def guardian(client: httpx.AsyncClient, path: str, offset: float) -> None:
        nonlocal errors
        await asyncio.sleep(offset)
        started = time.perf_counter()
        for round_number in range(rounds):
            before = time.perf_counter()
            response = await client.get(path)
            samples.append(time.perf_counter() - before)
            if response.status_code != 200:
                errors += 1
            if paced:
                next_at = started + (round_number + 1) * PAGE_INTERVAL_SECONDS
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    wall_started = time.perf_counter()
    await asyncio.gather(
        *(
            guardian(client, g.marks_path, rng.uniform(0, PAGE_INTERVAL_SECONDS) if paced else 0)
            for client, g in zip(clients, guardians, strict=True)
        )
    )
    return Latencies(samples, time.perf_counter() - wall_started, errors)


def main() -> None:
    """Run this row alone and print its figures."""
    from rich.console import Console as RichConsole

    from service.logging import configure_logging

    configure_logging(level="warning")
    console = RichConsole()
    with tempfile.TemporaryDirectory(prefix="kros-bench-cabinet-") as directory:
        figures = measure(Path(directory))
    for name, latencies in (("paced", figures.paced), ("flat out", figures.flat_out)):
        console.print(
            f"{name}: {len(latencies.seconds):,} pages, p50 {latencies.p50 * 1000:.1f} ms, "
            f"p95 {latencies.p95 * 1000:.1f} ms, {latencies.pages_per_second:,.0f} pages/s, "
            f"{latencies.errors} errors"
        )


if __name__ == "__main__":
    main()
