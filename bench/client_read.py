"""What the KROS client costs: a full read of a scale-1 school against the simulator."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import httpx

from kros_adapter.client import KrosClient
from kros_adapter.contract import COLLECTIONS, DOCUMENTS, MAX_PAGE_LIMIT
from kros_adapter.settings import ClientSettings
from kros_adapter.snapshot import read_school


@dataclass(frozen=True)
class ReadFigures:
    records: int
    requests: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def fewest_requests(counts: dict[str, int]) -> int:
    """The requests the contract needs at minimum: 1,000 a page, one per document,
    one for the school, one token."""
    pages = sum(max(1, math.ceil(counts[name] / MAX_PAGE_LIMIT)) for name in COLLECTIONS)
    return pages + len(DOCUMENTS) + 1 + 1


def truth_counts(base_url: str, school_id: str = "sch-1") -> dict[str, int]:
    body = httpx.get(f"{base_url}/_sim/truth", timeout=60).json()
    counts: dict[str, int] = body["schools"][school_id]
    return counts


def full_read(base_url: str, *, rate: float) -> ReadFigures:
    settings = ClientSettings(
        base_url=base_url,
        client_id="school-1",
        client_secret="demo-secret",
        max_requests_per_second=rate,
    )

    async def read() -> ReadFigures:
        async with KrosClient(settings) as client:
            started = time.perf_counter()
            snapshot = await read_school(client, "sch-1")
            elapsed = time.perf_counter() - started
            # ``stats.requests`` counts every request, the token's included
            # (``token_requests`` is a part of it, not an addition).
            return ReadFigures(snapshot.record_count, client.stats.requests, elapsed)

    return asyncio.run(read())
