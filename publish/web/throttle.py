"""Throttling of failed logins (and failed invitation codes), from ``login_attempts``.

The clock is the cabinet's (``WebOptions.clock``), so tests move time instead of waiting.
A refused attempt is not recorded: otherwise a locked-out person retrying would extend
their own lock for ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from publish.web.options import ThrottlePolicy
from schemas.tables import login_attempts

INVITATION_LOGIN = "(invitation)"
"""The ``login`` under which failed invitation codes are recorded (per address only)."""

_KEEP = timedelta(days=1)


def retry_after(
    connection: Connection, login: str, address: str, now: datetime, policy: ThrottlePolicy
) -> timedelta | None:
    """How long until another attempt is allowed; None when it is allowed now."""
    since = now - policy.window
    waits: list[timedelta] = []
    if login != INVITATION_LOGIN:
        last_success = connection.execute(
            select(func.max(login_attempts.c.attempted_at)).where(
                login_attempts.c.login == login, login_attempts.c.succeeded.is_(True)
            )
        ).scalar()
        login_since = max(since, last_success) if last_success else since
        waits.extend(
            _wait(
                connection,
                (login_attempts.c.login == login) & (login_attempts.c.attempted_at > login_since),
                policy.max_failures_per_login,
                now,
                policy,
            )
        )
    waits.extend(
        _wait(
            connection,
            (login_attempts.c.address == address) & (login_attempts.c.attempted_at > since),
            policy.max_failures_per_address,
            now,
            policy,
        )
    )
    return max(waits) if waits else None


def _wait(
    connection: Connection, condition: object, limit: int, now: datetime, policy: ThrottlePolicy
) -> list[timedelta]:
    failures = [
        row[0]
        for row in connection.execute(
            select(login_attempts.c.attempted_at)
            .where(condition, login_attempts.c.succeeded.is_(False))  # type: ignore[arg-type]
            .order_by(login_attempts.c.attempted_at.desc())
            .limit(limit)
        )
    ]
    if len(failures) < limit:
        return []
    # Allowed again when the oldest of the last `limit` failures leaves the window.
    return [max(failures[-1] + policy.window - now, timedelta(seconds=1))]


def record_attempt(
    connection: Connection, login: str, address: str, now: datetime, *, succeeded: bool
) -> None:
    connection.execute(delete(login_attempts).where(login_attempts.c.attempted_at < now - _KEEP))
    connection.execute(
        insert(login_attempts).values(
            login=login, address=address, attempted_at=now, succeeded=succeeded
        )
    )
