"""`make bench`: the Performance rows of SPEC.md, measured in one run, as ratios.

Every row runs against a simulator in its own process (``--frozen-clock``, scale 1,
seed 1), so the simulator never shares a core's GIL with the code under measurement and
every run sees the same data. ``python -m bench --profile`` profiles the rate-limit-off
sync instead (bench/profile_sync.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import dlt_pipeline, xml_memory
from bench.cabinet import cabinet_row
from bench.client_read import fewest_requests, full_read, truth_counts
from bench.simulator_process import simulator_process
from bench.sync_rows import (
    SCHOOL_ID,
    UNLIMITED,
    full_sync,
    full_then_unchanged,
    postgres_available,
    postgres_store,
    sqlite_store,
)
from kros_adapter.contract import COLLECTIONS
from service.logging import configure_logging

SIMULATOR = ("--scale", "1", "--seed", "1")
API_RATE = 10.0
"""Requests per second KROS allows (CONTRACT.md §1)."""

BOUND_RATIO = 1.15
SQLITE_RECORDS_PER_SECOND = 30_000
DLT_RATIO = 2.0
INCREMENTAL_SECONDS = 2.0
XML_PEAK_BYTES = 250 * 10**6


class Results:
    """The one table of figures: what / figure / bar / verdict."""

    def __init__(self) -> None:
        self.table = Table(title="Performance (SPEC.md): one scale-1 school, seed 1, one run")
        for column in ("what", "figure", "bar", "verdict"):
            self.table.add_column(column)

    def add(self, what: str, figure: str, bar: str, passed: bool | None) -> None:
        verdict = "—" if passed is None else ("✓" if passed else "✗")
        style = None if passed is None else ("green" if passed else "red")
        self.table.add_row(what, figure, bar, verdict, style=style)


def _failures(failed: tuple[str, ...]) -> str:
    return f"; FAILED streams: {'; '.join(failed)}" if failed else ""


def rate_limit_off(console: Console, results: Results, workdir: Path) -> dict[str, int]:
    """Client read, our sync on SQLite and PostgreSQL, and dlt: one simulator, limit off."""
    started = time.perf_counter()
    with simulator_process(*SIMULATOR, "--no-rate-limit") as base_url:
        console.print(
            f"simulator (rate limit off) started in {time.perf_counter() - started:.1f} s"
        )
        counts = truth_counts(base_url)
        console.print(_counts_table(counts))
        bound = fewest_requests(counts)

        read = full_read(base_url, rate=UNLIMITED)
        results.add(
            "requests of a full read (client)",
            f"{read.requests} (contract minimum {bound}, the token included)",
            "the fewest the contract allows",
            read.requests <= bound,
        )
        results.add(
            "full read, rate limit off (client only)",
            f"{read.records_per_second:,.0f} records/s ({read.records:,} in {read.seconds:.1f} s)",
            "— decode + de-dupe; the sync rows add mapping and writing",
            None,
        )

        console.print("full sync, rate limit off, SQLite …")
        with sqlite_store(str(workdir)) as store:
            ours = full_sync(base_url, store, rate=UNLIMITED)
        results.add(
            "full sync, rate limit off, SQLite",
            f"{ours.records_per_second:,.0f} records/s ({ours.records:,} in {ours.seconds:.1f} s, "
            f"{ours.requests} requests){_failures(ours.failed)}",
            f"≥ {SQLITE_RECORDS_PER_SECOND:,} records/s",
            ours.records_per_second >= SQLITE_RECORDS_PER_SECOND and not ours.failed,
        )

        # dlt reads the 18 JSON collections only, so ours is timed on the same ones (and
        # the school resource, one record, which every collection's rows reference).
        console.print("the same 18 collections: ours, then a dlt REST pipeline, into SQLite …")
        with sqlite_store(str(workdir)) as store:
            same = full_sync(base_url, store, rate=UNLIMITED, streams=("school", *COLLECTIONS))
        dlt = dlt_pipeline.dlt_load(base_url, workdir / "dlt")
        expected = sum(counts[name] for name in COLLECTIONS)
        results.add(
            "dlt rest_api → SQLite, 18 collections (yardstick)",
            f"{dlt.records_per_second:,.0f} records/s ({dlt.records:,} of {expected:,} in "
            f"{dlt.seconds:.1f} s: extract {dlt.extract_seconds:.1f} s, normalize "
            f"{dlt.normalize_seconds:.1f} s, load {dlt.load_seconds:.1f} s)",
            "— untyped strings, no quarantine, no reconciliation",
            None,
        )
        ratio = same.records_per_second / dlt.records_per_second
        results.add(
            "ours ÷ dlt, same 18 collections → SQLite",
            f"{ratio:.2f}× (ours {same.records_per_second:,.0f} records/s: {same.records:,} "
            f"in {same.seconds:.1f} s){_failures(same.failed)}",
            f"≥ {DLT_RATIO:.0f}×",
            ratio >= DLT_RATIO and not same.failed and dlt.records == expected,
        )

        console.print("full sync, rate limit off, PostgreSQL …")
        if postgres_available():
            with postgres_store() as store:
                pg = full_sync(base_url, store, rate=UNLIMITED)
            results.add(
                "full sync, rate limit off, PostgreSQL",
                f"{pg.records_per_second:,.0f} records/s ({pg.records:,} in {pg.seconds:.1f} s)"
                f"{_failures(pg.failed)}",
                f"— (SPEC's bar is on SQLite: ≥ {SQLITE_RECORDS_PER_SECOND:,})",
                None if not pg.failed else False,
            )
        else:
            results.add(
                "full sync, rate limit off, PostgreSQL",
                "not measured: nothing answers on 127.0.0.1:5432",
                "—",
                False,
            )
    return counts


def rate_limit_on(console: Console, results: Results, workdir: Path, bound: int) -> None:
    """The API's own pace: the client read, then a first full sync and an idle incremental,
    each against a fresh simulator so that each starts with a full token bucket."""
    bound_seconds = bound / API_RATE
    console.print("full read, rate limit on …")
    with simulator_process(*SIMULATOR) as base_url:
        limited = full_read(base_url, rate=API_RATE)
    results.add(
        "full read, rate limit on (client)",
        f"{limited.seconds:.1f} s = {limited.seconds / bound_seconds:.2f}× the API's bound "
        f"({bound_seconds:.1f} s)",
        f"≤ {BOUND_RATIO}×",
        limited.seconds / bound_seconds <= BOUND_RATIO,
    )

    console.print("full first sync, rate limit on, then an incremental one with nothing changed …")
    with simulator_process(*SIMULATOR) as base_url, sqlite_store(str(workdir)) as store:
        full, idle = full_then_unchanged(base_url, store, rate=API_RATE)
    ratio = full.seconds / bound_seconds
    results.add(
        "full first sync, rate limit on, SQLite",
        f"{full.seconds:.1f} s = {ratio:.2f}× the API's bound ({bound} requests ÷ "
        f"{API_RATE:.0f}/s = {bound_seconds:.1f} s); {full.requests} requests"
        f"{_failures(full.failed)}",
        f"≤ {BOUND_RATIO}×",
        ratio <= BOUND_RATIO and not full.failed,
    )
    results.add(
        "incremental sync, nothing changed: requests",
        f"{idle.requests} for {idle.streams} streams ({idle.not_modified} × 304), "
        f"{idle.records} records read, {idle.written} written{_failures(idle.failed)}",
        f"≤ one per collection ({idle.streams})",
        idle.requests <= idle.streams and not idle.failed,
    )
    results.add(
        "incremental sync, nothing changed: time",
        f"{idle.seconds:.2f} s (rate limit on)",
        f"< {INCREMENTAL_SECONDS:.0f} s",
        idle.seconds < INCREMENTAL_SECONDS,
    )


def xml_rows(console: Console, results: Results, workdir: Path) -> None:
    console.print("writing a 200 MB final-grades.xml, then parsing it in a child process …")
    path = workdir / "final-grades.xml"
    xml_memory.write_document(path)
    figures = xml_memory.measure_in_child(path)
    path.unlink()
    results.add(
        "200 MB final-grades.xml: peak memory",
        f"{figures.peak_rss / 1e6:.0f} MB peak RSS ({figures.baseline_rss / 1e6:.0f} MB before "
        f"parsing) for {figures.bytes / 1e6:.0f} MB, {figures.records:,} grades",
        f"< {XML_PEAK_BYTES // 10**6} MB",
        figures.peak_rss < XML_PEAK_BYTES,
    )
    results.add(
        "200 MB final-grades.xml: parse rate",
        f"{figures.records_per_second:,.0f} grades/s, {figures.megabytes_per_second:.0f} MB/s "
        f"({figures.seconds:.1f} s)",
        "— streamed, records yielded as they complete",
        None,
    )


def _counts_table(counts: dict[str, int]) -> Table:
    table = Table(title="Simulator ground truth, scale 1, seed 1 (records per collection)")
    table.add_column("collection")
    table.add_column("records", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    table.add_row("total", f"{sum(counts.values()):,}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--profile", action="store_true", help="profile the rate-limit-off sync instead"
    )
    args = parser.parse_args()
    configure_logging(level="warning")
    if args.profile:
        from bench import profile_sync

        profile_sync.main()
        return
    console = Console()
    if not console.is_terminal:
        console.width = 150  # a log or a pipe: do not wrap the figures at 80 columns
    results = Results()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kros-bench-") as directory:
        workdir = Path(directory)
        counts = rate_limit_off(console, results, workdir)
        rate_limit_on(console, results, workdir, fewest_requests(counts))
        xml_rows(console, results, workdir)
        cabinet_row(console, results, workdir)
    console.print(results.table)
    console.print(f"school {SCHOOL_ID}; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
