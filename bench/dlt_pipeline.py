"""The yardstick of SPEC.md's rate-limit-off row: a `dlt` REST pipeline into SQLite.

dlt is the framework SYNC-LESSONS.md measured (about 17k small rows/s into SQLite here).
The comparison is kept fair: the same 18 JSON collections, from the same simulator
process started with the same flags, into SQLite on the same disk, in the same run; dlt
keeps its defaults otherwise (``append`` disposition, one normalize worker, its own
load workers, its own JSON decoder and type inference).

What dlt does here: OAuth client credentials, cursor pagination, JSON decode, schema
inference, normalization into tables (nested lists become child tables) and a load into
SQLite through SQLAlchemy. What it does not do, and the adapter does: no typed marks
(it stores KROS's strings as they come: " 5 " stays " 5 ", no dictionary mapping, no
validation), no quarantine of bad records, no reconciliation of deletions, no
references checked, no versioned change feed, no exactly-once checkpoint per page
(SYNC-LESSONS.md). It is the cost of *moving* the rows, which is the floor ours is
held to twice over.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kros_adapter.contract import COLLECTIONS, MAX_PAGE_LIMIT

# Set before dlt is imported anywhere: dlt reads its runtime configuration at import and
# first use, and its anonymous telemetry would otherwise try to reach the internet.
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
# Its schema-inference warnings (columns that got no data) are about dlt, not the bench.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


@dataclass(frozen=True)
class DltFigures:
    records: int
    seconds: float
    extract_seconds: float
    normalize_seconds: float
    load_seconds: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def _source_config(base_url: str, school_id: str) -> dict[str, Any]:
    return {
        "client": {
            "base_url": f"{base_url}/ej/v1/schools/{school_id}/",
            "auth": {
                "type": "oauth2_client_credentials",
                "access_token_url": f"{base_url}/oauth/token",
                "client_id": "school-1",
                "client_secret": "demo-secret",
            },
            # CONTRACT.md §2: an opaque `next_cursor` in the body, sent back as `cursor`;
            # null on the last page.
            "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"},
        },
        "resource_defaults": {
            # The same page size the adapter asks for, so both make the same requests.
            "endpoint": {"params": {"limit": MAX_PAGE_LIMIT}, "data_selector": "items"},
        },
        "resources": [{"name": name, "endpoint": {"path": name}} for name in COLLECTIONS],
    }


def dlt_load(base_url: str, workdir: Path, *, school_id: str = "sch-1") -> DltFigures:
    """Run the pipeline once into a fresh SQLite file under ``workdir``; time it whole."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    workdir.mkdir(parents=True, exist_ok=True)
    source = rest_api_source(_source_config(base_url, school_id))  # type: ignore[arg-type]
    pipeline = dlt.pipeline(
        pipeline_name="kros_bench",
        pipelines_dir=str(workdir / "dlt-pipelines"),
        destination=dlt.destinations.sqlalchemy(f"sqlite:///{workdir / 'dlt.db'}"),
        dataset_name="kros",
    )
    started = time.perf_counter()
    pipeline.run(source)
    seconds = time.perf_counter() - started
    trace = pipeline.last_trace
    normalized = trace.last_normalize_info if trace is not None else None
    if trace is None or normalized is None:
        raise RuntimeError("dlt left no trace of its run")
    steps = {step.step: step for step in trace.steps}
    row_counts = normalized.row_counts
    # Only the collections' own tables count as records: child tables (nested lists)
    # and dlt's bookkeeping tables are dlt's layout, not records KROS sent.
    tables = {pipeline.default_schema.naming.normalize_table_identifier(n) for n in COLLECTIONS}
    records = sum(count for table, count in row_counts.items() if table in tables)
    return DltFigures(
        records=records,
        seconds=seconds,
        extract_seconds=_step_seconds(steps.get("extract")),
        normalize_seconds=_step_seconds(steps.get("normalize")),
        load_seconds=_step_seconds(steps.get("load")),
    )


def _step_seconds(step: Any) -> float:
    if step is None or step.finished_at is None:
        return 0.0
    return float((step.finished_at - step.started_at).total_seconds())
