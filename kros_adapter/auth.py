"""OAuth client credentials, and the once-only re-authentication rule.

A token can be revoked before it expires (CONTRACT.md §1): the API answers ``401`` and
the client obtains a new token once and repeats the request. Requests running side by
side that all hit the same revoked token share a single refresh: the refresh happens
only if the token they used is still the current one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from kros_adapter.errors import KrosAuthenticationError, KrosProtocolError
from kros_adapter.responses import decode_json, raise_for_status, request_id_of

# Renew a little before the announced expiry so a request never leaves with a dying token.
_EXPIRY_MARGIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float

    def __repr__(self) -> str:  # the token is a secret
        return f"AccessToken(expires_at={self.expires_at:.0f})"


TokenRequest = Callable[[], Awaitable[httpx.Response]]


class TokenProvider:
    """Hands out the current bearer token and refreshes it at most once per staleness."""

    def __init__(
        self, request_token: TokenRequest, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._request_token = request_token
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.acquired = 0
        """How many tokens were obtained (for the run summary and tests)."""

    async def current(self) -> AccessToken:
        token = self._token
        if token is not None and token.expires_at > self._clock():
            return token
        return await self.renew(token)

    async def renew(self, stale: AccessToken | None) -> AccessToken:
        """A fresh token, unless another request already replaced ``stale``."""
        async with self._lock:
            if self._token is not stale and self._token is not None:
                return self._token
            self._token = await self._fetch()
            self.acquired += 1
            return self._token

    async def _fetch(self) -> AccessToken:
        response = await self._request_token()
        if response.status_code in (400, 401):
            raise KrosAuthenticationError(
                "KROS refused the client credentials: check kros.client_id and kros.client_secret",
                request_id=request_id_of(response),
            )
        raise_for_status(response)
        body = decode_json(response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise KrosProtocolError(
                "the token endpoint answered without an access_token",
                request_id=request_id_of(response),
            )
        expires_in = body.get("expires_in", 3600)
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        return AccessToken(value, self._clock() + max(1.0, lifetime - _EXPIRY_MARGIN_SECONDS))
