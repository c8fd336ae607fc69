"""Logging set-up: structlog for our events, the standard library's records routed through it.

One renderer for everything — our events, uvicorn's, httpx's — so a log is one format:
JSON lines (``timestamp`` ISO UTC, ``level``, ``event``, ``logger`` and the event's keys)
when the stream is not a terminal or ``fmt="json"``; structlog's console renderer on a
terminal. Logs go to stderr; stdout belongs to the commands' output.

Secrets and personal data never reach a log line (SPEC, Quality bars): the
:func:`redact` processor replaces the values of the keys below — wherever they sit in
nested dicts and lists — with ``"[redacted]"``. Keys are compared after lower-casing
and dropping ``_`` and ``-``, so ``lastName``, ``last_name`` and ``Last-Name`` are one.

* secrets: :data:`SECRET_KEYS`, plus any key ending in one of :data:`SECRET_SUFFIXES`
  (``kros_client_secret``, ``csrf_token``);
* personal data: :data:`PERSONAL_KEYS` — names, birth dates, contacts, and the
  free text and values of the journal (a mark's ``value``, ``comment``, ``text``).

Only keys are redacted: a message string is written as it is, so log personal data
never inside the event text — pass ids as keys instead (``student_id=…``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO, get_args

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LogFormat = Literal["auto", "json", "console"]
DEFAULT_LOG_LEVEL: LogLevel = "info"
DEFAULT_LOG_FORMAT: LogFormat = "auto"

REDACTED = "[redacted]"


def _normalize(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


SECRET_KEYS: frozenset[str] = frozenset(
    {
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "passwd",
        "authorization",
        "proxy_authorization",
        "cookie",
        "cookies",
        "set_cookie",
        "api_key",
        "session",
        "session_id",
        "invitation_code",
        "credentials",
    }
)
"""Keys whose values are credentials."""

SECRET_SUFFIXES: tuple[str, ...] = ("secret", "token", "password", "apikey", "cookie")
"""Any key ending so is a credential too. (Not ``tokens``: a rate limiter's bucket is not.)"""

PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "last_name",
        "first_name",
        "middle_name",
        "full_name",
        "patronymic",
        "birth_date",
        "snils",
        "contacts",
        "contact",
        "email",
        "phone",
        "value",
        "comment",
        "text",
    }
)
"""Keys whose values are personal data: who a child is, how to reach a family, what a
teacher wrote (a mark's ``value``, its ``comment``, a recommendation's ``text``).
camelCase spellings (``lastName``) match through normalization."""

_SECRET_NORMALIZED = frozenset(_normalize(key) for key in SECRET_KEYS)
_PERSONAL_NORMALIZED = frozenset(_normalize(key) for key in PERSONAL_KEYS)
_SECRET_SUFFIXES_NORMALIZED = tuple(_normalize(suffix) for suffix in SECRET_SUFFIXES)

QUIET_LOGGERS: Mapping[str, int] = {
    # httpx logs every request at INFO with its full URL — query strings included,
    # which carry school and student ids; the KROS client logs its own summary lines.
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    # uvicorn's access line holds the raw path and query (invitation codes, ids);
    # the web layer logs one request line of its own, without the query.
    "uvicorn.access": logging.WARNING,
    # Alembic announces its migration context at INFO on every start of a command.
    "alembic": logging.WARNING,
}

_ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""Loggers that libraries give their own handlers; ours must render them instead."""


def is_sensitive_key(key: str) -> bool:
    """Whether a value logged under ``key`` must be replaced by ``[redacted]``."""
    normalized = _normalize(key)
    return (
        normalized in _SECRET_NORMALIZED
        or normalized in _PERSONAL_NORMALIZED
        or normalized.endswith(_SECRET_SUFFIXES_NORMALIZED)
    )


def redact_value(value: Any) -> Any:
    """``value`` with every sensitive key's value redacted, recursively."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return value


_STRUCTURAL_KEYS = frozenset({"event", "level", "logger", "timestamp", "exc_info", "exception"})


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact secrets and personal data (see the module docstring)."""
    # uvicorn passes an ANSI-coloured copy of its message as an "extra": noise in JSON.
    event_dict.pop("color_message", None)
    for key, value in list(event_dict.items()):
        if key in _STRUCTURAL_KEYS or key.startswith("_"):
            continue
        event_dict[key] = REDACTED if is_sensitive_key(key) else redact_value(value)
    return event_dict


class _Handler(logging.StreamHandler[TextIO]):
    """Our root handler, recognisable so that a second set-up replaces it."""


def configure_logging(
    *,
    level: str = DEFAULT_LOG_LEVEL,
    fmt: LogFormat = DEFAULT_LOG_FORMAT,
    stream: TextIO | None = None,
) -> None:
    """Set up structlog and the standard library's logging; safe to call again.

    ``fmt="auto"`` picks the console renderer when ``stream`` is a terminal and JSON
    lines otherwise. ``stream`` defaults to ``sys.stderr`` (looked up now).
    """
    numeric_level = _level_number(level)
    if fmt not in get_args(LogFormat):
        raise ValueError(f"log format must be one of {', '.join(get_args(LogFormat))}")
    target = stream if stream is not None else sys.stderr
    console = fmt == "console" or (fmt == "auto" and _is_terminal(target))

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact,
            *_renderer(console),
        ],
    )
    handler = _Handler(target)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    _remove_our_handlers(root)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _ROUTED_LOGGERS:
        # uvicorn gives these loggers handlers and levels of their own; ours decide.
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.setLevel(logging.NOTSET)
        routed.propagate = True
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet_level, numeric_level))


def reset_logging() -> None:
    """Undo :func:`configure_logging` (tests: no handler outlives its stream)."""
    _remove_our_handlers(logging.getLogger())
    structlog.reset_defaults()


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a standard one (``logger`` key in each line)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def _renderer(console: bool) -> Iterable[Processor]:
    if console:
        # Rich's tracebacks show local variables by default — secrets included.
        return [
            structlog.dev.ConsoleRenderer(
                exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
            )
        ]
    # format_exc_info renders a plain traceback string: no locals, unlike dict tracebacks.
    return [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
    ]


def _level_number(level: str) -> int:
    name = level.strip().lower()
    if name not in get_args(LogLevel):
        raise ValueError(f"log level must be one of {', '.join(get_args(LogLevel))}")
    number: int = logging.getLevelNamesMapping()[name.upper()]
    return number


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _remove_our_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if isinstance(handler, _Handler):
            logger.removeHandler(handler)
            handler.close()
