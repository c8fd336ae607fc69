"""The cabinet's defences: CSRF, login throttling, sessions, cookies, proxy headers,
redirects, security headers and error pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from publish.web import ThrottlePolicy
from schemas.tables import login_attempts
from sync.store import Store
from tests.test_web_access_matrix import endpoints
from tests.test_web_support import World, app_for, client_for, csrf_of, log_in, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield make_world(tmp_path_factory.mktemp("security"))


@pytest.fixture(autouse=True)
def _fresh_attempts(world: World) -> Iterator[None]:
    """Each test starts with no failed logins on record (they throttle across tests)."""
    store = Store(world.url)
    with store.write() as connection:
        connection.execute(login_attempts.delete())
    store.dispose()
    yield


def _attempt_addresses(world: World) -> list[str]:
    store = Store(world.url)
    try:
        with store.read() as connection:
            query = select(login_attempts.c.address).order_by(login_attempts.c.id)
            return [row[0] for row in connection.execute(query)]
    finally:
        store.dispose()


async def _login_post(
    client: httpx.AsyncClient, login: str, password: str, **extra: str
) -> httpx.Response:
    token = csrf_of((await client.get("/login")).text)
    return await client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token, **extra}
    )


# --------------------------------------------------------------------------- CSRF


async def test_every_form_refuses_a_post_without_the_right_csrf_token(world: World) -> None:
    app = app_for(world)
    admin = world.logins["admin"]
    posts = [e for e in endpoints(app.routes) if e.method == "POST"]
    assert {e.template for e in posts} >= {"/login", "/logout", "/admin/resync", "/invite"}
    async with client_for(app) as client:
        good = await log_in(client, admin.login, admin.password)
        for endpoint in posts:
            for token in (None, "forged", good[:-2] + "xx"):
                data = {} if token is None else {"csrf_token": token}
                response = await client.post(endpoint.template, data=data)
                assert response.status_code == 403, (endpoint.template, token)
                assert "Форма устарела" in response.text
        assert world.resyncs == []  # nothing happened behind the refusals
        # …and the same forms work with the session's token.
        response = await client.post("/admin/resync", data={"csrf_token": good})
        assert response.status_code == 303
    assert world.resyncs == [None]
    world.resyncs.clear()


async def test_the_login_form_needs_its_own_cookie_and_token_pair(world: World) -> None:
    app = app_for(world)
    guardian = world.logins["guardian"]
    async with client_for(app) as attacker, client_for(app) as victim:
        attackers_token = csrf_of((await attacker.get("/login")).text)
        await victim.get("/login")  # the victim has a cookie of their own
        response = await victim.post(
            "/login",
            data={
                "login": guardian.login,
                "password": guardian.password,
                "csrf_token": attackers_token,
            },
        )
    assert response.status_code == 403


# --------------------------------------------------------------------------- throttling


async def test_failed_logins_are_throttled_per_login_until_the_window_passes(
    world: World,
) -> None:
    app = app_for(world, login_throttle=ThrottlePolicy(max_failures_per_login=3))
    guardian = world.logins["guardian"]
    async with client_for(app) as client:
        for _ in range(3):
            response = await _login_post(client, guardian.login, "wrong password")
            assert response.status_code == 400
            assert "Неверный логин или пароль" in response.text
        # Even the right password is refused now, and says for how long.
        response = await _login_post(client, guardian.login, guardian.password)
        assert response.status_code == 429
        assert "Попробуйте через 15 минут" in response.text
        world.clock.advance(minutes=15, seconds=1)
        response = await _login_post(client, guardian.login, guardian.password)
        assert response.status_code == 303


async def test_a_success_resets_the_count_of_the_login(world: World) -> None:
    app = app_for(world, login_throttle=ThrottlePolicy(max_failures_per_login=3))
    student = world.logins["student"]
    async with client_for(app) as client:
        for _ in range(2):
            await _login_post(client, student.login, "wrong password")
        assert (await _login_post(client, student.login, student.password)).status_code == 303
    async with client_for(app) as client:
        for _ in range(2):
            await _login_post(client, student.login, "wrong password")
        assert (await _login_post(client, student.login, student.password)).status_code == 303


async def test_failed_logins_are_throttled_per_address_across_logins(world: World) -> None:
    app = app_for(
        world,
        login_throttle=ThrottlePolicy(max_failures_per_login=100, max_failures_per_address=4),
    )
    admin = world.logins["admin"]
    async with client_for(app, address="198.51.100.7") as client:
        for n in range(4):
            assert (await _login_post(client, f"guess{n}", "password1")).status_code == 400
        assert (await _login_post(client, admin.login, admin.password)).status_code == 429
    async with client_for(app, address="198.51.100.8") as elsewhere:
        assert (await _login_post(elsewhere, admin.login, admin.password)).status_code == 303


async def test_wrong_invitation_codes_are_throttled_per_address(world: World) -> None:
    app = app_for(world, login_throttle=ThrottlePolicy(max_failures_per_address=3))
    async with client_for(app) as client:
        for _ in range(4):
            token = csrf_of((await client.get("/invite")).text)
            response = await client.post(
                "/invite",
                data={
                    "code": "AAAA-BBBB-CCCC",
                    "password": "long password",
                    "password_again": "long password",
                    "csrf_token": token,
                },
            )
        assert response.status_code == 429
        assert "Слишком много неверных кодов" in response.text


# --------------------------------------------------------------------------- sessions


async def test_a_session_expires_after_its_lifetime(world: World) -> None:
    app = app_for(world, session_max_age_seconds=3600)
    guardian = world.logins["guardian"]
    async with client_for(app) as client:
        await log_in(client, guardian.login, guardian.password)
        assert (await client.get("/children")).status_code == 200
        world.clock.advance(minutes=59)
        assert (await client.get("/children")).status_code == 200
        world.clock.advance(minutes=2)
        response = await client.get("/children")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/children"


async def test_logging_out_ends_the_session_on_the_server(world: World) -> None:
    app = app_for(world)
    guardian = world.logins["guardian"]
    async with client_for(app) as client:
        token = await log_in(client, guardian.login, guardian.password)
        stolen = client.cookies.get("kros_session")
        assert stolen
        response = await client.post("/logout", data={"csrf_token": token})
        assert response.status_code == 303
    async with client_for(app) as replay:
        replay.cookies.set("kros_session", stolen)
        assert (await replay.get("/children")).status_code == 303


@pytest.mark.parametrize("secure", [False, True])
async def test_cookies_are_http_only_same_site_and_secure_when_asked(
    world: World, secure: bool
) -> None:
    app = app_for(world, secure_cookies=secure, base_path="/dnevnik/")
    guardian = world.logins["guardian"]
    base = "https://cabinet.test" if secure else "http://cabinet.test"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        page = await client.get("/dnevnik/login")
        response = await client.post(
            "/dnevnik/login",
            data={
                "login": guardian.login,
                "password": guardian.password,
                "csrf_token": csrf_of(page.text),
            },
        )
    assert response.status_code == 303
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("kros_session=")
    )
    attributes = session_cookie.lower()
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert "path=/dnevnik" in attributes
    assert ("secure" in attributes.split("; ")) is secure
    assert "max-age=28800" in attributes
    assert ("strict-transport-security" in response.headers) is secure


# --------------------------------------------------------------------------- proxies


async def test_forwarded_addresses_are_believed_only_from_trusted_proxies(world: World) -> None:
    app = app_for(world, trusted_proxies=("10.0.0.0/8",))
    headers = {"X-Forwarded-For": "203.0.113.9, 10.1.2.3", "X-Forwarded-Proto": "https"}
    async with client_for(app, address="10.0.0.2") as via_proxy:
        via_proxy.headers.update(headers)
        await _login_post(via_proxy, "nobody", "password1")
    async with client_for(app, address="192.0.2.44") as direct:
        direct.headers.update(headers)
        await _login_post(direct, "nobody", "password1")
    # The proxy's client is the right-most untrusted address; a direct client's header
    # is ignored, so it cannot pose as someone else to dodge the throttle.
    assert _attempt_addresses(world) == ["203.0.113.9", "192.0.2.44"]


async def test_forwarded_proto_from_a_trusted_proxy_makes_links_https(world: World) -> None:
    app = app_for(world, trusted_proxies=("10.0.0.2",))
    admin = world.logins["admin"]
    async with client_for(app, address="10.0.0.2") as client:
        client.headers["X-Forwarded-Proto"] = "https"
        token = await log_in(client, admin.login, admin.password)
        response = await client.post(
            "/admin/invitations",
            data={"role": "secretary", "display_name": "Секретарь", "csrf_token": token},
        )
    assert response.status_code == 200
    assert "https://cabinet.test/invite" in response.text


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("next_value", "target"),
    [
        ("/children", "/children"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
async def test_login_returns_only_to_a_page_of_the_cabinet(
    world: World, next_value: str, target: str
) -> None:
    app = app_for(world)
    guardian = world.logins["guardian"]
    async with client_for(app) as client:
        response = await _login_post(client, guardian.login, guardian.password, next=next_value)
    assert response.status_code == 303
    assert response.headers["location"] == target


# --------------------------------------------------------------------------- headers, errors


async def test_pages_carry_security_headers_and_are_not_cached(world: World) -> None:
    app = app_for(world)
    async with client_for(app) as client:
        page = await client.get("/login")
        css = await client.get("/static/cabinet.css")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert css.status_code == 200 and "public" in css.headers["cache-control"]


async def test_an_unknown_page_is_a_russian_404(world: World) -> None:
    async with client_for(app_for(world)) as client:
        response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert '<html lang="ru">' in response.text
    assert "Страница не найдена" in response.text


async def test_a_crash_is_a_russian_500_without_a_traceback(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publish.web.pages import family

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("секретная подробность из базы")

    monkeypatch.setattr(family, "guardian_children", broken)
    app = app_for(world)
    guardian = world.logins["guardian"]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://cabinet.test") as client:
        page = await client.get("/login")
        await client.post(
            "/login",
            data={
                "login": guardian.login,
                "password": guardian.password,
                "csrf_token": csrf_of(page.text),
            },
        )
        response = await client.get("/children")
    assert response.status_code == 500
    assert "Что-то пошло не так" in response.text
    assert "секретная" not in response.text and "Traceback" not in response.text
