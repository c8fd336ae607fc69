"""Waiting for scheduled sync jobs in tests: on an event, with a deadline, never a sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from service.scheduler import JobOutcome

WAIT = 60.0
"""The longest a test waits for an outcome; a healthy run takes well under a second."""


class Outcomes:
    """Collects job outcomes and lets a test wait for one that matches."""

    def __init__(self) -> None:
        self.seen: list[JobOutcome] = []
        self._changed = asyncio.Event()

    def __call__(self, outcome: JobOutcome) -> None:
        self.seen.append(outcome)
        self._changed.set()

    async def wait_for(self, cause: str, group: str | None = None) -> JobOutcome:
        """The first outcome of ``cause`` (and ``group``), waiting for it if need be."""

        def match() -> JobOutcome | None:
            for outcome in self.seen:
                if outcome.cause == cause and group in (None, outcome.group):
                    return outcome
            return None

        await self.wait_until(lambda: match() is not None)
        found = match()
        assert found is not None
        return found

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async def until() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), WAIT)
