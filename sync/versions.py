"""``change_version``: a store-wide number, strictly increasing in commit order.

A writing transaction first locks the single counter row (``UPDATE … SET last_version =
last_version``), then numbers its real changes after the value it read, and finally
writes the last number back. The lock is held until commit, so no other writer can
commit a smaller number after this one: a reader who has seen N never later finds a
new row at or below N (SPEC.md). On SQLite the database write lock does the same.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from schemas.tables import change_counter


class VersionAllocator:
    """Hands out the versions of one writing transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        connection.execute(
            update(change_counter)
            .where(change_counter.c.id == 1)
            .values(last_version=change_counter.c.last_version)
        )
        current = connection.execute(
            select(change_counter.c.last_version).where(change_counter.c.id == 1)
        ).scalar_one()
        self._start = int(current)
        self._last = self._start

    def next(self) -> int:
        self._last += 1
        return self._last

    @property
    def used(self) -> int:
        return self._last - self._start

    def close(self) -> None:
        """Write the last version back (before commit)."""
        if self._last != self._start:
            self._connection.execute(
                update(change_counter)
                .where(change_counter.c.id == 1)
                .values(last_version=self._last)
            )
