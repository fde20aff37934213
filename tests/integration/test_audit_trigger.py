"""On PostgreSQL the database refuses to change or remove an audit event, whichever way
it is asked; the migration that installs the refusal also takes it away again."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor, record
from tests.conftest import run_safestats

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
    ),
]


@pytest.fixture
def event() -> AuditEvent:
    record("thing.created", actor=Actor.system(), payload={"n": 1})
    return record("thing.created", actor=Actor.system(), payload={"n": 2})


def refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(info.value)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor_label = 'someone else' WHERE seq = 2",
        "UPDATE audit_auditevent SET payload_json = '{}'",
        "DELETE FROM audit_auditevent WHERE seq = 2",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "TRUNCATE audit_auditevent RESTART IDENTITY CASCADE",
    ],
)
def test_raw_sql_cannot_change_or_remove_events(event: AuditEvent, sql: str) -> None:
    assert "audit_auditevent is append-only" in refused(sql)
    assert list(AuditEvent.objects.values_list("seq", "actor_label", "payload_json")) == [
        (1, "operator", '{"n":1}'),
        (2, "operator", '{"n":2}'),
    ]


def test_the_orm_cannot_change_or_remove_events(event: AuditEvent) -> None:
    def save() -> None:
        event.actor_label = "x"
        event.save()

    attempts = {
        "save": save,
        "queryset update": lambda: AuditEvent.objects.filter(seq=2).update(actor_label="x"),
        "instance delete": lambda: event.delete(),
        "queryset delete": lambda: AuditEvent.objects.all().delete(),
    }
    for name, attempt in attempts.items():
        with (
            pytest.raises(DatabaseError, match="audit_auditevent is append-only"),
            transaction.atomic(),
        ):
            attempt()
        assert AuditEvent.objects.count() == 2, name
    assert AuditEvent.objects.get(seq=2).actor_label == "operator"


def test_appending_still_works(event: AuditEvent) -> None:
    assert record("thing.created", actor=Actor.system()).seq == 3


LIST_TRIGGERS = """
from django.db import connection
with connection.cursor() as c:
    c.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
        " AND NOT tgisinternal ORDER BY tgname"
    )
    print(" ".join(name for (name,) in c.fetchall()) or "none")
    c.execute("SELECT count(*) FROM pg_proc WHERE proname = 'audit_auditevent_append_only'")
    print("function", c.fetchone()[0])
"""


def test_the_migration_installs_and_removes_the_triggers(tmp_path, process_database) -> None:
    home = tmp_path / "instance"
    env = {"SAFESTATS_MODE": "test", **process_database}

    def installed() -> str:
        return run_safestats(home, "shell", "--no-imports", "-c", LIST_TRIGGERS, **env).stdout

    run_safestats(home, "migrate", "--no-input", **env)
    assert installed() == (
        "audit_auditevent_no_truncate audit_auditevent_no_update_or_delete\nfunction 1\n"
    )
    run_safestats(home, "migrate", "audit", "0001", "--no-input", **env)
    assert installed() == "none\nfunction 0\n"
    run_safestats(home, "migrate", "audit", "--no-input", **env)
    assert installed() == (
        "audit_auditevent_no_truncate audit_auditevent_no_update_or_delete\nfunction 1\n"
    )


@pytest.mark.django_db(transaction=True)
def test_the_suite_can_still_empty_the_database_after_a_transactional_test() -> None:
    """Django flushes with TRUNCATE after this test; see the conftest fixture."""
    record("thing.created", actor=Actor.system())
    assert AuditEvent.objects.count() == 1
