"""The KROS client against precise HTTP cases (respx): every status and retry rule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from kros_adapter.client import KrosClient
from kros_adapter.errors import (
    KrosAuthenticationError,
    KrosBadRequestError,
    KrosChangesExpiredError,
    KrosConflictError,
    KrosCursorExpiredError,
    KrosForbiddenError,
    KrosNotFoundError,
    KrosProtocolError,
    KrosRateLimitedError,
    KrosServerError,
    KrosTransportError,
)
from tests.kros_fakes import (
    API,
    BASE_URL,
    VirtualTime,
    error,
    html_error,
    mark,
    page,
    settings,
    token_response,
)


@pytest.fixture
def clock() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def kros() -> Any:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post("/oauth/token").mock(return_value=token_response())
        yield router


def make_client(clock: VirtualTime, **overrides: Any) -> KrosClient:
    return KrosClient(
        settings(**overrides), sleep=clock.sleep, monotonic=clock.monotonic, wall_clock=clock.wall
    )


async def read_all(client: KrosClient, collection: str = "marks", **kwargs: Any) -> list[Any]:
    return [page async for page in client.iter_pages("sch-1", collection, **kwargs)]


async def test_token_is_requested_with_client_credentials_and_sent_as_bearer(kros, clock):
    """The token endpoint gets the form of CONTRACT.md §1; requests carry the bearer."""
    listing = kros.get(f"{API}/marks").mock(return_value=page([]))
    async with make_client(clock) as client:
        await read_all(client)
    form = dict(httpx.QueryParams(kros.routes[0].calls[0].request.content.decode()))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "school-1",
        "client_secret": "s3cret-value",
        "scope": "ej.read ej.consents.write",
    }
    assert listing.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert listing.calls[0].request.url.params["limit"] == "1000"


async def test_a_token_url_on_another_host_is_used(clock):
    """``token_url`` may name a separate host (CONTRACT.md §7)."""
    with respx.mock(assert_all_called=True) as router:
        router.post("https://sso.kros.test/token").mock(return_value=token_response("tok-x"))
        listing = router.get(f"{API}/subjects").mock(return_value=page([]))
        async with make_client(clock, token_url="https://sso.kros.test/token") as client:
            await read_all(client, "subjects")
    assert listing.calls[0].request.headers["Authorization"] == "Bearer tok-x"


async def test_bad_credentials_are_a_configuration_error_without_retry(clock):
    with respx.mock(base_url=BASE_URL) as router:
        token = router.post("/oauth/token").mock(
            return_value=httpx.Response(400, json={"error": "invalid_client"})
        )
        async with make_client(clock) as client:
            with pytest.raises(KrosAuthenticationError, match="client_secret"):
                await read_all(client)
    assert token.call_count == 1


async def test_a_revoked_token_is_replaced_once_and_the_request_repeated(kros, clock):
    kros.routes[0].side_effect = [token_response("old"), token_response("new")]
    listing = kros.get(f"{API}/marks").mock(
        side_effect=[error(401, "invalid_token"), page([mark("mk-1", "2026-12-04T10:00:00+03:00")])]
    )
    async with make_client(clock) as client:
        pages = await read_all(client)
    assert [r["id"] for r in pages[0].items] == ["mk-1"]
    assert [c.request.headers["Authorization"] for c in listing.calls] == [
        "Bearer old",
        "Bearer new",
    ]


async def test_a_second_401_in_a_row_is_a_configuration_error(kros, clock):
    kros.get(f"{API}/marks").mock(return_value=error(401, "invalid_token"))
    async with make_client(clock) as client:
        with pytest.raises(KrosAuthenticationError, match="second 401"):
            await read_all(client)
    assert kros.routes[0].call_count == 2


async def test_concurrent_requests_share_one_token_refresh(kros, clock):
    """Four requests hit the same revoked token: one refresh, not four."""
    kros.routes[0].side_effect = [token_response("old")] + [token_response("new")] * 5

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer old":
            return error(401, "invalid_token")
        return page([])

    kros.get(url__startswith=f"{API}/").mock(side_effect=answer)
    async with make_client(clock) as client:
        await asyncio.gather(
            *(read_all(client, name) for name in ("marks", "homework", "attendance", "lessons"))
        )
    assert kros.routes[0].call_count == 2


async def test_429_waits_at_least_retry_after_seconds(kros, clock):
    kros.get(f"{API}/marks").mock(
        side_effect=[error(429, "rate_limited", headers={"Retry-After": "7"}), page([])]
    )
    async with make_client(clock) as client:
        await read_all(client)
    assert sum(clock.sleeps) >= 7


async def test_retry_after_as_an_http_date_is_honoured(kros, clock):
    """``Retry-After`` given as an HTTP date (CONTRACT.md §7): 90 s after the wall clock."""
    kros.get(f"{API}/marks").mock(
        side_effect=[
            error(503, "maintenance", headers={"Retry-After": "Fri, 04 Dec 2026 13:01:30 GMT"}),
            page([]),
        ]
    )
    async with make_client(clock) as client:
        await read_all(client)
    assert 89 <= sum(clock.sleeps) <= 91


async def test_retry_after_pauses_every_request_of_the_client(kros, clock):
    """A 429 on one listing holds back the others too (one limiter for the client)."""
    rate_limited = asyncio.Event()
    served: dict[str, float] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1]
        if name == "marks" and not rate_limited.is_set():
            rate_limited.set()
            served["429"] = clock.now
            return error(429, "rate_limited", headers={"Retry-After": "5"})
        served[name] = clock.now
        return page([])

    async def homework_after_the_429() -> None:
        await rate_limited.wait()
        await read_all(client, "homework")

    kros.get(url__startswith=f"{API}/").mock(side_effect=answer)
    async with make_client(clock) as client:
        await asyncio.gather(read_all(client, "marks"), homework_after_the_429())
    # homework never got a 429 itself: only the shared pause can have held it back.
    assert served["homework"] >= served["429"] + 5
    assert served["marks"] >= served["429"] + 5


@pytest.mark.parametrize("failure", [error(500, "internal"), html_error(502), html_error(504)])
async def test_transient_failures_are_retried_with_growing_jittered_backoff(kros, clock, failure):
    kros.get(f"{API}/marks").mock(side_effect=[failure, failure, failure, page([])])
    async with make_client(clock) as client:
        await read_all(client)
    assert len(clock.sleeps) == 3
    for attempt, waited in enumerate(clock.sleeps, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= waited <= ceiling


async def test_retries_are_bounded_and_the_last_error_surfaces(kros, clock):
    kros.get(f"{API}/marks").mock(return_value=html_error(502))
    async with make_client(clock) as client:
        with pytest.raises(KrosServerError, match="502"):
            await read_all(client)
    assert kros.routes[1].call_count == 4


async def test_rate_limited_until_attempts_are_spent(kros, clock):
    kros.get(f"{API}/marks").mock(
        return_value=error(429, "rate_limited", headers={"Retry-After": "1"})
    )
    async with make_client(clock) as client:
        with pytest.raises(KrosRateLimitedError):
            await read_all(client)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "invalid_parameter", KrosBadRequestError),
        (403, "forbidden", KrosForbiddenError),
        (404, "not_found", KrosNotFoundError),
        (409, "idempotency_conflict", KrosConflictError),
        (410, "changes_expired", KrosChangesExpiredError),
    ],
)
async def test_statuses_that_must_not_be_retried(kros, clock, status, code, expected):
    route = kros.get(f"{API}/marks").mock(return_value=error(status, code))
    async with make_client(clock) as client:
        with pytest.raises(expected) as caught:
            await read_all(client)
    assert route.call_count == 1
    assert caught.value.request_id == f"req-{status}"
    assert f"req-{status}" in str(caught.value)


async def test_connection_failures_are_retried_then_surface_as_transport_errors(kros, clock):
    route = kros.get(f"{API}/marks").mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(clock) as client:
        with pytest.raises(KrosTransportError, match="cannot reach KROS"):
            await read_all(client)
    assert route.call_count == 4


async def test_paging_follows_cursors_until_the_last_page(kros, clock):
    route = kros.get(f"{API}/marks").mock(
        side_effect=[
            page(
                [mark("mk-1", "2026-12-01T10:00:00+03:00")],
                "c1",
                server_time="2026-12-04T10:00:00+03:00",
            ),
            page(
                [mark("mk-2", "2026-12-02T10:00:00+03:00")],
                "c2",
                server_time="2026-12-04T10:00:05+03:00",
            ),
            page(
                [mark("mk-3", "2026-12-03T10:00:00+03:00")],
                None,
                server_time="2026-12-04T10:00:09+03:00",
            ),
        ]
    )
    async with make_client(clock) as client:
        pages = await read_all(client, params={"periodId": "p-q2"})
    assert [p.items[0]["id"] for p in pages] == ["mk-1", "mk-2", "mk-3"]
    assert [p.is_last for p in pages] == [False, False, True]
    assert [c.request.url.params.get("cursor") for c in route.calls] == [None, "c1", "c2"]
    assert all(c.request.url.params["periodId"] == "p-q2" for c in route.calls)
    # The watermark is the first page's server_time, on every page of the listing.
    assert {p.listing_server_time for p in pages} == {datetime(2026, 12, 4, 7, 0, tzinfo=UTC)}


@pytest.mark.parametrize("last", ["", "omitted"])
async def test_an_empty_or_missing_next_cursor_ends_the_listing(kros, clock, last):
    final = page([], omit_cursor=True) if last == "omitted" else page([], "")
    route = kros.get(f"{API}/marks").mock(side_effect=[page([], "c1"), final])
    async with make_client(clock) as client:
        pages = await read_all(client)
    assert len(pages) == 2 and route.call_count == 2


async def test_a_repeated_cursor_is_an_error_not_a_loop(kros, clock):
    kros.get(f"{API}/marks").mock(side_effect=[page([], "c1"), page([], "c1"), page([], "c1")])
    async with make_client(clock) as client:
        with pytest.raises(KrosProtocolError, match="repeated a cursor"):
            await read_all(client)


async def test_duplicates_across_pages_keep_the_newest_updated_at(kros, clock):
    kros.get(f"{API}/marks").mock(
        side_effect=[
            page(
                [
                    mark("mk-1", "2026-12-01T10:00:00+03:00", "3"),
                    mark("mk-2", "2026-12-01T11:00:00+03:00"),
                ],
                "c1",
            ),
            # mk-1 again, older in another offset (dropped); mk-2 again, newer (kept).
            page(
                [
                    mark("mk-1", "2026-12-01T06:00:00Z", "2"),
                    mark("mk-2", "2026-12-02T08:00:00Z", "4"),
                ]
            ),
        ]
    )
    async with make_client(clock) as client:
        pages = await read_all(client)
    assert [r["id"] for r in pages[1].items] == ["mk-2"]
    assert pages[1].duplicates_dropped == 1
    assert pages[1].position == (datetime(2026, 12, 2, 8, 0, tzinfo=UTC), "mk-2")


async def test_an_expired_cursor_resumes_from_the_last_position_handed_out(kros, clock):
    route = kros.get(f"{API}/marks").mock(
        side_effect=[
            page(
                [
                    mark("mk-1", "2026-12-01T10:00:00+03:00"),
                    mark("mk-2", "2026-12-02T10:00:00+03:00"),
                ],
                "c1",
            ),
            error(410, "cursor_expired"),
            page(
                [
                    mark("mk-2", "2026-12-02T10:00:00+03:00"),
                    mark("mk-3", "2026-12-03T10:00:00+03:00"),
                ]
            ),
        ]
    )
    async with make_client(clock) as client:
        pages = await read_all(client)
    assert [r["id"] for p in pages for r in p.items] == ["mk-1", "mk-2", "mk-3"]
    resumed = route.calls[2].request.url.params
    assert "cursor" not in resumed
    assert resumed["updated_since"] == "2026-12-02T10:00:00+03:00"
    assert pages[-1].restarts == 1


async def test_an_expired_cursor_can_be_left_to_the_caller(kros, clock):
    kros.get(f"{API}/marks").mock(side_effect=[page([], "c1"), error(410, "cursor_expired")])
    async with make_client(clock) as client:
        with pytest.raises(KrosCursorExpiredError):
            await read_all(client, resume_expired_cursor=False)


async def test_changes_expired_surfaces_for_reconciliation(kros, clock):
    kros.get(f"{API}/marks").mock(return_value=error(410, "changes_expired"))
    async with make_client(clock) as client:
        with pytest.raises(KrosChangesExpiredError):
            await read_all(client, updated_since=datetime(2026, 10, 1, tzinfo=UTC))


async def test_updated_since_is_sent_in_the_regions_offset(kros, clock):
    route = kros.get(f"{API}/marks").mock(return_value=page([]))
    async with make_client(clock) as client:
        await read_all(client, updated_since=datetime(2026, 12, 4, 7, 21, 5, tzinfo=UTC))
    assert route.calls[0].request.url.params["updated_since"] == "2026-12-04T10:21:05+03:00"


async def test_if_none_match_and_304(kros, clock):
    route = kros.get(f"{API}/subjects").mock(
        return_value=httpx.Response(304, headers={"ETag": '"v7"', "X-Request-Id": "r304"})
    )
    async with make_client(clock) as client:
        pages = await read_all(client, "subjects", etag='"v7"')
    assert route.calls[0].request.headers["If-None-Match"] == '"v7"'
    assert len(pages) == 1 and pages[0].not_modified and pages[0].items == []
    assert pages[0].etag == '"v7"'


async def test_etag_of_a_changed_listing_is_returned(kros, clock):
    response = page([{"id": "sub-1", "name": "Алгебра", "updated_at": "2026-09-01T09:00:00+03:00"}])
    response.headers["ETag"] = '"v8"'
    kros.get(f"{API}/subjects").mock(return_value=response)
    async with make_client(clock) as client:
        pages = await read_all(client, "subjects", etag='"v7"')
    assert pages[0].etag == '"v8"' and not pages[0].not_modified


async def test_a_body_that_is_not_the_envelope_is_a_protocol_error(kros, clock):
    kros.get(f"{API}/marks").mock(return_value=httpx.Response(200, json={"data": []}))
    async with make_client(clock) as client:
        with pytest.raises(KrosProtocolError, match="items"):
            await read_all(client)


async def test_the_school_resource_and_its_etag(kros, clock):
    route = kros.get(API).mock(
        side_effect=[
            httpx.Response(200, json={"id": "sch-1", "name": "Школа"}, headers={"ETag": '"s1"'}),
            httpx.Response(304, headers={"ETag": '"s1"'}),
        ]
    )
    async with make_client(clock) as client:
        first = await client.get_school("sch-1")
        second = await client.get_school("sch-1", etag=first.etag)
    assert first.record == {"id": "sch-1", "name": "Школа"} and first.etag == '"s1"'
    assert second.not_modified
    assert route.calls[1].request.headers["If-None-Match"] == '"s1"'


async def test_consents_are_posted_with_an_idempotency_key(kros, clock):
    stored = {"id": "cn-1", "decision": "given", "updated_at": "2026-12-04T10:00:00+03:00"}
    route = kros.post(f"{API}/consents").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(201, json=stored),
            httpx.Response(200, json=stored),
        ]
    )
    body = {"guardianId": "g-1", "studentId": "st-1", "decision": "given"}
    async with make_client(clock) as client:
        first = await client.post_consent("sch-1", body, idempotency_key="key-1")
        again = await client.post_consent("sch-1", body, idempotency_key="key-1")
    assert first.created and not again.created and first.record == stored
    assert {c.request.headers["Idempotency-Key"] for c in route.calls} == {"key-1"}
    assert route.call_count == 3  # the 502 was retried with the same key


async def test_an_idempotency_conflict_is_reported_not_retried(kros, clock):
    route = kros.post(f"{API}/consents").mock(return_value=error(409, "idempotency_conflict"))
    async with make_client(clock) as client:
        with pytest.raises(KrosConflictError):
            await client.post_consent("sch-1", {}, idempotency_key="key-1")
    assert route.call_count == 1


async def test_attachments_are_downloaded_with_the_bearer_token(kros, clock):
    url = f"{API}/attachments/att-1/%D0%97%D0%B0%D0%B4%D0%B0%D0%BD%D0%B8%D0%B5.pdf"
    route = kros.get(url).mock(
        return_value=httpx.Response(
            200, content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}
        )
    )
    async with make_client(clock) as client:
        attachment = await client.download_attachment(url)
    assert attachment.content == b"%PDF-1.4" and attachment.content_type == "application/pdf"
    assert route.calls[0].request.headers["Authorization"] == "Bearer tok-1"


async def test_the_token_never_goes_to_another_host(kros, clock):
    async with make_client(clock) as client:
        with pytest.raises(KrosProtocolError, match="outside the KROS host"):
            await client.download_attachment("http://evil.test/steal")
    assert kros.routes[0].call_count == 0


async def test_an_oversized_attachment_is_refused(kros, clock):
    url = f"{API}/attachments/att-2/big.bin"
    kros.get(url).mock(return_value=httpx.Response(200, content=b"x" * 2048))
    async with make_client(clock, max_attachment_bytes=1024) as client:
        with pytest.raises(KrosProtocolError, match="over 1024 bytes"):
            await client.download_attachment(url)


async def test_the_secret_is_not_in_the_settings_repr():
    assert "s3cret-value" not in repr(settings())
