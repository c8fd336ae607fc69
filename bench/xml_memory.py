"""Peak memory of parsing a 200 MB ``final-grades.xml`` (SPEC.md: streamed, under 250 MB).

The document is written with the simulator's own writer, then parsed in a child process
that imports nothing but the parser: a process's peak RSS never goes down, so measuring
in the bench process would report whatever the earlier rows left behind.

``python -m bench.xml_memory PATH`` is that child; it prints one JSON line.
"""

from __future__ import annotations

import itertools
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

TARGET_BYTES = 200 << 20
"""The document's size: grades are written until it is reached (about 1.2 million
``Grade`` lines of ≈170 bytes, the attributes KROS writes)."""
CHUNK_BYTES = 1 << 20
"""The parser slices its input to 64 KiB itself; a larger read shows that it does."""
MAX_BYTES = 1 << 30

# The shape of the simulator's ``FinalGradeWriter`` records: quarter grades of 13
# subjects for 4 quarters, 30 students a class, ~1 % deferred for illness.
_SUBJECTS = (
    "sub-rus",
    "sub-lit",
    "sub-eng",
    "sub-math",
    "sub-alg",
    "sub-geom",
    "sub-hist",
    "sub-soc",
    "sub-geo",
    "sub-bio",
    "sub-phys",
    "sub-chem",
    "sub-pe",
)
_QUARTERS = (
    ("p-2026-q1", date(2026, 10, 24)),
    ("p-2026-q2", date(2026, 12, 27)),
    ("p-2027-q3", date(2027, 3, 20)),
    ("p-2027-q4", date(2027, 5, 25)),
)
_STUDENTS_A_CLASS = 30
_LETTERS = "АБВГДЕЖИКЛ"


@dataclass(frozen=True)
class XmlFigures:
    bytes: int
    records: int
    seconds: float
    baseline_rss: int
    """The child's peak RSS before parsing: the interpreter and lxml."""
    peak_rss: int

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / self.seconds / 1e6


def synthetic_grades(*, seed: int = 1) -> Iterator[dict[str, str]]:
    """Grade records in the parser's output form, sorted by class and student, endless."""
    rng = random.Random(seed)
    per_student = len(_SUBJECTS) * len(_QUARTERS)
    for number in itertools.count():
        student, within = divmod(number, per_student)
        school_class = student // _STUDENTS_A_CLASS
        subject = _SUBJECTS[within % len(_SUBJECTS)]
        period_id, ends_on = _QUARTERS[within // len(_SUBJECTS)]
        set_on = ends_on - timedelta(days=rng.randrange(3))
        record = {"id": f"fg-{number + 1:07d}", "subjectId": subject, "kind": "quarter"}
        if rng.random() < 0.01:
            record |= {
                "value": "",
                "deferred": "true",
                "deferReason": "illness",
                "deferredUntil": (ends_on + timedelta(days=rng.randint(7, 45))).isoformat(),
            }
        else:
            record |= {"value": str(rng.choice("2345")), "setOn": set_on.isoformat()}
        record |= {
            "teacherId": f"t-{rng.randrange(1, 120):03d}",
            "updated": f"{set_on.isoformat()}T{rng.randint(13, 18):02d}:"
            f"{rng.randrange(60):02d}:00+03:00",
            "periodId": period_id,
            "classId": f"c-{school_class:04d}",
            "className": f"{2 + school_class % 10}{_LETTERS[school_class // 10 % len(_LETTERS)]}",
            "studentId": f"st-{student + 1:06d}",
        }
        yield record


def write_document(path: Path, target_bytes: int = TARGET_BYTES) -> int:
    """Write a synthetic ``Vedomost`` of about ``target_bytes`` to ``path``; its size."""
    from kros_adapter.xml_documents import write_final_grades

    written = 0

    def until_target() -> Iterator[dict[str, str]]:
        # The writer pulls records lazily, chunk by chunk: stop feeding it at the size.
        for record in synthetic_grades():
            if written >= target_bytes:
                return
            yield record

    with path.open("wb") as out:
        for chunk in write_final_grades(
            until_target(), school_id="sch-1", period_id=None, generated="2027-06-01T10:00:00+03:00"
        ):
            written += out.write(chunk)
    return written


def measure_in_child(path: Path) -> XmlFigures:
    """Parse ``path`` in a fresh interpreter and read back what it measured."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.xml_memory", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return XmlFigures(
        bytes=path.stat().st_size,
        records=int(result["records"]),
        seconds=float(result["seconds"]),
        baseline_rss=int(result["baseline_rss"]),
        peak_rss=int(result["peak_rss"]),
    )


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


def _peak_rss() -> int:
    """This process's peak RSS in bytes, since its ``exec``.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` would be the obvious reading, but Linux carries
    it across ``fork`` + ``exec``: the child starts with the bench process's peak
    (hundreds of MB after the sync rows) and would report that. ``VmHWM`` is the high
    water mark of the process's own address space, which ``exec`` starts afresh.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _child(path: Path) -> None:
    from kros_adapter.xml_documents import DocumentKind, iter_document

    baseline = _peak_rss()
    started = time.perf_counter()
    records = 0
    for _record in iter_document(
        DocumentKind.FINAL_GRADES, _file_chunks(path), max_bytes=MAX_BYTES
    ):
        records += 1
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "records": records,
                "seconds": seconds,
                "baseline_rss": baseline,
                "peak_rss": _peak_rss(),
            }
        )
    )


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
