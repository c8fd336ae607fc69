"""The store's tables: the public interface that downstream tools query (docs/store.md).

One table per KROS entity, named in plural snake case (SPEC.md, "The normalized
store"), a link table wherever a KROS record holds a list of ids or of small objects,
and the product's own tables (sync runs, checkpoints, leases, quarantine, raw payloads,
the change counter).

Design choices that every reader and writer relies on:

- Every entity table has a surrogate ``id``, ``school_id`` and ``source_id`` (unique
  together), ``source_updated_at``, ``deleted_at`` (NULL while alive; rows are never
  removed by a sync) and ``change_version`` (store-wide, strictly increasing, assigned
  in commit order through the one row of ``change_counter``).
- References between entities are kept as KROS ids (``student_source_id`` …), never as
  foreign keys: KROS delivers collections in any order and may delete a record that
  others still name, and neither may ever make a write fail.
- Link rows belong to their parent row: a writer replaces all of a parent's link rows
  whenever it writes the parent. They carry no version of their own; the parent's
  ``change_version`` says that they changed.
- Lists of scalars that nobody queries by element (``holidays.grades``,
  ``curriculum.by_type``) are JSON columns; lists that the cabinet joins on are link
  tables.

This module is the model: the migrations under ``schemas/migrations`` must create
exactly these tables, which a test checks on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from schemas.types import UTCDateTime, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so that both databases (and later migrations) agree."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)

META_COLUMNS: tuple[str, ...] = (
    "id",
    "school_id",
    "source_id",
    "source_updated_at",
    "deleted_at",
    "change_version",
)
"""The columns every entity table starts with."""


# --------------------------------------------------------------------------- helpers


def _entity(
    name: str, *columns: Column[object], indexes: tuple[tuple[str, ...], ...] = ()
) -> Table:
    """An entity table: the common columns, the entity's own, and its read indexes."""
    table = Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("school_id", String, nullable=False),
        Column("source_id", String, nullable=False),
        Column("source_updated_at", UTCDateTime, nullable=False),
        Column("deleted_at", UTCDateTime, nullable=True),
        Column("change_version", BigInteger, nullable=False, index=True),
        *columns,
        UniqueConstraint("school_id", "source_id"),
    )
    for index_columns in indexes:
        Index(_index_name(name, index_columns), *(table.c[c] for c in index_columns))
    return table


def _link(
    name: str,
    parent: str,
    *columns: Column[object],
    key: tuple[str, ...],
    indexes: tuple[tuple[str, ...], ...] = (),
) -> Table:
    """A link table: ``school_id``, the parent's KROS id, then the list item's columns."""
    table = Table(
        name,
        metadata,
        Column("school_id", String, nullable=False),
        Column(parent, String, nullable=False),
        *columns,
        PrimaryKeyConstraint("school_id", parent, *key),
    )
    for index_columns in indexes:
        Index(_index_name(name, index_columns), *(table.c[c] for c in index_columns))
    return table


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    # "school_id" leads every read index; leaving it out keeps names under PostgreSQL's 63.
    shown = [c.removesuffix("_source_id") for c in columns if c != "school_id"]
    return f"ix_{table}_by_{'_'.join(shown)}"


def _ref(name: str, *, nullable: bool = False) -> Column[object]:
    """A reference to another entity, as its KROS id."""
    return Column(name, String, nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, Text, nullable=nullable)


def _code(name: str, *, nullable: bool = False) -> Column[object]:
    """A value of a closed vocabulary (``mappings/dictionaries/kinds.toml``)."""
    return Column(name, String, nullable=nullable)


def _date(name: str, *, nullable: bool = False) -> Column[object]:
    """A local calendar date."""
    return Column(name, Date, nullable=nullable)


def _instant(name: str, *, nullable: bool = False) -> Column[object]:
    """An instant, UTC."""
    return Column(name, UTCDateTime, nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, Integer, nullable=nullable)


def _mark_value(prefix: str, *, nullable: bool) -> tuple[Column[object], ...]:
    """The four columns of a mark value (``mappings.codes.MarkValue``)."""
    return (
        Column(f"{prefix}_number", Integer, nullable=True),
        Column(f"{prefix}_sign", String, nullable=True),
        Column(f"{prefix}_kind", String, nullable=nullable),
        Column(f"{prefix}_text", Text, nullable=nullable),
    )


def _person() -> tuple[Column[object], ...]:
    return (_text("last_name"), _text("first_name"), _text("middle_name", nullable=True))


def _basis(prefix: str) -> tuple[Column[object], ...]:
    """A basis for personal data (CONTRACT.md §6): a paper application or an e-signed one."""
    return (
        _code(f"{prefix}_kind"),
        _text(f"{prefix}_document_no"),
        _date(f"{prefix}_document_date"),
        _text(f"{prefix}_registered_by", nullable=True),
        _text(f"{prefix}_signer", nullable=True),
        _text(f"{prefix}_signature", nullable=True),
    )


# --------------------------------------------------------------------------- entities

schools = _entity(
    "schools",
    _text("name"),
    _text("short_name"),
    Column("inn", String, nullable=False),
    _text("address"),
    Column("timezone", String, nullable=False),
)

academic_years = _entity(
    "academic_years",
    _text("title"),
    _date("starts_on"),
    _date("ends_on"),
)

periods = _entity(
    "periods",
    _ref("year_source_id"),
    _code("kind"),
    _int("number"),
    _text("title"),
    _date("starts_on"),
    _date("ends_on"),
    indexes=(("school_id", "year_source_id"),),
)

holidays = _entity(
    "holidays",
    _ref("year_source_id"),
    _text("title"),
    _code("kind"),
    _date("starts_on"),
    _date("ends_on"),
    Column("grades", json_type(), nullable=True),
    indexes=(("school_id", "starts_on"),),
)

subjects = _entity(
    "subjects",
    _text("name"),
    _text("short_name", nullable=True),
    _code("level"),
)

teachers = _entity(
    "teachers",
    *_person(),
    _text("position", nullable=True),
)

classes = _entity(
    "classes",
    _ref("year_source_id"),
    _text("name"),
    _int("grade"),
    _text("letter"),
    _code("level"),
    _ref("homeroom_teacher_source_id", nullable=True),
    indexes=(("school_id", "year_source_id"),),
)

groups = _entity(
    "groups",
    _ref("year_source_id"),
    _text("name"),
    _code("kind"),
    _ref("subject_source_id"),
    indexes=(("school_id", "year_source_id"),),
)

students = _entity(
    "students",
    *_person(),
    _date("birth_date"),
    _ref("class_source_id"),
    Column("individual_plan", Boolean, nullable=False),
    _code("status"),
    _date("enrolled_on"),
    _date("left_on", nullable=True),
    indexes=(("school_id", "class_source_id"),),
)

guardians = _entity(
    "guardians",
    *_person(),
    _code("relation"),
)

curriculum = _entity(
    "curriculum",
    _ref("year_source_id"),
    _ref("class_source_id", nullable=True),
    _ref("group_source_id", nullable=True),
    _ref("subject_source_id"),
    _ref("period_source_id"),
    _int("planned_lessons"),
    Column("by_type", json_type(), nullable=False),
    indexes=(("school_id", "class_source_id"), ("school_id", "group_source_id")),
)

lessons = _entity(
    "lessons",
    _date("date"),
    _int("slot"),
    _instant("starts_at"),
    _instant("ends_at"),
    _ref("class_source_id", nullable=True),
    _ref("group_source_id", nullable=True),
    _ref("subject_source_id"),
    _ref("teacher_source_id"),
    _text("room", nullable=True),
    _text("topic", nullable=True),
    _code("lesson_type"),
    _code("status"),
    _ref("period_source_id"),
    indexes=(
        ("school_id", "class_source_id", "date"),
        ("school_id", "group_source_id", "date"),
        ("school_id", "teacher_source_id", "date"),
    ),
)

lesson_changes = _entity(
    "lesson_changes",
    _ref("lesson_source_id"),
    _code("kind"),
    _ref("teacher_source_id", nullable=True),
    _date("new_date", nullable=True),
    _int("new_slot", nullable=True),
    _text("new_room", nullable=True),
    _text("reason", nullable=True),
    _instant("announced_at"),
    indexes=(("school_id", "lesson_source_id"),),
)

control_works = _entity(
    "control_works",
    _date("date"),
    _ref("class_source_id", nullable=True),
    _ref("group_source_id", nullable=True),
    _ref("subject_source_id"),
    _code("kind"),
    _text("title"),
    indexes=(("school_id", "class_source_id", "date"), ("school_id", "group_source_id", "date")),
)

homework = _entity(
    "homework",
    _ref("lesson_source_id"),
    _ref("subject_source_id"),
    _ref("class_source_id", nullable=True),
    _ref("group_source_id", nullable=True),
    _date("assigned_on"),
    _date("due_on"),
    _text("text"),
    indexes=(
        ("school_id", "class_source_id", "due_on"),
        ("school_id", "group_source_id", "due_on"),
        ("school_id", "lesson_source_id"),
    ),
)

marks = _entity(
    "marks",
    _ref("student_source_id"),
    _ref("lesson_source_id", nullable=True),
    _ref("subject_source_id"),
    _ref("teacher_source_id"),
    _date("date"),
    *_mark_value("value", nullable=False),
    _int("weight"),
    _code("work_kind"),
    _text("comment", nullable=True),
    indexes=(("school_id", "student_source_id", "date"), ("school_id", "lesson_source_id")),
)

attendance = _entity(
    "attendance",
    _ref("student_source_id"),
    _ref("lesson_source_id"),
    _date("date"),
    _code("meaning"),
    _text("code_text"),
    _text("comment", nullable=True),
    indexes=(("school_id", "student_source_id", "date"), ("school_id", "lesson_source_id")),
)

recommendations = _entity(
    "recommendations",
    _ref("student_source_id"),
    _ref("subject_source_id", nullable=True),
    _ref("teacher_source_id"),
    _date("date"),
    _text("text"),
    indexes=(("school_id", "student_source_id", "date"),),
)

final_grades = _entity(
    "final_grades",
    _ref("period_source_id"),
    _ref("class_source_id"),
    _text("class_name", nullable=True),
    _ref("student_source_id"),
    _ref("subject_source_id"),
    _code("kind"),
    *_mark_value("value", nullable=True),
    _date("set_on", nullable=True),
    _ref("teacher_source_id"),
    Column("deferred", Boolean, nullable=False),
    _text("defer_reason", nullable=True),
    _date("deferred_until", nullable=True),
    indexes=(
        ("school_id", "student_source_id", "period_source_id"),
        ("school_id", "class_source_id", "period_source_id"),
    ),
)

exam_results = _entity(
    "exam_results",
    _ref("year_source_id"),
    _ref("student_source_id"),
    _ref("subject_source_id"),
    _text("exam"),
    _date("held_on"),
    _int("score"),
    _int("max_score"),
    *_mark_value("value", nullable=True),
    _instant("result_at"),
    indexes=(("school_id", "student_source_id"),),
)

consents = _entity(
    "consents",
    _ref("guardian_source_id"),
    _ref("student_source_id"),
    _code("decision"),
    _instant("decided_at"),
    *_basis("basis"),
    indexes=(
        ("school_id", "guardian_source_id", "student_source_id"),
        ("school_id", "student_source_id"),
    ),
)

ENTITY_TABLES: tuple[Table, ...] = (
    schools,
    academic_years,
    periods,
    holidays,
    subjects,
    teachers,
    classes,
    groups,
    students,
    guardians,
    curriculum,
    lessons,
    lesson_changes,
    control_works,
    homework,
    marks,
    attendance,
    recommendations,
    final_grades,
    exam_results,
    consents,
)
"""The entity tables, in the order of SPEC.md."""


# --------------------------------------------------------------------------- link tables

teacher_subjects = _link(
    "teacher_subjects",
    "teacher_source_id",
    _ref("subject_source_id"),
    key=("subject_source_id",),
    indexes=(("school_id", "subject_source_id"),),
)

group_classes = _link(
    "group_classes",
    "group_source_id",
    _ref("class_source_id"),
    key=("class_source_id",),
    indexes=(("school_id", "class_source_id"),),
)

group_students = _link(
    "group_students",
    "group_source_id",
    _ref("student_source_id"),
    key=("student_source_id",),
    indexes=(("school_id", "student_source_id"),),
)

group_teachers = _link(
    "group_teachers",
    "group_source_id",
    _ref("teacher_source_id"),
    key=("teacher_source_id",),
    indexes=(("school_id", "teacher_source_id"),),
)

guardian_students = _link(
    "guardian_students",
    "guardian_source_id",
    _ref("student_source_id"),
    key=("student_source_id",),
    indexes=(("school_id", "student_source_id"),),
)

guardian_contacts = _link(
    "guardian_contacts",
    "guardian_source_id",
    _int("position"),
    _code("kind"),
    _text("value"),
    *_basis("basis"),
    key=("position",),
)

homework_attachments = _link(
    "homework_attachments",
    "homework_source_id",
    _int("position"),
    _text("name"),
    _text("url"),
    key=("position",),
)

consent_channels = _link(
    "consent_channels",
    "consent_source_id",
    _code("channel"),
    key=("channel",),
)

LINK_TABLES: dict[str, tuple[Table, str]] = {
    "teacher_subjects": (teachers, "teacher_source_id"),
    "group_classes": (groups, "group_source_id"),
    "group_students": (groups, "group_source_id"),
    "group_teachers": (groups, "group_source_id"),
    "guardian_students": (guardians, "guardian_source_id"),
    "guardian_contacts": (guardians, "guardian_source_id"),
    "homework_attachments": (homework, "homework_source_id"),
    "consent_channels": (consents, "consent_source_id"),
}
"""Each link table's parent entity table and the column holding the parent's KROS id."""


# --------------------------------------------------------------------------- product tables

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String, nullable=False),
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_written", Integer, nullable=False, default=0),
    Column("records_tombstoned", Integer, nullable=False, default=0),
    Column("records_quarantined", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Index("ix_sync_runs_by_stream_started_at", "school_id", "stream", "started_at"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("watermark", UTCDateTime, nullable=True),
    Column("position_updated_at", UTCDateTime, nullable=True),
    Column("position_source_id", String, nullable=True),
    Column("etag", String, nullable=True),
    Column("listing_started_at", UTCDateTime, nullable=True),
    Column("listing_full", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("school_id", "stream"),
)

reconcile_seen = Table(
    "reconcile_seen",
    metadata,
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("source_id", String, nullable=False),
    PrimaryKeyConstraint("school_id", "stream", "source_id"),
)
"""The ids a full listing in progress has seen: after it completes, stored rows that are
not among them are marked deleted (CONTRACT.md §3). Kept in the store, not in memory,
so a full listing interrupted by a crash still reconciles correctly when it resumes."""

leases = Table(
    "leases",
    metadata,
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("holder", String, nullable=False),
    Column("run_id", Integer, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("school_id", "stream"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("source_id", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", json_type(), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("resolved_at", UTCDateTime, nullable=True),
    UniqueConstraint("school_id", "stream", "source_id"),
    Index("ix_quarantine_by_stream_resolved_at", "school_id", "stream", "resolved_at"),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("school_id", String, nullable=False),
    Column("stream", String, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_type", String, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_raw_payloads_by_stream_fetched_at", "school_id", "stream", "fetched_at"),
    Index("ix_raw_payloads_by_expires_at", "expires_at"),
)

change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_version", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
"""One row (``id = 1``), created by the first migration with ``last_version = 0``.

A writing transaction takes its versions with ``UPDATE change_counter SET last_version
= last_version + :n WHERE id = 1 RETURNING last_version``. The row lock is held until
commit, so writers commit in version order (SPEC.md: assigned in commit order)."""

PRODUCT_TABLES: tuple[Table, ...] = (
    sync_runs,
    checkpoints,
    reconcile_seen,
    leases,
    quarantine,
    raw_payloads,
    change_counter,
)


# --------------------------------------------------------------------------- cabinet accounts
#
# The cabinet's own tables (migration 0002, docs/cabinet.md): who may log in, to whose
# journal, and the state of their logins. They belong to the product, not to KROS, so
# they have none of the entity columns and never enter the change feed.

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String, nullable=False, unique=True),  # stored lower-cased
    Column("password_hash", Text, nullable=False),  # Argon2id, with its parameters
    Column("role", String, nullable=False),  # guardian, student, class_teacher, secretary, admin
    Column("display_name", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

account_people = Table(
    "account_people",
    metadata,
    Column("account_id", Integer, nullable=False),
    Column("school_id", String, nullable=False),
    Column("kind", String, nullable=False),  # guardian, student or teacher
    Column("source_id", String, nullable=False),
    PrimaryKeyConstraint("account_id", "school_id", "kind", "source_id"),
    Index("ix_account_people_by_person", "school_id", "kind", "source_id"),
)
"""The KROS people an account speaks for: a guardian with children in two schools is
two rows (one guardian record per school), a teacher is one."""

invitations = Table(
    "invitations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code_hash", String, nullable=False, unique=True),  # SHA-256 of the code
    Column("role", String, nullable=False),
    Column("login", String, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("people", json_type(), nullable=False),  # [[school_id, kind, source_id], …]
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("redeemed_at", UTCDateTime, nullable=True),
    Column("account_id", Integer, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String, primary_key=True),  # SHA-256 of the cookie's token
    Column("account_id", Integer, nullable=False),
    Column("csrf_token", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sessions_by_account", "account_id"),
    Index("ix_sessions_by_expires_at", "expires_at"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String, nullable=False),  # as typed, lower-cased
    Column("address", String, nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_login_attempts_by_login", "login", "attempted_at"),
    Index("ix_login_attempts_by_address", "address", "attempted_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False, unique=True),
    Column("token_hash", String, nullable=False, unique=True),  # SHA-256 of the token
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)
"""Service accounts of the read API (``/api/v1``): a bearer token each, kept hashed."""

ACCOUNT_TABLES: tuple[Table, ...] = (
    accounts,
    account_people,
    invitations,
    sessions,
    login_attempts,
    api_tokens,
)
