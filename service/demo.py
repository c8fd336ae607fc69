"""``kros-adapter demo``: the product on one machine, with no configuration.

It starts the built-in KROS simulator, runs a first full sync into a SQLite store with a
progress bar, shows what landed and what went to quarantine, then keeps syncing
incrementally while the simulator's teachers keep marking, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import running_simulator
from service.sync_commands import summary_table
from sync.engine import RunSummary, StreamResult, SyncEngine, SyncOptions
from sync.store import Store

DEMO_SCHOOL = "sch-1"
DEMO_STORE = Path("var") / "demo.db"


@dataclass(frozen=True)
class DemoOptions:
    scale: float = 1.0
    seed: int = 1
    wait_for_interrupt: bool = True
    sync_every_seconds: float = 60.0
    store_path: Path = DEMO_STORE


def run_demo(console: Console, options: DemoOptions = DemoOptions()) -> None:
    options.store_path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in options.store_path.parent.glob(options.store_path.name + "*"):
        leftover.unlink()  # every demo starts from an empty store
    store = Store(f"sqlite:///{options.store_path}")
    store.upgrade()
    with ExitStack() as stack:
        stack.callback(store.dispose)
        with console.status("Генерируем данные школы в симуляторе КРОС…"):
            running = stack.enter_context(
                running_simulator(SimulatorOptions(scale=options.scale, seed=options.seed))
            )
        console.print(f"Симулятор КРОС: [bold]{running.base_url}[/bold]")
        console.print(f"Хранилище: [bold]{options.store_path}[/bold] (SQLite)")
        expected = sum(running.simulator.counts()["schools"][DEMO_SCHOOL].values())
        settings = ClientSettings(
            base_url=running.base_url, client_id="school-1", client_secret="demo-secret"
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_sync_forever(console, store, settings, expected, options))
        console.print("Остановлено.")


async def _sync_forever(
    console: Console,
    store: Store,
    settings: ClientSettings,
    expected: int,
    options: DemoOptions,
) -> None:
    sync_options = SyncOptions(school_ids=[DEMO_SCHOOL])
    async with KrosClient(settings) as client:
        summary = await _first_sync(console, store, client, sync_options, expected)
        console.print(summary_table(summary))
        held = sum(result.quarantined for result in summary.streams)
        console.print(
            f"{held} записей в карантине (неизвестные оценки, коды и ссылки): "
            "kros-adapter quarantine list"
        )
        if not options.wait_for_interrupt:
            return
        console.print(
            f"Дальше — инкрементальная синхронизация каждые {options.sync_every_seconds:.0f} с; "
            "Ctrl-C — выход."
        )
        while True:
            await asyncio.sleep(options.sync_every_seconds)
            summary = await SyncEngine(store, client).run(sync_options)
            written = sum(r.written for r in summary.streams)
            deleted = sum(r.tombstoned for r in summary.streams)
            console.print(
                f"инкрементально: {summary.requests} запросов, прочитано "
                f"{summary.records_read}, изменено {written}, удалено {deleted} "
                f"за {summary.seconds:.1f} с"
            )


async def _first_sync(
    console: Console,
    store: Store,
    client: KrosClient,
    sync_options: SyncOptions,
    expected: int,
) -> RunSummary:
    columns = (
        TextColumn("Первая синхронизация с КРОС"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("sync", total=expected)

        def advance(_result: StreamResult, records: int) -> None:
            progress.advance(task, records)

        return await SyncEngine(store, client, progress=advance).run(sync_options)
