"""The server side of KROS's rate limit (CONTRACT.md §1).

Per client: a token bucket of 10 tokens refilled at 10 per second, and at most 4
requests in flight. Time is real monotonic time (injectable), not the simulated clock:
the limit protects the server's real capacity, and a frozen simulated clock must not
freeze the bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

BUCKET_CAPACITY = 10.0
REFILL_PER_SECOND = 10.0
MAX_IN_FLIGHT = 4
_EPSILON = 1e-9


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class Throttle:
    """Admits or refuses requests per client key; thread-safe."""

    def __init__(
        self,
        *,
        capacity: float = BUCKET_CAPACITY,
        refill_per_second: float = REFILL_PER_SECOND,
        max_in_flight: int = MAX_IN_FLIGHT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._rate = refill_per_second
        self._max_in_flight = max_in_flight
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str) -> int | None:
        """Admit one request: ``None``, or the ``Retry-After`` seconds of a refusal.

        An admitted request holds an in-flight slot until :meth:`release`. A refused one
        spends no token, so a client that waits as told gets through.
        """
        with self._lock:
            if self._in_flight.get(client, 0) >= self._max_in_flight:
                return 1
            now = self._monotonic()
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = _Bucket(self._capacity, now)
            bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
            if bucket.tokens < 1.0 - _EPSILON:  # float time: 0.1 s must refill one token
                # The header carries whole seconds, and a client must wait at least that.
                return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
            bucket.tokens -= 1.0
            self._in_flight[client] = self._in_flight.get(client, 0) + 1
            return None

    def release(self, client: str) -> None:
        """Free the in-flight slot of a request admitted by :meth:`acquire`."""
        with self._lock:
            left = self._in_flight.get(client, 0) - 1
            if left > 0:
                self._in_flight[client] = left
            else:
                self._in_flight.pop(client, None)

    def in_flight(self, client: str) -> int:
        with self._lock:
            return self._in_flight.get(client, 0)
