"""The client-side limiter keeps to KROS's 10 requests/s and 4 in flight."""

from __future__ import annotations

import asyncio
import itertools

from kros_adapter.ratelimit import RequestLimiter
from tests.kros_fakes import VirtualTime


async def test_a_burst_passes_at_once_then_the_rate_holds():
    clock = VirtualTime()
    limiter = RequestLimiter(rate=10, concurrency=4, clock=clock.monotonic, sleep=clock.sleep)
    admitted: list[float] = []
    for _ in range(30):
        async with limiter.slot():
            admitted.append(clock.now - 1000.0)
    assert admitted[:10] == [0.0] * 10  # the bucket holds 10 tokens
    assert abs(admitted[29] - 2.0) < 1e-6  # then 10 per second
    for first, second in itertools.pairwise(admitted[10:]):
        assert second - first >= 0.1 - 1e-9


async def test_no_window_of_one_second_sees_more_than_burst_plus_rate():
    clock = VirtualTime()
    limiter = RequestLimiter(rate=10, concurrency=4, clock=clock.monotonic, sleep=clock.sleep)
    admitted: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            admitted.append(clock.now)
            await clock.sleep(0.05)

    await asyncio.gather(*(request() for _ in range(60)))
    for start in admitted:
        in_window = [t for t in admitted if start <= t < start + 1.0]
        assert len(in_window) <= 20


async def test_never_more_than_the_concurrency_cap_in_flight():
    clock = VirtualTime()
    limiter = RequestLimiter(rate=1000, concurrency=4, clock=clock.monotonic, sleep=clock.sleep)
    in_flight = 0
    peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await clock.sleep(0.3)
            in_flight -= 1

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 4


async def test_a_pause_holds_back_requests_until_it_ends():
    clock = VirtualTime()
    limiter = RequestLimiter(rate=10, concurrency=4, clock=clock.monotonic, sleep=clock.sleep)
    limiter.pause(3.0)
    async with limiter.slot():
        assert clock.now - 1000.0 >= 3.0
    assert limiter.waited_seconds >= 3.0
