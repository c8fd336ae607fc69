"""The pages' markup keeps the accessibility and no-JavaScript promises (WCAG 2.1 AA is
more than markup, but these parts a test can hold): Russian as the page language, a skip
link, one h1 and no skipped heading levels, a label for every field, named navigation,
headers on tables, no script and no inline style (the CSP forbids both)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import html

from tests.test_web_support import World, app_for, client_for, log_in, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield make_world(tmp_path_factory.mktemp("markup"))


SECTIONS = (
    "marks",
    "timetable",
    "homework",
    "control-works",
    "forecast",
    "results",
    "teachers",
    "holidays",
    "recommendations",
)


def problems(page: str, url: str) -> list[str]:
    found: list[str] = []
    tree = html.fromstring(page)
    if tree.get("lang") != "ru":
        found.append("html has no lang=ru")
    if not tree.xpath('//a[@class="skip-link"][@href="#main"]') or not tree.xpath(
        '//*[@id="main"]'
    ):
        found.append("no skip link to #main")
    if len(tree.xpath("//h1")) != 1:
        found.append(f"{len(tree.xpath('//h1'))} h1 elements")
    level = 0
    for heading in tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6"):
        current = int(heading.tag[1])
        if current > level + 1:
            found.append(f"heading jumps from h{level} to h{current}: {heading.text_content()!r}")
        level = current
    for field in tree.xpath('//input[not(@type="hidden")]|//select|//textarea'):
        field_id = field.get("id")
        labelled = field.get("aria-label") or (
            field_id and tree.xpath(f'//label[@for="{field_id}"]')
        )
        if not labelled:
            found.append(f"field {field.get('name')!r} has no label")
    navs = tree.xpath("//nav")
    if any(not nav.get("aria-label") for nav in navs):
        found.append("a nav without aria-label")
    for table in tree.xpath("//table"):
        if not table.xpath(".//th"):
            found.append("a table without header cells")
    if tree.xpath("//script") or tree.xpath("//*[@style]") or tree.xpath("//*[@onclick]"):
        found.append("script or inline style")
    for link in tree.xpath("//a"):
        if not link.text_content().strip() and not link.get("aria-label"):
            found.append(f"an empty link to {link.get('href')}")
    for button in tree.xpath("//button"):
        if not button.text_content().strip():
            found.append("an empty button")
    return [f"{url}: {problem}" for problem in found]


async def test_every_page_of_every_role_has_accessible_markup(world: World) -> None:
    app = app_for(world)
    failures: list[str] = []
    async with client_for(app) as anonymous:
        for url in ("/login", "/invite", "/no-such-page"):
            failures += problems((await anonymous.get(url)).text, url)
    pages = {
        "guardian": ["/children"],
        "class_teacher": ["/classes"],
        "secretary": ["/consents?class=c-8a"],
        "admin": ["/admin", "/admin/quarantine", "/admin/accounts", "/admin/api-tokens"],
    }
    for role, urls in pages.items():
        login = world.logins[role]
        async with client_for(app) as client:
            await log_in(client, login.login, login.password)
            for url in urls:
                response = await client.get(url, follow_redirects=True)
                assert response.status_code == 200, url
                failures += problems(response.text, url)
                if role == "guardian":
                    child = html.fromstring(response.text).xpath("//h2/a/@href")[0]
                    base = child.rsplit("/", 1)[0]
                    for section in SECTIONS:
                        page = await client.get(f"{base}/{section}")
                        failures += problems(page.text, f"{base}/{section}")
    assert not failures, "\n".join(failures)
