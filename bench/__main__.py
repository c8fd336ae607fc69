"""`make bench`: the Performance rows of SPEC.md that exist so far, measured in one run."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from bench.client_read import fewest_requests, full_read, truth_counts
from bench.simulator_process import simulator_process
from service.logging import configure_logging


def main() -> None:
    configure_logging(level="warning")
    console = Console()
    counts_table = Table(title="Simulator ground truth, scale 1, seed 1 (records per collection)")
    counts_table.add_column("collection")
    counts_table.add_column("records", justify="right")
    results = Table(title="KROS client, full read of one scale-1 school")
    for column in ("what", "figure", "bar"):
        results.add_column(column)

    started = time.perf_counter()
    with simulator_process("--scale", "1", "--no-rate-limit") as base_url:
        console.print(f"simulator started in {time.perf_counter() - started:.1f} s")
        counts = truth_counts(base_url)
        for name, count in counts.items():
            counts_table.add_row(name, f"{count:,}")
        counts_table.add_row("total", f"{sum(counts.values()):,}")
        console.print(counts_table)
        unlimited = full_read(base_url, rate=1e6)
    bound_requests = fewest_requests(counts)
    with simulator_process("--scale", "1") as base_url:
        limited = full_read(base_url, rate=10.0)
    bound_seconds = bound_requests / 10.0
    results.add_row(
        "requests of a full read",
        f"{unlimited.requests} (contract minimum {bound_requests})",
        "the fewest the contract allows",
    )
    results.add_row(
        "full read, rate limit on",
        f"{limited.seconds:.1f} s = {limited.seconds / bound_seconds:.2f}× the API's bound "
        f"({bound_seconds:.1f} s)",
        "≤ 1.15×",
    )
    results.add_row(
        "full read, rate limit off",
        f"{unlimited.records_per_second:,.0f} records/s ({unlimited.records:,} in "
        f"{unlimited.seconds:.1f} s)",
        "client only (decode + de-dupe); the sync row adds mapping and writing",
    )
    console.print(results)


if __name__ == "__main__":
    main()
