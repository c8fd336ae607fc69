"""CSRF tokens on every form.

Logged in, the token is the session's own (``sessions.csrf_token``): a forged request
from another site carries the cookie but cannot know it. Before login (the login and
invitation forms) it is a double-submit token: a random value in a signed cookie that
the form must repeat, so that another site cannot log a visitor into its own account.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer

FIELD = "csrf_token"
ANONYMOUS_COOKIE = "kros_csrf"


class CsrfSigner:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="kros-adapter.csrf")

    def new_cookie(self) -> tuple[str, str]:
        """A fresh token and the signed cookie value that carries it."""
        token = secrets.token_urlsafe(24)
        return token, self._serializer.dumps(token)

    def token_of(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._serializer.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
