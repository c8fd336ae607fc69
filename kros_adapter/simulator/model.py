"""The simulator's shared vocabulary: options, generated data, and mutations.

The pieces of the simulator meet here: ``dataset`` generates a :class:`SchoolData`,
``mutations`` plans :class:`Mutation` values over a :class:`LiveView` of the current
state, ``server`` keeps the state and serves it over CONTRACT.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from kros_adapter.contract import (
    COLLECTIONS,
    DOCUMENTS,
    JOURNAL_COLLECTIONS,
    REFERENCE_COLLECTIONS,
)
from kros_adapter.timestamps import REGION_TZ

__all__ = [
    "COLLECTIONS",
    "DEFAULT_TODAY",
    "DOCUMENTS",
    "JOURNAL_COLLECTIONS",
    "REFERENCE_COLLECTIONS",
    "DeliberateError",
    "LiveView",
    "Mutation",
    "Record",
    "SchoolData",
    "SimulatorOptions",
]

Record = dict[str, Any]

DEFAULT_TODAY = datetime(2026, 12, 4, 10, 0, tzinfo=REGION_TZ)


@dataclass(frozen=True, slots=True)
class DeliberateError:
    """A record generated wrong on purpose, so that quarantine has something to catch."""

    collection: str
    record_id: str
    reason: str


@dataclass(slots=True)
class SchoolData:
    """Everything one simulated school holds at the simulator's start.

    ``collections`` maps a path segment of CONTRACT.md §4 to its records, each exactly
    the JSON KROS sends (camelCase fields plus ``updated_at``). ``final_grades`` holds
    one dict per ``<Grade>`` (its attributes, ``updated`` included) plus the context of
    its place in the document: ``periodId``, ``classId``, ``className``, ``studentId``.
    ``exam_results`` holds one dict per ``<Result>`` (its attributes) plus ``yearId``.
    """

    school: Record
    collections: dict[str, list[Record]]
    final_grades: list[Record]
    exam_results: list[Record]
    deliberate_errors: list[DeliberateError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change KROS makes to a record after the start.

    ``collection`` is a JSON collection or ``"final-grades"`` / ``"exam-results"``.
    For ``upsert``, ``record`` is the whole new record with its new ``updated_at``
    (``updated`` for the XML documents); for ``delete`` it is ``{"id": …}`` plus the
    document context for the XML documents. ``commit_at`` is when the change becomes
    visible, between ``updated_at`` and 60 seconds after it (CONTRACT.md §3).
    """

    collection: str
    op: Literal["upsert", "delete"]
    record: Record
    updated_at: datetime
    commit_at: datetime


class LiveView(Protocol):
    """Read-only view of a school's current (committed or pending) state."""

    def ids(self, collection: str) -> Sequence[str]:
        """Ids of live records, in sorted order (so seeded choices are reproducible)."""
        ...

    def get(self, collection: str, record_id: str) -> Record | None:
        """The live record with that id, or ``None``."""
        ...


FaultProfile = Literal["none", "flaky"]


@dataclass(frozen=True, slots=True)
class SimulatorOptions:
    """What ``kros-adapter simulator`` takes on its command line."""

    host: str = "127.0.0.1"
    port: int = 8081
    seed: int = 1
    scale: float = 1.0
    schools: int = 1
    today: datetime = DEFAULT_TODAY
    faults: FaultProfile = "none"
    rate_limit: bool = True
    maintenance: bool = False
    frozen_clock: bool = False
    """Tests freeze the clock and move it by hand (``POST /_sim/clock``)."""
    mutations_per_minute: float | None = None
    """Changes KROS makes per simulated minute; ``None``: 20 × scale in school hours."""


SIMULATOR_CLIENTS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "school-1": ("demo-secret", None),
    "school-limited": ("limited-secret", ("sch-1",)),
}
"""Built-in integration accounts: client_id → (secret, school ids or None for all)."""


def school_id(index: int) -> str:
    """The id of the ``index``-th simulated school (1-based): ``sch-1``, ``sch-2``, …"""
    return f"sch-{index}"
