"""The simulator's small parts on their own: clock, throttle, cursors, faults, store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kros_adapter.simulator import cursors
from kros_adapter.simulator.clock import ClockError, SimClock
from kros_adapter.simulator.faults import (
    ERROR_KINDS,
    MAX_FAULTS_IN_A_ROW,
    FaultInjector,
    FaultKind,
    http_date_after,
)
from kros_adapter.simulator.store import SchoolStore, SortedIndex, to_us
from kros_adapter.simulator.throttle import Throttle
from kros_adapter.timestamps import parse_retry_after
from tests.test_simulator_fixture import BASE_URL, TODAY, tiny_school

ALL_KINDS = set(FaultKind)


class Ticks:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


# -- clock ---------------------------------------------------------------------------------------


def test_a_running_clock_follows_real_time_and_a_frozen_one_only_moves_by_hand() -> None:
    ticks = Ticks()
    running = SimClock(TODAY, frozen=False, monotonic=ticks)
    frozen = SimClock(TODAY, frozen=True, monotonic=ticks)
    ticks.now += 2.5
    assert running.now() == TODAY + timedelta(seconds=2.5)
    assert frozen.now() == TODAY
    frozen.advance(60)
    running.advance(60)
    assert frozen.now() == TODAY + timedelta(seconds=60)
    assert running.now() == TODAY + timedelta(seconds=62.5)


def test_the_clock_never_moves_backwards_and_needs_aware_times() -> None:
    clock = SimClock(TODAY, frozen=True)
    assert clock.set(TODAY + timedelta(hours=1)) == TODAY + timedelta(hours=1)
    with pytest.raises(ClockError):
        clock.set(TODAY)
    with pytest.raises(ClockError):
        clock.advance(-1)
    with pytest.raises(ClockError):
        SimClock(datetime(2026, 12, 4, 10, 0), frozen=True)


# -- throttle ------------------------------------------------------------------------------------


def test_the_bucket_holds_ten_and_refills_ten_per_second_per_client() -> None:
    ticks = Ticks()
    throttle = Throttle(monotonic=ticks)
    admitted = 0
    for _ in range(12):
        if throttle.acquire("a") is None:
            admitted += 1
            throttle.release("a")
    assert admitted == 10
    assert throttle.acquire("b") is None  # another client has its own bucket
    throttle.release("b")
    ticks.now += 0.35
    assert [throttle.acquire("a") for _ in range(4)] == [None, None, None, 1]


def test_a_long_wait_is_announced_in_whole_seconds() -> None:
    throttle = Throttle(capacity=1, refill_per_second=0.25, monotonic=Ticks())
    assert throttle.acquire("a") is None
    throttle.release("a")
    assert throttle.acquire("a") == 4


def test_at_most_four_requests_are_in_flight_per_client() -> None:
    throttle = Throttle(monotonic=Ticks())
    assert [throttle.acquire("a") for _ in range(5)] == [None, None, None, None, 1]
    assert throttle.in_flight("a") == 4
    throttle.release("a")
    assert throttle.acquire("a") is None


# -- cursors -------------------------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    cursor = cursors.Cursor((1_765_000_000_000_000, "mk-Ж/1"), 42, cursors.fingerprint("a", "b"))
    text = cursor.encode()
    assert text.replace("-", "").replace("_", "").isalnum()
    assert cursors.decode(text) == cursor


@pytest.mark.parametrize(
    "text",
    ["", "!!!", "e30", "W10", "eyJwIjpbMSwyXSwidCI6MSwiZiI6IngifQ", "a" * 3000, "bm90IGpzb24"],
)
def test_anything_else_is_not_a_cursor(text: str) -> None:
    with pytest.raises(cursors.CursorError):
        cursors.decode(text)


def test_fingerprints_tell_queries_apart() -> None:
    assert cursors.fingerprint("sch-1", "marks") == cursors.fingerprint("sch-1", "marks")
    assert cursors.fingerprint("sch-1", "marks") != cursors.fingerprint("sch-1", "lessons")
    assert cursors.fingerprint("a", "bc") != cursors.fingerprint("ab", "c")


# -- faults --------------------------------------------------------------------------------------


def _decisions(seed: int, keys: list[str]) -> list[FaultKind | None]:
    injector = FaultInjector(seed, "flaky")
    return [injector.decide(key, ALL_KINDS).kind for key in keys]


def test_fault_decisions_depend_on_seed_request_and_attempt_only() -> None:
    keys = [f"GET /x?page={i % 7}" for i in range(300)]
    assert _decisions(1, keys) == _decisions(1, keys)
    assert _decisions(1, keys) != _decisions(2, keys)
    # Interleaving other requests does not change a request's own sequence.
    mine = [d for k, d in zip(keys, _decisions(1, keys), strict=True) if k == "GET /x?page=3"]
    alone = _decisions(1, ["GET /x?page=3"] * len(mine))
    assert mine == alone


def test_no_request_is_faulted_more_than_three_times_in_a_row_nor_401_twice() -> None:
    injector = FaultInjector(9, "flaky")
    for key in (f"GET /k{i}" for i in range(200)):
        streak, last = 0, None
        for _ in range(30):
            kind = injector.decide(key, ALL_KINDS).kind
            if kind in ERROR_KINDS:
                streak += 1
                assert streak <= MAX_FAULTS_IN_A_ROW
                assert not (kind is FaultKind.REVOKE_TOKEN and last is FaultKind.REVOKE_TOKEN)
            else:
                streak = 0
            last = kind


def test_about_one_request_in_eight_is_faulted_and_only_with_applicable_kinds() -> None:
    injector = FaultInjector(3, "flaky")
    kinds = [injector.decide(f"GET /r{i}", ALL_KINDS).kind for i in range(20_000)]
    share = sum(k is not None for k in kinds) / len(kinds)
    assert 0.10 < share < 0.15
    assert set(kinds) == ALL_KINDS | {None}
    proxy_only = {FaultKind.BAD_GATEWAY}
    assert {injector.decide(f"GET /p{i}", proxy_only).kind for i in range(2000)} == {
        FaultKind.BAD_GATEWAY,
        None,
    }


def test_profile_none_never_faults() -> None:
    injector = FaultInjector(3, "none")
    assert {injector.decide(f"GET /r{i}", ALL_KINDS).kind for i in range(2000)} == {None}


def test_http_date_retry_after_waits_at_most_the_seconds_given() -> None:
    wall = datetime(2026, 12, 4, 7, 0, 0, 400_000, tzinfo=UTC)
    header = http_date_after(2, wall_now=wall.timestamp())
    wait = parse_retry_after(header, now=wall)
    assert wait is not None and 1 < wait <= 2


# -- store ---------------------------------------------------------------------------------------


def test_the_sorted_index_keeps_pages_in_updated_at_then_id_order() -> None:
    store = SchoolStore(
        1, tiny_school(1, seed=1, scale=1, today=TODAY), base_url=BASE_URL, start=TODAY
    )
    index = store.collections["marks"].live
    assert index.keys == sorted(index.keys)
    assert len({k[0] for k in index.keys}) < len(index.keys)  # ties exist, broken by id
    empty = SortedIndex()
    assert len(empty) == 0


def test_paging_resumes_strictly_after_the_position() -> None:
    store = SchoolStore(
        1, tiny_school(1, seed=1, scale=1, today=TODAY), base_url=BASE_URL, start=TODAY
    )
    first = store.page("marks", predicate=None, since_us=None, after=None, limit=100)
    second = store.page("marks", predicate=None, since_us=None, after=first.last, limit=100)
    back = store.page("marks", predicate=None, since_us=None, after=first.last, limit=100, back=3)
    assert first.more and second.more and len(first.blobs) == 100
    assert not set(first.blobs) & set(second.blobs)
    assert back.blobs[:3] == first.blobs[-3:] and back.blobs[3:] == second.blobs[:97]
    since = store.page(
        "marks", predicate=None, since_us=to_us(TODAY), after=None, limit=100
    )  # nothing changed since the start
    assert since.blobs == [] and not since.more
