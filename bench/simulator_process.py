"""Run the KROS simulator in its own process, so it never shares a core's GIL with the
code under measurement."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

_STARTUP_TIMEOUT_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    """Start ``kros-adapter simulator`` with ``args``; yield its base URL once it answers."""
    port = free_port()
    executable = str(Path(sys.executable).with_name("kros-adapter"))
    command = [executable, "simulator", "--port", str(port), "--frozen-clock", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the simulator exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                httpx.get(f"{base_url}/_sim/truth", timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # a benchmark waiting for a child process, not a test
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
