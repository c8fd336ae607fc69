"""The sync side of the command line, end to end: sync, status, export, quarantine, db."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from schemas.tables import leases
from service.cli import main
from sync.store import Store

TINY = SimulatorOptions(scale=0.05, seed=5, frozen_clock=True, rate_limit=False)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        yield running


@pytest.fixture
def config(tmp_path: Path, simulator: RunningSimulator) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[kros]
base_url = "{simulator.base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
max_requests_per_second = 1000

[store]
url = "sqlite:///{tmp_path / "store.db"}"
""",
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_sync_prints_a_summary_and_exits_0_with_quarantined_records(config):
    code, out, err = run(config, "sync")
    assert code == 0, err
    assert "marks" in out and "total" in out
    assert "quarantine" in out  # the deliberately bad records are held, and it says so


def test_status_shows_watermarks_and_quarantine(config):
    run(config, "sync")
    code, out, _ = run(config, "status")
    assert code == 0
    assert "sch-1" in out and "marks" in out and "succeeded" in out


def test_export_is_json_lines_in_version_order_and_resumes_after_a_version(config):
    run(config, "sync")
    code, out, err = run(config, "export", "--format", "jsonl")
    assert code == 0
    lines = [orjson.loads(line) for line in out.splitlines()]
    versions = [line["row"]["change_version"] for line in lines]
    assert versions == sorted(versions) and len(set(versions)) == len(versions) > 1000
    assert f"{len(lines)} rows exported" in err
    groups = [line for line in lines if line["table"] == "groups"]
    assert groups and "group_students" in groups[0]["links"]
    middle = versions[len(versions) // 2]
    _, later, _ = run(config, "export", "--since-version", str(middle))
    assert [orjson.loads(line)["row"]["change_version"] for line in later.splitlines()] == [
        v for v in versions if v > middle
    ]


def test_quarantine_list_and_retry(config):
    run(config, "sync")
    code, out, _ = run(config, "quarantine", "list", "--stream", "marks")
    assert code == 0 and "Карантин: 8 записей" in out and "marks" in out
    code, out, _ = run(config, "quarantine", "retry")
    assert code == 0 and "still held" in out


def test_a_stream_leased_by_another_run_exits_1_naming_it(config, tmp_path):
    code, out, err = run(config, "db", "upgrade")
    assert code == 0 and "revision" in out
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.write() as connection:
        connection.execute(
            leases.insert().values(
                school_id="sch-1",
                stream="marks",
                holder="другой-сервер:7:ab",
                run_id=12,
                expires_at=datetime.now(UTC) + timedelta(minutes=1),
            )
        )
    store.dispose()
    code, _out, err = run(config, "sync", "--stream", "marks")
    assert code == 1
    last = err.strip().splitlines()[-1]  # after the run's log lines: what to do, in one line
    assert last.startswith("error:") and "run 12" in last and "другой-сервер" in last


def test_an_unknown_stream_is_a_usage_error(config):
    code, _out, err = run(config, "sync", "--stream", "grades")
    assert code == 2 and "unknown stream 'grades'" in err


def test_kros_unreachable_exits_1_with_one_line(tmp_path, config):
    text = config.read_text(encoding="utf-8").replace(
        "max_requests_per_second = 1000", "max_attempts = 1"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text(
        text.replace(text.split('base_url = "')[1].split('"')[0], "http://127.0.0.1:9"),
        encoding="utf-8",
    )
    code, _out, err = run(broken, "sync", "--stream", "subjects")
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error:") and "cannot reach KROS" in last
    assert "Traceback" not in err


def test_the_two_schools_option(tmp_path):
    with running_simulator(dataclasses.replace(TINY, schools=2)) as running:
        path = tmp_path / "config.toml"
        path.write_text(
            f"""
[kros]
base_url = "{running.base_url}"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1", "sch-2"]
max_requests_per_second = 1000

[store]
url = "sqlite:///{tmp_path / "two.db"}"
""",
            encoding="utf-8",
        )
        code, out, err = run(path, "sync", "--school", "sch-2", "--stream", "subjects")
    assert code == 0, err
    assert "sch-2" in out and "sch-1" not in out


def test_demo_syncs_the_simulated_school_into_a_fresh_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--scale", "0.05", "--no-wait"])
    assert result.exit_code == 0, result.stderr
    assert "total" in result.stdout and "карантин" in result.stdout
    assert (tmp_path / "var" / "demo.db").exists()


def test_status_alerts_only_when_the_quarantine_rate_passes_the_threshold(config):
    run(config, "sync")
    run(config, "sync")  # an incremental run reads little; the rate must not jump
    _code, out, _ = run(config, "status")
    assert "ALERT" not in out  # 8 bad marks of ~6,700 is far below 1 %
    strict = config.read_text(encoding="utf-8") + "\n[sync]\nquarantine_alert_rate = 0.0001\n"
    config.write_text(strict, encoding="utf-8")
    _code, out, _ = run(config, "status")
    assert "ALERT" in out
