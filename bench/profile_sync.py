"""`python -m bench --profile`: where the rate-limit-off full sync spends its time.

cProfile sees only the thread that enabled it, and the sync has two that matter: the
event loop (HTTP, JSON decode, the client's validation) and the writer thread that
``SyncEngine`` hands every transaction to (mapping, SQL). So the writer gets a profiler
of its own, started by the executor's initializer, and each thread is printed apart
with its busy share of the wall time: the thread that is never idle is the limit.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rich.console import Console

from bench.simulator_process import simulator_process
from bench.sync_rows import SCHOOL_ID, UNLIMITED, client_settings, sqlite_store
from kros_adapter.client import KrosClient
from sync.engine import SyncEngine, SyncOptions
from sync.store import Store

TOP = 25

# What a thread does while it waits: time in these is idle, not work.
_IDLE = ("select.epoll", "method 'get' of '_queue.SimpleQueue'")


@dataclass
class _Profiles:
    loop: cProfile.Profile
    writer: list[cProfile.Profile]


def _writer_executor(profiles: _Profiles) -> ThreadPoolExecutor:
    def start() -> None:
        profile = cProfile.Profile()
        profiles.writer.append(profile)
        profile.enable()

    # One worker: the engine writes one transaction at a time anyway (its write lock),
    # so this is the same single writer thread, only profiled.
    return ThreadPoolExecutor(max_workers=1, initializer=start, thread_name_prefix="writer")


async def _profiled_sync(base_url: str, store: Store, profiles: _Profiles) -> float:
    loop = asyncio.get_running_loop()
    executor = _writer_executor(profiles)
    loop.set_default_executor(executor)
    async with KrosClient(client_settings(base_url, rate=UNLIMITED)) as client:
        engine = SyncEngine(store, client)
        profiles.loop.enable()
        started = time.perf_counter()
        summary = await engine.run(SyncOptions(school_ids=[SCHOOL_ID], full=True))
        wall = time.perf_counter() - started
        profiles.loop.disable()
        # A profiler stops only from its own thread.
        for profile in profiles.writer:
            await loop.run_in_executor(executor, profile.disable)
    print(f"profiled full sync: {summary.records_read:,} records in {wall:.1f} s (profiled)")
    return wall


def _stats_text(profile: cProfile.Profile, sort: str) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(TOP)
    return out.getvalue()


def _idle_seconds(profile: cProfile.Profile) -> float:
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    return sum(entry[2] for key, entry in raw.items() if any(mark in key[2] for mark in _IDLE))


def main() -> None:
    console = Console(width=160)
    profiles = _Profiles(loop=cProfile.Profile(), writer=[])
    with (
        tempfile.TemporaryDirectory(prefix="kros-profile-") as directory,
        simulator_process("--scale", "1", "--no-rate-limit") as base_url,
        sqlite_store(directory) as store,
    ):
        wall = asyncio.run(_profiled_sync(base_url, store, profiles))
    threads = [("event loop thread", profiles.loop)] + [
        ("writer thread", profile) for profile in profiles.writer
    ]
    for name, profile in threads:
        idle = _idle_seconds(profile)
        console.rule(f"{name}: busy ≈ {max(0.0, wall - idle):.1f} s of {wall:.1f} s wall")
        console.print(_stats_text(profile, "cumulative"), markup=False, highlight=False)
        console.print(f"{name}, by own time:", markup=False)
        console.print(_stats_text(profile, "tottime"), markup=False, highlight=False)
