"""Errors of the KROS side, grouped by how the caller recovers.

::

    KrosError                         root: nothing below leaks httpx or lxml errors
    ├── KrosConfigurationError        fix the configuration (exit 2)
    │   └── KrosAuthenticationError   bad credentials, or a second 401 in a row
    ├── KrosRejectedError             the request itself is wrong or forbidden; do not retry
    │   ├── KrosBadRequestError       400 invalid_parameter / a consent without basis
    │   ├── KrosForbiddenError        403: no right to this school or resource
    │   ├── KrosNotFoundError         404: unknown school or resource
    │   └── KrosConflictError         409: conflicting write (idempotency_conflict)
    ├── KrosRetriableError            transient; retried with backoff, then surfaced
    │   ├── KrosRateLimitedError      429 (carries Retry-After)
    │   ├── KrosUnavailableError      503 maintenance or overload (carries Retry-After)
    │   ├── KrosServerError           500, 502, 504 (HTML pages from a proxy included)
    │   └── KrosTransportError        connection refused, reset, timed out
    ├── KrosExpiredError              410: the caller restarts differently
    │   ├── KrosCursorExpiredError    re-read the listing (from the start or from a key)
    │   └── KrosChangesExpiredError   full read with reconciliation
    ├── KrosProtocolError             the remote broke the contract (a repeated cursor,
    │                                 a body that is not the documented envelope)
    └── KrosDocumentRefusedError      an XML document refused as hostile or too large
"""

from __future__ import annotations


class KrosError(Exception):
    """Root of every error raised by :mod:`kros_adapter`."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (X-Request-Id {self.request_id})"
        return self.message


class KrosConfigurationError(KrosError):
    """The adapter's configuration is wrong; retrying cannot help."""


class KrosAuthenticationError(KrosConfigurationError):
    """Credentials refused, or a second ``401`` in a row after re-authentication."""


class KrosRejectedError(KrosError):
    """KROS refused the request as such; it must not be retried unchanged."""

    status: int = 0


class KrosBadRequestError(KrosRejectedError):
    status = 400


class KrosForbiddenError(KrosRejectedError):
    status = 403


class KrosNotFoundError(KrosRejectedError):
    status = 404


class KrosConflictError(KrosRejectedError):
    status = 409


class KrosRetriableError(KrosError):
    """A transient failure: retried with backoff; surfaced once retries are spent."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.retry_after = retry_after


class KrosRateLimitedError(KrosRetriableError):
    """``429``: wait at least ``retry_after`` seconds."""


class KrosUnavailableError(KrosRetriableError):
    """``503``: nightly maintenance or overload."""


class KrosServerError(KrosRetriableError):
    """``500``, ``502``, ``504``, often an HTML page from a proxy."""


class KrosTransportError(KrosRetriableError):
    """The connection failed before a response arrived."""


class KrosExpiredError(KrosError):
    """``410``: the listing must be restarted in another way."""


class KrosCursorExpiredError(KrosExpiredError):
    """``410 cursor_expired``: read the listing again (CONTRACT.md §2)."""


class KrosChangesExpiredError(KrosExpiredError):
    """``410 changes_expired``: full read with reconciliation (CONTRACT.md §3)."""


class KrosProtocolError(KrosError):
    """KROS answered outside its contract (a repeated cursor, a malformed envelope)."""


class KrosDocumentRefusedError(KrosError):
    """An XML document refused: DTD, entities, too deep, too large or malformed."""
