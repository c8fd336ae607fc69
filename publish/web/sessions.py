"""Server-side sessions: the cookie holds a random token, the store its SHA-256.

Server-side so that logging out (or an administrator disabling an account) ends the
session at once, which a signed cookie cannot do. A session lives a fixed time from the
login (``WebOptions.session_max_age_seconds``); reading a page writes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select

from schemas.tables import sessions

COOKIE = "kros_session"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    account_id: int
    csrf_token: str
    expires_at: datetime


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    connection: Connection, account_id: int, now: datetime, max_age: timedelta
) -> str:
    """A new session for the account; returns the cookie's token. Expired sessions of
    everyone are cleared on the way (logins are rare enough to carry that cost)."""
    connection.execute(delete(sessions).where(sessions.c.expires_at <= now))
    token = secrets.token_urlsafe(32)
    connection.execute(
        insert(sessions).values(
            id=_key(token),
            account_id=account_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + max_age,
        )
    )
    return token


def find_session(connection: Connection, token: str, now: datetime) -> SessionInfo | None:
    if not token or len(token) > 200:
        return None
    row = connection.execute(
        select(sessions.c.account_id, sessions.c.csrf_token, sessions.c.expires_at).where(
            sessions.c.id == _key(token)
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return SessionInfo(row.account_id, row.csrf_token, row.expires_at)


def end_session(connection: Connection, token: str) -> None:
    connection.execute(delete(sessions).where(sessions.c.id == _key(token)))


def end_all_sessions(connection: Connection, account_id: int) -> None:
    connection.execute(delete(sessions).where(sessions.c.account_id == account_id))
