"""The read API against its own OpenAPI document, by property: schemathesis generates
requests from /api/v1/openapi.json — valid ones and broken ones — and checks that no
answer is a server error, that every status, content type and body is the documented
one, that invalid input is refused, and that the token is not ignored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from publish.accounts import create_api_token
from sync.store import Store
from tests.test_web_support import app_for, make_world

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, schemathesis.BaseSchema]]:
    world = make_world(tmp_path_factory.mktemp("api-properties"))
    store = Store(world.url)
    with store.write() as connection:
        token = create_api_token(connection, "schemathesis", now=world.clock())
    store.dispose()
    yield token, schemathesis.openapi.from_asgi("/api/v1/openapi.json", app_for(world))


def test_the_document_covers_every_data_route(api: tuple[str, schemathesis.BaseSchema]) -> None:
    _, schema = api
    paths = {result.ok().path for result in schema.get_all_operations()}
    assert paths >= {"/changes", "/version", "/tables", "/tables/{table}/{school_id}/{source_id}"}


# (Schemathesis' own pytest integration does not run under pytest 9 yet: the same
# strategies are driven here with Hypothesis directly, one operation after another.)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_openapi_promises(
    api: tuple[str, schemathesis.BaseSchema], mode: GenerationMode
) -> None:
    token, schema = api
    extra = [] if mode is GenerationMode.POSITIVE else [checks.negative_data_rejection]
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[*CHECKS, *extra]
            )

        check()
