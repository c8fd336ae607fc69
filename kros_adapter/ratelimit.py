"""One limiter for the whole client: a token bucket and a concurrency cap.

KROS allows 10 requests per second (a bucket of 10 tokens refilled at 10/s) and 4
requests in flight per client (CONTRACT.md §1). Every stream of every school shares one
:class:`RequestLimiter`, so running streams side by side never crosses the account's
limits, and a ``Retry-After`` from KROS pauses every request, not only the one that got
it (SYNC-LESSONS.md, lesson 5).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Clock = Callable[[], float]

# Refills are computed in floating point: without a tolerance a waiter can compute a
# wait too small to move the clock and spin forever one rounding error short of a token.
_EPSILON = 1e-9
Sleep = Callable[[float], Awaitable[None]]


class RequestLimiter:
    """Admit a request when a slot is free and a token is in the bucket.

    The slot is taken before the token: a request holding a token while waiting for a
    slot would be sent later than its token allows, and a queue of such requests would
    reach KROS as a burst larger than the bucket.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float | None = None,
        concurrency: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._rate = rate
        self._capacity = max(1.0, burst if burst is not None else rate)
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._bucket_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(concurrency)
        self.waited_seconds = 0.0
        """Time requests spent waiting for tokens or a pause (for the run summary)."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the concurrent slots and spend one token for a request."""
        async with self._slots:
            await self._take_token()
            yield

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` (KROS said ``Retry-After``)."""
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _take_token(self) -> None:
        # The lock makes waiting requests take tokens in arrival order.
        async with self._bucket_lock:
            while True:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0:
                    self._refill(now)
                    if self._tokens >= 1 - _EPSILON:
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    wait = (1 - self._tokens) / self._rate
                self.waited_seconds += wait
                await self._sleep(wait)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now
