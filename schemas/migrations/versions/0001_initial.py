"""The initial store: entity tables, link tables and the product's own tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-04

Frozen: this file spells out every column instead of importing ``schemas.tables``, so
that later changes to the model need a new revision and never rewrite this one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    # PostgreSQL's json has no equality operator (an upsert compares values): jsonb there.
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "academic_years",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_academic_years")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_academic_years_school_id_source_id")
        ),
    )
    op.create_index(
        op.f("ix_academic_years_change_version"), "academic_years", ["change_version"], unique=False
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("lesson_source_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("meaning", sa.String(), nullable=False),
        sa.Column("code_text", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_attendance_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_attendance_by_lesson", "attendance", ["school_id", "lesson_source_id"], unique=False
    )
    op.create_index(
        "ix_attendance_by_student_date",
        "attendance",
        ["school_id", "student_source_id", "date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_attendance_change_version"), "attendance", ["change_version"], unique=False
    )
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_counter_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counter")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position_source_id", sa.String(), nullable=True),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("listing_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listing_full", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "stream", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "reconcile_seen",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "stream", "source_id", name=op.f("pk_reconcile_seen")),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("letter", sa.Text(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("homeroom_teacher_source_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_classes_school_id_source_id")),
    )
    op.create_index("ix_classes_by_year", "classes", ["school_id", "year_source_id"], unique=False)
    op.create_index(op.f("ix_classes_change_version"), "classes", ["change_version"], unique=False)
    op.create_table(
        "consent_channels",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("consent_source_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "consent_source_id", "channel", name=op.f("pk_consent_channels")
        ),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("guardian_source_id", sa.String(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("basis_kind", sa.String(), nullable=False),
        sa.Column("basis_document_no", sa.Text(), nullable=False),
        sa.Column("basis_document_date", sa.Date(), nullable=False),
        sa.Column("basis_registered_by", sa.Text(), nullable=True),
        sa.Column("basis_signer", sa.Text(), nullable=True),
        sa.Column("basis_signature", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_consents_school_id_source_id")),
    )
    op.create_index(
        "ix_consents_by_guardian_student",
        "consents",
        ["school_id", "guardian_source_id", "student_source_id"],
        unique=False,
    )
    op.create_index(
        "ix_consents_by_student", "consents", ["school_id", "student_source_id"], unique=False
    )
    op.create_index(
        op.f("ix_consents_change_version"), "consents", ["change_version"], unique=False
    )
    op.create_table(
        "control_works",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=True),
        sa.Column("group_source_id", sa.String(), nullable=True),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_works")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_control_works_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_control_works_by_class_date",
        "control_works",
        ["school_id", "class_source_id", "date"],
        unique=False,
    )
    op.create_index(
        "ix_control_works_by_group_date",
        "control_works",
        ["school_id", "group_source_id", "date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_control_works_change_version"), "control_works", ["change_version"], unique=False
    )
    op.create_table(
        "curriculum",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=True),
        sa.Column("group_source_id", sa.String(), nullable=True),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("period_source_id", sa.String(), nullable=False),
        sa.Column("planned_lessons", sa.Integer(), nullable=False),
        sa.Column("by_type", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curriculum")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_curriculum_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_curriculum_by_class", "curriculum", ["school_id", "class_source_id"], unique=False
    )
    op.create_index(
        "ix_curriculum_by_group", "curriculum", ["school_id", "group_source_id"], unique=False
    )
    op.create_index(
        op.f("ix_curriculum_change_version"), "curriculum", ["change_version"], unique=False
    )
    op.create_table(
        "exam_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("exam", sa.Text(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("value_number", sa.Integer(), nullable=True),
        sa.Column("value_sign", sa.String(), nullable=True),
        sa.Column("value_kind", sa.String(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("result_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_results")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_exam_results_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_exam_results_by_student",
        "exam_results",
        ["school_id", "student_source_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_exam_results_change_version"), "exam_results", ["change_version"], unique=False
    )
    op.create_table(
        "final_grades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("period_source_id", sa.String(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=False),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("value_number", sa.Integer(), nullable=True),
        sa.Column("value_sign", sa.String(), nullable=True),
        sa.Column("value_kind", sa.String(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("set_on", sa.Date(), nullable=True),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.Column("deferred", sa.Boolean(), nullable=False),
        sa.Column("defer_reason", sa.Text(), nullable=True),
        sa.Column("deferred_until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_final_grades")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_final_grades_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_final_grades_by_class_period",
        "final_grades",
        ["school_id", "class_source_id", "period_source_id"],
        unique=False,
    )
    op.create_index(
        "ix_final_grades_by_student_period",
        "final_grades",
        ["school_id", "student_source_id", "period_source_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_final_grades_change_version"), "final_grades", ["change_version"], unique=False
    )
    op.create_table(
        "group_classes",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("group_source_id", sa.String(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "group_source_id", "class_source_id", name=op.f("pk_group_classes")
        ),
    )
    op.create_index(
        "ix_group_classes_by_class", "group_classes", ["school_id", "class_source_id"], unique=False
    )
    op.create_table(
        "group_students",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("group_source_id", sa.String(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "group_source_id", "student_source_id", name=op.f("pk_group_students")
        ),
    )
    op.create_index(
        "ix_group_students_by_student",
        "group_students",
        ["school_id", "student_source_id"],
        unique=False,
    )
    op.create_table(
        "group_teachers",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("group_source_id", sa.String(), nullable=False),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "group_source_id", "teacher_source_id", name=op.f("pk_group_teachers")
        ),
    )
    op.create_index(
        "ix_group_teachers_by_teacher",
        "group_teachers",
        ["school_id", "teacher_source_id"],
        unique=False,
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_groups_school_id_source_id")),
    )
    op.create_index("ix_groups_by_year", "groups", ["school_id", "year_source_id"], unique=False)
    op.create_index(op.f("ix_groups_change_version"), "groups", ["change_version"], unique=False)
    op.create_table(
        "guardian_contacts",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("guardian_source_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("basis_kind", sa.String(), nullable=False),
        sa.Column("basis_document_no", sa.Text(), nullable=False),
        sa.Column("basis_document_date", sa.Date(), nullable=False),
        sa.Column("basis_registered_by", sa.Text(), nullable=True),
        sa.Column("basis_signer", sa.Text(), nullable=True),
        sa.Column("basis_signature", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "school_id", "guardian_source_id", "position", name=op.f("pk_guardian_contacts")
        ),
    )
    op.create_table(
        "guardian_students",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("guardian_source_id", sa.String(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id",
            "guardian_source_id",
            "student_source_id",
            name=op.f("pk_guardian_students"),
        ),
    )
    op.create_index(
        "ix_guardian_students_by_student",
        "guardian_students",
        ["school_id", "student_source_id"],
        unique=False,
    )
    op.create_table(
        "guardians",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("middle_name", sa.Text(), nullable=True),
        sa.Column("relation", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_guardians_school_id_source_id")
        ),
    )
    op.create_index(
        op.f("ix_guardians_change_version"), "guardians", ["change_version"], unique=False
    )
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("grades", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holidays")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_holidays_school_id_source_id")),
    )
    op.create_index(
        "ix_holidays_by_starts_on", "holidays", ["school_id", "starts_on"], unique=False
    )
    op.create_index(
        op.f("ix_holidays_change_version"), "holidays", ["change_version"], unique=False
    )
    op.create_table(
        "homework",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("lesson_source_id", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=True),
        sa.Column("group_source_id", sa.String(), nullable=True),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_homework")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_homework_school_id_source_id")),
    )
    op.create_index(
        "ix_homework_by_class_due_on",
        "homework",
        ["school_id", "class_source_id", "due_on"],
        unique=False,
    )
    op.create_index(
        "ix_homework_by_group_due_on",
        "homework",
        ["school_id", "group_source_id", "due_on"],
        unique=False,
    )
    op.create_index(
        "ix_homework_by_lesson", "homework", ["school_id", "lesson_source_id"], unique=False
    )
    op.create_index(
        op.f("ix_homework_change_version"), "homework", ["change_version"], unique=False
    )
    op.create_table(
        "homework_attachments",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("homework_source_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "homework_source_id", "position", name=op.f("pk_homework_attachments")
        ),
    )
    op.create_table(
        "leases",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "stream", name=op.f("pk_leases")),
    )
    op.create_table(
        "lesson_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("lesson_source_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("teacher_source_id", sa.String(), nullable=True),
        sa.Column("new_date", sa.Date(), nullable=True),
        sa.Column("new_slot", sa.Integer(), nullable=True),
        sa.Column("new_room", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_changes")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_lesson_changes_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_lesson_changes_by_lesson",
        "lesson_changes",
        ["school_id", "lesson_source_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_lesson_changes_change_version"), "lesson_changes", ["change_version"], unique=False
    )
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=True),
        sa.Column("group_source_id", sa.String(), nullable=True),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.Column("room", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("lesson_type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("period_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_lessons_school_id_source_id")),
    )
    op.create_index(
        "ix_lessons_by_class_date",
        "lessons",
        ["school_id", "class_source_id", "date"],
        unique=False,
    )
    op.create_index(
        "ix_lessons_by_group_date",
        "lessons",
        ["school_id", "group_source_id", "date"],
        unique=False,
    )
    op.create_index(
        "ix_lessons_by_teacher_date",
        "lessons",
        ["school_id", "teacher_source_id", "date"],
        unique=False,
    )
    op.create_index(op.f("ix_lessons_change_version"), "lessons", ["change_version"], unique=False)
    op.create_table(
        "marks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("lesson_source_id", sa.String(), nullable=True),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("value_number", sa.Integer(), nullable=True),
        sa.Column("value_sign", sa.String(), nullable=True),
        sa.Column("value_kind", sa.String(), nullable=False),
        sa.Column("value_text", sa.Text(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("work_kind", sa.String(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marks")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_marks_school_id_source_id")),
    )
    op.create_index("ix_marks_by_lesson", "marks", ["school_id", "lesson_source_id"], unique=False)
    op.create_index(
        "ix_marks_by_student_date",
        "marks",
        ["school_id", "student_source_id", "date"],
        unique=False,
    )
    op.create_index(op.f("ix_marks_change_version"), "marks", ["change_version"], unique=False)
    op.create_table(
        "periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("year_source_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_periods")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_periods_school_id_source_id")),
    )
    op.create_index("ix_periods_by_year", "periods", ["school_id", "year_source_id"], unique=False)
    op.create_index(op.f("ix_periods_change_version"), "periods", ["change_version"], unique=False)
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "school_id",
            "stream",
            "source_id",
            name=op.f("uq_quarantine_school_id_stream_source_id"),
        ),
    )
    op.create_index(
        "ix_quarantine_by_stream_resolved_at",
        "quarantine",
        ["school_id", "stream", "resolved_at"],
        unique=False,
    )
    op.create_table(
        "raw_payloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_payloads")),
    )
    op.create_index("ix_raw_payloads_by_expires_at", "raw_payloads", ["expires_at"], unique=False)
    op.create_index(
        "ix_raw_payloads_by_stream_fetched_at",
        "raw_payloads",
        ["school_id", "stream", "fetched_at"],
        unique=False,
    )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("student_source_id", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=True),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
        sa.UniqueConstraint(
            "school_id", "source_id", name=op.f("uq_recommendations_school_id_source_id")
        ),
    )
    op.create_index(
        "ix_recommendations_by_student_date",
        "recommendations",
        ["school_id", "student_source_id", "date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_recommendations_change_version"),
        "recommendations",
        ["change_version"],
        unique=False,
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("inn", sa.String(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_schools_school_id_source_id")),
    )
    op.create_index(op.f("ix_schools_change_version"), "schools", ["change_version"], unique=False)
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("middle_name", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("class_source_id", sa.String(), nullable=False),
        sa.Column("individual_plan", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_students")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_students_school_id_source_id")),
    )
    op.create_index(
        "ix_students_by_class", "students", ["school_id", "class_source_id"], unique=False
    )
    op.create_index(
        op.f("ix_students_change_version"), "students", ["change_version"], unique=False
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("level", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_subjects_school_id_source_id")),
    )
    op.create_index(
        op.f("ix_subjects_change_version"), "subjects", ["change_version"], unique=False
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_written", sa.Integer(), nullable=False),
        sa.Column("records_tombstoned", sa.Integer(), nullable=False),
        sa.Column("records_quarantined", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        "ix_sync_runs_by_stream_started_at",
        "sync_runs",
        ["school_id", "stream", "started_at"],
        unique=False,
    )
    op.create_table(
        "teacher_subjects",
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("teacher_source_id", sa.String(), nullable=False),
        sa.Column("subject_source_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_id", "teacher_source_id", "subject_source_id", name=op.f("pk_teacher_subjects")
        ),
    )
    op.create_index(
        "ix_teacher_subjects_by_subject",
        "teacher_subjects",
        ["school_id", "subject_source_id"],
        unique=False,
    )
    op.create_table(
        "teachers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("source_id", sa.String(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("middle_name", sa.Text(), nullable=True),
        sa.Column("position", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teachers")),
        sa.UniqueConstraint("school_id", "source_id", name=op.f("uq_teachers_school_id_source_id")),
    )
    op.create_index(
        op.f("ix_teachers_change_version"), "teachers", ["change_version"], unique=False
    )

    # The change counter's single row: versions start after 0.
    counter = sa.table(
        "change_counter", sa.column("id", sa.Integer), sa.column("last_version", sa.BigInteger)
    )
    op.bulk_insert(counter, [{"id": 1, "last_version": 0}])


TABLES = (
    "academic_years",
    "attendance",
    "change_counter",
    "checkpoints",
    "reconcile_seen",
    "classes",
    "consent_channels",
    "consents",
    "control_works",
    "curriculum",
    "exam_results",
    "final_grades",
    "group_classes",
    "group_students",
    "group_teachers",
    "groups",
    "guardian_contacts",
    "guardian_students",
    "guardians",
    "holidays",
    "homework",
    "homework_attachments",
    "leases",
    "lesson_changes",
    "lessons",
    "marks",
    "periods",
    "quarantine",
    "raw_payloads",
    "recommendations",
    "schools",
    "students",
    "subjects",
    "sync_runs",
    "teacher_subjects",
    "teachers",
)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
