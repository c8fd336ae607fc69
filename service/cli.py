"""The command line, ``kros-adapter``: commands parse, call one function below, render.

Every failure leaves through :meth:`KrosCli.main`, the one place that maps errors to
exit codes (SPEC, Command line) and to one line on stderr that says what to do:

* 0 — success;
* 1 — the work failed (KROS unreachable, a document refused …), see :data:`FAILURES`;
* 2 — bad usage or configuration (Click usage errors, ``ConfigError``,
  ``KrosConfigurationError``).

Never a traceback, unless ``--debug`` asks for one. Configuration is loaded only by the
commands that need it, so ``--help`` and the simulator work without any.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import click
from rich.console import Console
from rich.table import Table

from kros_adapter.errors import (
    KrosConfigurationError,
    KrosDocumentRefusedError,
    KrosError,
    KrosExpiredError,
    KrosProtocolError,
    KrosRejectedError,
    KrosRetriableError,
)
from kros_adapter.simulator.model import DEFAULT_TODAY, FaultProfile, SimulatorOptions
from kros_adapter.timestamps import REGION_TZ
from mappings.errors import DictionaryError
from service.config import CONFIG_PATH_ENV, AppConfig, load_config
from service.errors import ConfigError, ServiceError
from service.logging import configure_logging
from sync.errors import SyncError
from sync.streams import UnknownStreamError

PROG_NAME = "kros-adapter"
USAGE_EXIT = 2
FAILURE_EXIT = 1

FAILURES: tuple[tuple[type[Exception], int, str], ...] = (
    # (error class, exit code, what to do); the first matching row wins.
    (ConfigError, USAGE_EXIT, ""),
    (ServiceError, FAILURE_EXIT, ""),
    (
        KrosConfigurationError,
        USAGE_EXIT,
        "check kros.client_id, kros.client_secret and kros.school_ids "
        f"('{PROG_NAME} config check')",
    ),
    (KrosRetriableError, FAILURE_EXIT, "KROS is unreachable or busy; try again later"),
    (KrosExpiredError, FAILURE_EXIT, "run the sync again"),
    (KrosRejectedError, FAILURE_EXIT, "KROS refused the request; see the log for its request id"),
    (
        KrosDocumentRefusedError,
        FAILURE_EXIT,
        "the document was refused as unsafe or too large (kros.max_document_bytes)",
    ),
    (KrosProtocolError, FAILURE_EXIT, "KROS answered outside its contract; report it with the log"),
    (KrosError, FAILURE_EXIT, "see the log"),
    (UnknownStreamError, USAGE_EXIT, f"see '{PROG_NAME} sync --help'"),
    (DictionaryError, USAGE_EXIT, "fix the mapping or dictionary file it names"),
    (SyncError, FAILURE_EXIT, ""),
)
"""How each known error ends a command. Later layers add their rows here."""


def describe_failure(exc: Exception) -> tuple[int, str]:
    """The exit code and the one stderr line for an exception that ended a command."""
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx else PROG_NAME
        message = exc.format_message().rstrip(".")
        return USAGE_EXIT, _one_line(f"error: {message} — see '{where} --help'")
    if isinstance(exc, click.ClickException):
        return exc.exit_code, _one_line(f"error: {exc.format_message()}")
    if isinstance(exc, click.Abort):
        return FAILURE_EXIT, "aborted"
    for error_class, code, hint in FAILURES:
        if isinstance(exc, error_class):
            return code, _one_line(f"error: {exc}" + (f" — {hint}" if hint else ""))
    return FAILURE_EXIT, _one_line(
        f"unexpected error: {type(exc).__name__}: {exc} — run with --debug for details"
    )


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class CliState:
    """What the group's options leave for the commands (``ctx.obj``)."""

    config_path: Path | None = None
    debug: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _config: AppConfig | None = None

    def config(self) -> AppConfig:
        """The configuration, loaded on first use (commands that need none never fail on it)."""
        if self._config is None:
            self._config = load_config(self.config_path, self.environ)
        return self._config


class KrosCli(click.Group):
    """The top-level group; its :meth:`main` maps every failure to an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if extra.get("obj") is None:
            extra["obj"] = CliState()
        state = extra["obj"]
        try:
            result = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except click.exceptions.NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(USAGE_EXIT)
        except Exception as exc:
            if not standalone_mode:
                raise
            code, line = describe_failure(exc)
            if getattr(state, "debug", False) and not isinstance(exc, click.ClickException):
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(line, err=True)
            sys.exit(code)
        if not standalone_mode:
            return result
        # Click returns an int only for an explicit exit (--help, --version, ctx.exit(n));
        # commands return None.
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=KrosCli,
    name=PROG_NAME,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar=CONFIG_PATH_ENV,
    show_envvar=True,
    help="Configuration file. [default: ./config.toml, if present]",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and log at debug level.")
@click.version_option(package_name="kros-adapter", prog_name=PROG_NAME)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """kros-adapter: the school's bridge to the regional AIS «КРОС» (ЭЖ)."""
    state = ctx.ensure_object(CliState)
    state.config_path = config_path
    state.debug = debug


# --- simulator -------------------------------------------------------------------------


def _today_option(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    try:
        return parse_local_datetime(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or date-time, e.g. 2026-12-04T10:00 or 2026-12-04"
        ) from None


def parse_local_datetime(text: str) -> datetime:
    """``2026-12-04`` (10:00), ``2026-12-04T10:00`` (local) or with an offset; aware."""
    text = text.strip()
    if len(text) == len("2026-12-04"):
        return datetime.combine(date.fromisoformat(text), DEFAULT_TODAY.timetz())
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=REGION_TZ)
    return moment.astimezone(REGION_TZ)


class _CountingSimulator(Protocol):
    def counts(self) -> Mapping[str, Any]: ...


class _SimulatorServer(Protocol):
    """What this module uses of ``kros_adapter.simulator.server``."""

    def run(self, options: SimulatorOptions) -> None: ...

    def Simulator(self, options: SimulatorOptions) -> _CountingSimulator: ...


def _simulator_server() -> _SimulatorServer:
    # Imported on demand: the server pulls in uvicorn and generates data, which no
    # other command needs.
    return cast(_SimulatorServer, importlib.import_module("kros_adapter.simulator.server"))


_SIM = SimulatorOptions()


@main.command()
@click.option("--host", default=_SIM.host, show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=_SIM.port, show_default=True, help="Port."
)
@click.option("--seed", type=int, default=_SIM.seed, show_default=True, help="Data seed.")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=_SIM.scale,
    show_default=True,
    help="Data volume; 1.0 is one ordinary school.",
)
@click.option(
    "--schools",
    type=click.IntRange(min=1),
    default=_SIM.schools,
    show_default=True,
    help="Number of schools: sch-1, sch-2, …",
)
@click.option(
    "--today",
    default=DEFAULT_TODAY.strftime("%Y-%m-%dT%H:%M"),
    callback=_today_option,
    show_default=True,
    help="Where the clock starts; local time (+03:00) unless an offset is given; "
    "a date alone means 10:00.",
)
@click.option(
    "--faults",
    type=click.Choice(["none", "flaky"]),
    default=_SIM.faults,
    show_default=True,
    help="Fault profile: flaky adds 5xx, resets, expired cursors and revoked tokens.",
)
@click.option("--no-rate-limit", is_flag=True, help="Turn off the 10 requests/s limit.")
@click.option("--maintenance", is_flag=True, help="Answer 503 in the nightly 01:00–03:00 window.")
@click.option(
    "--frozen-clock", is_flag=True, help="Stop the clock; tests move it via POST /_sim/clock."
)
@click.option(
    "--mutations-per-minute",
    type=click.FloatRange(min=0),
    default=None,
    help="Changes per simulated minute. [default: 20 × scale in school hours]",
)
@click.option(
    "--print-counts", is_flag=True, help="Print the generated records per collection and exit."
)
@click.pass_obj
def simulator(
    state: CliState,
    host: str,
    port: int,
    seed: int,
    scale: float,
    schools: int,
    today: datetime,
    faults: str,
    no_rate_limit: bool,
    maintenance: bool,
    frozen_clock: bool,
    mutations_per_minute: float | None,
    print_counts: bool,
) -> None:
    """Run the built-in KROS simulator (kros/CONTRACT.md) until Ctrl-C."""
    options = SimulatorOptions(
        host=host,
        port=port,
        seed=seed,
        scale=scale,
        schools=schools,
        today=today,
        faults=cast(FaultProfile, faults),
        rate_limit=not no_rate_limit,
        maintenance=maintenance,
        frozen_clock=frozen_clock,
        mutations_per_minute=mutations_per_minute,
    )
    server = _simulator_server()
    if print_counts:
        counts = server.Simulator(options).counts()
        console = Console()
        console.print(counts_table(counts))
        if "server_time" in counts:
            console.print(f"server time {counts['server_time']}", markup=False)
        return
    configure_logging(level="debug" if state.debug else "info")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the simulator stops.
        server.run(options)


@main.command()
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Data volume of the simulated school.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Data seed.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port of the cabinet on 127.0.0.1.",
)
@click.option(
    "--sync-every",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between scheduled syncs of the journal.",
)
@click.option("--no-wait", is_flag=True, help="Exit after the first read instead of serving on.")
def demo(scale: float, seed: int, port: int, sync_every: float, no_wait: bool) -> None:
    """The product on one machine: the KROS simulator, a first full sync, the scheduler and
    the cabinet on http://127.0.0.1:8080 with demo logins; no configuration."""
    from service.demo import DemoOptions, run_demo

    configure_logging(level="warning")
    run_demo(
        Console(),
        DemoOptions(
            scale=scale,
            seed=seed,
            port=port,
            sync_every_seconds=sync_every,
            wait_for_interrupt=not no_wait,
        ),
    )


@main.command()
@click.pass_obj
def serve(state: CliState) -> None:
    """The background service: scheduled syncs, the cabinet, /healthz, /readyz and /metrics
    on web.host:web.port, until SIGTERM or Ctrl-C."""
    from service.serve import run_service

    config = state.config()
    configure_logging(
        level="debug" if state.debug else config.logging.level, fmt=config.logging.format
    )
    run_service(config)


# --- sync, status, export, quarantine, db ----------------------------------------------


@main.command("sync")
@click.option("--full", is_flag=True, help="Read everything again and reconcile deletions.")
@click.option(
    "--stream", "streams", multiple=True, help="Only this stream (repeatable): marks, lessons, …"
)
@click.option("--school", default=None, help="Only this school id.")
@click.pass_obj
def sync_command(state: CliState, full: bool, streams: tuple[str, ...], school: str | None) -> None:
    """One sync now (the manual resync): progress on a terminal, a summary at the end."""
    from service import sync_commands

    config = state.config()
    configure_logging(
        level="debug" if state.debug else config.logging.level, fmt=config.logging.format
    )
    console = Console()
    options = sync_commands.sync_options(config, full=full, streams=streams, school=school)
    summary = sync_commands.run_sync(config, options, console)
    console.print(sync_commands.summary_table(summary))
    quarantined = sum(result.quarantined for result in summary.streams)
    if quarantined:
        console.print(f"{quarantined} records held in quarantine: '{PROG_NAME} quarantine list'")
    if summary.failed:
        first = summary.failed[0]
        raise SyncError(
            f"{len(summary.failed)} stream(s) failed, first {first.school_id}/{first.stream}: "
            f"{first.error}"
        )


@main.command()
@click.pass_obj
def status(state: CliState) -> None:
    """Last runs per stream, watermarks, lag, quarantined records and alerts."""
    from service import sync_commands

    config = state.config()
    statuses = sync_commands.status_rows(config)
    Console().print(sync_commands.status_table(statuses, config.sync.quarantine_alert_rate))


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl"]),
    default="jsonl",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--since-version",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Only rows with change_version above this (exclusive).",
)
@click.pass_obj
def export(state: CliState, fmt: str, since_version: int) -> None:
    """The normalized store as JSON Lines on stdout, in change_version order."""
    from service import sync_commands

    count = sync_commands.export(state.config(), since_version, sys.stdout.buffer)
    click.echo(f"{count} rows exported", err=True)


@main.group("quarantine")
def quarantine_group() -> None:
    """Records KROS sent that could not be stored, with their reasons."""


@quarantine_group.command("list")
@click.option("--school", default=None, help="Only this school id.")
@click.option("--stream", default=None, help="Only this stream.")
@click.pass_obj
def quarantine_list(state: CliState, school: str | None, stream: str | None) -> None:
    """The records held in quarantine and why."""
    from service import sync_commands

    Console().print(sync_commands.quarantine_rows(state.config(), school, stream))


@quarantine_group.command("retry")
@click.pass_obj
def quarantine_retry(state: CliState) -> None:
    """Try the held records again, after an alias or a mapping was fixed."""
    from service import sync_commands

    released, still = sync_commands.retry_quarantine(state.config())
    click.echo(f"{released} records stored, {still} still held")


@main.command()
@click.option("--stream", "streams", multiple=True, help="Only this stream (repeatable).")
@click.option("--school", default=None, help="Only this school id.")
@click.pass_obj
def replay(state: CliState, streams: tuple[str, ...], school: str | None) -> None:
    """Re-normalize the store from the raw-payload archive, without asking KROS."""
    from service import sync_commands

    counts = sync_commands.replay(state.config(), streams=streams, school=school)
    click.echo(
        f"{counts.payloads} archived pages, {counts.records} records: {counts.written} "
        f"written, {counts.tombstoned} tombstoned, {counts.quarantined} held in quarantine"
    )


@main.group("db")
def db_group() -> None:
    """The store's schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(state: CliState) -> None:
    """Create or migrate the store's tables to the current version."""
    from service import sync_commands

    revision = sync_commands.upgrade(state.config())
    click.echo(f"store at revision {revision}")


def counts_table(counts: Mapping[str, Any]) -> Table:
    """Records per collection (rows) and school (columns), with a total row.

    Takes ``Simulator.counts()`` as the server returns it — ``{"server_time": …,
    "schools": {school: {collection: n}}}`` — or the bare ``{school: {collection: n}}``.
    """
    schools: Mapping[str, Mapping[str, int]] = counts.get("schools", counts)
    table = Table(title="simulated records")
    table.add_column("collection")
    for school in schools:
        table.add_column(school, justify="right")
    collections = dict.fromkeys(name for per_school in schools.values() for name in per_school)
    for name in collections:
        table.add_row(name, *(str(per_school.get(name, 0)) for per_school in schools.values()))
    table.add_section()
    table.add_row("total", *(str(sum(per_school.values())) for per_school in schools.values()))
    return table


# --- config ----------------------------------------------------------------------------


@main.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(state: CliState) -> None:
    """Validate the configuration and print the effective settings, secrets masked."""
    app_config = state.config()
    source = app_config.source
    click.echo("configuration OK")
    click.echo(
        f"# read from {source.resolve()}" if source else "# no file: defaults and environment"
    )
    click.echo(render_settings(app_config.masked()))


def render_settings(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """Settings as TOML, so that IT staff can copy them into config.toml."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
