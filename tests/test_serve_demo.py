"""``kros-adapter demo`` to the end: a first sync, the logins, the cabinet with the
scheduler syncing, and a clean stop on Ctrl-C — as a person runs it, in a child process."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.serve import listen_socket

WAIT = 120.0


class Lines:
    """The child's stdout, line by line, waited for with a deadline (never a sleep)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} within {WAIT} s: {self.seen}") from None
            if line is None:
                raise AssertionError(f"the demo ended before {pattern!r}: {self.seen}")
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def rest(self) -> list[str]:
        self._thread.join(WAIT)
        while (line := self._queue.get_nowait()) is not None:
            self.seen.append(line)
        return self.seen


def _free_port() -> int:
    sock = listen_socket("127.0.0.1", 0)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def login(web: httpx.Client, name: str, password: str) -> None:
    form = web.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the login page has a CSRF token"
    data = {"csrf_token": token.group(1), "login": name, "password": password}
    assert web.post("/login", data=data).status_code == 303


@pytest.mark.slow
def test_demo_serves_the_cabinet_syncs_on_schedule_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    executable = str(Path(sys.executable).with_name("kros-adapter"))
    command = [executable, "demo", "--scale", "0.05", "--port", str(port), "--sync-every", "1"]
    environment = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        lines = Lines(process)
        try:
            logins = {}
            lines.wait_for("Демо-входы в кабинет")
            while len(logins) < 5:
                row = lines.wait_for(r"│ (\S[^│]*?) +│ (\S+) +│ (\S+) +│")
                logins[row.group(2)] = row.group(3)
            url = lines.wait_for(r"Кабинет: (http://127\.0\.0\.1:\d+/)").group(1)
            assert url == f"http://127.0.0.1:{port}/"
            with httpx.Client(base_url=url, timeout=30) as web:
                assert web.get("/readyz").status_code == 200
                login(web, "roditel", logins["roditel"])
                children = web.get("/children").text
                marks = re.search(r'href="(/s/sch-1/[^"]+/marks)"', children)
                assert marks, "the guardian sees a child's marks page"
                assert web.get(marks.group(1)).status_code == 200
            lines.wait_for("журнал по расписанию: прочитано")
            process.send_signal(signal.SIGINT)
            assert process.wait(WAIT) == 0
        finally:
            if process.poll() is None:
                process.kill()
            lines.rest()
    assert lines.seen[-1] == "Остановлено."
    assert set(logins) == {"roditel", "uchenik", "klruk", "sekretar", "admin"}
