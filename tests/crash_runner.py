"""Run ``kros-adapter`` and SIGKILL it at a chosen moment (the crash test's victim).

    python -m tests.crash_runner write:<n>:<before|after> -- <kros-adapter arguments>
    python -m tests.crash_runner after-seconds:<s> -- <kros-adapter arguments>

``write:n:before`` kills the process inside its n-th writing transaction, after every
statement ran and before the commit; ``after`` kills it right after that commit;
``after-seconds`` kills it at a wall-clock moment (mid-request, mid-parse, anywhere).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from service.cli import main
from sync.store import Store


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at_write(target: int, before_commit: bool) -> None:
    original = Store.write
    count = 0

    @contextmanager
    def write(self: Store) -> Iterator[Connection]:
        nonlocal count
        with original(self) as connection:
            count += 1
            current = count
            yield connection
            if current == target and before_commit:
                _die()
        if current == target:
            _die()

    Store.write = write  # type: ignore[method-assign]


def run(argv: list[str]) -> None:
    how, _, rest = argv[0].partition(":")
    if how == "write":
        target, phase = rest.split(":")
        _kill_at_write(int(target), phase == "before")
    elif how == "after-seconds":
        timer = threading.Timer(float(rest), _die)
        timer.daemon = True
        timer.start()
    else:
        raise SystemExit(f"unknown kill point {argv[0]!r}")
    sys.argv = ["kros-adapter", *argv[2:]]
    main()


if __name__ == "__main__":
    run(sys.argv[1:])
