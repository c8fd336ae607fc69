"""``kros-adapter demo``: the product on one machine, with no configuration.

It starts the built-in KROS simulator, runs a first full sync into a SQLite store with a
progress bar, shows what landed and what went to quarantine, creates the demo accounts
and prints their logins, then runs the service itself (:mod:`service.serve`): the cabinet
on http://127.0.0.1:8080 and the scheduler syncing every minute while the simulator's
teachers keep marking — until Ctrl-C, which stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import running_simulator
from service.config import DEFAULT_WEB_PORT, AppConfig
from service.scheduler import JobOutcome
from service.serve import Service, listen_socket, run_service
from service.sync_commands import summary_table
from sync.engine import RunSummary, StreamResult, SyncEngine, SyncOptions
from sync.store import Store

if TYPE_CHECKING:
    from publish.accounts import DemoLogin

DEMO_SCHOOL = "sch-1"
DEMO_STORE = Path("var") / "demo.db"
DEMO_CLIENT_ID = "school-1"
DEMO_CLIENT_SECRET = "demo-secret"  # the simulator's public demo account


@dataclass(frozen=True)
class DemoOptions:
    scale: float = 1.0
    seed: int = 1
    wait_for_interrupt: bool = True
    sync_every_seconds: float = 60.0
    store_path: Path = DEMO_STORE
    port: int = DEFAULT_WEB_PORT


def run_demo(console: Console, options: DemoOptions = DemoOptions()) -> None:
    # Taken first: a busy port should stop the demo before a minute of generating and
    # syncing, not after.
    sock = listen_socket("127.0.0.1", options.port) if options.wait_for_interrupt else None
    try:
        _run_demo(console, options, sock)
    finally:
        if sock is not None:
            sock.close()


def _run_demo(console: Console, options: DemoOptions, sock: socket.socket | None) -> None:
    options.store_path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in options.store_path.parent.glob(options.store_path.name + "*"):
        leftover.unlink()  # every demo starts from an empty store (and a new session secret)
    store_url = f"sqlite:///{options.store_path}"
    store = Store(store_url)
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
            base_url=running.base_url, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET
        )
        try:
            asyncio.run(_first_sync_and_summary(console, store, settings, expected))
            print_logins(console, demo_logins(store_url))
            if sock is None:
                return
            config = demo_config(running.base_url, store_url, options)
            run_service(
                config, sock=sock, prepare=lambda service: _announce(console, service, options)
            )
        except KeyboardInterrupt:
            pass  # Ctrl-C before the service took over its signals
        console.print("Остановлено.")


def demo_config(base_url: str, store_url: str, options: DemoOptions) -> AppConfig:
    """The demo's configuration: the simulator, the demo store, a sync every minute."""
    return AppConfig.model_validate(
        {
            "kros": {
                "base_url": base_url,
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
                "school_ids": [DEMO_SCHOOL],
            },
            "store": {"url": store_url},
            "web": {"host": "127.0.0.1", "port": options.port},
            "schedule": {
                "journal_interval_seconds": options.sync_every_seconds,
                "sync_on_start": False,  # the first full sync has just run
            },
        }
    )


# --- the first sync ----------------------------------------------------------------------


async def _first_sync_and_summary(
    console: Console, store: Store, settings: ClientSettings, expected: int
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


# --- the logins --------------------------------------------------------------------------


def demo_logins(store_url: str) -> list[DemoLogin]:
    """The demo accounts (a guardian of two children, a student, a class teacher, an
    administrator), created in the store if missing, with fresh passwords."""
    from publish.accounts import ensure_demo_accounts

    return ensure_demo_accounts(store_url, DEMO_SCHOOL)


def print_logins(console: Console, logins: Sequence[DemoLogin]) -> None:
    table = Table(title="Демо-входы в кабинет")
    for column in ("роль", "логин", "пароль", "кто это"):
        table.add_column(column)
    for login in logins:
        role = _ROLE_NAMES.get(login.role, login.role)
        table.add_row(role, login.login, login.password, login.description)
    console.print(table)


def _announce(console: Console, service: Service, options: DemoOptions) -> None:
    def started_line() -> None:
        console.print(
            f"Кабинет: [bold]{service.url}[/bold] — синхронизация каждые "
            f"{options.sync_every_seconds:.0f} с; Ctrl-C — выход."
        )

    def on_job_done(outcome: JobOutcome) -> None:
        results = outcome.results
        written = sum(result.written for result in results)
        deleted = sum(result.tombstoned for result in results)
        read = sum(result.read for result in results)
        failed = len(outcome.failed) + (1 if outcome.error else 0)
        note = f", с ошибками: {failed}" if failed else ""
        console.print(
            f"{_JOB_LABELS.get((outcome.cause, outcome.group), outcome.group)}: прочитано "
            f"{read}, изменено {written}, удалено {deleted} за {outcome.seconds:.1f} с{note}"
        )

    def stopping() -> None:
        console.print("Останавливаемся… (ещё раз Ctrl-C — не дожидаться синхронизации)")

    service.on_job_done(on_job_done)
    service.on_ready(started_line)
    service.on_stopping(stopping)


_ROLE_NAMES = {
    "guardian": "родитель",
    "student": "обучающийся",
    "class_teacher": "кл. руководитель",
    "secretary": "секретарь",
    "admin": "администратор",
}

_JOB_LABELS = {
    ("schedule", "journal"): "журнал по расписанию",
    ("schedule", "reference"): "справочники по расписанию",
    ("resync", "all"): "синхронизация по кнопке",
    ("start", "all"): "синхронизация при запуске",
}
