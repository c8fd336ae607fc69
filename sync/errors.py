"""Errors of the sync engine.

::

    SyncError                    root; the CLI exits 1 on it
    ├── LeaseHeldError           another run holds the (school, stream) lease
    ├── LeaseLostError           this run's lease expired and another took it: stop
    └── StoreError               the store refused a write or is unreachable
"""

from __future__ import annotations

from datetime import datetime


class SyncError(Exception):
    """Root of the errors of :mod:`sync`."""


class LeaseHeldError(SyncError):
    def __init__(
        self, school_id: str, stream: str, holder: str, run_id: int | None, expires_at: datetime
    ) -> None:
        run = f"run {run_id} " if run_id is not None else ""
        super().__init__(
            f"{school_id}/{stream} is being synced by {run}({holder}) until "
            f"{expires_at:%H:%M:%S} UTC; wait for it or let its lease expire"
        )
        self.school_id = school_id
        self.stream = stream
        self.holder = holder
        self.run_id = run_id


class LeaseLostError(SyncError):
    """The lease expired while the run was stalled and another run took it over."""


class StoreError(SyncError):
    """The store could not be read or written."""
