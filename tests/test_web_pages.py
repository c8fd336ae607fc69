"""What the cabinet's pages show, checked against the synced store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import insert, or_, select

from publish.accounts import PersonRef, Role, check_credentials, create_account
from publish.grading import Mark, weighted_average
from publish.queries.people import children_of_guardian
from publish.web.formatting import decimal, ru_date
from schemas.tables import (
    classes,
    consent_channels,
    consents,
    final_grades,
    group_students,
    guardian_students,
    guardians,
    homework,
    homework_attachments,
    lesson_changes,
    lessons,
    marks,
    students,
    subjects,
    teachers,
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

TODAY = date(2026, 12, 4)
MONDAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield make_world(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def store(world: World) -> Iterator[Store]:
    opened = Store(world.url)
    yield opened
    opened.dispose()


def guardian_children(store: Store) -> list[tuple[str, str, str]]:
    """(student id, class id, "Фамилия Имя") of the demo guardian's children."""
    with store.read() as connection:
        account = check_credentials(connection, "roditel", "demo-roditel")
        assert account is not None
        (guardian_id,) = account.ids_of("guardian")
        return [
            (c.source_id, c.class_source_id, c.name)
            for c in children_of_guardian(connection, SCHOOL, guardian_id)
        ]


@asynccontextmanager
async def guardian_client(world: World, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    login = world.logins["guardian"]
    async with client_for(app_for(world, **options)) as client:
        await log_in(client, login.login, login.password)
        yield client


async def test_the_guardian_sees_both_children_and_switches_between_them(
    world: World, store: Store
) -> None:
    children = guardian_children(store)
    assert len(children) == 2
    async with guardian_client(world) as client:
        listing = await client.get("/children")
        for student_id, _, name in children:
            assert name in listing.text
            assert f"/s/{SCHOOL}/{student_id}/marks" in listing.text
        first, second = children
        page = await client.get(f"/s/{SCHOOL}/{first[0]}/timetable")
        assert page.status_code == 200
        switcher = page.text.split('aria-label="Выбор ребёнка"')[1].split("</nav>")[0]
        # The switcher keeps the section: from one child's timetable to the other's.
        assert f'/s/{SCHOOL}/{second[0]}/timetable"' in switcher
        assert 'aria-current="page"' in switcher


async def test_marks_show_weights_and_the_averages_of_the_grading_rules(
    world: World, store: Store
) -> None:
    student_id, _, _ = guardian_children(store)[0]
    with store.read() as connection:
        rows = connection.execute(
            select(marks, subjects.c.name)
            .join(subjects, subjects.c.source_id == marks.c.subject_source_id)
            .where(
                marks.c.student_source_id == student_id,
                marks.c.deleted_at.is_(None),
                marks.c.date >= date(2026, 11, 5),
                marks.c.date <= date(2026, 12, 28),
            )
        ).all()
    by_subject: dict[str, list[Mark]] = {}
    for row in rows:
        by_subject.setdefault(row.name, []).append(
            Mark(row.value_number, row.weight, row.value_kind, row.date)
        )
    async with guardian_client(world) as client:
        page = await client.get(f"/s/{SCHOOL}/{student_id}/marks?period=p-2026-q2")
    assert page.status_code == 200
    assert "2 четверть" in page.text
    for name, subject_marks in by_subject.items():
        section = page.text.split(f">{name}</h4>")[1].split("</article>")[0]
        expected = decimal(weighted_average(subject_marks))
        assert f"<dt>Средневзвешенный</dt><dd>{expected}</dd>" in section, name
        assert section.count('class="mark ') == len(subject_marks)
    assert "вес </span>×3" in page.text


async def test_every_page_says_how_fresh_the_data_are_and_warns_when_kros_is_out_of_reach(
    world: World, store: Store
) -> None:
    student_id, _, _ = guardian_children(store)[0]
    async with guardian_client(world, stale_after_seconds=900) as client:
        fresh = await client.get(f"/s/{SCHOOL}/{student_id}/homework")
        assert "Данные на 10:00." in fresh.text
        assert "Связи с КРОС нет" not in fresh.text
        world.clock.advance(minutes=20)
        try:
            stale = await client.get(f"/s/{SCHOOL}/{student_id}/homework")
        finally:
            world.clock.advance(minutes=-20)
    assert "Связи с КРОС нет с 10:00" in stale.text


async def test_the_timetable_marks_substitutions_moves_and_cancellations(
    world: World, store: Store
) -> None:
    children = guardian_children(store)
    with store.read() as connection:
        found: dict[str, tuple[str, date, str | None]] = {}
        for student_id, class_id, _ in children:
            groups = select(group_students.c.group_source_id).where(
                group_students.c.student_source_id == student_id
            )
            rows = connection.execute(
                select(lesson_changes.c.kind, lessons.c.date, teachers.c.last_name)
                .join(lessons, lessons.c.source_id == lesson_changes.c.lesson_source_id)
                .outerjoin(teachers, teachers.c.source_id == lesson_changes.c.teacher_source_id)
                .where(
                    lessons.c.date.between(MONDAY, MONDAY + timedelta(days=6)),
                    or_(
                        lessons.c.class_source_id == class_id, lessons.c.group_source_id.in_(groups)
                    ),
                )
            ).all()
            for kind, day, teacher in rows:
                found.setdefault(kind, (student_id, day, teacher))
    assert set(found) == {"substitution", "move", "cancel"}, "the week has changed lessons"
    async with guardian_client(world) as client:
        pages = {
            kind: (await client.get(f"/s/{SCHOOL}/{student_id}/timetable?week={day}")).text
            for kind, (student_id, day, _) in found.items()
        }
    assert 'badge badge-sub">Замена' in pages["substitution"]
    substitute = found["substitution"][2]
    assert substitute is not None and substitute in pages["substitution"]
    assert "вместо" in pages["substitution"]
    assert 'badge badge-cancel">Отмена' in pages["cancel"]
    assert "Перенесён на" in pages["move"] and "Перенесён с" in pages["move"]
    assert "сегодня" in pages["move"]  # the week of 2026-12-04


async def test_homework_links_its_files_through_the_adapter(world: World, store: Store) -> None:
    with store.read() as connection:
        row = connection.execute(
            select(
                students.c.source_id,
                homework.c.source_id.label("homework_id"),
                homework.c.due_on,
                homework_attachments.c.position,
                homework_attachments.c.name,
                homework_attachments.c.url,
            )
            .join(homework, homework.c.class_source_id == students.c.class_source_id)
            .join(
                homework_attachments,
                homework_attachments.c.homework_source_id == homework.c.source_id,
            )
            .where(students.c.source_id.in_([c[0] for c in guardian_children(store)]))
            .limit(1)
        ).one()
    fetched: list[tuple[str, str]] = []

    async def fetch(school_id: str, url: str) -> tuple[bytes, str]:
        fetched.append((school_id, url))
        return b"%PDF-1.4 test", "application/pdf"

    link = f"/s/{SCHOOL}/{row.source_id}/homework/{row.homework_id}/attachments/{row.position}"
    async with guardian_client(world) as client:
        page = await client.get(f"/s/{SCHOOL}/{row.source_id}/homework?week={row.due_on}")
        assert link in page.text and row.name in page.text
        unavailable = await client.get(link)
    assert unavailable.status_code == 503
    assert "Файл пока недоступен" in unavailable.text

    async with guardian_client(world, fetch_attachment=fetch) as client:
        download = await client.get(link)
        missing = await client.get(link.rsplit("/", 1)[0] + "/99")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 test"
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment; filename*=UTF-8''")
    assert fetched == [(SCHOOL, row.url)]
    assert missing.status_code == 404


async def test_control_works_forecast_teachers_holidays_and_recommendations(
    world: World, store: Store
) -> None:
    student_id, _, _ = guardian_children(store)[0]
    base = f"/s/{SCHOOL}/{student_id}"
    async with guardian_client(world) as client:
        pages = {
            name: await client.get(f"{base}/{name}")
            for name in ("control-works", "forecast", "teachers", "holidays", "recommendations")
        }
    assert all(page.status_code == 200 for page in pages.values())
    assert "Контрольная работа" in pages["control-works"].text
    forecast = pages["forecast"].text
    assert "Это прогноз по текущим отметкам" in forecast
    assert "Прогноз: <strong" in forecast
    assert re.search(r"Чтобы получить «[345]»", forecast) or "недостижима" in forecast
    assert "Классный руководитель:</strong>" in pages["teachers"].text
    assert "Зимние каникулы" in pages["holidays"].text
    assert "с 29 декабря 2026 по 11 января 2027" in pages["holidays"].text
    assert pages["recommendations"].text.count('class="card"') >= 1


async def test_results_show_deferred_grades_with_their_deadline(world: World, store: Store) -> None:
    with store.read() as connection:
        deferred = connection.execute(
            select(final_grades.c.student_source_id, final_grades.c.deferred_until)
            .where(final_grades.c.deferred.is_(True))
            .limit(1)
        ).one()
    with store.write() as connection:
        create_account(
            connection,
            login="deferred-student",
            password="deferred-password",
            role=Role.STUDENT,
            display_name="Ученик с отсрочкой",
            people=[PersonRef(SCHOOL, "student", deferred.student_source_id)],
        )
    async with client_for(app_for(world)) as client:
        await log_in(client, "deferred-student", "deferred-password")
        home = await client.get("/", follow_redirects=False)
        assert home.headers["location"] == f"/s/{SCHOOL}/{deferred.student_source_id}/marks"
        page = await client.get(f"/s/{SCHOOL}/{deferred.student_source_id}/results")
    assert "Отсрочка" in page.text
    assert f"до {ru_date(deferred.deferred_until, year=True)} (болезнь)" in page.text


async def test_the_class_teacher_sees_the_class_sheet_and_who_has_not_consented(
    world: World,
) -> None:
    login = world.logins["class_teacher"]
    async with client_for(app_for(world)) as client:
        await log_in(client, login.login, login.password)
        classes = await client.get("/classes")
        assert classes.status_code == 303
        page = await client.get(classes.headers["location"])
        assert page.status_code == 200
        assert "Текущие средневзвешенные баллы" in page.text
        assert "Нет согласия на электронный дневник" in page.text
        student_link = re.search(r'href="(/s/[^"]+/marks)"', page.text)
        assert student_link
        assert (await client.get(student_link.group(1))).status_code == 200


async def test_the_secretary_sees_consents_by_class(world: World) -> None:
    login = world.logins["secretary"]
    async with client_for(app_for(world)) as client:
        await log_in(client, login.login, login.password)
        page = await client.get("/consents?school=sch-1&class=c-5a")
    assert page.status_code == 200
    assert "5А класс" in page.text
    assert "согласие действует" in page.text


async def test_the_administrator_sees_sync_status_quarantine_and_requests_a_resync(
    world: World,
) -> None:
    login = world.logins["admin"]
    async with client_for(app_for(world)) as client:
        token = await log_in(client, login.login, login.password)
        status = await client.get("/admin")
        quarantine = await client.get("/admin/quarantine")
        resync = await client.post(
            "/admin/resync", data={"csrf_token": token, "school_id": "sch-1"}
        )
        notice = await client.get(resync.headers["location"])
    assert "final-grades" in status.text and "успешно" in status.text
    assert "unknown mark value" in quarantine.text
    assert resync.status_code == 303
    assert "Синхронизация запрошена" in notice.text
    assert world.resyncs == ["sch-1"]
    world.resyncs.clear()

    async with client_for(app_for(world, request_resync=None)) as client:
        token = await log_in(client, login.login, login.password)
        page = await client.get("/admin")
        assert "Недоступно" in page.text
        resync = await client.post("/admin/resync", data={"csrf_token": token})
        assert resync.headers["location"] == "/admin?resync=unavailable"


async def test_an_invitation_printed_by_the_admin_opens_a_guardians_account(
    world: World, store: Store
) -> None:
    with store.read() as connection:
        guardian_id, student_id = connection.execute(
            select(
                guardian_students.c.guardian_source_id, guardian_students.c.student_source_id
            ).order_by(guardian_students.c.guardian_source_id.desc())
        ).first()
    admin = world.logins["admin"]
    app = app_for(world)
    async with client_for(app) as client:
        token = await log_in(client, admin.login, admin.password)
        printed = await client.post(
            "/admin/invitations",
            data={
                "csrf_token": token,
                "role": "guardian",
                "school_id": SCHOOL,
                "person_id": guardian_id,
            },
        )
    assert printed.status_code == 200
    code = re.search(r'class="invite-code">([A-Z0-9-]+)<', printed.text)
    assert code, printed.text
    async with client_for(app) as family:
        form = await family.get("/invite")
        redeemed = await family.post(
            "/invite",
            data={
                "code": code.group(1),
                "password": "семейный пароль",
                "password_again": "семейный пароль",
                "csrf_token": csrf_of(form.text),
            },
        )
        assert redeemed.status_code == 200
        assert f"sch-1.{guardian_id}" in redeemed.text
        children = await family.get("/children")
        assert children.status_code == 200
        assert f"/s/{SCHOOL}/{student_id}/marks" in children.text
    async with client_for(app) as again:
        form = await again.get("/invite")
        reused = await again.post(
            "/invite",
            data={
                "code": code.group(1),
                "password": "другой пароль",
                "password_again": "другой пароль",
                "csrf_token": csrf_of(form.text),
            },
        )
    assert reused.status_code == 400 and "уже использован" in reused.text


async def test_the_cabinet_lives_under_its_base_path(world: World) -> None:
    login = world.logins["guardian"]
    async with client_for(app_for(world, base_path="/dnevnik")) as client:
        assert (await client.get("/login")).status_code == 404
        page = await client.get("/dnevnik/login")
        assert 'href="/dnevnik/static/cabinet.css"' in page.text
        await log_in(client, login.login, login.password, prefix="/dnevnik")
        listing = await client.get("/dnevnik/children")
    assert 'href="/dnevnik/s/sch-1/' in listing.text


async def test_a_guardian_with_children_in_two_schools_switches_across_them(
    world: World, store: Store
) -> None:
    t = world.clock()
    common = {"source_updated_at": t, "deleted_at": None, "change_version": 1}
    with store.write() as connection:
        connection.execute(
            insert(classes).values(
                school_id="sch-2",
                source_id="c-9b",
                year_source_id="y-2026",
                name="9Б",
                grade=9,
                letter="Б",
                level="ООО",
                homeroom_teacher_source_id=None,
                **common,
            )
        )
        connection.execute(
            insert(students).values(
                school_id="sch-2",
                source_id="st-9001",
                last_name="Фёдорова",
                first_name="Вероника",
                middle_name=None,
                birth_date=date(2011, 3, 1),
                class_source_id="c-9b",
                individual_plan=False,
                status="active",
                enrolled_on=date(2017, 9, 1),
                left_on=None,
                **common,
            )
        )
        connection.execute(
            insert(guardians).values(
                school_id="sch-2",
                source_id="g-7001",
                last_name="Фёдорова",
                first_name="Оксана",
                middle_name=None,
                relation="mother",
                **common,
            )
        )
        connection.execute(
            insert(guardian_students).values(
                school_id="sch-2", guardian_source_id="g-7001", student_source_id="st-9001"
            )
        )
        connection.execute(
            insert(consents).values(
                school_id="sch-2",
                source_id="cn-7001",
                guardian_source_id="g-7001",
                student_source_id="st-9001",
                decision="given",
                decided_at=t,
                basis_kind="paper",
                basis_document_no="7/2026",
                basis_document_date=date(2026, 9, 1),
                basis_registered_by="Секретарь",
                basis_signer=None,
                basis_signature=None,
                **common,
            )
        )
        connection.execute(
            insert(consent_channels).values(
                school_id="sch-2", consent_source_id="cn-7001", channel="cabinet"
            )
        )
        guardian = check_credentials(connection, "roditel", "demo-roditel")
        assert guardian is not None
        create_account(
            connection,
            login="two-schools",
            password="two-schools-password",
            role=Role.GUARDIAN,
            display_name="Фёдорова Оксана",
            people=[*guardian.people, PersonRef("sch-2", "guardian", "g-7001")],
        )
    async with client_for(app_for(world)) as client:
        await log_in(client, "two-schools", "two-schools-password")
        listing = await client.get("/children")
        page = await client.get("/s/sch-2/st-9001/marks")
        first_child = guardian_children(store)[0][0]
        back = await client.get(f"/s/{SCHOOL}/{first_child}/marks")
    assert listing.text.count('class="card child-card"') == 3
    assert page.status_code == 200 and "Фёдорова Вероника" in page.text
    switcher = back.text.split('aria-label="Выбор ребёнка"')[1].split("</nav>")[0]
    assert "/s/sch-2/st-9001/marks" in switcher
