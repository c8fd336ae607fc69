"""service.config: config.toml, environment overrides, and one-line errors."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from kros_adapter.settings import DEFAULT_MAX_DOCUMENT_BYTES, ClientSettings
from service.config import (
    AppConfig,
    load_config,
    mask_url_password,
    section_models,
)
from service.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"

MINIMAL = """
[kros]
base_url = "http://127.0.0.1:8081"
client_id = "school-1"
client_secret = "demo-secret"
school_ids = ["sch-1"]
"""

WriteConfig = Callable[[str], Path]


def load_error(path: Path | None, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    message = str(caught.value)
    assert "\n" not in message, "a configuration error is one line"
    return caught.value


# --- config.example.toml ------------------------------------------------------------------


def test_example_config_loads_unchanged_against_the_simulator() -> None:
    """config.example.toml works as it is against the built-in simulator."""
    config = load_config(EXAMPLE, {})
    assert config.kros.base_url == "http://127.0.0.1:8081"
    assert config.kros.client_id == "school-1"
    assert config.kros.client_secret.get_secret_value() == "demo-secret"
    assert config.kros.school_ids == ("sch-1",)
    assert config.source == EXAMPLE


def test_example_config_documents_every_key_and_no_other() -> None:
    """Every model field is in config.example.toml, and every key there is a field."""
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    expected = {name: set(model.model_fields) for name, model in section_models().items()}
    assert {name: set(values) for name, values in example.items()} == expected


def test_example_config_comments_every_key() -> None:
    """Each key's line is preceded by a comment saying what it is."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_example_config_states_the_defaults() -> None:
    """Where a key has a default, the example's value is that default."""
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for name, model in section_models().items():
        for key, field in model.model_fields.items():
            if field.is_required():
                continue
            default = field.get_default(call_default_factory=True)
            value = example[name][key]
            assert value == (list(default) if isinstance(default, tuple) else default), (
                f"{name}.{key}"
            )


# --- loading and overriding ---------------------------------------------------------------


def test_defaults_fill_what_the_file_leaves_out(write_config: WriteConfig) -> None:
    config = load_config(write_config(MINIMAL), {})
    assert config.kros.max_document_bytes == DEFAULT_MAX_DOCUMENT_BYTES
    assert config.kros.page_limit == 1000
    assert config.store.url == "sqlite:///store.db"
    assert config.web.port == 8080
    assert config.logging.format == "auto"


def test_environment_overrides_a_scalar_as_a_string(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL),
        {"KROS_ADAPTER_KROS__MAX_CONCURRENCY": "8", "KROS_ADAPTER_WEB__SECURE_COOKIES": "true"},
    )
    assert config.kros.max_concurrency == 8
    assert config.web.secure_cookies is True


def test_environment_gives_lists_as_json(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL), {"KROS_ADAPTER_KROS__SCHOOL_IDS": '["sch-1","sch-2"]'}
    )
    assert config.kros.school_ids == ("sch-1", "sch-2")


def test_environment_names_are_case_insensitive(write_config: WriteConfig) -> None:
    config = load_config(write_config(MINIMAL), {"kros_adapter_Kros__Client_Secret": "real"})
    assert config.kros.client_secret.get_secret_value() == "real"


def test_environment_alone_configures_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ./config.toml and no --config: defaults plus the environment (containers)."""
    monkeypatch.chdir(tmp_path)
    config = load_config(
        None,
        {
            "KROS_ADAPTER_KROS__BASE_URL": "https://kros.example.ru",
            "KROS_ADAPTER_KROS__CLIENT_ID": "school-7",
            "KROS_ADAPTER_KROS__CLIENT_SECRET": "s3cr3t",
            "KROS_ADAPTER_KROS__SCHOOL_IDS": '["sch-7"]',
        },
    )
    assert config.kros.client_id == "school-7"
    assert config.source is None


def test_default_file_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig
) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(MINIMAL)
    assert load_config(None, {}).kros.client_id == "school-1"


def test_config_variable_names_the_file(tmp_path: Path, write_config: WriteConfig) -> None:
    path = write_config(MINIMAL.replace("school-1", "school-from-variable"))
    config = load_config(None, {"KROS_ADAPTER_CONFIG": str(path)})
    assert config.kros.client_id == "school-from-variable"


def test_kros_client_settings_carry_every_kros_key(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL + 'token_url = "http://127.0.0.1:8081/token"\npage_limit = 500\n'),
        {"KROS_ADAPTER_KROS__OVERLAP_SECONDS": "90"},
    )
    settings = config.kros_client_settings()
    assert isinstance(settings, ClientSettings)
    assert settings.client_secret == "demo-secret"
    assert settings.effective_token_url == "http://127.0.0.1:8081/token"
    assert settings.page_limit == 500
    assert settings.overlap_seconds == 90.0
    assert settings.api_url == "http://127.0.0.1:8081/ej/v1"


def test_log_level_is_case_insensitive(write_config: WriteConfig) -> None:
    config = load_config(write_config(MINIMAL + '[logging]\nlevel = "WARNING"\n'), {})
    assert config.logging.level == "warning"


# --- errors -------------------------------------------------------------------------------


def test_out_of_range_names_the_key_the_bounds_and_where_to_set_it(
    write_config: WriteConfig,
) -> None:
    path = write_config(MINIMAL + "max_concurrency = 40\n")
    error = load_error(path)
    assert error.key == "kros.max_concurrency"
    assert str(error) == (
        f"kros.max_concurrency: must be between 1 and 16 (got 40) — set it in {path} "
        "or KROS_ADAPTER_KROS__MAX_CONCURRENCY"
    )


def test_bad_environment_value_says_which_variable_to_fix(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL), {"KROS_ADAPTER_KROS__PAGE_LIMIT": "lots"})
    assert str(error).startswith("kros.page_limit: must be a whole number (got 'lots')")
    assert str(error).endswith("fix KROS_ADAPTER_KROS__PAGE_LIMIT")


def test_missing_secret_names_the_key_and_the_variable(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL.replace('client_secret = "demo-secret"\n', "")))
    assert error.key == "kros.client_secret"
    assert str(error).startswith("kros.client_secret: required")
    assert "KROS_ADAPTER_KROS__CLIENT_SECRET" in str(error)


def test_empty_secret_is_missing_too(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL.replace('"demo-secret"', '""')))
    assert error.key == "kros.client_secret"


def test_a_wrong_secret_value_is_never_echoed(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL.replace('"demo-secret"', '["s3cr3t-value"]')))
    assert error.key == "kros.client_secret"
    assert "s3cr3t-value" not in str(error)


def test_unknown_key_in_the_file_is_an_error_with_a_suggestion(
    write_config: WriteConfig,
) -> None:
    error = load_error(write_config(MINIMAL + "max_concurency = 4\n"))
    assert error.key == "kros.max_concurency"
    assert "unknown key (did you mean max_concurrency?)" in str(error)


def test_unknown_section_in_the_file_is_an_error(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL + "[sotre]\nurl = 'sqlite://'\n"))
    assert error.key == "sotre"
    assert "unknown section [sotre] (did you mean store?)" in str(error)


def test_key_outside_a_section_is_an_error(write_config: WriteConfig) -> None:
    error = load_error(write_config("debug = true\n" + MINIMAL))
    assert error.key == "debug"


@pytest.mark.parametrize(
    ("variable", "fragment"),
    [
        ("KROS_ADAPTER_KROS__CLIENT_SECRT", "unknown key kros.client_secrt"),
        ("KROS_ADAPTER_SOTRE__URL", "unknown section 'sotre' (did you mean store?)"),
        ("KROS_ADAPTER_DEBUG", "not a configuration variable"),
    ],
)
def test_unknown_environment_variables_are_errors(
    write_config: WriteConfig, variable: str, fragment: str
) -> None:
    error = load_error(write_config(MINIMAL), {variable: "x"})
    assert str(error).startswith(f"{variable}: {fragment}")


def test_the_config_variable_itself_is_not_an_unknown_key(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL)
    load_config(path, {"KROS_ADAPTER_CONFIG": str(path)})


def test_invalid_json_in_the_environment_names_the_variable(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL), {"KROS_ADAPTER_KROS__SCHOOL_IDS": "sch-1,sch-2"})
    assert error.key == "kros.school_ids"
    assert str(error).startswith("KROS_ADAPTER_KROS__SCHOOL_IDS: not valid JSON")


def test_empty_school_list_is_an_error(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL.replace('["sch-1"]', "[]")))
    assert str(error).startswith("kros.school_ids: must not be empty")


def test_toml_syntax_error_gives_the_file_and_line(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL + "page_limit = = 3\n")
    error = load_error(path)
    assert str(error).startswith(f"{path}, line 7, column")
    assert "invalid TOML" in str(error)


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    error = load_error(missing)
    assert str(error).startswith(f"{missing}: no such configuration file")
    error = load_error(None, {"KROS_ADAPTER_CONFIG": str(missing)})
    assert str(missing) in str(error)


def test_missing_default_file_and_no_environment_says_how_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    error = load_error(None)
    assert error.key == "kros.base_url"
    assert "copy config.example.toml" in str(error)
    assert "3 more: kros.client_id, kros.client_secret, kros.school_ids" in str(error)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8081",
        "http://127.1.2.3:8081",
        "http://localhost:8081",
        "http://[::1]:8081",
    ],
)
def test_demo_secret_is_accepted_on_loopback(write_config: WriteConfig, base_url: str) -> None:
    config = load_config(write_config(MINIMAL.replace("http://127.0.0.1:8081", base_url)), {})
    assert config.kros.base_url == base_url


def test_demo_secret_is_refused_elsewhere(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL.replace("http://127.0.0.1:8081", "https://kros.example.ru"))
    error = load_error(path)
    assert error.key == "kros.client_secret"
    assert "loopback only" in str(error)
    assert "KROS_ADAPTER_KROS__CLIENT_SECRET" in str(error)
    production = load_config(path, {"KROS_ADAPTER_KROS__CLIENT_SECRET": "real-secret"})
    assert production.kros.base_url == "https://kros.example.ru"


@pytest.mark.parametrize(
    ("base_url", "fragment"),
    [
        ("http://kros.example.ru", "must use https://"),
        ("https://kros.example.ru/ej/v1", "must not end with /ej/v1"),
        ("kros.example.ru", "must be an http:// or https:// URL"),
    ],
)
def test_base_url_is_checked(write_config: WriteConfig, base_url: str, fragment: str) -> None:
    text = MINIMAL.replace("http://127.0.0.1:8081", base_url)
    error = load_error(write_config(text), {"KROS_ADAPTER_KROS__CLIENT_SECRET": "real"})
    assert error.key == "kros.base_url"
    assert fragment in str(error)


def test_several_problems_are_one_line_naming_the_others(write_config: WriteConfig) -> None:
    error = load_error(write_config(MINIMAL + "page_limit = 0\n[web]\nport = 0\n"))
    assert error.key == "kros.page_limit"
    assert "(1 more: web.port)" in str(error)


# --- secrets stay secret ------------------------------------------------------------------


def test_secret_never_appears_in_repr_str_or_json(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL),
        {
            "KROS_ADAPTER_KROS__CLIENT_SECRET": "s3cr3t-value",
            "KROS_ADAPTER_STORE__URL": "postgresql+psycopg://kros:db-pa55@db.local/kros",
        },
    )
    for text in (repr(config), str(config), config.model_dump_json(), repr(config.kros)):
        assert "s3cr3t-value" not in text
    assert "db-pa55" not in repr(config)
    assert "s3cr3t-value" not in repr(config.kros_client_settings())
    assert config.store.url.endswith("db-pa55@db.local/kros")  # still usable


def test_masked_settings_hide_secrets(write_config: WriteConfig) -> None:
    config = load_config(
        write_config(MINIMAL),
        {"KROS_ADAPTER_STORE__URL": "postgresql+psycopg://kros:db-pa55@db.local/kros"},
    )
    masked = config.masked()
    assert masked["kros"]["client_secret"] == "***"
    assert masked["store"]["url"] == "postgresql+psycopg://kros:***@db.local/kros"
    assert masked["kros"]["school_ids"] == ["sch-1"]


def test_mask_url_password_leaves_urls_without_one_alone() -> None:
    assert mask_url_password("sqlite:///store.db") == "sqlite:///store.db"
    assert mask_url_password("postgresql://u@h/db") == "postgresql://u@h/db"


def test_config_is_immutable(write_config: WriteConfig) -> None:
    config = load_config(write_config(MINIMAL), {})
    with pytest.raises(ValueError, match="frozen"):
        config.web.port = 1  # type: ignore[misc]
    assert isinstance(config, AppConfig)
