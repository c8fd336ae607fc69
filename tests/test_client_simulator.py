"""The KROS client against the real simulator over real HTTP on loopback.

A full read and incremental reads, with and without the ``flaky`` fault profile, must
read exactly the simulator's ground truth (its canonical dump).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from kros_adapter.client import KrosClient
from kros_adapter.errors import KrosChangesExpiredError, KrosConflictError, KrosForbiddenError
from kros_adapter.incremental import updated_since
from kros_adapter.settings import ClientSettings
from kros_adapter.simulator.model import SimulatorOptions
from kros_adapter.simulator.server import RunningSimulator, running_simulator
from kros_adapter.snapshot import SchoolSnapshot, read_school

TINY = SimulatorOptions(scale=0.05, seed=7, frozen_clock=True, rate_limit=False)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    with running_simulator(TINY) as running:
        yield running


@pytest.fixture
def flaky_simulator() -> Iterator[RunningSimulator]:
    with running_simulator(dataclasses.replace(TINY, faults="flaky")) as running:
        yield running


def client_for(running: RunningSimulator, **overrides: Any) -> KrosClient:
    values: dict[str, Any] = {
        "base_url": running.base_url,
        "client_id": "school-1",
        "client_secret": "demo-secret",
        "max_requests_per_second": 1000.0,
    }
    values.update(overrides)
    return KrosClient(ClientSettings(**values))


def as_truth(snapshot: SchoolSnapshot) -> dict[str, Any]:
    """The snapshot in the simulator's canonical dump form: records sorted by id."""
    truth: dict[str, Any] = {"school": snapshot.school}
    for name, listing in snapshot.collections.items():
        truth[name] = sorted(listing.records.values(), key=lambda record: record["id"])
    for name, document in snapshot.documents.items():
        truth[name] = sorted(document.records.values(), key=lambda record: record["id"])
    return truth


def assert_equal_truth(read: dict[str, Any], truth: dict[str, Any]) -> None:
    assert read.keys() == truth.keys()
    for name in truth:
        assert len(read[name]) == len(truth[name]) if isinstance(truth[name], list) else True, name
        assert read[name] == truth[name], f"{name} differs from the ground truth"


async def test_a_full_read_is_exactly_the_ground_truth(simulator):
    async with client_for(simulator) as client:
        snapshot = await read_school(client, "sch-1")
    truth = simulator.simulator.dump("sch-1")
    assert_equal_truth(as_truth(snapshot), truth)
    assert snapshot.record_count > 1000
    # one request per page of 1000 and per document, one for the school, one token
    stats = client.stats
    assert stats.by_status == {200: stats.requests}


async def test_a_full_read_under_the_flaky_profile_is_still_exactly_the_ground_truth(
    flaky_simulator,
):
    async with client_for(flaky_simulator, page_limit=200, max_attempts=8) as client:
        snapshot = await read_school(client, "sch-1")
    assert_equal_truth(as_truth(snapshot), flaky_simulator.simulator.dump("sch-1"))
    faults = {status for status in client.stats.by_status if status != 200}
    assert client.stats.retries > 0 and faults, "the flaky profile injected nothing"


@pytest.mark.parametrize("faults", ["none", "flaky"])
async def test_incremental_reads_converge_after_inserts_edits_deletions_and_late_commits(faults):
    options = dataclasses.replace(TINY, faults=faults, mutations_per_minute=30.0)
    with running_simulator(options) as running:
        sim = running.simulator
        async with client_for(running, page_limit=200, max_attempts=8) as client:
            snapshot = await read_school(client, "sch-1")
            before = sim.dump("sch-1")
            for _round in range(3):
                sim.advance(5 * 60)  # KROS changes data for five minutes
                since = {
                    name: updated_since(watermark, client.settings.overlap_seconds)
                    for name, watermark in snapshot.watermarks().items()
                }
                snapshot = await read_school(client, "sch-1", since=since, base=snapshot)
            # Let every late commit land, then read once more.
            sim.pause_mutations(True)
            sim.advance(90)
            since = {
                name: updated_since(watermark, client.settings.overlap_seconds)
                for name, watermark in snapshot.watermarks().items()
            }
            snapshot = await read_school(client, "sch-1", since=since, base=snapshot)
        after = sim.dump("sch-1")
    assert after != before, "the simulator changed nothing"
    assert_equal_truth(as_truth(snapshot), after)


async def test_an_old_watermark_answers_changes_expired(simulator):
    simulator.simulator.pause_mutations(True)
    async with client_for(simulator) as client:
        first = await client.read_listing("sch-1", "marks")
        simulator.simulator.advance(31 * 24 * 3600)
        with pytest.raises(KrosChangesExpiredError):
            await client.read_listing("sch-1", "marks", updated_since=first.listing_server_time)


async def test_incremental_read_when_nothing_changed_costs_one_request(simulator):
    simulator.simulator.pause_mutations(True)
    async with client_for(simulator) as client:
        first = await client.read_listing("sch-1", "marks")
        simulator.simulator.advance(5 * 60)
        before = client.stats.requests
        again = await client.read_listing(
            "sch-1", "marks", updated_since=updated_since(first.listing_server_time, 120)
        )
        assert client.stats.requests - before == 1
        # Only the overlap window is read again, and it holds nothing new.
        assert again.records.items() <= first.records.items()
        assert not again.deleted


async def test_reference_listings_answer_304_when_unchanged(simulator):
    async with client_for(simulator) as client:
        first = [page async for page in client.iter_pages("sch-1", "subjects")]
        again = [page async for page in client.iter_pages("sch-1", "subjects", etag=first[0].etag)]
    assert first[0].etag and first[0].items
    assert again[0].not_modified and again[0].items == []


async def test_consents_are_written_back_idempotently(simulator):
    truth = simulator.simulator.dump("sch-1")
    guardian = truth["guardians"][0]
    consent = {
        "guardianId": guardian["id"],
        "studentId": guardian["studentIds"][0],
        "decision": "given",
        "channels": ["cabinet", "email"],
        "decidedAt": "2026-12-04T10:15:00+03:00",
        "basis": {
            "kind": "paper",
            "documentNo": "123/2026",
            "documentDate": "2026-12-04",
            "registeredBy": "Секретарь Иванова Н. П.",
        },
    }
    async with client_for(simulator) as client:
        created = await client.post_consent("sch-1", consent, idempotency_key="k-1")
        replayed = await client.post_consent("sch-1", consent, idempotency_key="k-1")
        with pytest.raises(KrosConflictError):
            await client.post_consent(
                "sch-1", {**consent, "decision": "revoked"}, idempotency_key="k-1"
            )
        listed = await client.read_listing("sch-1", "consents")
    assert created.created and not replayed.created
    assert created.record == replayed.record
    assert listed.records[created.record["id"]] == created.record


async def test_homework_attachments_download_through_the_bearer_token(simulator):
    truth = simulator.simulator.dump("sch-1")
    attachment = next(a for hw in truth["homework"] for a in hw["attachments"])
    async with client_for(simulator) as client:
        downloaded = await client.download_attachment(attachment["url"])
    assert downloaded.content and downloaded.content_type


async def test_a_school_outside_the_accounts_rights_is_forbidden():
    with running_simulator(dataclasses.replace(TINY, schools=2)) as running:
        client = client_for(running, client_id="school-limited", client_secret="limited-secret")
        async with client:
            await client.read_listing("sch-1", "subjects")
            with pytest.raises(KrosForbiddenError):
                await client.read_listing("sch-2", "subjects")


async def test_the_client_keeps_to_the_rate_limit_without_meeting_a_429():
    """The client paces itself under KROS's 10/s and 4 in flight (the simulator enforces it)."""
    with running_simulator(dataclasses.replace(TINY, rate_limit=True)) as running:
        async with client_for(running, max_requests_per_second=10.0, page_limit=500) as client:
            await read_school(client, "sch-1")
        served = running.simulator.stats()
    assert client.stats.requests > 20, "too few requests to test the pace"
    assert set(client.stats.by_status) == {200}
    assert "429" not in served["by_status"]
