"""The access matrix: every route of the app × every role × someone else's child.

The routes are read from the application's own route table, so a route added tomorrow is
covered without touching this file (and a new path parameter fails here until it gets a
target). For each role the test proves that

- no response names a student the role may not see (any route, any method);
- every route about a student or a class answers 404/403 for someone else's;
- the read API opens for no session cookie, only for a bearer token;

and anonymously, that exactly the listed routes answer without a login.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, Route

from publish.accounts import PersonRef, Role, create_account
from publish.consent import consent_states
from publish.queries.people import class_students, student_card
from publish.web.context import PageSpec
from schemas.tables import (
    account_people,
    accounts,
    guardian_students,
    homework,
    homework_attachments,
    students,
)
from sync.store import Store
from tests.test_web_support import (
    SCHOOL,
    World,
    app_for,
    client_for,
    csrf_of,
    log_in,
    make_world,
)

# What may answer without a login (SPEC.md: the login page, invitation redemption,
# static assets; /healthz and /readyz belong to the service). The OpenAPI document
# describes the API and holds no data.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/invite"),
    ("POST", "/invite"),
    ("GET", "/static/{path}"),
    ("GET", "/api/v1/openapi.json"),
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    spec: PageSpec | None

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)(?::\w+)?}", self.template)

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")


def endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        if isinstance(route, Mount):
            if route.routes:
                yield from endpoints(list(route.routes), prefix + route.path)
            else:  # an app mounted whole (static files): any path below it
                yield Endpoint("GET", prefix + route.path + "/{path}", None)
        elif isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield Endpoint(method, prefix + route.path, getattr(route, "page_spec", None))
        else:
            pytest.fail(f"the access matrix does not know this kind of route: {route!r}")


@dataclass
class Matrix:
    world: World
    app: Any
    foreign: str  # a student no role of the demo may see
    targets: dict[str, str]
    names: dict[str, str]  # student id -> "Фамилия Имя" as the pages write it
    visible: dict[str, set[str]]  # actor -> ids of the students it may see
    no_consent_child: str
    logins: dict[str, tuple[str, str]]


def _pick(world: World) -> Matrix:
    store = Store(world.url)
    try:
        with store.write() as connection:
            demo = {
                row.login: row.id
                for row in connection.execute(select(accounts.c.login, accounts.c.id))
            }
            people: dict[str, list[str]] = {}
            for role, login in world.logins.items():
                bound = connection.execute(
                    select(account_people.c.source_id).where(
                        account_people.c.account_id == demo[login.login]
                    )
                )
                people[role] = [row.source_id for row in bound]
            names = {
                row.source_id: f"{row.last_name} {row.first_name}"
                for row in connection.execute(select(students))
            }
            guardian_id = people["guardian"][0]
            children = [
                row.student_source_id
                for row in connection.execute(
                    select(guardian_students).where(
                        guardian_students.c.guardian_source_id == guardian_id
                    )
                )
            ]
            student_id = people["student"][0]
            own = student_card(connection, SCHOOL, student_id)
            assert own is not None
            classmates = class_students(connection, SCHOOL, own.class_source_id)
            teacher_class = {s.source_id for s in classmates}
            seen_by_someone = set(children) | {student_id} | teacher_class
            # The foreign student: in a class nobody of the demo has to do with, with a
            # name no visible student shares, and with homework carrying a file.
            with_files = {
                row.class_source_id
                for row in connection.execute(
                    select(homework.c.class_source_id).join(
                        homework_attachments,
                        homework_attachments.c.homework_source_id == homework.c.source_id,
                    )
                )
            }
            foreign = next(
                sid
                for sid, name in sorted(names.items())
                if sid not in seen_by_someone
                and list(names.values()).count(name) == 1
                and (card := student_card(connection, SCHOOL, sid)) is not None
                and card.class_source_id in with_files
                and card.class_source_id
                not in {
                    c.class_source_id
                    for c in (student_card(connection, SCHOOL, s) for s in seen_by_someone)
                    if c is not None
                }
            )
            foreign_card = student_card(connection, SCHOOL, foreign)
            assert foreign_card is not None
            homework_id, position = connection.execute(
                select(homework_attachments.c.homework_source_id, homework_attachments.c.position)
                .join(homework, homework.c.source_id == homework_attachments.c.homework_source_id)
                .where(homework.c.class_source_id == foreign_card.class_source_id)
                .limit(1)
            ).one()
            # A guardian whose only child is closed to the cabinet.
            links = connection.execute(select(guardian_students)).all()
            states = consent_states(connection, SCHOOL, [row.student_source_id for row in links])
            families: dict[str, int] = {}
            for row in links:
                families[row.guardian_source_id] = families.get(row.guardian_source_id, 0) + 1
            closed = next(
                (row.guardian_source_id, row.student_source_id)
                for row in sorted(links)
                if not states[(row.guardian_source_id, row.student_source_id)].allows()
                and families[row.guardian_source_id] == 1
            )
            create_account(
                connection,
                login="no-consent",
                password="no-consent-password",
                role=Role.GUARDIAN,
                display_name="Родитель без согласия",
                people=[PersonRef(SCHOOL, "guardian", closed[0])],
            )
    finally:
        store.dispose()
    return Matrix(
        world=world,
        app=app_for(world),
        foreign=foreign,
        targets={
            "school_id": SCHOOL,
            "student_id": foreign,
            "class_id": foreign_card.class_source_id,
            "homework_id": homework_id,
            "position": str(position),
            "table": "students",
            "source_id": foreign,
            "path": "cabinet.css",
        },
        names=names,
        visible={
            "guardian": set(children),
            "student": {student_id},
            "class_teacher": teacher_class,
            "secretary": set(),
            # The administrator manages accounts: their holders' names are theirs to see.
            "admin": {student_id},
            "no_consent": {closed[1]},
        },
        no_consent_child=closed[1],
        logins={
            **{role: (login.login, login.password) for role, login in world.logins.items()},
            "no_consent": ("no-consent", "no-consent-password"),
        },
    )


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    return _pick(make_world(tmp_path_factory.mktemp("matrix")))


def _url(matrix: Matrix, endpoint: Endpoint) -> str:
    path = endpoint.template
    for name in endpoint.params:
        if name not in matrix.targets:
            pytest.fail(
                f"{endpoint.template} has a path parameter {name!r} the access matrix "
                "does not know: add a target for it in tests/test_web_access_matrix.py"
            )
        path = re.sub("{" + name + r"(?::\w+)?}", matrix.targets[name], path)
    return path


async def _call(
    client: httpx.AsyncClient, endpoint: Endpoint, url: str, csrf_token: str
) -> httpx.Response:
    if endpoint.method == "POST":
        return await client.post(url, data={"csrf_token": csrf_token})
    return await client.get(url)


def test_the_matrix_covers_every_route(matrix: Matrix) -> None:
    found = list(endpoints(matrix.app.routes))
    assert len(found) >= 30
    assert {(e.method, e.template) for e in found} >= PUBLIC
    for endpoint in found:
        _url(matrix, endpoint)  # fails on an unknown path parameter


async def test_without_login_only_the_listed_routes_answer(matrix: Matrix) -> None:
    failures = []
    async with client_for(matrix.app) as client:
        anonymous_token = csrf_of((await client.get("/login")).text)
        for endpoint in endpoints(matrix.app.routes):
            url = _url(matrix, endpoint)
            response = await _call(client, endpoint, url, anonymous_token)
            key = (endpoint.method, endpoint.template)
            if key in PUBLIC:
                if response.status_code >= 500 or response.status_code in (401, 303):
                    failures.append(f"{key}: public, but answered {response.status_code}")
            elif endpoint.is_api:
                if response.status_code != 401:
                    failures.append(f"{key}: API without a token answered {response.status_code}")
            elif response.status_code != 303 or not response.headers["location"].startswith(
                "/login"
            ):
                failures.append(f"{key}: answered {response.status_code} without a login")
            if matrix.names[matrix.foreign] in response.text:
                failures.append(f"{key}: shows a student's name without a login")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "actor", ["guardian", "student", "class_teacher", "secretary", "admin", "no_consent"]
)
async def test_no_role_reaches_someone_elses_child(matrix: Matrix, actor: str) -> None:
    login, password = matrix.logins[actor]
    forbidden = {
        name
        for sid, name in matrix.names.items()
        if sid not in matrix.visible[actor]
        and name not in {matrix.names[v] for v in matrix.visible[actor]}
    }
    failures = []
    async with client_for(matrix.app) as client:
        csrf_token = await log_in(client, login, password)
        for endpoint in endpoints(matrix.app.routes):
            url = _url(matrix, endpoint)
            if endpoint.spec is not None and endpoint.spec.name == "logout":
                # Logging out would end this client's session: use a second one.
                async with client_for(matrix.app) as other:
                    other_token = await log_in(other, login, password)
                    response = await _call(other, endpoint, url, other_token)
            else:
                response = await _call(client, endpoint, url, csrf_token)
            key = f"{endpoint.method} {endpoint.template}"
            if response.status_code >= 500:
                failures.append(f"{key}: {response.status_code}")
            leaked = sorted(name for name in forbidden if name in response.text)
            if leaked:
                failures.append(f"{key}: shows {leaked[:3]}")
            scoped = {"student_id", "class_id"} & set(endpoint.params)
            if endpoint.is_api and endpoint.template != "/api/v1/openapi.json":
                if response.status_code != 401:
                    failures.append(f"{key}: the API answered a session: {response.status_code}")
            elif scoped and response.status_code not in (403, 404):
                failures.append(f"{key}: someone else's page answered {response.status_code}")
    assert not failures, f"{actor}:\n" + "\n".join(failures)


async def test_a_guardian_without_consent_gets_the_reason_and_no_journal(matrix: Matrix) -> None:
    login, password = matrix.logins["no_consent"]
    child_routes = [
        e
        for e in endpoints(matrix.app.routes)
        if e.spec is not None and e.spec.access.scope == "student"
    ]
    assert len(child_routes) >= 10
    failures = []
    async with client_for(matrix.app) as client:
        await log_in(client, login, password)
        for endpoint in child_routes:
            url = _url(matrix, endpoint).replace(matrix.foreign, matrix.no_consent_child, 1)
            response = await client.get(url)
            if response.status_code != 403 or "обратитесь к секретарю" not in response.text.lower():
                failures.append(f"{endpoint.template}: {response.status_code}")
            if "Средневзвешенный" in response.text or "Домашние задания" in response.text:
                failures.append(f"{endpoint.template}: shows the journal")
    assert not failures, "\n".join(failures)
