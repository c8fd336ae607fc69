"""The KROS client's own settings: what the composition root hands this layer."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_REQUESTS_PER_SECOND = 10.0
DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_MAX_DOCUMENT_BYTES = 1 << 30
DEFAULT_MAX_DOCUMENT_DEPTH = 32
DEFAULT_PAGE_LIMIT = 1000
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_OVERLAP_SECONDS = 120.0
DEFAULT_MAX_ATTACHMENT_BYTES = 20 << 20
DEFAULT_SCOPE = "ej.read ej.consents.write"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything :class:`kros_adapter.client.KrosClient` needs to reach KROS.

    ``client_secret`` is kept out of ``repr`` so that it never reaches a log line.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str = ""
    """Empty: ``{base_url}/oauth/token``."""
    ca_bundle: str = ""
    """Empty: the system bundle; a national root CA's PEM file otherwise."""
    scope: str = DEFAULT_SCOPE
    max_requests_per_second: float = DEFAULT_MAX_REQUESTS_PER_SECOND
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_document_depth: int = DEFAULT_MAX_DOCUMENT_DEPTH
    page_limit: int = DEFAULT_PAGE_LIMIT
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    """Attempts per request for retriable failures (the first one included)."""
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS
    """Incremental reads re-read this window before the watermark (late commits)."""
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES

    @property
    def api_url(self) -> str:
        return self.base_url.rstrip("/") + "/ej/v1"

    @property
    def effective_token_url(self) -> str:
        return self.token_url or self.base_url.rstrip("/") + "/oauth/token"
