"""The cabinet's settings, handed over by the composition root (``service``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from publish.grading import GradingRules

DEFAULT_STALE_AFTER_SECONDS = 900.0
DEFAULT_SESSION_MAX_AGE_SECONDS = 8 * 3600

AttachmentFetcher = Callable[[str, str], Awaitable[tuple[bytes, str]]]
"""``(school_id, url) -> (content, content_type)``: fetches a homework attachment from
KROS with the adapter's token (families cannot reach KROS themselves)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Failed logins allowed within ``window`` before further attempts are refused.

    Per login, counted since that login's last success (a guardian who mistypes twice a
    day is never locked out for good); per address, counted regardless, so one machine
    cannot try a thousand logins once each."""

    window: timedelta = timedelta(minutes=15)
    max_failures_per_login: int = 5
    max_failures_per_address: int = 20


@dataclass(frozen=True, slots=True)
class WebOptions:
    store_url: str
    session_secret: str
    base_path: str = "/"
    """The public prefix behind a reverse proxy; every route and link lives under it."""
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (CIDR) whose X-Forwarded-For/-Proto headers are believed."""
    stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS
    session_max_age_seconds: int = DEFAULT_SESSION_MAX_AGE_SECONDS
    grading_rules: GradingRules = field(default_factory=GradingRules)
    request_resync: Callable[[str | None], None] | None = None
    """Called by the administrator's resync button with a school id, or None for all."""
    fetch_attachment: AttachmentFetcher | None = None
    """None: attachment downloads answer 503 with a page saying so."""
    clock: Callable[[], datetime] = _utc_now
    login_throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)

    @property
    def prefix(self) -> str:
        """``base_path`` without its trailing slash ("" at the root)."""
        return "/" + self.base_path.strip("/") if self.base_path.strip("/") else ""
