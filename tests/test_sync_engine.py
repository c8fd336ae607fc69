"""The sync engine against the real simulator over loopback, on SQLite and PostgreSQL.

Every test compares the whole store with the simulator's ground truth (tests/store_truth).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from kros_adapter.client import KrosClient
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from schemas.tables import final_grades, leases, marks, sync_runs
from sync.engine import RunSummary, SyncEngine, SyncOptions
from sync.store import Store
from tests.store_truth import all_versions, assert_store_equals

TINY = SimulatorOptions(scale=0.05, seed=3, frozen_clock=True, rate_limit=False)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    opened.upgrade()
    yield opened
    opened.dispose()


def client_for(running: RunningSimulator, **overrides: Any) -> KrosClient:
    values: dict[str, Any] = {
        "base_url": running.base_url,
        "client_id": "school-1",
        "client_secret": "demo-secret",
        "max_requests_per_second": 1e6,
        "max_attempts": 10,
    }
    values.update(overrides)
    return KrosClient(ClientSettings(**values))


async def sync(
    store: Store, running: RunningSimulator, schools: tuple[str, ...] = ("sch-1",), **kw: Any
) -> RunSummary:
    async with client_for(running) as client:
        summary = await SyncEngine(store, client).run(SyncOptions(school_ids=schools, **kw))
    assert not summary.failed, [r.error for r in summary.failed]
    return summary


async def test_a_full_sync_under_the_flaky_profile_equals_the_ground_truth(store):
    with running_simulator(dataclasses.replace(TINY, faults="flaky")) as running:
        summary = await sync(store, running)
        dump = running.simulator.dump("sch-1")
    assert summary.records_read > 10_000
    assert_store_equals(store.engine, dump, "sch-1")


async def test_incremental_syncs_converge_after_inserts_edits_deletions_and_late_commits(store):
    options = dataclasses.replace(TINY, mutations_per_minute=40.0)
    with running_simulator(options) as running:
        sim = running.simulator
        await sync(store, running)
        first = sim.dump("sch-1")
        for _ in range(3):
            sim.advance(5 * 60)
            await sync(store, running)
        sim.pause_mutations(True)
        sim.advance(90)  # every late commit has landed
        summary = await sync(store, running)
        dump = sim.dump("sch-1")
    assert dump != first
    assert_store_equals(store.engine, dump, "sch-1")
    incremental = {r.stream: r.mode for r in summary.streams}
    assert incremental["marks"] == "incremental" and incremental["subjects"] == "304"


async def test_nothing_changed_means_one_request_per_stream_and_no_new_versions(store):
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        await sync(store, running)
        before = sorted(all_versions(store.engine))
        running.simulator.advance(300)
        summary = await sync(store, running)
    # One request per stream (a 304 for reference data), plus the new client's token.
    assert all(r.requests == 1 for r in summary.streams)
    assert summary.requests <= len(summary.streams) + 1
    assert sum(r.written + r.tombstoned for r in summary.streams) == 0
    assert sorted(all_versions(store.engine)) == before


async def test_changes_expired_falls_back_to_a_full_read_that_reconciles_deletions(store):
    options = dataclasses.replace(TINY, mutations_per_minute=10.0)
    with running_simulator(options) as running:
        sim = running.simulator
        await sync(store, running)
        sim.advance(31 * 24 * 3600)  # beyond the 30 days of tombstones; KROS kept changing
        sim.pause_mutations(True)
        sim.advance(90)
        summary = await sync(store, running)
        dump = sim.dump("sch-1")
    modes = {r.stream: r for r in summary.streams}
    assert modes["marks"].tombstoned > 0, "the simulator deleted marks; reconciliation found none"
    assert_store_equals(store.engine, dump, "sch-1")
    with store.read() as connection:
        deleted = connection.execute(
            select(marks.c.deleted_at).where(marks.c.deleted_at.is_not(None))
        ).all()
    assert len(deleted) >= modes["marks"].tombstoned  # kept as tombstones, never removed


async def test_two_schools_share_one_store_without_mixing(store):
    with running_simulator(dataclasses.replace(TINY, schools=2)) as running:
        await sync(store, running, schools=("sch-1", "sch-2"))
        dumps = {school: running.simulator.dump(school) for school in ("sch-1", "sch-2")}
    shared_ids = {r["id"] for r in dumps["sch-1"]["marks"]} & {
        r["id"] for r in dumps["sch-2"]["marks"]
    }
    assert shared_ids, "the two schools share no ids; the test proves nothing"
    for school, dump in dumps.items():
        assert_store_equals(store.engine, dump, school)


async def test_quarantined_records_are_stored_after_a_dictionary_fix(store, monkeypatch):
    import mappings.codes as codes
    import mappings.engine as engine

    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        await sync(store, running)
        dump = running.simulator.dump("sch-1")
    bad = [r for r in dump["marks"] if r["value"].strip() == "5/4"]
    assert bad, "the simulator generated no '5/4' mark"
    from sync.quarantine import pending

    with store.read() as connection:
        held = {row["source_id"]: row for row in pending(connection, stream="marks")}
    assert {r["id"] for r in bad} <= held.keys()
    assert "5/4" in held[bad[0]["id"]]["reason"]

    original = codes._load

    def with_alias(file: str) -> dict[str, Any]:
        data = original(file)
        if file == "marks.toml":
            data["aliases"] = {**data.get("aliases", {}), "5/4": "5"}
        return data

    monkeypatch.setattr(codes, "_load", with_alias)
    engine.reload()
    try:
        from sync.batches import retry_quarantined

        with store.write() as connection:
            released, _still = retry_quarantined(connection, "sch-1", "marks", datetime.now(UTC))
        assert released >= len(bad)
        with store.read() as connection:
            stored = connection.execute(
                select(marks.c.value_number).where(marks.c.source_id == bad[0]["id"])
            ).scalar_one()
        assert stored == 5
    finally:
        monkeypatch.undo()
        engine.reload()


async def test_a_stream_leased_by_another_run_is_refused_naming_that_run(store):
    with running_simulator(TINY) as running:
        with store.write() as connection:
            connection.execute(
                leases.insert().values(
                    school_id="sch-1",
                    stream="marks",
                    holder="other-host:4242:abcd",
                    run_id=77,
                    expires_at=datetime.now(UTC) + timedelta(minutes=5),
                )
            )
        async with client_for(running) as client:
            summary = await SyncEngine(store, client).run(
                SyncOptions(school_ids=("sch-1",), streams=("marks",))
            )
        [result] = summary.streams
        assert result.mode == "refused"
        assert "run 77" in (result.error or "") and "other-host:4242" in (result.error or "")
        # An expired lease is taken over.
        with store.write() as connection:
            connection.execute(
                update(leases).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        summary = await sync(store, running, streams=("marks",))
    assert summary.streams[0].error is None
    with store.read() as connection:
        statuses = connection.execute(select(sync_runs.c.status)).scalars().all()
    assert "succeeded" in statuses


async def test_replay_rebuilds_from_the_archive_without_kros(store):
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        await sync(store, running, archive_days=7.0)
        dump = running.simulator.dump("sch-1")
    # KROS is gone now. A mapping change is simulated by damaging stored values.
    with store.write() as connection:
        connection.execute(update(marks).values(comment="испорчено", work_kind="other"))
    from sync.archive import replay

    counts = replay(
        store,
        ["sch-1"],
        [],
        holder="test",
        now=datetime.now(UTC),
        lease_ttl=timedelta(seconds=60),
    )
    assert counts.payloads > 0 and counts.written >= len(dump["marks"]) - 20
    assert_store_equals(store.engine, dump, "sch-1")


async def test_the_archive_is_off_by_default_and_expires(store):
    from schemas.tables import raw_payloads
    from sync.archive import purge

    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        await sync(store, running)
        with store.read() as connection:
            assert connection.execute(select(raw_payloads.c.id)).first() is None
        await sync(store, running, streams=("subjects",), full=True, archive_days=1.0)
    with store.write() as connection:
        assert purge(connection, datetime.now(UTC)) == 0
        assert purge(connection, datetime.now(UTC) + timedelta(days=2)) == 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Vedomost xmlns="urn:kros:ej:1" schoolId="sch-1"><Class id="c" name="&lol3;"/></Vedomost>"""


class HostileDocuments(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, except final-grades.xml, which is a billion laughs."""

    def __init__(self) -> None:
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/final-grades.xml"):
            return httpx.Response(
                200, content=BILLION_LAUGHS, headers={"Content-Type": "application/xml"}
            )
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_a_hostile_document_is_refused_and_nothing_else_stops(store):
    with running_simulator(TINY) as running:
        running.simulator.pause_mutations(True)
        settings = ClientSettings(
            base_url=running.base_url,
            client_id="school-1",
            client_secret="demo-secret",
            max_requests_per_second=1e6,
        )
        async with KrosClient(settings, transport=HostileDocuments()) as client:
            summary = await SyncEngine(store, client).run(SyncOptions(school_ids=("sch-1",)))
        dump = running.simulator.dump("sch-1")
    [failed] = summary.failed
    assert failed.stream == "final-grades" and "refused" in (failed.error or "")
    assert all(r.error is None for r in summary.streams if r.stream != "final-grades")
    with store.read() as connection:
        assert connection.execute(select(final_grades.c.id)).first() is None  # nothing applied
    dump["final-grades"] = []  # everything else is exactly the ground truth
    assert_store_equals(store.engine, dump, "sch-1")
