"""``kros-adapter demo``: the product on one machine, with no configuration.

It starts the built-in KROS simulator, reads a whole school through the real client
over real HTTP with a progress bar, checks the read against the simulator's ground
truth, and keeps the simulator serving until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import ExitStack
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import running_simulator
from kros_adapter.snapshot import SchoolSnapshot, read_school

DEMO_SCHOOL = "sch-1"


@dataclass(frozen=True)
class DemoOptions:
    scale: float = 1.0
    seed: int = 1
    wait_for_interrupt: bool = True


def run_demo(console: Console, options: DemoOptions = DemoOptions()) -> None:
    simulator_options = SimulatorOptions(scale=options.scale, seed=options.seed)
    with ExitStack() as stack:
        with console.status("Генерируем данные школы в симуляторе КРОС…"):
            running = stack.enter_context(running_simulator(simulator_options))
        console.print(f"Симулятор КРОС: [bold]{running.base_url}[/bold]")
        truth = running.simulator.counts()["schools"][DEMO_SCHOOL]
        settings = ClientSettings(
            base_url=running.base_url, client_id="school-1", client_secret="demo-secret"
        )
        snapshot = asyncio.run(_read_with_progress(console, settings, sum(truth.values())))
        console.print(_comparison(snapshot, truth))
        if options.wait_for_interrupt:
            console.print(
                f"Симулятор продолжает работать: {running.base_url}/_sim/truth — счётчики; "
                "Ctrl-C — выход."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                console.print("Остановлено.")


async def _read_with_progress(
    console: Console, settings: ClientSettings, expected: int
) -> SchoolSnapshot:
    columns = (
        TextColumn("Чтение журнала из КРОС"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("read", total=expected)
        async with KrosClient(settings) as client:
            return await read_school(
                client,
                DEMO_SCHOOL,
                progress=lambda _name, records: progress.advance(task, records),
            )


def _comparison(snapshot: SchoolSnapshot, truth: dict[str, int]) -> Table:
    table = Table(title="Прочитано из КРОС и истина симулятора")
    for column in ("коллекция", "прочитано", "в КРОС"):
        table.add_column(column, justify="right" if column != "коллекция" else "left")
    read = {name: len(result.records) for name, result in snapshot.collections.items()}
    read |= {name: len(result.records) for name, result in snapshot.documents.items()}
    for name, expected in truth.items():
        marker = "" if read.get(name) == expected else " ≠"
        table.add_row(name, f"{read.get(name, 0):,}{marker}", f"{expected:,}")
    return table
