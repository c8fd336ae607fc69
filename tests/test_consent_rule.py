"""The consent-in-force rule of SPEC.md, on SQLite and PostgreSQL (publish/consent.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, text

from publish.consent import cabinet_allowed, consent_state, consent_states
from schemas.tables import consent_channels, consents, guardian_students, guardians
from sync.store import Store

SCHOOL = "sch-1"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def connection(store_url: str) -> Iterator[Connection]:
    store = Store(store_url)
    store.upgrade()
    try:
        with store.write() as opened:
            yield opened
            opened.rollback()
    finally:
        store.dispose()


def add_guardian(
    connection: Connection, guardian: str, *children: str, deleted: bool = False
) -> None:
    connection.execute(
        insert(guardians).values(
            school_id=SCHOOL,
            source_id=guardian,
            source_updated_at=T0,
            deleted_at=T0 if deleted else None,
            change_version=1,
            last_name="Иванова",
            first_name="Мария",
            middle_name=None,
            relation="mother",
        )
    )
    for child in children:
        connection.execute(
            insert(guardian_students).values(
                school_id=SCHOOL, guardian_source_id=guardian, student_source_id=child
            )
        )


def add_consent(
    connection: Connection,
    consent_id: str,
    decision: str,
    *,
    decided: datetime = T0,
    updated: datetime | None = None,
    channels: tuple[str, ...] = ("cabinet",),
    deleted: bool = False,
    guardian: str = "g-1",
    student: str = "st-1",
) -> None:
    connection.execute(
        insert(consents).values(
            school_id=SCHOOL,
            source_id=consent_id,
            source_updated_at=updated or decided,
            deleted_at=decided if deleted else None,
            change_version=1,
            guardian_source_id=guardian,
            student_source_id=student,
            decision=decision,
            decided_at=decided,
            basis_kind="paper",
            basis_document_no="1/2026",
            basis_document_date=date(2026, 9, 1),
            basis_registered_by="Секретарь",
            basis_signer=None,
            basis_signature=None,
        )
    )
    for channel in channels:
        connection.execute(
            insert(consent_channels).values(
                school_id=SCHOOL, consent_source_id=consent_id, channel=channel
            )
        )


def test_a_given_consent_listing_the_cabinet_is_in_force(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-1", "given", channels=("cabinet", "email"))

    state = consent_state(connection, SCHOOL, "g-1", "st-1")
    assert state.in_force and state.allows("cabinet") and state.allows("email")
    assert not state.allows("sms")
    assert cabinet_allowed(connection, SCHOOL, "g-1", "st-1")


def test_without_any_consent_record_the_cabinet_is_closed(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")

    state = consent_state(connection, SCHOOL, "g-1", "st-1")
    assert state.linked and not state.in_force and state.reason == "no_consent"


def test_without_a_kros_link_a_given_consent_opens_nothing(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-other")
    add_consent(connection, "cn-1", "given")

    state = consent_state(connection, SCHOOL, "g-1", "st-1")
    assert not state.linked and not state.in_force and state.reason == "not_linked"


def test_a_deleted_guardian_is_not_linked_any_more(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1", deleted=True)
    add_consent(connection, "cn-1", "given")

    assert not cabinet_allowed(connection, SCHOOL, "g-1", "st-1")


@pytest.mark.parametrize("later", ["refused", "revoked"])
def test_a_later_refusal_or_revocation_closes_the_cabinet(
    connection: Connection, later: str
) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-1", "given")
    add_consent(connection, "cn-2", later, decided=T0 + timedelta(days=3), channels=("paper",))

    state = consent_state(connection, SCHOOL, "g-1", "st-1")
    assert state.decision == later and state.reason == later and not state.allows()


def test_a_new_consent_after_a_revocation_opens_it_again(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-1", "given")
    add_consent(connection, "cn-2", "revoked", decided=T0 + timedelta(days=1), channels=())
    add_consent(connection, "cn-3", "given", decided=T0 + timedelta(days=2))

    assert consent_state(connection, SCHOOL, "g-1", "st-1").consent_source_id == "cn-3"
    assert cabinet_allowed(connection, SCHOOL, "g-1", "st-1")


def test_a_deleted_newest_record_does_not_decide(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-1", "given")
    add_consent(connection, "cn-2", "revoked", decided=T0 + timedelta(days=1), deleted=True)

    assert cabinet_allowed(connection, SCHOOL, "g-1", "st-1")


def test_a_tie_on_decided_at_goes_to_the_later_update(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-9", "given", updated=T0 + timedelta(hours=2))
    add_consent(connection, "cn-1", "refused", updated=T0 + timedelta(hours=1))

    assert consent_state(connection, SCHOOL, "g-1", "st-1").consent_source_id == "cn-9"


def test_a_full_tie_goes_to_the_greater_id_byte_by_byte(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1")
    # Byte order puts "cn-b" (0x62) above "cn-B" (0x42); a case-folding collation would not.
    add_consent(connection, "cn-B", "given")
    add_consent(connection, "cn-b", "refused")

    assert consent_state(connection, SCHOOL, "g-1", "st-1").consent_source_id == "cn-b"


def test_given_without_the_cabinet_channel_allows_only_the_listed_channels(
    connection: Connection,
) -> None:
    add_guardian(connection, "g-1", "st-1")
    add_consent(connection, "cn-1", "given", channels=("email", "sms"))

    state = consent_state(connection, SCHOOL, "g-1", "st-1")
    assert state.in_force and not state.allows("cabinet") and state.allows("sms")
    assert state.reason == "channel_not_listed"


def test_states_of_a_class_cover_every_linked_pair(connection: Connection) -> None:
    add_guardian(connection, "g-1", "st-1", "st-2")
    add_guardian(connection, "g-2", "st-2")
    add_consent(connection, "cn-1", "given", student="st-1")
    add_consent(connection, "cn-2", "refused", guardian="g-2", student="st-2", channels=("paper",))

    states = consent_states(connection, SCHOOL, ["st-1", "st-2"])
    assert {pair: s.reason for pair, s in states.items()} == {
        ("g-1", "st-1"): "ok",
        ("g-1", "st-2"): "no_consent",
        ("g-2", "st-2"): "refused",
    }


# The rule as docs/store.md writes it in SQL, for the property test below (SQLite only:
# its default collation is binary, which the docs' COLLATE "C" asks for on PostgreSQL).
_DOCS_SQL = text(
    """
    SELECT c.source_id, c.decision FROM consents c
    WHERE c.school_id = :school AND c.guardian_source_id = :guardian
      AND c.student_source_id = :student AND c.deleted_at IS NULL
    ORDER BY c.decided_at DESC, c.source_updated_at DESC, c.source_id DESC
    LIMIT 1
    """
)

_records = st.lists(
    st.tuples(
        st.sampled_from(["given", "refused", "revoked"]),
        st.integers(0, 3),  # decided, in days: small ranges make ties likely
        st.integers(0, 2),  # updated, in hours after decided
        st.booleans(),  # deleted
        st.sampled_from(["cn-a", "cn-B", "cn-b", "cn-10", "cn-9", "cn-Ё", "cn-е"]),
    ),
    max_size=6,
    unique_by=lambda record: record[4],
)


@given(records=_records)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_deciding_record_is_the_one_the_documented_sql_picks(
    sqlite_url: str, records: list[tuple[str, int, int, bool, str]]
) -> None:
    store = Store(sqlite_url)
    store.upgrade()
    try:
        with store.write() as connection:
            connection.execute(delete(consent_channels))
            connection.execute(delete(consents))
            connection.execute(delete(guardian_students))
            connection.execute(delete(guardians))
            add_guardian(connection, "g-1", "st-1")
            for decision, days, hours, deleted, consent_id in records:
                decided = T0 + timedelta(days=days)
                add_consent(
                    connection,
                    consent_id,
                    decision,
                    decided=decided,
                    updated=decided + timedelta(hours=hours),
                    deleted=deleted,
                )
            expected = connection.execute(
                _DOCS_SQL, {"school": SCHOOL, "guardian": "g-1", "student": "st-1"}
            ).first()
            state = consent_state(connection, SCHOOL, "g-1", "st-1")
    finally:
        store.dispose()
    assert state.consent_source_id == (expected.source_id if expected else None)
    assert state.in_force == (expected is not None and expected.decision == "given")
