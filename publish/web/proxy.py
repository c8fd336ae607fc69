"""Believe X-Forwarded-For / X-Forwarded-Proto only from trusted proxies.

Anyone can send these headers; only a reverse proxy we run may be believed, or a client
could pose as another address (and dodge the login throttle) or as HTTPS. The client's
address is the right-most address in X-Forwarded-For that is not itself a trusted proxy.
uvicorn's own ``proxy_headers`` must be off (the service passes ``proxy_headers=False``)
so that this is the one place deciding.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            client = scope.get("client")
            if client and _trusted(client[0], self.networks):
                scope = dict(scope)
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
                }
                forwarded = [
                    a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()
                ]
                for address in reversed(forwarded):
                    if not _trusted(address, self.networks):
                        scope["client"] = (address, 0)
                        break
                else:
                    if forwarded:
                        scope["client"] = (forwarded[0], 0)
                proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
