"""``kros-adapter serve`` as a process: JSON logs, the cabinet, a scheduled sync, and
SIGTERM or Ctrl-C → exit 0.

The simulator runs in this test's process; the service in a child process, as systemd
would run it. The test follows the child's JSON log lines (stderr is not a terminal)
instead of sleeping: each wait is a read with a deadline.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from schemas.tables import sync_runs
from sync.store import Store

TINY = SimulatorOptions(scale=0.05, seed=5, frozen_clock=True, rate_limit=False)
WAIT = 60.0


class LogFollower:
    """The child's stderr, line by line, parsed as JSON where it is JSON."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                line = {"event": "<not json>", "text": raw.decode(errors="replace")}
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, event: str, **keys: Any) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {event!r} within {WAIT} s; saw {self.seen}") from None
            if line is None:
                raise AssertionError(f"the service ended before {event!r}; saw {self.seen}")
            self.seen.append(line)
            if line.get("event") == event and all(line.get(k) == v for k, v in keys.items()):
                return line

    def rest(self) -> list[dict[str, Any]]:
        self._thread.join(WAIT)
        while (line := self.lines.get_nowait()) is not None:
            self.seen.append(line)
        return self.seen


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        yield running


def write_config(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[kros]
base_url = "{base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
max_requests_per_second = 1000

[store]
url = "sqlite:///{tmp_path / "store.db"}"

[web]
port = {_free_port()}

[schedule]
journal_interval_seconds = 1
stop_timeout_seconds = 30
""",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_logs_json_syncs_on_schedule_and_exits_0_on_a_signal(
    tmp_path: Path, simulator: RunningSimulator, signum: signal.Signals
) -> None:
    config = write_config(tmp_path, simulator.base_url)
    with subprocess.Popen(
        [str(Path(sys.executable).with_name("kros-adapter")), "--config", str(config), "serve"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        logs = LogFollower(process)
        try:
            started = logs.wait_for("serve.started")
            assert started["level"] == "info" and "timestamp" in started
            cabinet = httpx.get(started["url"], timeout=10)
            assert cabinet.status_code == 303 and cabinet.headers["location"] == "/login"
            assert httpx.get(started["url"] + "healthz", timeout=10).status_code == 200
            logs.wait_for("sync.run", cause="start")
            scheduled = logs.wait_for("sync.run", cause="schedule", group="journal")
            assert scheduled["failed"] == 0 and scheduled["skipped"] == 0
            process.send_signal(signum)
            assert process.wait(WAIT) == 0
        finally:
            if process.poll() is None:
                process.kill()
            logs.rest()  # read to the end before the pipe is closed
    events = [line.get("event") for line in logs.seen]
    assert events.index("serve.stopping") < events.index("serve.stopped")
    assert "<not json>" not in events, "every line of the service's log is JSON"
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.read() as connection:
            statuses = list(connection.execute(select(sync_runs.c.status)).scalars())
    finally:
        store.dispose()
    assert statuses and "running" not in statuses
