"""service.cli through Click's runner: parsing, rendering, exit codes, one-line errors."""

from __future__ import annotations

import io
import os
import sys
import types
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from kros_adapter.errors import (
    KrosAuthenticationError,
    KrosDocumentRefusedError,
    KrosError,
    KrosTransportError,
)
from kros_adapter.simulator.model import SimulatorOptions
from service.cli import counts_table, describe_failure, main
from service.errors import ConfigError, ServiceError

MSK = timezone(timedelta(hours=3))

CONFIG = """
[kros]
base_url = "http://127.0.0.1:8081"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
"""

WriteConfig = Callable[[str], Path]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer's ./config.toml or KROS_ADAPTER_* variable leaks into a test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("KROS_ADAPTER_"):
            monkeypatch.delenv(name)


class FakeServer(types.ModuleType):
    """Stands in for kros_adapter.simulator.server: records what the command asked of it."""

    def __init__(self, *, fail_with: BaseException | None = None) -> None:
        super().__init__("kros_adapter.simulator.server")
        self.fail_with = fail_with
        self.ran: list[SimulatorOptions] = []
        self.built: list[SimulatorOptions] = []

    def run(self, options: SimulatorOptions) -> None:
        self.ran.append(options)
        if self.fail_with is not None:
            raise self.fail_with

    def Simulator(self, options: SimulatorOptions) -> Any:
        self.built.append(options)
        counts = {
            "server_time": "2026-12-04T10:00:00+03:00",
            "schools": {
                "sch-1": {"students": 700, "marks": 90000},
                "sch-2": {"students": 650, "marks": 85000},
            },
        }
        return types.SimpleNamespace(counts=lambda: counts)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    fake = FakeServer()
    monkeypatch.setitem(sys.modules, "kros_adapter.simulator.server", fake)
    yield fake


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def assert_one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


# --- the group --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [(), *command_paths(main)], ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: kros-adapter {' '.join(path)}".rstrip())


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("kros-adapter, version ")


def test_no_command_shows_help_as_bad_usage() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Commands:" in result.stderr


def test_unknown_option_is_one_line_and_exit_2() -> None:
    line = assert_one_line_error(invoke("--bogus"), 2)
    assert line == "error: No such option '--bogus' — see 'kros-adapter --help'"


def test_unknown_command_is_exit_2() -> None:
    line = assert_one_line_error(invoke("frobnicate"), 2)
    assert "frobnicate" in line


def test_help_needs_no_configuration(write_config: WriteConfig) -> None:
    """Configuration is loaded lazily: a broken file does not stop --help."""
    path = write_config("not toml at all [")
    assert invoke("--config", str(path), "simulator", "--help").exit_code == 0


# --- config check -----------------------------------------------------------------------


def test_config_check_prints_ok_and_masks_the_secret(write_config: WriteConfig) -> None:
    path = write_config(CONFIG)
    result = invoke("--config", str(path), "config", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("configuration OK\n")
    assert f"# read from {path.resolve()}" in result.stdout
    assert 'client_secret = "***"' in result.stdout
    assert "demo-secret" not in result.stdout
    assert 'school_ids = ["sch-1"]' in result.stdout


def test_config_check_reads_the_default_file(write_config: WriteConfig) -> None:
    write_config(CONFIG)  # ./config.toml in the test's working directory
    assert invoke("config", "check").exit_code == 0


def test_config_variable_names_the_file(write_config: WriteConfig) -> None:
    path = write_config(CONFIG.replace("school-1", "school-env"))
    result = invoke("config", "check", env={"KROS_ADAPTER_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert 'client_id = "school-env"' in result.stdout


def test_environment_overrides_the_file(write_config: WriteConfig) -> None:
    path = write_config(CONFIG)
    result = invoke(
        "--config",
        str(path),
        "config",
        "check",
        env={"KROS_ADAPTER_KROS__MAX_CONCURRENCY": "8", "KROS_ADAPTER_WEB__PORT": "9090"},
    )
    assert result.exit_code == 0, result.output
    assert "max_concurrency = 8" in result.stdout
    assert "port = 9090" in result.stdout


def test_bad_config_exits_2_with_one_line_naming_the_key(write_config: WriteConfig) -> None:
    path = write_config(CONFIG + "max_concurrency = 40\n")
    line = assert_one_line_error(invoke("--config", str(path), "config", "check"), 2)
    assert line.startswith("error: kros.max_concurrency: must be between 1 and 16 (got 40)")
    assert "KROS_ADAPTER_KROS__MAX_CONCURRENCY" in line


def test_bad_environment_value_exits_2(write_config: WriteConfig) -> None:
    path = write_config(CONFIG)
    result = invoke(
        "--config", str(path), "config", "check", env={"KROS_ADAPTER_KROS__PAGE_LIMIT": "5000"}
    )
    line = assert_one_line_error(result, 2)
    assert line.startswith("error: kros.page_limit: must be between 1 and 1000")


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    line = assert_one_line_error(
        invoke("--config", str(tmp_path / "absent.toml"), "config", "check"), 2
    )
    assert "no such configuration file" in line


def test_missing_secret_says_how_to_set_it(write_config: WriteConfig) -> None:
    path = write_config(CONFIG.replace('client_secret = "demo-secret"\n', ""))
    line = assert_one_line_error(invoke("--config", str(path), "config", "check"), 2)
    assert "kros.client_secret" in line
    assert "KROS_ADAPTER_KROS__CLIENT_SECRET" in line


# --- simulator --------------------------------------------------------------------------


def test_simulator_defaults_are_the_options_defaults(server: FakeServer) -> None:
    result = invoke("simulator")
    assert result.exit_code == 0, result.output
    assert server.ran == [SimulatorOptions()]


def test_simulator_options_are_parsed_into_simulator_options(server: FakeServer) -> None:
    result = invoke(
        "simulator",
        "--host",
        "0.0.0.0",
        "--port",
        "9001",
        "--seed",
        "7",
        "--scale",
        "0.25",
        "--schools",
        "3",
        "--today",
        "2026-09-01T08:30",
        "--faults",
        "flaky",
        "--no-rate-limit",
        "--maintenance",
        "--frozen-clock",
        "--mutations-per-minute",
        "5",
    )
    assert result.exit_code == 0, result.output
    assert server.ran == [
        SimulatorOptions(
            host="0.0.0.0",
            port=9001,
            seed=7,
            scale=0.25,
            schools=3,
            today=datetime(2026, 9, 1, 8, 30, tzinfo=MSK),
            faults="flaky",
            rate_limit=False,
            maintenance=True,
            frozen_clock=True,
            mutations_per_minute=5.0,
        )
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04T10:00", datetime(2026, 12, 4, 10, 0, tzinfo=MSK)),
        ("2026-12-04 12:30", datetime(2026, 12, 4, 12, 30, tzinfo=MSK)),
        ("2026-09-01", datetime(2026, 9, 1, 10, 0, tzinfo=MSK)),
        ("2026-12-04T07:00:00Z", datetime(2026, 12, 4, 10, 0, tzinfo=MSK)),
        ("2026-12-04T10:00+05:00", datetime(2026, 12, 4, 8, 0, tzinfo=MSK)),
    ],
)
def test_today_is_local_unless_an_offset_is_given(
    server: FakeServer, text: str, expected: datetime
) -> None:
    assert invoke("simulator", "--today", text).exit_code == 0
    [options] = server.ran
    assert options.today == expected
    assert options.today.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    "args",
    [
        ("--today", "tomorrow"),
        ("--faults", "sometimes"),
        ("--port", "0"),
        ("--scale", "0"),
        ("--schools", "0"),
    ],
)
def test_bad_simulator_options_exit_2(server: FakeServer, args: tuple[str, str]) -> None:
    line = assert_one_line_error(invoke("simulator", *args), 2)
    assert args[0] in line
    assert server.ran == []


def test_ctrl_c_stops_the_simulator_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        sys.modules, "kros_adapter.simulator.server", FakeServer(fail_with=KeyboardInterrupt())
    )
    result = invoke("simulator")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_print_counts_renders_a_table_and_does_not_serve(server: FakeServer) -> None:
    result = invoke("simulator", "--schools", "2", "--print-counts")
    assert result.exit_code == 0, result.output
    assert server.ran == []
    assert [options.schools for options in server.built] == [2]
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "collection" in line)
    assert header.index("sch-1") < header.index("sch-2")
    marks = next(line for line in lines if "marks" in line)
    assert "90000" in marks and "85000" in marks
    total = next(line for line in lines if "total" in line)
    assert "90700" in total and "85650" in total
    assert "server time 2026-12-04T10:00:00+03:00" in result.stdout


def test_counts_table_takes_bare_per_school_counts_too() -> None:
    console = Console(width=80, file=io.StringIO())
    console.print(counts_table({"sch-1": {"marks": 3, "students": 2}}))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "sch-1" in text
    assert "5" in next(line for line in text.splitlines() if "total" in line)


# --- failures: exit codes and one line ----------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "fragment"),
    [
        (KrosTransportError("connection refused"), 1, "try again later"),
        (KrosDocumentRefusedError("DTD"), 1, "kros.max_document_bytes"),
        (KrosAuthenticationError("credentials refused"), 2, "config check"),
        (ConfigError("kros.x: bad"), 2, "kros.x: bad"),
        (ServiceError("another run holds the lease"), 1, "holds the lease"),
        (KrosError("odd"), 1, "see the log"),
    ],
)
def test_known_errors_map_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch, error: Exception, code: int, fragment: str
) -> None:
    monkeypatch.setitem(sys.modules, "kros_adapter.simulator.server", FakeServer(fail_with=error))
    line = assert_one_line_error(invoke("simulator"), code)
    assert line.startswith("error: ")
    assert fragment in line


def test_unexpected_error_is_one_line_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeServer(fail_with=RuntimeError("boom\nsecond line"))
    monkeypatch.setitem(sys.modules, "kros_adapter.simulator.server", fake)
    line = assert_one_line_error(invoke("simulator"), 1)
    assert line == (
        "unexpected error: RuntimeError: boom second line — run with --debug for details"
    )


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeServer(fail_with=RuntimeError("boom"))
    monkeypatch.setitem(sys.modules, "kros_adapter.simulator.server", fake)
    result = invoke("--debug", "simulator")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("unexpected error: RuntimeError: boom")


def test_describe_failure_keeps_lines_short() -> None:
    code, line = describe_failure(RuntimeError("x" * 2000))
    assert code == 1
    assert len(line) <= 500
