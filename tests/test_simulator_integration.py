"""The simulator as a whole: over real loopback HTTP, and with the real generated school."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from lxml import etree

from kros_adapter.simulator import dataset
from kros_adapter.simulator.model import (
    COLLECTIONS,
    JOURNAL_COLLECTIONS,
    REFERENCE_COLLECTIONS,
    SimulatorOptions,
)
from kros_adapter.simulator.server import Simulator, running_simulator
from kros_adapter.timestamps import format_timestamp, parse_timestamp
from tests.test_simulator_fixture import TODAY, ScriptedPlanner, tiny_school, update
from tests.test_simulator_server import XSD, connect, login, order_key, read_listing

TINY = SimulatorOptions(scale=0.05, frozen_clock=True, rate_limit=False)


def test_running_simulator_serves_the_contract_over_loopback() -> None:
    planner = ScriptedPlanner()
    with running_simulator(TINY, generate=tiny_school, plan_minute=planner) as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        assert running.simulator.base_url == running.base_url
        with httpx.Client(base_url=running.base_url) as client:
            token = client.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "school-1",
                    "client_secret": "demo-secret",
                },
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            api = "/ej/v1/schools/sch-1"
            marks, cursor = [], None
            while True:
                params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = client.get(f"{api}/marks", params=params, headers=headers).json()
                marks += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            homework = client.get(f"{api}/homework", headers=headers).json()["items"]
            url = homework[0]["attachments"][0]["url"]
            attachment = client.get(url, headers=headers)
            with client.stream("GET", f"{api}/final-grades.xml", headers=headers) as stream:
                xml = b"".join(stream.iter_bytes())
                xml_type = stream.headers["content-type"]
            stats = client.get("/_sim/stats").json()
        assert len(marks) == 250 and marks == sorted(marks, key=order_key)
        assert url.startswith(running.base_url) and attachment.status_code == 200
        assert xml_type == "application/xml; charset=utf-8"
        assert len(etree.fromstring(xml).findall(".//{urn:kros:ej:1}Grade")) == 6
        assert stats["routes"]["GET /ej/v1/schools/{school_id}/marks"] == {"200": 3}
    with pytest.raises(httpx.ConnectError), httpx.Client(base_url=running.base_url) as client:
        client.get("/_sim/truth")


async def test_the_real_generated_school_reads_back_as_its_ground_truth() -> None:
    sim = Simulator(TINY, base_url="http://127.0.0.1:8081", plan_minute=ScriptedPlanner())
    truth = sim.dump("sch-1")
    counts = sim.counts()["schools"]["sch-1"]
    async with connect(sim) as client:
        headers = await login(client)
        for name in COLLECTIONS:
            items, _ = await read_listing(client, headers, f"/{name}", limit=1000)
            assert sorted(items, key=lambda r: r["id"]) == truth[name], name
            assert items == sorted(items, key=order_key), name
        api = "http://127.0.0.1:8081/ej/v1/schools/sch-1"
        grades = await client.get(f"{api}/final-grades.xml", headers=headers)
        exams = await client.get(f"{api}/exam-results.xml", headers=headers)
    grades_doc, exams_doc = etree.fromstring(grades.content), etree.fromstring(exams.content)
    assert etree.XMLSchema(etree.parse(str(XSD / "final-grades.xsd"))).validate(grades_doc)
    assert etree.XMLSchema(etree.parse(str(XSD / "exam-results.xsd"))).validate(exams_doc)
    assert len(grades_doc.findall(".//{urn:kros:ej:1}Grade")) == counts["final-grades"]
    assert len(exams_doc.findall("{urn:kros:ej:1}Result")) == counts["exam-results"]
    assert counts["marks"] == len(truth["marks"]) > 1000
    homework = next(h for h in truth["homework"] if h["attachments"])
    attachment = homework["attachments"][0]
    assert attachment["url"].startswith("http://127.0.0.1:8081/ej/v1/schools/sch-1/attachments/")
    assert attachment["name"].rsplit(".", 1)[-1] in {"pdf", "png"}
    async with connect(sim) as client:
        served = await client.get(attachment["url"], headers=await login(client))
    attachment_id = attachment["url"].split("/")[-2]
    assert served.content == dataset.attachment_bytes(attachment_id, attachment["name"])


async def test_with_the_real_planner_incremental_reads_catch_up_with_the_truth() -> None:
    mutations = pytest.importorskip("kros_adapter.simulator.mutations")
    options = SimulatorOptions(
        scale=0.05, frozen_clock=True, rate_limit=False, mutations_per_minute=30.0
    )
    sim = Simulator(options, base_url="http://127.0.0.1:8081", plan_minute=mutations.plan_minute)
    async with connect(sim) as client:
        headers = await login(client)
        local: dict[str, dict[str, dict[str, Any]]] = {}
        for name in COLLECTIONS:
            items, pages = await read_listing(client, headers, f"/{name}", limit=1000)
            local[name] = {r["id"]: r for r in items}
        watermark = parse_timestamp(pages[0]["server_time"])
        sim.advance(20 * 60)
        sim.pause_mutations(True)
        sim.advance(120)  # every planned change has committed by now
        since = format_timestamp(watermark - timedelta(minutes=2))
        headers = await login(client)
        changed = 0
        for name in REFERENCE_COLLECTIONS:  # no updated_since: they are read whole
            items, _ = await read_listing(client, headers, f"/{name}", limit=1000)
            local[name] = {r["id"]: r for r in items}
        for name in JOURNAL_COLLECTIONS:
            items, _ = await read_listing(
                client, headers, f"/{name}", limit=1000, updated_since=since
            )
            for item in items:
                changed += 1
                if item.get("deleted") is True:
                    local[name].pop(item["id"], None)
                else:
                    local[name][item["id"]] = item
    truth = sim.dump("sch-1")
    assert changed > 0
    for name in COLLECTIONS:
        assert sorted(local[name].values(), key=lambda r: r["id"]) == truth[name], name


def test_the_fixture_planner_sees_planned_changes_before_they_commit() -> None:
    planner = ScriptedPlanner()
    sim = Simulator(TINY, generate=tiny_school, plan_minute=planner)
    planner.at(TODAY, update("marks", "mk-0001", {"value": "3"}, after=1, delay=50))
    sim.advance(10)
    store = sim.schools["sch-1"]
    assert (store.get("marks", "mk-0001") or {})["value"] == "3"  # planned
    assert sim.dump("sch-1")["marks"][0]["value"] != "3"  # not committed yet
    sim.advance(50)
    assert sim.dump("sch-1")["marks"][0]["value"] == "3"
