"""One run per (school, stream), across processes: an expiring lease kept in the store.

A run takes the lease when it is free or expired, renews it with every page it commits
(in the same transaction, so a run that lost its lease cannot commit another page: the
renewal is the fence) and between pages while it waits, and releases it at the end. A
killed run blocks the next one for at most the lease's time to live.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, or_, select, update

from schemas.tables import leases
from sync.dialects import dialect_insert
from sync.errors import LeaseHeldError, LeaseLostError

DEFAULT_LEASE_SECONDS = 60.0


def new_holder() -> str:
    """This process's identity in the leases table: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Lease:
    school_id: str
    stream: str
    holder: str
    ttl: timedelta

    def acquire(self, connection: Connection, now: datetime, run_id: int | None) -> None:
        """Take the lease, or raise :class:`LeaseHeldError` naming the run that holds it."""
        expires = now + self.ttl
        inserted = connection.execute(
            dialect_insert(connection, leases)
            .values(
                school_id=self.school_id,
                stream=self.stream,
                holder=self.holder,
                run_id=run_id,
                expires_at=expires,
            )
            .on_conflict_do_nothing(index_elements=["school_id", "stream"])
        )
        if inserted.rowcount == 1:
            return
        where = and_(leases.c.school_id == self.school_id, leases.c.stream == self.stream)
        taken = connection.execute(
            update(leases)
            .where(where, or_(leases.c.holder == self.holder, leases.c.expires_at <= now))
            .values(holder=self.holder, run_id=run_id, expires_at=expires)
        )
        if taken.rowcount != 1:
            row = connection.execute(select(leases).where(where)).one()
            raise LeaseHeldError(
                self.school_id, self.stream, row.holder, row.run_id, row.expires_at
            )

    def renew(self, connection: Connection, now: datetime) -> None:
        """Extend the lease; :class:`LeaseLostError` if another run has taken it."""
        renewed = connection.execute(
            update(leases)
            .where(
                leases.c.school_id == self.school_id,
                leases.c.stream == self.stream,
                leases.c.holder == self.holder,
            )
            .values(expires_at=now + self.ttl)
        )
        if renewed.rowcount != 1:
            raise LeaseLostError(
                f"{self.school_id}/{self.stream}: this run's lease expired and another run "
                "took it; stopping without writing"
            )

    def release(self, connection: Connection) -> None:
        connection.execute(
            delete(leases).where(
                leases.c.school_id == self.school_id,
                leases.c.stream == self.stream,
                leases.c.holder == self.holder,
            )
        )
