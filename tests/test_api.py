"""The read API (publish/api.py): bearer tokens, the change feed, entity reads, OpenAPI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from openapi_spec_validator import validate
from sqlalchemy import select, text, update

from publish.accounts import create_api_token, revoke_api_token
from publish.api import openapi_document
from publish.export import export_jsonl
from schemas.tables import api_tokens, marks
from sync.store import Store
from tests.test_web_support import World, app_for, client_for, log_in, make_world


@dataclass
class Api:
    world: World
    token: str

    def client(self) -> httpx.AsyncClient:
        client = client_for(app_for(self.world))
        client.headers["Authorization"] = f"Bearer {self.token}"
        return client


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    world = make_world(tmp_path_factory.mktemp("api"))
    store = Store(world.url)
    with store.write() as connection:
        token = create_api_token(connection, "reports", now=world.clock())
    store.dispose()
    yield Api(world, token)


def _export(world: World, since: int = 0) -> list[tuple[str, str, int]]:
    store = Store(world.url)
    out = io.BytesIO()
    try:
        with store.read() as connection:
            export_jsonl(connection, out, since_version=since)
    finally:
        store.dispose()
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    return [(x["table"], x["row"]["source_id"], x["row"]["change_version"]) for x in lines]


async def test_the_api_needs_a_live_bearer_token(api: Api) -> None:
    app = app_for(api.world)
    async with client_for(app) as anonymous:
        assert (await anonymous.get("/api/v1/version")).status_code == 401
        anonymous.headers["Authorization"] = "Bearer kra_not-a-token"
        response = await anonymous.get("/api/v1/version")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json() == {"error": "unknown or revoked token"}
    async with client_for(app) as person:
        admin = api.world.logins["admin"]
        await log_in(person, admin.login, admin.password)
        # A logged-in administrator is a person, not a tool: no session opens the API.
        assert (await person.get("/api/v1/version")).status_code == 401
    async with api.client() as tool:
        version = await tool.get("/api/v1/version")
    assert version.status_code == 200 and version.json()["current_version"] > 10_000


async def test_a_revoked_token_stops_working(api: Api) -> None:
    store = Store(api.world.url)
    with store.write() as connection:
        token = create_api_token(connection, "short-lived")
    async with client_for(app_for(api.world)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        assert (await client.get("/api/v1/tables")).status_code == 200
        with store.write() as connection:
            revoke_api_token(connection, "short-lived")
        assert (await client.get("/api/v1/tables")).status_code == 401
    with store.read() as connection:
        used = connection.execute(
            select(api_tokens.c.last_used_at).where(api_tokens.c.name == "short-lived")
        ).scalar()
    store.dispose()
    assert used == api.world.clock()


async def test_the_change_feed_pages_through_exactly_what_export_writes(api: Api) -> None:
    seen: list[tuple[str, str, int]] = []
    after = 0
    async with api.client() as client:
        while True:
            page = (await client.get(f"/api/v1/changes?after={after}&limit=997")).json()
            assert page["after"] == after
            seen.extend(
                (c["table"], c["row"]["source_id"], c["change_version"]) for c in page["changes"]
            )
            if not page["has_more"]:
                break
            assert len(page["changes"]) == 997
            after = page["next_after"]
        done = (await client.get(f"/api/v1/changes?after={page['next_after']}")).json()
    assert seen == _export(api.world)
    versions = [version for _, _, version in seen]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert done["changes"] == [] and done["has_more"] is False
    assert done["next_after"] == page["next_after"] == done["current_version"]


async def test_the_change_feed_brings_changes_and_deletions_after_n(api: Api) -> None:
    async with api.client() as client:
        before = (await client.get("/api/v1/version")).json()["current_version"]
    store = Store(api.world.url)
    with store.write() as connection:
        # What a sync does when KROS deletes a mark: a tombstone with a new version.
        connection.execute(
            update(marks)
            .where(marks.c.source_id == "mk-000001")
            .values(deleted_at=api.world.clock(), change_version=before + 1)
        )
        connection.execute(
            text("UPDATE change_counter SET last_version = :v"),
            {"v": before + 1},
        )
    store.dispose()
    async with api.client() as client:
        page = (await client.get(f"/api/v1/changes?after={before}")).json()
    assert [(c["table"], c["row"]["source_id"]) for c in page["changes"]] == [
        ("marks", "mk-000001")
    ]
    assert page["changes"][0]["row"]["deleted_at"].startswith("2026-12-04T07:05:00")
    assert page["next_after"] == before + 1


async def test_entity_reads_come_with_their_links(api: Api) -> None:
    async with api.client() as client:
        guardian = await client.get("/api/v1/tables/guardians/sch-1/g-0002")
        missing = await client.get("/api/v1/tables/guardians/sch-1/g-9999")
        no_table = await client.get("/api/v1/tables/passwords/sch-1/g-0002")
        tables = (await client.get("/api/v1/tables")).json()["tables"]
        one_school = (await client.get("/api/v1/changes?school_id=sch-2")).json()
        bad = await client.get("/api/v1/changes?after=-1")
    body = guardian.json()
    assert body["table"] == "guardians" and body["row"]["source_id"] == "g-0002"
    assert {link["student_source_id"] for link in body["links"]["guardian_students"]}
    assert missing.status_code == 404 and no_table.status_code == 404
    assert [t["name"] for t in tables][:3] == ["schools", "academic_years", "periods"]
    assert one_school["changes"] == []
    assert bad.status_code == 400 and "after" in bad.json()["error"]


async def test_the_openapi_document_is_public_and_valid_openapi_3(api: Api) -> None:
    async with client_for(app_for(api.world, base_path="/dnevnik")) as client:
        response = await client.get("/dnevnik/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document == orjson.loads(orjson.dumps(openapi_document("/dnevnik")))
    assert document["servers"] == [{"url": "/dnevnik/api/v1"}]
    validate(document)
