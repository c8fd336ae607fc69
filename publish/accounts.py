"""Cabinet accounts: who may log in, as which role, speaking for which KROS people.

An account has one role and is bound to the KROS people it speaks for (table
``account_people``): a guardian to their guardian records (one per school where they
have children), a student to their student record, a class teacher to their teacher
record. Secretaries and administrators need no binding. Passwords are hashed with
Argon2id (SPEC.md, "The people and their web").

Accounts come from the administrator (:func:`create_account`) or from a one-time,
printable invitation code (:func:`create_invitation`, :func:`redeem_invitation`). The read
API's service accounts are bearer tokens (:func:`create_api_token`), kept hashed.

Errors::

    AccountError                 anything the caller should show the person
    ├── LoginTakenError          the login exists
    ├── WeakPasswordError        the password is too short
    ├── InvalidPeopleError       the people do not fit the role
    └── InvitationError          unknown, used or expired code
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, delete, insert, select, update

from publish.consent import consent_states
from publish.queries.people import children_of_guardians, homeroom_teacher, people_names
from schemas.tables import account_people, accounts, api_tokens, invitations
from sync.store import Store

MIN_PASSWORD_LENGTH = 8
DEFAULT_INVITATION_DAYS = 30
_LOGIN = re.compile(r"^[a-z0-9._@-]{3,64}$")
# Printable codes without look-alikes (0/O, 1/I/L): read aloud or typed from paper.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_GROUPS = 3
_CODE_GROUP_LENGTH = 4

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's recommended parameters
# Verified against when a login is unknown, so that the answer takes as long as for a
# known one and the timing does not tell which logins exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class Role(StrEnum):
    GUARDIAN = "guardian"
    STUDENT = "student"
    CLASS_TEACHER = "class_teacher"
    SECRETARY = "secretary"
    ADMIN = "admin"


ROLE_TITLES: dict[Role, str] = {
    Role.GUARDIAN: "Родитель (законный представитель)",
    Role.STUDENT: "Обучающийся",
    Role.CLASS_TEACHER: "Классный руководитель",
    Role.SECRETARY: "Секретарь",
    Role.ADMIN: "Администратор",
}

# Which KROS people each role speaks for; None: no binding at all.
_ROLE_PERSON_KIND: dict[Role, str | None] = {
    Role.GUARDIAN: "guardian",
    Role.STUDENT: "student",
    Role.CLASS_TEACHER: "teacher",
    Role.SECRETARY: None,
    Role.ADMIN: None,
}


class AccountError(Exception):
    """Something about an account the person should be told (in Russian, by the page)."""


class LoginTakenError(AccountError):
    pass


class WeakPasswordError(AccountError):
    pass


class InvalidPeopleError(AccountError):
    pass


class InvitationError(AccountError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class PersonRef:
    """A KROS person an account speaks for."""

    school_id: str
    kind: str  # guardian, student or teacher
    source_id: str


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    login: str
    role: Role
    display_name: str
    people: tuple[PersonRef, ...]

    def ids_of(self, kind: str, school_id: str | None = None) -> list[str]:
        return [
            p.source_id
            for p in self.people
            if p.kind == kind and (school_id is None or p.school_id == school_id)
        ]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    role: Role
    login: str
    password: str
    description: str


# --------------------------------------------------------------------------- passwords


def normalize_login(login: str) -> str:
    return login.strip().casefold()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; always spends the time of one Argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов.")


def _check_people(role: Role, people: Sequence[PersonRef]) -> None:
    kind = _ROLE_PERSON_KIND[role]
    if kind is None:
        if people:
            raise InvalidPeopleError("Эта роль не привязывается к людям из КРОС.")
        return
    if not people:
        raise InvalidPeopleError("Нужно указать, за кого из КРОС говорит эта учётная запись.")
    if any(p.kind != kind for p in people):
        raise InvalidPeopleError(f"Для этой роли подходят только записи вида «{kind}».")
    if role is Role.STUDENT and len(people) != 1:
        raise InvalidPeopleError("Учётная запись обучающегося связана ровно с одним учеником.")


# --------------------------------------------------------------------------- accounts


def create_account(
    connection: Connection,
    *,
    login: str,
    password: str,
    role: Role | str,
    display_name: str,
    people: Sequence[PersonRef] = (),
    now: datetime | None = None,
) -> Account:
    """A new account; raises :class:`AccountError` subclasses for what a person can fix."""
    role = Role(role)
    login = normalize_login(login)
    if not _LOGIN.match(login):
        raise AccountError(
            "Логин: от 3 до 64 символов, латинские буквы, цифры, точка, дефис, @ или _."
        )
    _check_password(password)
    _check_people(role, people)
    if connection.execute(select(accounts.c.id).where(accounts.c.login == login)).first():
        raise LoginTakenError(f"Логин «{login}» уже занят.")
    at = now or datetime.now(UTC)
    account_id = connection.execute(
        insert(accounts)
        .values(
            login=login,
            password_hash=hash_password(password),
            role=role.value,
            display_name=display_name,
            created_at=at,
            password_changed_at=at,
            disabled_at=None,
        )
        .returning(accounts.c.id)
    ).scalar_one()
    _bind_people(connection, account_id, people)
    return Account(account_id, login, role, display_name, tuple(sorted(set(people))))


def _bind_people(connection: Connection, account_id: int, people: Iterable[PersonRef]) -> None:
    connection.execute(delete(account_people).where(account_people.c.account_id == account_id))
    rows = [
        {
            "account_id": account_id,
            "school_id": p.school_id,
            "kind": p.kind,
            "source_id": p.source_id,
        }
        for p in sorted(set(people))
    ]
    if rows:
        connection.execute(insert(account_people), rows)


def load_account(connection: Connection, account_id: int) -> Account | None:
    """A live (not disabled) account with its people."""
    row = connection.execute(
        select(accounts).where(accounts.c.id == account_id, accounts.c.disabled_at.is_(None))
    ).first()
    if row is None:
        return None
    people = connection.execute(
        select(account_people.c.school_id, account_people.c.kind, account_people.c.source_id)
        .where(account_people.c.account_id == account_id)
        .order_by(account_people.c.school_id, account_people.c.kind, account_people.c.source_id)
    )
    return Account(
        id=row.id,
        login=row.login,
        role=Role(row.role),
        display_name=row.display_name,
        people=tuple(PersonRef(*p) for p in people),
    )


def check_credentials(connection: Connection, login: str, password: str) -> Account | None:
    """The account these credentials open, or None (unknown login, wrong password, disabled).

    Reads only; throttling is the caller's business (:mod:`publish.web.throttle`)."""
    row = connection.execute(
        select(accounts.c.id, accounts.c.password_hash, accounts.c.disabled_at).where(
            accounts.c.login == normalize_login(login)
        )
    ).first()
    if not verify_password(row.password_hash if row else None, password) or row is None:
        return None
    if row.disabled_at is not None:
        return None
    return load_account(connection, row.id)


def upgrade_password_hash(connection: Connection, account_id: int, password: str) -> None:
    """Re-hash a just-verified password made with older Argon2 parameters."""
    current = connection.execute(
        select(accounts.c.password_hash).where(accounts.c.id == account_id)
    ).scalar()
    if current is not None and password_needs_rehash(current):
        connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(password_hash=hash_password(password))
        )


def set_password(connection: Connection, account_id: int, password: str, now: datetime) -> None:
    _check_password(password)
    connection.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(password_hash=hash_password(password), password_changed_at=now)
    )


def list_accounts(connection: Connection) -> list[Account]:
    ids = connection.execute(select(accounts.c.id).order_by(accounts.c.role, accounts.c.login))
    found = [load_account(connection, account_id) for (account_id,) in ids]
    return [account for account in found if account is not None]


# --------------------------------------------------------------------------- invitations


def _code_hash(code: str) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode("ascii", "ignore")).hexdigest()


def new_invitation_code() -> str:
    """``XXXX-XXXX-XXXX``: about 59 bits, enough for a one-time code that expires."""
    groups = (
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP_LENGTH))
        for _ in range(_CODE_GROUPS)
    )
    return "-".join(groups)


def default_login(people: Sequence[PersonRef], role: Role) -> str:
    """A login a person can read off the printed invitation: ``sch-1.g-0002``."""
    if people:
        first = sorted(people)[0]
        return normalize_login(f"{first.school_id}.{first.source_id}")
    return normalize_login(f"{role.value}-{secrets.token_hex(3)}")


def create_invitation(
    connection: Connection,
    *,
    role: Role | str,
    people: Sequence[PersonRef],
    display_name: str,
    login: str | None = None,
    now: datetime | None = None,
    valid_for: timedelta = timedelta(days=DEFAULT_INVITATION_DAYS),
) -> str:
    """A one-time code that opens an account of ``role`` for ``people``; returns the code.

    Only the code's hash is kept: the printed sheet is the one copy of the code."""
    role = Role(role)
    _check_people(role, people)
    chosen = normalize_login(login) if login else default_login(people, role)
    if not _LOGIN.match(chosen):
        raise AccountError("Логин приглашения недопустим.")
    if connection.execute(select(accounts.c.id).where(accounts.c.login == chosen)).first():
        raise LoginTakenError(f"Логин «{chosen}» уже занят.")
    at = now or datetime.now(UTC)
    code = new_invitation_code()
    connection.execute(
        insert(invitations).values(
            code_hash=_code_hash(code),
            role=role.value,
            login=chosen,
            display_name=display_name,
            people=[[p.school_id, p.kind, p.source_id] for p in sorted(set(people))],
            created_at=at,
            expires_at=at + valid_for,
            redeemed_at=None,
            account_id=None,
        )
    )
    return code


@dataclass(frozen=True, slots=True)
class Invitation:
    login: str
    role: Role
    display_name: str
    expires_at: datetime


def find_invitation(connection: Connection, code: str, now: datetime) -> Invitation | None:
    """The open invitation for ``code`` (not used, not expired), or None."""
    row = connection.execute(
        select(invitations).where(invitations.c.code_hash == _code_hash(code))
    ).first()
    if row is None or row.redeemed_at is not None or row.expires_at <= now:
        return None
    return Invitation(row.login, Role(row.role), row.display_name, row.expires_at)


def redeem_invitation(
    connection: Connection, code: str, password: str, *, now: datetime | None = None
) -> Account:
    """Open the invitation's account with ``password``; the code cannot be used again."""
    at = now or datetime.now(UTC)
    _check_password(password)
    row = connection.execute(
        select(invitations).where(invitations.c.code_hash == _code_hash(code))
    ).first()
    if row is None:
        raise InvitationError("Код приглашения не найден. Проверьте, нет ли опечатки.")
    if row.redeemed_at is not None:
        raise InvitationError("Этот код уже использован. Войдите со своим логином и паролем.")
    if row.expires_at <= at:
        raise InvitationError("Срок действия кода истёк. Попросите в школе новый.")
    # Claim the code first: of two redemptions racing, only one updates the row.
    claimed = connection.execute(
        update(invitations)
        .where(invitations.c.id == row.id, invitations.c.redeemed_at.is_(None))
        .values(redeemed_at=at)
    ).rowcount
    if claimed != 1:
        raise InvitationError("Этот код уже использован. Войдите со своим логином и паролем.")
    account = create_account(
        connection,
        login=row.login,
        password=password,
        role=Role(row.role),
        display_name=row.display_name,
        people=[PersonRef(*person) for person in row.people],
        now=at,
    )
    connection.execute(
        update(invitations).where(invitations.c.id == row.id).values(account_id=account.id)
    )
    return account


# --------------------------------------------------------------------------- API tokens


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 is as good as a slow hash for them.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(connection: Connection, name: str, *, now: datetime | None = None) -> str:
    """A new service account of the read API; the token is shown once and kept hashed."""
    if not name.strip():
        raise AccountError("У токена должно быть имя.")
    if connection.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first():
        raise LoginTakenError(f"Токен с именем «{name}» уже есть.")
    token = "kra_" + secrets.token_urlsafe(32)
    connection.execute(
        insert(api_tokens).values(
            name=name.strip(),
            token_hash=_token_hash(token),
            created_at=now or datetime.now(UTC),
            last_used_at=None,
            revoked_at=None,
        )
    )
    return token


def revoke_api_token(connection: Connection, name: str, *, now: datetime | None = None) -> bool:
    result = connection.execute(
        update(api_tokens)
        .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC))
    )
    return result.rowcount == 1


def api_token_name(connection: Connection, token: str) -> str | None:
    """The service account a bearer token belongs to, or None (unknown or revoked)."""
    row = connection.execute(
        select(api_tokens.c.name).where(
            api_tokens.c.token_hash == _token_hash(token), api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else str(row.name)


def touch_api_token(connection: Connection, name: str, now: datetime) -> None:
    connection.execute(update(api_tokens).where(api_tokens.c.name == name).values(last_used_at=now))


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_api_tokens(connection: Connection) -> list[ApiTokenInfo]:
    rows = connection.execute(
        select(
            api_tokens.c.name,
            api_tokens.c.created_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
        ).order_by(api_tokens.c.name)
    )
    return [ApiTokenInfo(*row) for row in rows]


# --------------------------------------------------------------------------- demo


DEMO_PASSWORDS: dict[Role, tuple[str, str]] = {
    # login, password: printed by `kros-adapter demo`; demo stores only.
    Role.GUARDIAN: ("roditel", "demo-roditel"),
    Role.STUDENT: ("uchenik", "demo-uchenik"),
    Role.CLASS_TEACHER: ("klruk", "demo-klruk"),
    Role.SECRETARY: ("sekretar", "demo-sekretar"),
    Role.ADMIN: ("admin", "demo-admin"),
}


def ensure_demo_accounts(store_url: str, school_id: str) -> list[DemoLogin]:
    """Demo logins for every role, bound to fitting people of the synced store; idempotent.

    The guardian has two children in the school, both with consent in force for the
    cabinet; the student is the elder of them; the class teacher is the homeroom
    teacher of that student's class. Running it again resets the demo passwords and
    bindings and creates nothing twice. Raises :class:`AccountError` when the store
    holds no such family (sync first).
    """
    store = Store(store_url)
    try:
        with store.write() as connection:
            return _ensure_demo_accounts(connection, school_id, datetime.now(UTC))
    finally:
        store.dispose()


def _ensure_demo_accounts(connection: Connection, school_id: str, now: datetime) -> list[DemoLogin]:
    guardian_id, children = _demo_family(connection, school_id)
    names = people_names(connection, school_id, [guardian_id], kind="guardian")
    student = max(children, key=lambda c: (c.grade, c.source_id))
    teacher_id = homeroom_teacher(connection, school_id, student.class_source_id)
    if teacher_id is None:
        raise AccountError(f"у класса {student.class_name} нет классного руководителя")
    teacher_names = people_names(connection, school_id, [teacher_id], kind="teacher")
    plan: list[tuple[Role, str, list[PersonRef], str]] = [
        (
            Role.GUARDIAN,
            names.get(guardian_id, guardian_id),
            [PersonRef(school_id, "guardian", guardian_id)],
            "родитель двоих детей: " + ", ".join(f"{c.name} ({c.class_name})" for c in children),
        ),
        (
            Role.STUDENT,
            student.name,
            [PersonRef(school_id, "student", student.source_id)],
            f"обучающийся {student.class_name}",
        ),
        (
            Role.CLASS_TEACHER,
            teacher_names.get(teacher_id, teacher_id),
            [PersonRef(school_id, "teacher", teacher_id)],
            f"классный руководитель {student.class_name}",
        ),
        (Role.SECRETARY, "Секретарь (демо)", [], "журнал согласий"),
        (Role.ADMIN, "Администратор (демо)", [], "синхронизация, карантин, приглашения"),
    ]
    logins: list[DemoLogin] = []
    for role, display_name, people, description in plan:
        login, password = DEMO_PASSWORDS[role]
        existing = connection.execute(
            select(accounts.c.id).where(accounts.c.login == login)
        ).first()
        if existing is None:
            create_account(
                connection,
                login=login,
                password=password,
                role=role,
                display_name=display_name,
                people=people,
                now=now,
            )
        else:
            connection.execute(
                update(accounts)
                .where(accounts.c.id == existing.id)
                .values(
                    role=role.value,
                    display_name=display_name,
                    password_hash=hash_password(password),
                    disabled_at=None,
                )
            )
            _bind_people(connection, existing.id, people)
        logins.append(DemoLogin(role, login, password, description))
    return logins


def _demo_family(connection: Connection, school_id: str) -> tuple[str, list[_Child]]:
    """The first guardian (by id) with exactly two living children, both open to the
    cabinet; failing that, with two or more."""
    by_guardian = children_of_guardians(connection, school_id)
    fallback: tuple[str, list[_Child]] | None = None
    for guardian_id in sorted(by_guardian):
        children = by_guardian[guardian_id]
        if len(children) < 2:
            continue
        states = consent_states(
            connection, school_id, [c.source_id for c in children], guardian_ids=[guardian_id]
        )
        if not all(states.get((guardian_id, c.source_id)) for c in children):
            continue
        if not all(states[(guardian_id, c.source_id)].allows() for c in children):
            continue
        # A child of the first grade has no marks: prefer families whose children have.
        if any(c.grade < 2 for c in children):
            continue
        chosen = [
            _Child(c.source_id, c.name, c.class_source_id, c.class_name, c.grade) for c in children
        ]
        if len(children) == 2:
            return guardian_id, chosen
        fallback = fallback or (guardian_id, chosen)
    if fallback is None:
        raise AccountError(
            f"в школе {school_id} нет семьи с двумя детьми и согласием: сначала синхронизация"
        )
    return fallback


@dataclass(frozen=True, slots=True)
class _Child:
    source_id: str
    name: str
    class_source_id: str
    class_name: str
    grade: int
