"""Read a school's whole journal into memory: every collection, document and the school.

This is not the sync engine (which writes page by page into the store); it is the
client's own end-to-end read, used to check the client against the simulator's ground
truth and to measure what the client costs. Collections are read side by side; the
client's limiter keeps the whole read within the account's 10 requests/s and 4 in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kros_adapter.client import KrosClient, ListingResult
from kros_adapter.contract import COLLECTIONS, DOCUMENTS, JOURNAL_COLLECTIONS
from kros_adapter.incremental import record_updated_at
from kros_adapter.pagination import Record, is_tombstone


@dataclass(slots=True)
class DocumentResult:
    """A document folded to its newest state per id."""

    records: dict[str, Record] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    server_time: datetime | None = None
    """KROS's clock when the last read of the document began: its next watermark."""

    def fold(self, record: Record) -> None:
        record_id = str(record.get("id"))
        current = self.records.get(record_id)
        if current is not None:
            newer = record_updated_at(record, "updated")
            older = record_updated_at(current, "updated")
            if newer is not None and older is not None and newer < older:
                return
        if is_tombstone(record):
            self.records.pop(record_id, None)
            self.deleted.add(record_id)
        else:
            self.records[record_id] = record
            self.deleted.discard(record_id)


@dataclass(slots=True)
class SchoolSnapshot:
    school: Record
    collections: dict[str, ListingResult]
    documents: dict[str, DocumentResult]

    @property
    def record_count(self) -> int:
        return (
            sum(len(result.records) for result in self.collections.values())
            + sum(len(result.records) for result in self.documents.values())
            + 1
        )

    def watermarks(self) -> dict[str, datetime | None]:
        """The watermark of every journal collection and document read so far."""
        marks = {name: result.listing_server_time for name, result in self.collections.items()}
        return marks | {name: result.server_time for name, result in self.documents.items()}


async def read_school(
    client: KrosClient,
    school_id: str,
    *,
    since: dict[str, datetime | None] | None = None,
    base: SchoolSnapshot | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> SchoolSnapshot:
    """Read every collection and document of a school; fold changes into ``base`` if given.

    ``since`` maps a journal collection or a document to the ``updated_since`` of its
    read (``None``: full). Reference collections take no ``updated_since``: they are
    read whole (a sync sends ``If-None-Match`` instead). ``progress`` hears of every
    page as ``(collection, records)``.
    """
    since = since or {}
    report = progress or (lambda name, records: None)

    async def listing(name: str) -> tuple[str, ListingResult]:
        incremental = name in JOURNAL_COLLECTIONS and since.get(name) is not None
        result = base.collections[name] if base and incremental else ListingResult()
        result.listing_server_time = None
        changed_since = since.get(name) if incremental else None
        async for page in client.iter_pages(school_id, name, updated_since=changed_since):
            result.fold(page)
            report(name, len(page.items))
        return name, result

    async def document(name: str) -> tuple[str, DocumentResult]:
        result = base.documents[name] if base else DocumentResult()
        async with client.open_document(school_id, name, updated_since=since.get(name)) as stream:
            result.server_time = stream.server_time
            async for record in stream.records():
                result.fold(record)
                report(name, 1)
        return name, result

    school_task = asyncio.ensure_future(client.get_school(school_id))
    listings = await asyncio.gather(*(listing(name) for name in COLLECTIONS))
    documents = await asyncio.gather(*(document(name) for name in DOCUMENTS))
    school = (await school_task).record or (base.school if base else {})
    return SchoolSnapshot(school, dict(listings), dict(documents))
