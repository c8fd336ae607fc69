"""The simulator's clock: KROS's idea of "now", independent of the host's clock.

Every contract time — ``server_time``, the 15-minute life of a cursor, the 30 days of
tombstones, the nightly maintenance window, token expiry — is measured on this clock,
so tests can freeze it and move it by hand instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class ClockError(ValueError):
    """A clock move the simulator refuses (backwards, or a naive datetime)."""


class SimClock:
    """Simulated time: ``start`` plus the real time elapsed since, unless ``frozen``.

    The clock never moves backwards: cursors, tokens and planned mutations all assume
    time only grows, as it does in the real system.
    """

    def __init__(
        self,
        start: datetime,
        *,
        frozen: bool,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ClockError("the simulator's clock needs an aware start time")
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._frozen = frozen
        self._base = start.astimezone(UTC)
        self._anchor = monotonic()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        """The current simulated instant, as an aware UTC ``datetime``."""
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + timedelta(seconds=self._monotonic() - self._anchor)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds``; returns the new now."""
        if seconds < 0:
            raise ClockError("the clock only moves forward")
        with self._lock:
            self._base += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (not earlier than now); returns the new now."""
        if moment.tzinfo is None:
            raise ClockError("refusing a naive datetime")
        with self._lock:
            anchor = self._monotonic()
            current = self._base
            if not self._frozen:
                current += timedelta(seconds=anchor - self._anchor)
            target = moment.astimezone(UTC)
            if target < current:
                raise ClockError("the clock only moves forward")
            self._base = target
            self._anchor = anchor
        return self.now()
