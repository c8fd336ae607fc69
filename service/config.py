"""The adapter's configuration: ``config.toml`` plus environment overrides.

Every key lives in a section (``[kros]``, ``[store]``, ``[sync]``, ``[web]``,
``[schedule]``, ``[grading]``, ``[logging]``) and can be overridden by
``KROS_ADAPTER_<SECTION>__<KEY>`` (names case-insensitive); lists and
tables are given there as JSON, scalars as plain strings that pydantic coerces. Unknown
sections and keys are errors, in the file and in the environment alike, so that a typo
never silently falls back to a default. ``KROS_ADAPTER_CONFIG`` names the file.

A missing ``./config.toml`` is not an error when no path was given — the defaults plus
``KROS_ADAPTER_*`` variables are used (a container configured by environment alone) —
but a path given by ``--config`` or ``KROS_ADAPTER_CONFIG`` must exist.

Every problem surfaces as one :class:`~service.errors.ConfigError` line naming the key,
what is expected and where to set it. To add a section: write a :class:`Section`
subclass whose fields all have defaults, add it as a field of :class:`AppConfig`, and
document its keys in ``config.example.toml`` and README.md (tests hold both to it);
environment overrides, error messages and ``config check`` follow by themselves.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import annotated_types
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from kros_adapter.settings import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_DOCUMENT_BYTES,
    DEFAULT_MAX_REQUESTS_PER_SECOND,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_PAGE_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    ClientSettings,
)
from kros_adapter.simulator.model import SIMULATOR_CLIENTS
from kros_adapter.timestamps import REGION_TZ
from publish.grading import GradingRules
from service.errors import ConfigError
from service.logging import DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LogFormat, LogLevel

DEFAULT_CONFIG_PATH = Path("config.toml")
CONFIG_PATH_ENV = "KROS_ADAPTER_CONFIG"
ENV_PREFIX = "KROS_ADAPTER_"
ENV_SEPARATOR = "__"
RESERVED_ENV: frozenset[str] = frozenset({CONFIG_PATH_ENV})
"""``KROS_ADAPTER_*`` variables that are not configuration keys."""

DEFAULT_STORE_URL = "sqlite:///store.db"
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080
DEFAULT_BASE_PATH = "/"
DEFAULT_STALE_AFTER_SECONDS = 900.0
DEFAULT_WEB_THREADS = 2
"""Pages rendered at once. Python renders one at a time; more threads only wait for the GIL
(bench/cabinet.py) unless pages wait on a remote store (PostgreSQL)."""
"""Pages warn when KROS has not been reached for this long: three missed journal runs."""
MIN_SECRET_LENGTH = 32
"""A session secret or metrics token shorter than this is refused: it could be guessed."""
DEFAULT_JOURNAL_INTERVAL_SECONDS = 300.0
DEFAULT_REFERENCE_CRON = "30 3 * * *"
"""Nightly, after KROS's 01:00–03:00 maintenance window (CONTRACT.md §1), local time."""
DEFAULT_MISFIRE_GRACE_SECONDS = 300.0
DEFAULT_STOP_TIMEOUT_SECONDS = 60.0
DEFAULT_GRADING = GradingRules()
"""The forecast's defaults are publish.grading's: one place says what a school gets."""
MAX_CONCURRENCY_LIMIT = 16
MAX_PAGE_LIMIT = 1000
MIN_OVERLAP_SECONDS = 60.0
"""KROS commits records up to 60 s after their ``updated_at`` (CONTRACT.md §3): a
shorter overlap window would silently miss late commits."""

SIMULATOR_SECRETS: frozenset[str] = frozenset(secret for secret, _ in SIMULATOR_CLIENTS.values())
"""Secrets of the built-in simulator's accounts: accepted with a loopback ``base_url`` only."""

MASK = "***"
STORE_SCHEMES = ("sqlite", "postgresql")


class _KeyedValueError(ValueError):
    """A cross-field check's failure, attributed to one key of its section."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mask_url_password(url: str) -> str:
    """``postgresql://user:***@host/db``: a store URL as it may be shown or logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostinfo}"))


def _check_http_url(value: str, *, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and allow_empty:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("must use https:// (plain HTTP is allowed on loopback only)")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return value


class Section(BaseModel):
    """A ``[section]`` of config.toml: unknown keys are errors, values are fixed once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def masked(self) -> dict[str, Any]:
        """The section's values as ``config check`` shows them: secrets as ``***``."""
        values: dict[str, Any] = {}
        for key in type(self).model_fields:
            value = getattr(self, key)
            if isinstance(value, SecretStr):
                value = MASK if value.get_secret_value() else ""
            elif isinstance(value, tuple):
                value = list(value)
            values[key] = value
        return values


NonEmptyStr = typing.Annotated[str, Field(min_length=1)]


class KrosSection(Section):
    """``[kros]``: how to reach KROS (CONTRACT.md §1) and how hard to press it."""

    base_url: str
    token_url: str = ""
    ca_bundle: str = ""
    client_id: NonEmptyStr
    client_secret: SecretStr
    school_ids: tuple[NonEmptyStr, ...] = Field(min_length=1)
    max_requests_per_second: float = Field(DEFAULT_MAX_REQUESTS_PER_SECOND, gt=0)
    max_concurrency: int = Field(DEFAULT_MAX_CONCURRENCY, ge=1, le=MAX_CONCURRENCY_LIMIT)
    max_document_bytes: int = Field(DEFAULT_MAX_DOCUMENT_BYTES, gt=0)
    page_limit: int = Field(DEFAULT_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT)
    timeout_seconds: float = Field(DEFAULT_TIMEOUT_SECONDS, gt=0)
    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1)
    overlap_seconds: float = Field(DEFAULT_OVERLAP_SECONDS, ge=MIN_OVERLAP_SECONDS)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = _check_http_url(value)
        if urlsplit(value).path.rstrip("/").endswith("/ej/v1"):
            raise ValueError(
                "must not end with /ej/v1 — give the server's root, the adapter adds it"
            )
        return value

    @field_validator("token_url")
    @classmethod
    def _check_token_url(cls, value: str) -> str:
        return _check_http_url(value, allow_empty=True)

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: str) -> str:
        if value and not Path(value).expanduser().is_file():
            raise ValueError("no such file (a PEM bundle of the CA certificates to trust)")
        return value

    @field_validator("client_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @field_validator("school_ids")
    @classmethod
    def _check_school_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        duplicates = sorted({school for school in value if value.count(school) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return value

    @model_validator(mode="after")
    def _demo_secret_on_loopback_only(self) -> Self:
        # The simulator's secrets are public (they are in the repository): sending one
        # to a real server would at best fail and at worst be accepted by a test stand.
        host = urlsplit(self.base_url).hostname
        if self.client_secret.get_secret_value() in SIMULATOR_SECRETS and not is_loopback_host(
            host
        ):
            raise _KeyedValueError(
                "client_secret",
                f"the simulator's demo secret is accepted on loopback only (base_url host is "
                f"{host}) — production must set the real secret via "
                f"{env_var_name('kros', 'client_secret')}",
            )
        return self


class StoreSection(Section):
    """``[store]``: the normalized store's SQLAlchemy URL."""

    url: str = DEFAULT_STORE_URL

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        scheme = value.partition(":")[0].partition("+")[0]
        if scheme not in STORE_SCHEMES or "://" not in value:
            raise ValueError("must be a sqlite:///… or postgresql+psycopg://… URL")
        return value

    def __repr_args__(self) -> Any:
        # A PostgreSQL URL may carry a password: never print it.
        yield "url", mask_url_password(self.url)

    def masked(self) -> dict[str, Any]:
        return {**super().masked(), "url": mask_url_password(self.url)}


class WebSection(Section):
    """``[web]``: where the cabinet listens and what it trusts."""

    host: NonEmptyStr = DEFAULT_WEB_HOST
    port: int = Field(DEFAULT_WEB_PORT, ge=1, le=65535)
    base_path: str = DEFAULT_BASE_PATH
    trusted_proxies: tuple[str, ...] = ()
    secure_cookies: bool = False
    # "" (the default) is validated into an empty SecretStr: the example file can show
    # the default as it is, and the service then keeps a generated secret beside the store.
    session_secret: SecretStr = Field("", validate_default=True)
    stale_after_seconds: float = Field(DEFAULT_STALE_AFTER_SECONDS, ge=60)
    metrics_token: SecretStr = Field("", validate_default=True)
    threads: int = Field(DEFAULT_WEB_THREADS, ge=1, le=64)

    @field_validator("session_secret", "metrics_token")
    @classmethod
    def _check_secret_length(cls, value: SecretStr) -> SecretStr:
        if 0 < len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_SECRET_LENGTH} characters (or empty), e.g. the output "
                "of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("base_path")
    @classmethod
    def _check_base_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError("must list IP addresses or networks (not host names)") from None
        return value


class LoggingSection(Section):
    """``[logging]``: how much to log and in which format."""

    level: LogLevel = DEFAULT_LOG_LEVEL
    format: LogFormat = DEFAULT_LOG_FORMAT

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class SyncSection(Section):
    """``[sync]``: how runs coordinate and when quarantine is worth an alert."""

    lease_seconds: float = Field(60.0, ge=10)
    quarantine_alert_rate: float = Field(0.01, ge=0, le=1)
    raw_payload_retention_days: float = Field(0.0, ge=0)


class ScheduleSection(Section):
    """``[schedule]``: when ``kros-adapter serve`` syncs each school.

    Reference data (the school, years, subjects, teachers, periods, holidays, classes,
    groups) changes rarely and is read nightly by cron; the journal (everything else)
    every few minutes. Times are the region's local time (+03:00).
    """

    journal_interval_seconds: float = Field(DEFAULT_JOURNAL_INTERVAL_SECONDS, ge=1)
    reference_cron: NonEmptyStr = DEFAULT_REFERENCE_CRON
    misfire_grace_seconds: float = Field(DEFAULT_MISFIRE_GRACE_SECONDS, ge=1)
    sync_on_start: bool = True
    stop_timeout_seconds: float = Field(DEFAULT_STOP_TIMEOUT_SECONDS, ge=0)

    @field_validator("reference_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        try:
            CronTrigger.from_crontab(value, timezone=REGION_TZ)
        except ValueError as exc:
            raise ValueError(
                f"is not a crontab expression ({exc}) — five fields: minute hour day month "
                'weekday, e.g. "30 3 * * *"'
            ) from None
        return value


class GradingSection(Section):
    """``[grading]``: the school's rules for the forecast of a period grade (notes/GRADING.md).

    A weighted average of at least ``grade_5_from`` forecasts a 5, and so on down; below
    ``grade_3_from`` a 2. Fewer than ``minimum_marks`` numeric marks: not certified (н/а).
    Flat keys rather than a table, so that each is one environment variable
    (``KROS_ADAPTER_GRADING__GRADE_5_FROM=4.6``); :meth:`rules` is what the cabinet gets.
    """

    grade_5_from: float = Field(DEFAULT_GRADING.thresholds[0][1], ge=1, le=5)
    grade_4_from: float = Field(DEFAULT_GRADING.thresholds[1][1], ge=1, le=5)
    grade_3_from: float = Field(DEFAULT_GRADING.thresholds[2][1], ge=1, le=5)
    minimum_marks: int = Field(DEFAULT_GRADING.minimum_marks, ge=0)
    weights: tuple[int, ...] = DEFAULT_GRADING.weights

    @model_validator(mode="after")
    def _valid_rules(self) -> Self:
        if not self.grade_5_from > self.grade_4_from:
            raise _KeyedValueError("grade_4_from", "must be below grading.grade_5_from")
        if not self.grade_4_from > self.grade_3_from:
            raise _KeyedValueError("grade_3_from", "must be below grading.grade_4_from")
        try:
            self.rules()  # publish.grading's own checks: one definition of a valid rule set
        except ValueError as exc:
            key, _, problem = str(exc).partition(": ")
            raise _KeyedValueError(key.removeprefix("grading."), problem or str(exc)) from None
        return self

    def rules(self) -> GradingRules:
        """The rules as ``publish.grading`` takes them."""
        return GradingRules(
            thresholds=((5, self.grade_5_from), (4, self.grade_4_from), (3, self.grade_3_from)),
            minimum_marks=self.minimum_marks,
            weights=self.weights,
        )


class AppConfig(Section):
    """The whole configuration; each layer receives its own part of it."""

    kros: KrosSection
    store: StoreSection = Field(default_factory=StoreSection)
    sync: SyncSection = Field(default_factory=SyncSection)
    web: WebSection = Field(default_factory=WebSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    grading: GradingSection = Field(default_factory=GradingSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this configuration was read from; ``None``: defaults and environment."""
        return self._source

    def kros_client_settings(self) -> ClientSettings:
        """The KROS client's settings (``kros_adapter`` never sees this module)."""
        kros = self.kros
        return ClientSettings(
            base_url=kros.base_url,
            client_id=kros.client_id,
            client_secret=kros.client_secret.get_secret_value(),
            token_url=kros.token_url,
            ca_bundle=kros.ca_bundle,
            max_requests_per_second=kros.max_requests_per_second,
            max_concurrency=kros.max_concurrency,
            max_document_bytes=kros.max_document_bytes,
            page_limit=kros.page_limit,
            timeout_seconds=kros.timeout_seconds,
            max_attempts=kros.max_attempts,
            overlap_seconds=kros.overlap_seconds,
        )

    def masked(self) -> dict[str, Any]:
        """Every section's effective values, secrets masked: ``{"kros": {...}, ...}``."""
        return {name: getattr(self, name).masked() for name in type(self).model_fields}


def section_models() -> dict[str, type[Section]]:
    """Section name → its model, in the order of :class:`AppConfig`."""
    models: dict[str, type[Section]] = {}
    for name, field in AppConfig.model_fields.items():
        annotation = field.annotation
        assert isinstance(annotation, type) and issubclass(annotation, Section)
        models[name] = annotation
    return models


def env_var_name(section: str, key: str) -> str:
    """``KROS_ADAPTER_KROS__CLIENT_SECRET`` for ``kros.client_secret``."""
    return f"{ENV_PREFIX}{section.upper()}{ENV_SEPARATOR}{key.upper()}"


def resolve_config_path(path: Path | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """The file to read, and whether it was asked for (``--config`` or the variable)."""
    if path is not None:
        return path.expanduser(), True
    named = _getenv(environ, CONFIG_PATH_ENV)
    if named:
        return Path(named).expanduser(), True
    return DEFAULT_CONFIG_PATH, False


def load_config(path: Path | None, environ: Mapping[str, str]) -> AppConfig:
    """Read, override from ``environ`` and validate the configuration.

    ``path`` ``None`` means "not given": ``KROS_ADAPTER_CONFIG`` if set, else
    ``./config.toml`` if it exists. Raises :class:`ConfigError` with one line.
    """
    resolved, explicit = resolve_config_path(path, environ)
    found = True
    try:
        data = _read_toml(resolved)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                f"{resolved}: no such configuration file — create it from "
                f"config.example.toml, or fix --config / {CONFIG_PATH_ENV}"
            ) from None
        data, found = {}, False

    overrides, env_sources = _environment_overrides(environ)
    for section, values in overrides.items():
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(
                f"{section}: must be a table ([{section}]) in {resolved}", key=section
            )
        target.update(values)
    # Missing sections become empty tables, so that their missing keys are named one by one.
    for section in section_models():
        data.setdefault(section, {})

    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        context = _ErrorContext(
            file_label=str(resolved), file_found=found, env_sources=env_sources, data=data
        )
        raise _config_error(exc, context) from None
    config._source = resolved if found else None
    return config


# --- reading ---------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        if position:
            line, column = position.groups()
            reason = _TOML_POSITION.sub("", message)
            raise ConfigError(
                f"{path}, line {line}, column {column}: invalid TOML: {reason} — fix the syntax"
            ) from None
        raise ConfigError(f"{path}: invalid TOML: {message} — fix the syntax") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text — save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror or exc}) — check the path and permissions"
        ) from None


def _getenv(environ: Mapping[str, str], name: str) -> str | None:
    for key, value in environ.items():
        if key.upper() == name:
            return value
    return None


def _environment_overrides(
    environ: Mapping[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """``({section: {key: value}}, {"section.key": variable name})`` from ``environ``."""
    models = section_models()
    overrides: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENV:
            continue
        section, separator, key = upper[len(ENV_PREFIX) :].lower().partition(ENV_SEPARATOR)
        if not separator or not section or not key:
            raise ConfigError(
                f"{name}: not a configuration variable — expected "
                f"{ENV_PREFIX}<SECTION>{ENV_SEPARATOR}<KEY>, e.g. "
                f"{env_var_name('kros', 'client_secret')}"
            )
        model = models.get(section)
        if model is None:
            raise ConfigError(
                f"{name}: unknown section {section!r}{_did_you_mean(section, models)} — "
                f"known sections: {', '.join(models)}"
            )
        field = model.model_fields.get(key)
        if field is None:
            raise ConfigError(
                f"{name}: unknown key {section}.{key}{_did_you_mean(key, model.model_fields)} "
                f"— known keys: {', '.join(model.model_fields)}",
                key=f"{section}.{key}",
            )
        dotted = f"{section}.{key}"
        if dotted in sources:
            raise ConfigError(
                f"{name} and {sources[dotted]} both set {dotted} — keep one", key=dotted
            )
        value: Any = environ[name]
        if _is_structured(field):
            try:
                value = json.loads(value)
            except ValueError:
                raise ConfigError(
                    f"{name}: not valid JSON — lists and tables are given as JSON, "
                    f'e.g. {name}=\'["sch-1", "sch-2"]\'',
                    key=dotted,
                ) from None
        overrides.setdefault(section, {})[key] = value
        sources[dotted] = name
    return overrides, sources


def _is_structured(field: FieldInfo) -> bool:
    """Whether the environment gives this field as JSON (a list or a table)."""
    annotation = field.annotation
    candidates = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    for candidate in candidates:
        origin = typing.get_origin(candidate) or candidate
        if isinstance(origin, type) and (
            issubclass(origin, list | tuple | dict | set | frozenset)
            or issubclass(origin, BaseModel)
        ):
            return True
    return False


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# --- errors ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ErrorContext:
    """Where the values came from, for messages that say where to fix them."""

    file_label: str
    file_found: bool
    env_sources: dict[str, str]
    data: dict[str, Any]


_TYPE_PROBLEMS = {
    "missing": "required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_too_short": "must not be empty",
    "model_type": "must be a table",
    "dict_type": "must be a table",
}


def _config_error(exc: ValidationError, context: _ErrorContext) -> ConfigError:
    """One line for the first problem, naming the others' keys."""
    described = [_describe(error, context) for error in exc.errors(include_url=False)]
    key, line = described[0]
    others = [other for other, _ in described[1:] if other != key]
    if others:
        line += f" ({len(others)} more: {', '.join(dict.fromkeys(others))})"
    return ConfigError(line, key=key)


def _describe(error: ErrorDetails, context: _ErrorContext) -> tuple[str, str]:
    loc = error["loc"]
    kind = error["type"]
    models = section_models()
    section = str(loc[0])

    if len(loc) == 1 and kind == "extra_forbidden":
        if not isinstance(context.data.get(section), dict):
            return section, (
                f"{section}: a key outside any section in {context.file_label} — "
                f"keys belong in a section such as [kros]"
            )
        return section, (
            f"{section}: unknown section [{section}]{_did_you_mean(section, models)} — remove "
            f"it from {context.file_label} (known sections: {', '.join(models)})"
        )

    ctx_error = (error.get("ctx") or {}).get("error")
    given: Any = error["input"]
    if len(loc) == 1 and isinstance(ctx_error, _KeyedValueError):
        loc = (section, ctx_error.key)
        # The input of a whole-section check is the section: show the one key's value.
        given = given.get(ctx_error.key, _UNSET) if isinstance(given, dict) else _UNSET
    if len(loc) == 1:
        problem = _problem(error, None)
        return section, f"{section}: {problem} — use a [{section}] table in {context.file_label}"

    key = str(loc[1])
    dotted = f"{section}.{key}" + "".join(f"[{part}]" for part in loc[2:])
    model = models[section]
    field = model.model_fields.get(key)
    env = env_var_name(section, key)

    if kind == "extra_forbidden":
        return dotted, (
            f"{dotted}: unknown key{_did_you_mean(key, model.model_fields)} — remove it from "
            f"{context.file_label} (known keys: {', '.join(model.model_fields)})"
        )

    problem = _problem(error, field)
    from_env = context.env_sources.get(f"{section}.{key}")
    secret = field is not None and field.annotation is SecretStr
    got = ""
    if kind != "missing" and not secret and given is not _UNSET:  # secrets are never echoed
        got = repr(given)
        shown = f" (got {got})" if len(got) <= 60 else f" (got {got[:57]}…)"
        got = "" if got in problem else shown  # unless the check's message shows it already

    if env in problem:
        hint = ""
    elif from_env:
        hint = f" — fix {from_env}"
    elif not context.file_found:
        hint = f" — no {context.file_label} found: copy config.example.toml to it, or set {env}"
    elif secret:
        hint = f" — set it with {env} (or in {context.file_label})"
    else:
        hint = f" — set it in {context.file_label} or {env}"
    return dotted, f"{dotted}: {problem}{got}{hint}"


_UNSET: Any = object()
"""No value to show: the key was left to its default."""


def _problem(error: ErrorDetails, field: FieldInfo | None) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in ("greater_than_equal", "less_than_equal") and field is not None:
        low = _bound(field, annotated_types.Ge, "ge")
        high = _bound(field, annotated_types.Le, "le")
        if low is not None and high is not None:
            return f"must be between {_number(low)} and {_number(high)}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx.get('ge'))}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx.get('le'))}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx.get('gt'))}"
    if kind == "less_than":
        return f"must be less than {_number(ctx.get('lt'))}"
    if kind == "too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must have at least {minimum} items"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in _TYPE_PROBLEMS:
        return _TYPE_PROBLEMS[kind]
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _bound(field: FieldInfo, constraint: type[Any], attribute: str) -> Any:
    for item in field.metadata:
        if isinstance(item, constraint):
            return getattr(item, attribute)
    return None


def _number(value: Any) -> Any:
    """``0`` rather than ``0.0`` in messages: bounds are written as people write them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
