"""A sync SIGKILLed at 20 seeded random moments, then run again, leaves the store exactly
as one clean run does: no lost rows, no duplicates, versions unique and increasing."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import running_simulator
from schemas.tables import change_counter, leases
from sync.store import Store
from tests.store_truth import all_versions, assert_store_equals

ROOT = Path(__file__).resolve().parent.parent
KILLS = 20


def kill_points(seed: int) -> list[tuple[str, list[str]]]:
    """(kill point, sync arguments): full and incremental runs, killed inside a writing
    transaction, right after a commit, or at a moment in time (mid-request, mid-parse)."""
    rng = random.Random(seed)
    points = []
    for index in range(KILLS):
        full = rng.random() < 0.6
        arguments = ["sync", "--full"] if full else ["sync"]
        if index % 4 == 3:
            points.append((f"after-seconds:{rng.uniform(0.6, 1.6):.2f}", arguments))
        else:
            # A clean full sync of this school takes about 76 writing transactions, an
            # incremental one about 42.
            last = 70 if full else 38
            phase = rng.choice(["before", "after"])
            points.append((f"write:{rng.randint(1, last)}:{phase}", arguments))
    return points


def write_config(path: Path, base_url: str, store_url: str) -> Path:
    path.write_text(
        f"""
[kros]
base_url = "{base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
max_requests_per_second = 1000000
max_attempts = 10

[store]
url = "{store_url}"

[logging]
level = "warning"
format = "json"
""",
        encoding="utf-8",
    )
    return path


def expire_leases(store: Store) -> None:
    """What the lease's time to live does for a killed run, without waiting for it."""
    with store.write() as connection:
        connection.execute(
            update(leases).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


@pytest.mark.slow
def test_killed_syncs_then_one_more_equal_a_clean_run(store_url, tmp_path):
    options = SimulatorOptions(scale=0.05, seed=11, frozen_clock=True, rate_limit=False)
    with running_simulator(options) as running:
        config = write_config(tmp_path / "config.toml", running.base_url, store_url)
        store = Store(store_url)
        store.upgrade()
        killed = 0
        for point, arguments in kill_points(seed=2026):
            process = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.crash_runner",
                    point,
                    "--",
                    "--config",
                    str(config),
                    *arguments,
                ],
                cwd=ROOT,
                capture_output=True,
                timeout=120,
            )
            if process.returncode == -signal.SIGKILL:
                killed += 1
            else:
                # The run finished before its kill point; it must have succeeded.
                assert process.returncode == 0, process.stderr.decode()[-2000:]
            expire_leases(store)
        final = subprocess.run(
            [sys.executable, "-m", "service", "--config", str(config), "sync"],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        dump = running.simulator.dump("sch-1")
    assert killed >= 15, f"only {killed} of {KILLS} runs were killed: the kill points miss"
    assert_store_equals(store.engine, dump, "sch-1")
    versions = sorted(all_versions(store.engine))
    with store.read() as connection:
        last = connection.execute(select(change_counter.c.last_version)).scalar_one()
    assert versions[-1] <= last
    store.dispose()
