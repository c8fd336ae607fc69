"""Classify a KROS response: the one place that reads CONTRACT.md's error table.

Every response the client receives passes through :func:`raise_for_status`, which either
returns (2xx, 304) or raises the :mod:`kros_adapter.errors` type that tells the caller
how to recover. Bodies are untrusted: an error may come as the documented JSON envelope,
as ``{"error": "invalid_client"}`` from the token endpoint, or as an HTML page from a
proxy (CONTRACT.md §7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from kros_adapter.errors import (
    KrosAuthenticationError,
    KrosBadRequestError,
    KrosChangesExpiredError,
    KrosConflictError,
    KrosCursorExpiredError,
    KrosError,
    KrosExpiredError,
    KrosForbiddenError,
    KrosNotFoundError,
    KrosProtocolError,
    KrosRateLimitedError,
    KrosServerError,
    KrosUnavailableError,
)
from kros_adapter.timestamps import parse_retry_after

REQUEST_ID_HEADER = "X-Request-Id"

_MESSAGE_LIMIT = 200


def request_id_of(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get(REQUEST_ID_HEADER)
    return value


def raise_for_status(response: httpx.Response, *, now: datetime | None = None) -> None:
    """Return for a usable response; raise the error that says how to recover otherwise.

    The body must already be read (``await response.aread()`` for streamed responses).
    """
    status = response.status_code
    if 200 <= status < 300 or status == 304:
        return
    request_id = request_id_of(response)
    code, message = _error_code_and_message(response)
    what = f"KROS answered {status}" + (f" {code}" if code else "") + f": {message}"
    if status == 401:
        # The client refreshes its token once before it ever gets here.
        raise KrosAuthenticationError(what, request_id=request_id)
    if status in (429, 503):
        retry_after = parse_retry_after(
            response.headers.get("Retry-After"), now=now or datetime.now(UTC)
        )
        error_type = KrosRateLimitedError if status == 429 else KrosUnavailableError
        raise error_type(what, request_id=request_id, retry_after=retry_after)
    if status == 410:
        raise _expired_error(code, what, request_id)
    if status >= 500:
        raise KrosServerError(what, request_id=request_id)
    rejected: dict[int, type[KrosError]] = {
        400: KrosBadRequestError,
        403: KrosForbiddenError,
        404: KrosNotFoundError,
        409: KrosConflictError,
    }
    raise rejected.get(status, KrosProtocolError)(what, request_id=request_id)


def _expired_error(code: str | None, what: str, request_id: str | None) -> KrosExpiredError:
    if code == "cursor_expired":
        return KrosCursorExpiredError(what, request_id=request_id)
    if code == "changes_expired":
        return KrosChangesExpiredError(what, request_id=request_id)
    # An unnamed 410 on a listing: restarting the listing is safe for both causes.
    return KrosCursorExpiredError(what, request_id=request_id)


def _error_code_and_message(response: httpx.Response) -> tuple[str | None, str]:
    """The error code and a short message, whatever shape the body has."""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            body: Any = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                code = error.get("code")
                message = error.get("message")
                return (
                    code if isinstance(code, str) else None,
                    _short(message if isinstance(message, str) else response.reason_phrase),
                )
            if isinstance(error, str):
                return error, _short(str(body.get("error_description") or error))
    # An HTML page from a proxy, or nothing at all: the reason phrase says enough.
    return None, _short(response.reason_phrase or "no message")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def decode_json(response: httpx.Response) -> Any:
    """The JSON body, or a :class:`KrosProtocolError` naming the request."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise KrosProtocolError(
            f"KROS sent a body that is not JSON ({response.headers.get('Content-Type')})",
            request_id=request_id_of(response),
        ) from exc
