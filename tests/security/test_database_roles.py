"""The application's database role cannot change, empty or unprotect the access log (ADR 13).

The suite itself connects as a superuser (it creates the test database). These tests create a login
role like the deployment's application role, give it the privileges `manage.py grant_app_role` gives,
connect as it to the test database and try what an attacker holding its password would try.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from cases.models import AccessLog, Contact, Family, Membership
from earlyhelp.dbroles import RoleError, grant_app_role
from oversight import data_protection
from oversight.models import Tombstone
from tests.factories import FamilyFactory, PersonFactory

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))
# Committed rows and real commits: the app role's connection sees only what is committed, and the
# deferred check on access-log deletions runs at commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_role():
    """A login role, unique in the cluster, with exactly the deployment's application privileges."""
    name = f"earlyhelp_app_test_{secrets.token_hex(6)}"
    password = secrets.token_urlsafe(18)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD %s', [password])
    try:
        grant_app_role(name)
        yield name, password
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


def connect_as(role: tuple[str, str]) -> psycopg.Connection:
    """A separate connection to the test database as the role (socket directory or TCP, as the suite's)."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        dbname=db["NAME"],
        user=role[0],
        password=role[1],
        connect_timeout=5,
        autocommit=True,  # each `with conn.transaction()` is a real transaction and commits
    )


@contextlib.contextmanager
def django_connected_as(role: tuple[str, str]):
    """Run the application's own code (ORM, services, views) as the role, then go back to the superuser."""
    db = connection.settings_dict
    saved = db["USER"], db["PASSWORD"]
    connection.close()
    db["USER"], db["PASSWORD"] = role
    try:
        yield
    finally:
        connection.close()
        db["USER"], db["PASSWORD"] = saved


def refused(conn: psycopg.Connection, *statements: str, params=None) -> psycopg.Error:
    """Run the statements in one transaction; return the error that stopped them (and roll back)."""
    try:
        with conn.transaction(), conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, params)
    except psycopg.Error as exc:
        return exc
    raise AssertionError(f"the application's role was allowed: {'; '.join(statements)}")


def old_family(*, hold: bool = False, team=None) -> tuple[Family, object]:
    family = FamilyFactory(legal_hold=hold, team=team)
    child = PersonFactory(date_of_birth=date(1999, 1, 1))
    Membership.objects.create(family=family, person=child, relationship="child")
    contact = Contact.objects.create(
        family=family,
        received_at=datetime(2010, 5, 1, tzinfo=ZoneInfo("Europe/London")),
        route="email",
        source="2A",
        presenting_needs="Old contact",
    )
    Contact.objects.filter(pk=contact.pk).update(state="signposted")
    return family, child


def test_app_role_may_add_to_and_read_the_access_log_and_nothing_more(app_role, users):
    family, child = old_family()
    held, _ = old_family(hold=True)
    _, stranger = old_family()
    row = AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="x", family_id_logged=family.pk)
    with connect_as(app_role) as conn:
        with conn.transaction():
            inserted = conn.execute(
                "INSERT INTO cases_accesslog (at, user_id, action, what, family_id_logged, break_glass_reason)"
                " VALUES (now(), %s, 'view', 'by the app role', %s, '') RETURNING id",
                [users["coach"].pk, family.pk],
            ).fetchone()[0]
        assert conn.execute(
            "SELECT count(*) FROM cases_accesslog WHERE id IN (%s, %s)", [row.pk, inserted]
        ).fetchone() == (2,)

        where = f" WHERE id = {row.pk}"
        attempts = {
            "update": ["UPDATE cases_accesslog SET what = 'changed'" + where],
            "delete": ["DELETE FROM cases_accesslog" + where],
            "truncate": ["TRUNCATE cases_accesslog"],
            "truncate cascade": ["TRUNCATE accounts_user CASCADE"],
            "disable trigger": ["ALTER TABLE cases_accesslog DISABLE TRIGGER cases_accesslog_append_only"],
            "disable all triggers": ["ALTER TABLE cases_accesslog DISABLE TRIGGER ALL"],
            "drop trigger": ["DROP TRIGGER cases_accesslog_append_only ON cases_accesslog"],
            "replace trigger function": [
                "CREATE OR REPLACE FUNCTION cases_accesslog_refuse_change() RETURNS trigger"
                " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
            ],
            "retention switch": ["SET LOCAL earlyhelp.retention = 'on'", "DELETE FROM cases_accesslog" + where],
            "replication role": ["SET LOCAL session_replication_role = replica", "DELETE FROM cases_accesslog" + where],
            "rename": ["ALTER TABLE cases_accesslog RENAME TO cases_accesslog_old"],
            "drop": ["DROP TABLE cases_accesslog"],
            # The definer function only for a family that exists, is not held, and only for its members.
            "retention function, held family": [f"SELECT cases_accesslog_retention_delete({held.pk}, '{{}}')"],
            "retention function, stranger": [
                f"SELECT cases_accesslog_retention_delete({held.pk + 1000000}, '{{}}')",
            ],
            "retention function, not a member": [
                f"SELECT cases_accesslog_retention_delete({family.pk}, ARRAY[{stranger.pk}]::bigint[])"
            ],
            # ...and only when the family goes too (with a tombstone): checked when the transaction commits.
            "retention function, family kept": [f"SELECT cases_accesslog_retention_delete({family.pk}, '{{}}')"],
            "retention function, family kept (checked at once)": [
                "SET CONSTRAINTS ALL IMMEDIATE",
                f"SELECT cases_accesslog_retention_delete({family.pk}, '{{}}')",
            ],
        }
        errors = {name: refused(conn, *statements) for name, statements in attempts.items()}
        assert all(
            isinstance(e, psycopg.errors.InsufficientPrivilege) for n, e in errors.items() if "function" not in n
        )
        assert "legal hold" in str(errors["retention function, held family"])
        assert "does not exist" in str(errors["retention function, stranger"])
        assert "not a member" in str(errors["retention function, not a member"])
        assert "was deleted but its family" in str(errors["retention function, family kept"])
        assert "was deleted but its family" in str(errors["retention function, family kept (checked at once)"])
        assert conn.execute("SELECT what FROM cases_accesslog" + where).fetchone() == ("x",)

        # Ordinary tables: read, write and delete as the application does (the INSERT above used a sequence).
        with conn.transaction():
            conn.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) VALUES ('k' || %s, '', now())",
                [app_role[0]],
            )
            conn.execute("UPDATE cases_family SET name = name || ' (checked)' WHERE id = %s", [family.pk])
            conn.execute("DELETE FROM django_session WHERE session_key = 'k' || %s", [app_role[0]])
    assert AccessLog.objects.filter(pk=row.pk, what="x").exists()
    assert AccessLog.objects.count() == 2


def test_the_application_runs_and_deletes_by_retention_as_the_app_role(app_role, users, team, client):
    family, child = old_family(team=team)
    kept, _ = old_family(team=team)
    AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="kept", family_id_logged=kept.pk)
    AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="child", person_id_logged=child.pk)
    with django_connected_as(app_role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role[0]
        client.force_login(users["coach"])
        assert client.get(reverse("cases:family_detail", args=[family.pk])).status_code == 200
        assert AccessLog.objects.filter(family_id_logged=family.pk, user=users["coach"]).count() == 1
        tombstone = data_protection.retention_delete(
            family=family,
            authorised_by=users["manager"],
            now=NOW,
            reason="Past the retention rule; no legal hold or open work (test).",
        )
    assert tombstone.counts["access log rows"] == 2
    assert not Family.objects.filter(pk=family.pk).exists()
    assert not AccessLog.objects.filter(family_id_logged=family.pk).exists()
    assert not AccessLog.objects.filter(person_id_logged=child.pk).exists()
    assert AccessLog.objects.filter(family_id_logged=kept.pk).exists()
    assert Tombstone.objects.filter(family_id_deleted=family.pk).exists()


def test_tables_added_by_a_later_migration_are_covered_and_a_privileged_role_is_refused(app_role):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE earlyhelp_later_table (id bigint GENERATED ALWAYS AS IDENTITY, note text)")
    try:
        with connect_as(app_role) as conn, conn.transaction():
            conn.execute("INSERT INTO earlyhelp_later_table (note) VALUES ('added later')")
            assert conn.execute("SELECT note FROM earlyhelp_later_table").fetchone() == ("added later",)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE earlyhelp_later_table")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
    with pytest.raises(RoleError, match="ordinary login role|owner role"):
        grant_app_role(me)
    with pytest.raises(RoleError, match="does not exist"):
        grant_app_role("earlyhelp_no_such_role")


def test_every_append_only_table_refuses_change_and_emptying_by_the_app_role(app_role):
    """Role history, two-factor resets and tombstones are evidence like the access log."""
    from earlyhelp.dbroles import APPEND_ONLY_TABLES

    with connect_as(app_role) as conn:
        for table in APPEND_ONLY_TABLES:
            conn.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (table names are our constants)
            for statement in (
                f"UPDATE {table} SET id = id",  # noqa: S608
                f"DELETE FROM {table}",  # noqa: S608
                f"TRUNCATE {table}",
                f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            ):
                error = refused(conn, statement)
                assert isinstance(error, psycopg.errors.InsufficientPrivilege), (statement, error)
