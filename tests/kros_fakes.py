"""Test doubles for the KROS side: a virtual clock and canned KROS responses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from kros_adapter.settings import ClientSettings

BASE_URL = "http://kros.test"
API = f"{BASE_URL}/ej/v1/schools/sch-1"
SERVER_TIME = "2026-12-04T16:23:05+03:00"


class VirtualTime:
    """A monotonic clock and a ``sleep`` that advances it instead of waiting."""

    def __init__(self, start: datetime = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)) -> None:
        self.now = 1000.0
        self.wall_start = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return self.wall_start + timedelta(seconds=self.now - 1000.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def settings(**overrides: Any) -> ClientSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "client_id": "school-1",
        "client_secret": "s3cret-value",
        "max_attempts": 4,
    }
    values.update(overrides)
    return ClientSettings(**values)


def token_response(token: str = "tok-1", expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": "ej.read ej.consents.write",
        },
    )


def page(
    items: list[dict[str, Any]],
    next_cursor: str | None = None,
    *,
    server_time: str = SERVER_TIME,
    omit_cursor: bool = False,
    request_id: str = "req-1",
) -> httpx.Response:
    body: dict[str, Any] = {"items": items, "server_time": server_time}
    if not omit_cursor:
        body["next_cursor"] = next_cursor
    return httpx.Response(
        200,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json; charset=utf-8", "X-Request-Id": request_id},
    )


def error(status: int, code: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": "Ошибка", "request_id": f"req-{status}"}}
    return httpx.Response(
        status,
        content=orjson.dumps(body),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Request-Id": f"req-{status}",
            **(headers or {}),
        },
    )


def html_error(status: int) -> httpx.Response:
    return httpx.Response(
        status,
        content=b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
        headers={"Content-Type": "text/html"},
    )


def mark(record_id: str, updated_at: str, value: str = "5") -> dict[str, Any]:
    return {"id": record_id, "value": value, "updated_at": updated_at}
