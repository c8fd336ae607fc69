"""``/healthz`` and ``/readyz``: what a supervisor or a load balancer asks, without login.

* ``/healthz`` — the process answers (its event loop is not stuck): always 200.
* ``/readyz`` — the store is reachable and migrated to the revision this code knows:
  200, or 503 with the reason, so that a balancer sends no family to a server that
  would fail every page.

Neither says anything about KROS: KROS being down is what the pages' freshness notes and
the lag metric are for, and restarting the adapter would not bring KROS back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from starlette.requests import Request
from starlette.responses import JSONResponse

from schemas.migrate import head_revision
from sync.store import Store

READY_TIMEOUT_SECONDS = 5.0
"""A store that takes longer than this to answer one query is not ready."""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str
    revision: str | None


@cache
def _head() -> str:
    # Parsing the migration scripts takes milliseconds; a probe every few seconds need not.
    return head_revision()


def check_store(store: Store) -> Readiness:
    """Whether ``store`` answers and is at the head revision (blocking)."""
    try:
        with store.read() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:
        return Readiness(False, f"the store does not answer: {type(exc).__name__}", None)
    head = _head()
    if revision != head:
        return Readiness(
            False,
            f"the store is at revision {revision or 'none'}, not {head}: "
            "run 'kros-adapter db upgrade'",
            revision,
        )
    return Readiness(True, "ok", revision)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def readyz_endpoint(store: Store) -> Callable[[Request], Any]:
    """The ``/readyz`` handler for ``store``."""

    async def readyz(_request: Request) -> JSONResponse:
        try:
            readiness = await asyncio.wait_for(
                asyncio.to_thread(check_store, store), READY_TIMEOUT_SECONDS
            )
        except TimeoutError:
            readiness = Readiness(
                False, f"the store did not answer within {READY_TIMEOUT_SECONDS:.0f} s", None
            )
        body = {
            "status": "ready" if readiness.ready else "not ready",
            "reason": readiness.reason,
            "revision": readiness.revision,
        }
        return JSONResponse(
            body,
            status_code=200 if readiness.ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    return readyz
