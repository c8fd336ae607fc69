"""Accounts, invitations, API tokens and the demo logins (publish/accounts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from publish.accounts import (
    AccountError,
    InvalidPeopleError,
    InvitationError,
    LoginTakenError,
    PersonRef,
    Role,
    WeakPasswordError,
    api_token_name,
    check_credentials,
    create_account,
    create_api_token,
    create_invitation,
    ensure_demo_accounts,
    find_invitation,
    redeem_invitation,
    revoke_api_token,
)
from publish.consent import consent_state
from publish.queries.people import children_of_guardian, homeroom_teacher, student_card
from schemas.tables import accounts, invitations
from sync.store import Store
from tests.test_web_support import SCHOOL, store_copy

NOW = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
GUARDIAN = PersonRef(SCHOOL, "guardian", "g-0002")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    opened = Store(sqlite_url)
    opened.upgrade()
    yield opened
    opened.dispose()


@pytest.fixture
def connection(store: Store) -> Iterator[Connection]:
    with store.write() as opened:
        yield opened


def test_passwords_are_stored_as_argon2id_hashes(connection: Connection) -> None:
    create_account(
        connection,
        login="Mama",
        password="correct horse",
        role=Role.GUARDIAN,
        display_name="Иванова Мария",
        people=[GUARDIAN],
        now=NOW,
    )
    stored = connection.execute(select(accounts.c.login, accounts.c.password_hash)).one()
    assert stored.login == "mama"  # logins are case-insensitive
    assert stored.password_hash.startswith("$argon2id$")
    assert "correct horse" not in stored.password_hash


def test_credentials_open_the_account_with_its_people(connection: Connection) -> None:
    made = create_account(
        connection,
        login="mama",
        password="correct horse",
        role="guardian",
        display_name="Иванова Мария",
        people=[GUARDIAN, PersonRef("sch-2", "guardian", "g-0100")],
        now=NOW,
    )
    found = check_credentials(connection, " MAMA ", "correct horse")
    assert found == made
    assert found is not None and found.ids_of("guardian", "sch-2") == ["g-0100"]
    assert check_credentials(connection, "mama", "wrong horse") is None
    assert check_credentials(connection, "papa", "correct horse") is None


@pytest.mark.parametrize(
    ("role", "people", "error"),
    [
        (Role.GUARDIAN, [], InvalidPeopleError),
        (Role.STUDENT, [GUARDIAN], InvalidPeopleError),
        (Role.ADMIN, [GUARDIAN], InvalidPeopleError),
        (
            Role.STUDENT,
            [PersonRef(SCHOOL, "student", "st-1"), PersonRef(SCHOOL, "student", "st-2")],
            InvalidPeopleError,
        ),
    ],
)
def test_people_must_fit_the_role(
    connection: Connection, role: Role, people: list[PersonRef], error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_account(
            connection,
            login="x-user",
            password="long enough",
            role=role,
            display_name="X",
            people=people,
            now=NOW,
        )


def test_short_passwords_and_taken_logins_are_refused(connection: Connection) -> None:
    with pytest.raises(WeakPasswordError):
        create_account(
            connection, login="admin1", password="short", role=Role.ADMIN, display_name="A", now=NOW
        )
    create_account(
        connection,
        login="admin1",
        password="long enough",
        role=Role.ADMIN,
        display_name="A",
        now=NOW,
    )
    with pytest.raises(LoginTakenError):
        create_account(
            connection,
            login="ADMIN1",
            password="long enough",
            role=Role.ADMIN,
            display_name="B",
            now=NOW,
        )


def test_an_invitation_opens_one_account_once(connection: Connection) -> None:
    code = create_invitation(
        connection, role=Role.GUARDIAN, people=[GUARDIAN], display_name="Иванова Мария", now=NOW
    )
    assert len(code) == 14 and code.count("-") == 2
    stored = connection.execute(select(invitations.c.code_hash)).scalar_one()
    assert code not in stored  # only the hash is kept
    assert find_invitation(connection, code.lower().replace("-", " "), NOW) is not None

    account = redeem_invitation(connection, code, "a good password", now=NOW)
    assert account.login == "sch-1.g-0002"
    assert account.people == (GUARDIAN,)
    assert check_credentials(connection, account.login, "a good password") == account
    with pytest.raises(InvitationError, match="уже использован"):
        redeem_invitation(connection, code, "another password", now=NOW)
    assert find_invitation(connection, code, NOW) is None


def test_an_expired_or_unknown_code_opens_nothing(connection: Connection) -> None:
    code = create_invitation(
        connection,
        role=Role.STUDENT,
        people=[PersonRef(SCHOOL, "student", "st-0001")],
        display_name="Ученик",
        now=NOW,
        valid_for=timedelta(days=1),
    )
    with pytest.raises(InvitationError, match="истёк"):
        redeem_invitation(connection, code, "a good password", now=NOW + timedelta(days=2))
    with pytest.raises(InvitationError, match="не найден"):
        redeem_invitation(connection, "AAAA-BBBB-CCCC", "a good password", now=NOW)
    with pytest.raises(WeakPasswordError):
        redeem_invitation(connection, code, "short", now=NOW)


def test_api_tokens_are_kept_hashed_and_can_be_revoked(connection: Connection) -> None:
    token = create_api_token(connection, "reports", now=NOW)
    assert token.startswith("kra_") and len(token) > 40
    assert api_token_name(connection, token) == "reports"
    assert api_token_name(connection, token + "x") is None
    with pytest.raises(AccountError):
        create_api_token(connection, "reports", now=NOW)
    assert revoke_api_token(connection, "reports", now=NOW)
    assert api_token_name(connection, token) is None


def test_demo_accounts_fit_the_synced_school_and_are_idempotent(tmp_path: Path) -> None:
    url = store_copy(tmp_path)
    first = ensure_demo_accounts(url, SCHOOL)
    second = ensure_demo_accounts(url, SCHOOL)
    assert first == second
    assert [login.role for login in first] == list(Role)

    store = Store(url)
    try:
        with store.read() as connection:
            logged = {
                login.role: check_credentials(connection, login.login, login.password)
                for login in first
            }
            assert all(logged.values())
            assert len(connection.execute(select(accounts.c.id)).all()) == len(Role)
            guardian = logged[Role.GUARDIAN]
            assert guardian is not None
            (guardian_id,) = guardian.ids_of("guardian", SCHOOL)
            children = children_of_guardian(connection, SCHOOL, guardian_id)
            assert len(children) == 2
            for child in children:
                assert consent_state(connection, SCHOOL, guardian_id, child.source_id).allows()
            student = logged[Role.STUDENT]
            assert student is not None
            (student_id,) = student.ids_of("student", SCHOOL)
            assert student_id in {child.source_id for child in children}
            card = student_card(connection, SCHOOL, student_id)
            assert card is not None
            teacher = logged[Role.CLASS_TEACHER]
            assert teacher is not None
            assert teacher.ids_of("teacher", SCHOOL) == [
                homeroom_teacher(connection, SCHOOL, card.class_source_id)
            ]
    finally:
        store.dispose()
