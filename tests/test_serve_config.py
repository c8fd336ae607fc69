"""``[web]`` keys of the service and the session secret kept beside the store."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from service.config import AppConfig, load_config
from service.errors import ConfigError, ServiceError
from service.serve import session_secret, session_secret_path

MINIMAL = """
[kros]
base_url = "http://127.0.0.1:8081"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
"""
LONG = "s" * 32

WriteConfig = Callable[[str], Path]


def config_with(store_url: str, **web: object) -> AppConfig:
    return AppConfig.model_validate(
        {
            "kros": {
                "base_url": "http://127.0.0.1:8081",
                "client_id": "school-1",
                "client_secret": "demo-secret",
                "school_ids": ["sch-1"],
            },
            "store": {"url": store_url},
            "web": web,
        }
    )


def test_web_defaults(write_config: WriteConfig) -> None:
    web = load_config(write_config(MINIMAL), {}).web
    assert web.session_secret.get_secret_value() == ""
    assert web.metrics_token.get_secret_value() == ""
    assert web.stale_after_seconds == 900


@pytest.mark.parametrize("key", ["session_secret", "metrics_token"])
def test_a_short_secret_is_refused_without_echoing_it(write_config: WriteConfig, key) -> None:
    variable = f"KROS_ADAPTER_WEB__{key.upper()}"
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(MINIMAL), {variable: "hunter2-but-short"})
    assert caught.value.key == f"web.{key}"
    assert "at least 32 characters" in str(caught.value) and variable in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_secrets_are_masked_in_config_check(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL),
        {"KROS_ADAPTER_WEB__SESSION_SECRET": LONG, "KROS_ADAPTER_WEB__METRICS_TOKEN": LONG},
    )
    masked = config.masked()["web"]
    assert masked["session_secret"] == masked["metrics_token"] == "***"
    assert LONG not in repr(config)


def test_stale_after_below_a_minute_is_refused(write_config: WriteConfig) -> None:
    with pytest.raises(ConfigError, match=r"web\.stale_after_seconds: must be at least 60"):
        load_config(write_config(MINIMAL), {"KROS_ADAPTER_WEB__STALE_AFTER_SECONDS": "30"})


# --- the session secret ------------------------------------------------------------------


def test_a_configured_secret_is_used_as_it_is(tmp_path: Path) -> None:
    config = config_with(f"sqlite:///{tmp_path / 'store.db'}", session_secret=LONG)
    assert session_secret(config) == LONG
    assert not (tmp_path / "store.db.session-secret").exists()


def test_without_one_a_secret_is_made_once_beside_a_sqlite_store(tmp_path: Path) -> None:
    config = config_with(f"sqlite:///{tmp_path / 'store.db'}")
    first = session_secret(config)
    kept = tmp_path / "store.db.session-secret"
    assert kept.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # readable by the service alone
    assert session_secret(config) == first  # a restart keeps everyone logged in


def test_a_damaged_kept_secret_says_to_delete_it(tmp_path: Path) -> None:
    (tmp_path / "store.db.session-secret").write_text("short\n")
    with pytest.raises(ServiceError, match="delete it"):
        session_secret(config_with(f"sqlite:///{tmp_path / 'store.db'}"))


def test_with_postgresql_the_secret_must_be_configured() -> None:
    config = config_with("postgresql+psycopg://kros@db.local/kros")
    with pytest.raises(ConfigError) as caught:
        session_secret(config)
    assert caught.value.key == "web.session_secret"
    assert "KROS_ADAPTER_WEB__SESSION_SECRET" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///store.db", Path("store.db.session-secret")),
        ("sqlite:////var/lib/kros/store.db", Path("/var/lib/kros/store.db.session-secret")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://u@h/db", None),
    ],
)
def test_session_secret_path(url: str, expected: Path | None) -> None:
    assert session_secret_path(url) == expected
