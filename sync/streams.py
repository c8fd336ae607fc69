"""The streams of a school: one per KROS collection, document, and the school itself.

Streams run in phases so that what a record references is stored before it (see
:mod:`sync.references`); the streams of one phase run side by side, sharing the
client's limiter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StreamKind = Literal["school", "reference", "journal", "document"]


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    kind: StreamKind
    phase: int

    @property
    def mapping(self) -> str:
        """The mapping file's name (``mappings/collections/<name>.toml``)."""
        return self.name


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("school", "school", 0),
    StreamSpec("academic-years", "reference", 1),
    StreamSpec("subjects", "reference", 1),
    StreamSpec("teachers", "reference", 1),
    StreamSpec("periods", "reference", 2),
    StreamSpec("holidays", "reference", 2),
    StreamSpec("classes", "reference", 2),
    StreamSpec("groups", "reference", 3),
    StreamSpec("students", "journal", 3),
    StreamSpec("guardians", "journal", 4),
    StreamSpec("curriculum", "journal", 4),
    StreamSpec("lessons", "journal", 4),
    StreamSpec("lesson-changes", "journal", 5),
    StreamSpec("control-works", "journal", 5),
    StreamSpec("homework", "journal", 5),
    StreamSpec("marks", "journal", 5),
    StreamSpec("attendance", "journal", 5),
    StreamSpec("recommendations", "journal", 5),
    StreamSpec("consents", "journal", 5),
    StreamSpec("final-grades", "document", 5),
    StreamSpec("exam-results", "document", 5),
)

BY_NAME: dict[str, StreamSpec] = {stream.name: stream for stream in STREAMS}


class UnknownStreamError(ValueError):
    pass


def select_streams(names: list[str] | None) -> list[StreamSpec]:
    """The streams asked for, in phase order; all of them when ``names`` is empty."""
    if not names:
        return list(STREAMS)
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise UnknownStreamError(
            f"unknown stream {unknown[0]!r}; streams are: {', '.join(BY_NAME)}"
        )
    return [stream for stream in STREAMS if stream.name in names]
