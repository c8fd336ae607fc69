"""service.logging: one renderer for every logger, and nothing secret or personal in it."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from service.logging import (
    REDACTED,
    configure_logging,
    get_logger,
    is_sensitive_key,
    redact,
    redact_value,
)

SECRET = "s3cr3t-value"
SURNAME = "Иванова"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def log_sensitive_things() -> None:
    get_logger("kros_adapter.client").info(
        "token obtained",
        client_secret=SECRET,
        access_token=SECRET,
        headers={"Authorization": f"Bearer {SECRET}", "X-Request-Id": "req-1"},
        student={
            "id": "st-1",
            "lastName": SURNAME,
            "firstName": "Мария",
            "birthDate": "2014-02-03",
        },
        marks=[{"id": "mk-1", "value": "5", "comment": f"молодец, {SURNAME}"}],
        guardian={"contacts": [{"kind": "email", "value": "mama@example.ru"}]},
    )


def test_json_lines_carry_timestamp_level_event_and_logger() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    get_logger("sync.engine").info("run finished", school_id="sch-1", records=12)
    [line] = json_lines(stream)
    assert line["event"] == "run finished"
    assert line["level"] == "info"
    assert line["logger"] == "sync.engine"
    assert line["school_id"] == "sch-1"
    assert line["records"] == 12
    timestamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert timestamp.utcoffset() == timedelta(0)


def test_secrets_and_personal_data_never_reach_the_json_log() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    log_sensitive_things()
    text = stream.getvalue()
    for needle in (SECRET, SURNAME, "Мария", "2014-02-03", "mama@example.ru", "молодец"):
        assert needle not in text
    [line] = json_lines(stream)
    assert line["headers"] == {"Authorization": REDACTED, "X-Request-Id": "req-1"}
    assert line["student"]["id"] == "st-1"
    assert line["marks"] == [{"id": "mk-1", "value": REDACTED, "comment": REDACTED}]
    assert line["guardian"] == {"contacts": REDACTED}


def test_secrets_and_personal_data_never_reach_the_console_log() -> None:
    stream = Terminal()
    configure_logging(fmt="auto", stream=stream)
    log_sensitive_things()
    text = stream.getvalue()
    assert "token obtained" in text
    assert SECRET not in text
    assert SURNAME not in text


def test_auto_format_is_json_when_not_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    get_logger("t").info("hello")
    assert json_lines(stream)[0]["event"] == "hello"


def test_auto_format_is_the_console_renderer_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging(stream=stream)
    get_logger("t").info("hello")
    with pytest.raises(json.JSONDecodeError):
        json.loads(stream.getvalue())
    assert "hello" in stream.getvalue()


def test_standard_library_records_go_through_the_same_renderer() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    logging.getLogger("uvicorn.error").info(
        "Started server %s", "process", extra={"password": SECRET}
    )
    [line] = json_lines(stream)
    assert line["event"] == "Started server process"
    assert line["logger"] == "uvicorn.error"
    assert line["password"] == REDACTED


def test_uvicorn_handlers_and_levels_are_replaced_by_ours() -> None:
    stream = io.StringIO()
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler(io.StringIO()))
    logging.getLogger("uvicorn").setLevel(logging.ERROR)
    configure_logging(fmt="json", stream=stream)
    assert logging.getLogger("uvicorn").handlers == []
    logging.getLogger("uvicorn").warning("shutting down")
    assert json_lines(stream)[0]["event"] == "shutting down"


def test_httpx_request_lines_are_silenced_but_its_warnings_are_not() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    logging.getLogger("httpx").info('HTTP Request: GET https://kros/ej/v1/x?studentId=st-1 "200"')
    logging.getLogger("httpx").warning("connection pool full")
    assert [line["event"] for line in json_lines(stream)] == ["connection pool full"]


def test_level_filters_lower_records() -> None:
    stream = io.StringIO()
    configure_logging(level="warning", fmt="json", stream=stream)
    get_logger("t").info("quiet")
    logging.getLogger("other").info("quiet too")
    get_logger("t").warning("loud")
    assert [line["event"] for line in json_lines(stream)] == ["loud"]


def test_configuring_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(fmt="json", stream=first)
    configure_logging(fmt="json", stream=second)
    get_logger("t").info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


def test_tracebacks_never_show_local_variables() -> None:
    def fail() -> None:
        password = SECRET  # a local that a locals-showing traceback would print
        raise RuntimeError(f"failed after {len(password)} chars")

    for stream in (io.StringIO(), Terminal()):
        configure_logging(stream=stream)
        try:
            fail()
        except RuntimeError:
            get_logger("t").exception("boom")
        assert "RuntimeError" in stream.getvalue()
        assert SECRET not in stream.getvalue()


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging(level="loud")
    with pytest.raises(ValueError, match="log format"):
        configure_logging(fmt="xml")  # type: ignore[arg-type]


def test_redact_processor_in_a_capture() -> None:
    with capture_logs(processors=[redact]) as logs:
        get_logger("t").info("login failed", password=SECRET, user_id="u-1")
    assert logs == [
        {"event": "login failed", "log_level": "info", "password": REDACTED, "user_id": "u-1"}
    ]


@pytest.mark.parametrize(
    "key",
    [
        "client_secret",
        "KROS_CLIENT_SECRET",
        "token",
        "csrf_token",
        "Authorization",
        "cookie",
        "api_key",
        "password",
        "lastName",
        "last_name",
        "Last-Name",
        "middleName",
        "birthDate",
        "contacts",
        "email",
        "phone",
        "value",
        "comment",
        "text",
    ],
)
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key", ["student_id", "school_id", "tokens", "request_id", "records", "url", "status"]
)
def test_operational_keys_stay_visible(key: str) -> None:
    assert not is_sensitive_key(key)


def test_redact_value_recurses_through_dicts_lists_and_tuples() -> None:
    value = {"a": [{"b": ({"phone": "+7"},)}], "phone": {"nested": 1}}
    assert redact_value(value) == {"a": [{"b": [{"phone": REDACTED}]}], "phone": REDACTED}
