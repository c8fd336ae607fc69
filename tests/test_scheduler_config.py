"""The ``[schedule]`` and ``[grading]`` sections: defaults, overrides, one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from publish.grading import GradingRules
from service.config import load_config
from service.errors import ConfigError

MINIMAL = """
[kros]
base_url = "http://127.0.0.1:8081"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
"""

WriteConfig = Callable[[str], Path]


def load_error(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    assert "\n" not in str(caught.value), "a configuration error is one line"
    return caught.value


def test_schedule_defaults(write_config: WriteConfig) -> None:
    schedule = load_config(write_config(MINIMAL), {}).schedule
    assert schedule.journal_interval_seconds == 300
    assert schedule.reference_cron == "30 3 * * *"
    assert schedule.misfire_grace_seconds == 300
    assert schedule.sync_on_start is True
    assert schedule.stop_timeout_seconds == 60


def test_schedule_from_the_file_and_the_environment(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL + '\n[schedule]\nreference_cron = "0 4 * * 1-5"\n')
    schedule = load_config(
        path, {"KROS_ADAPTER_SCHEDULE__JOURNAL_INTERVAL_SECONDS": "120"}
    ).schedule
    assert schedule.reference_cron == "0 4 * * 1-5"
    assert schedule.journal_interval_seconds == 120


@pytest.mark.parametrize(
    ("cron", "fragment"),
    [
        ("every night", "Wrong number of fields"),
        ("61 3 * * *", "higher than the maximum value (59)"),
        ("30 3 * *", "Wrong number of fields"),
    ],
)
def test_a_wrong_cron_line_names_the_key_and_the_format(
    write_config: WriteConfig, cron: str, fragment: str
) -> None:
    error = load_error(write_config(MINIMAL + f'\n[schedule]\nreference_cron = "{cron}"\n'))
    assert error.key == "schedule.reference_cron"
    assert fragment in str(error) and "minute hour day month weekday" in str(error)


def test_an_interval_below_one_second_is_refused(write_config: WriteConfig) -> None:
    error = load_error(
        write_config(MINIMAL), {"KROS_ADAPTER_SCHEDULE__JOURNAL_INTERVAL_SECONDS": "0"}
    )
    assert error.key == "schedule.journal_interval_seconds"
    assert "at least 1" in str(error) and "KROS_ADAPTER_SCHEDULE__JOURNAL_INTERVAL_SECONDS" in str(
        error
    )


def test_an_unknown_schedule_key_suggests_the_right_one(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL + "\n[schedule]\njournal_interval = 60\n"))
    assert "did you mean journal_interval_seconds?" in str(error)


def test_grading_defaults_are_publish_gradings(write_config: WriteConfig) -> None:
    grading = load_config(write_config(MINIMAL), {}).grading
    assert grading.rules() == GradingRules()


def test_grading_from_the_file(write_config: WriteConfig) -> None:
    text = MINIMAL + "\n[grading]\ngrade_5_from = 4.6\ngrade_4_from = 3.6\nminimum_marks = 0\n"
    rules = load_config(write_config(text), {}).grading.rules()
    assert rules.thresholds == ((5, 4.6), (4, 3.6), (3, 2.5))
    assert rules.minimum_marks == 0


def test_grading_thresholds_must_descend(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL + "\n[grading]\ngrade_4_from = 4.5\n"))
    assert error.key == "grading.grade_4_from"
    assert "must be below grading.grade_5_from" in str(error)


def test_a_threshold_outside_the_marks_is_refused(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL), {"KROS_ADAPTER_GRADING__GRADE_5_FROM": "5.5"})
    assert error.key == "grading.grade_5_from" and "between 1 and 5" in str(error)


def test_weights_are_checked_by_publish_grading(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL), {"KROS_ADAPTER_GRADING__WEIGHTS": "[3, 2]"})
    assert error.key == "grading.weights"
    assert str(error).startswith("grading.weights: must strictly increase")
