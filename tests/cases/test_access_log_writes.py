"""The access log is written by one INSERT statement, without a transaction of its own (ADR 57).

Every field is written as given (the reason for a break-glass view, the address, the 200-character
cut of `what`), a list page's rows are in (family, person) order, and a request outside a
transaction pays no BEGIN and COMMIT for its row(s); a very long list is several statements in one
transaction, all or nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.models import AccessLog
from tests.factories import FamilyFactory

AT = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)


def rows_after(last: int) -> list[dict]:
    return list(AccessLog.objects.filter(pk__gt=last).order_by("pk").values())


def last_pk() -> int:
    return AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.django_db
def test_one_row_is_written_as_given(users):
    family = FamilyFactory(children=1)
    person = family.people.first()
    last = last_pk()
    with CaptureQueriesContext(connection) as ctx:
        services.access_log_record(
            user=users["coach"],
            action=AccessLog.Action.VIEW,
            what="family " + "x" * 300,
            at=AT,
            family=family,
            person=person,
            ip_address="192.0.2.7",
            break_glass_reason="Urgent safeguarding call",
        )
    assert len(ctx.captured_queries) == 1 and ctx.captured_queries[0]["sql"].startswith("INSERT")
    [row] = rows_after(last)
    assert {k: v for k, v in row.items() if k != "id"} == {
        "at": AT,
        "user_id": users["coach"].pk,
        "action": "view",
        "family_id_logged": family.pk,
        "person_id_logged": person.pk,
        "what": ("family " + "x" * 300)[:200],
        "ip_address": "192.0.2.7",
        "break_glass_reason": "Urgent safeguarding call",
    }


@pytest.mark.django_db
def test_a_list_is_one_row_per_subject_in_order_and_one_statement(users):
    last = last_pk()
    with CaptureQueriesContext(connection) as ctx:
        services.access_log_record_many(
            user=users["teamlead"],
            action=AccessLog.Action.SEARCH,
            what="search",
            at=AT,
            subjects=[(9, 2), (3, None), (9, 1), (3, None), (None, None), (None, 4)],
            ip_address=None,
        )
    assert len(ctx.captured_queries) == 1
    rows = rows_after(last)
    assert [(r["family_id_logged"], r["person_id_logged"]) for r in rows] == [(None, 4), (3, None), (9, 1), (9, 2)]
    assert {(r["user_id"], r["action"], r["what"], r["ip_address"], r["break_glass_reason"]) for r in rows} == {
        (users["teamlead"].pk, "search", "search", None, "")
    }
    with CaptureQueriesContext(connection) as ctx:
        services.access_log_record_many(user=users["teamlead"], action="view", what="x", at=AT, subjects=[])
    assert ctx.captured_queries == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_insert_is_its_own(users, monkeypatch):
    """No BEGIN/COMMIT round trips for a page's rows; a list longer than one statement takes
    several, inside one transaction."""
    seen = []

    def spy(execute, sql, params, many, context):
        if sql.startswith("INSERT"):
            seen.append((connection.get_autocommit(), connection.in_atomic_block))
        return execute(sql, params, many, context)

    subjects = [(n, None) for n in range(1, 6)]
    with connection.execute_wrapper(spy):
        services.access_log_record(user=users["coach"], action="view", what="family F1", at=AT)
        services.access_log_record_many(user=users["coach"], action="view", what="list", at=AT, subjects=subjects)
        assert seen == [(True, False), (True, False)]
        seen.clear()
        monkeypatch.setattr(services, "ACCESS_LOG_ROWS_PER_INSERT", 2)
        services.access_log_record_many(user=users["coach"], action="view", what="long", at=AT, subjects=subjects)
    assert seen == [(False, True)] * 3
    assert AccessLog.objects.filter(what="long").count() == 5


def _statements() -> list[tuple[str, int]]:
    """The connection's prepared statements that write the access log: (text, times run)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return [(text, runs) for text, runs in cursor.fetchall() if "cases_accesslog" in text]


@pytest.mark.django_db
def test_every_write_is_one_prepared_statement_whatever_its_rows(users):
    """One row or many, small ids or large, an address or none, a person or not: the same text and the
    same parameter types, so the connection parses and plans it once (ADR 83) and the rows are as given."""
    family = FamilyFactory(children=1)
    person = family.people.first()
    big = 2**40
    last = last_pk()
    with CaptureQueriesContext(connection) as ctx:
        services.access_log_record(user=users["coach"], action="view", what="one", at=AT, family=family)
        services.access_log_record(
            user=users["coach"], action="view", what="two", at=AT, person=person, ip_address="2001:db8::1",
            break_glass_reason="Police request",
        )  # fmt: skip
        written = services.access_log_record_many(
            user=users["teamlead"], action=AccessLog.Action.SEARCH, what="many", at=AT, ip_address="192.0.2.9",
            subjects=[(big, None), (family.pk, person.pk), (None, 70_000), (family.pk, person.pk)],
        )  # fmt: skip
        services.access_log_record_many(
            user=users["teamlead"], action="view", what="families", at=AT, subjects=[(3, None), (1, None)]
        )
    assert written == 3
    assert len(ctx.captured_queries) == 4 and all(q["sql"].startswith("INSERT") for q in ctx.captured_queries)
    assert "'Police request'" in ctx.captured_queries[1]["sql"]  # the query log shows the values
    [(text, runs)] = _statements()
    assert runs == 4 and "unnest($7::bigint[], $8::bigint[])" in text
    rows = [
        (r["user_id"], r["action"], r["what"], r["family_id_logged"], r["person_id_logged"], r["ip_address"],
         r["break_glass_reason"], r["at"])
        for r in rows_after(last)
    ]  # fmt: skip
    coach, lead = users["coach"].pk, users["teamlead"].pk
    assert rows == [
        (coach, "view", "one", family.pk, None, None, "", AT),
        (coach, "view", "two", None, person.pk, "2001:db8::1", "Police request", AT),
        (lead, "search", "many", None, 70_000, "192.0.2.9", "", AT),
        (lead, "search", "many", family.pk, person.pk, "192.0.2.9", "", AT),
        (lead, "search", "many", big, None, "192.0.2.9", "", AT),
        (lead, "view", "families", 1, None, None, "", AT),
        (lead, "view", "families", 3, None, None, "", AT),
    ]


@pytest.mark.django_db
def test_a_value_the_column_cannot_hold_is_refused_and_the_next_write_works(users):
    """The values are cast to text, not to the column's `varchar(n)`: an action too long is refused, as
    the INSERT of the value refused it, rather than cut; and a bad address is refused."""
    last = last_pk()
    for bad in [{"action": "view-and-more"}, {"action": "view", "ip_address": "not an address"}]:
        with pytest.raises((DataError, ValueError)), transaction.atomic():
            services.access_log_record_many(user=users["coach"], what="bad", at=AT, subjects=[(1, None)], **bad)
    services.access_log_record_many(user=users["coach"], action="view", what="good", at=AT, subjects=[(1, None)])
    assert [r["what"] for r in rows_after(last)] == ["good"]


@pytest.mark.django_db
def test_without_prepared_statements_the_rows_are_the_same(users, settings):
    """`PREPARED_READS` off (a pooler sharing connections): the same statement, bound client-side."""
    settings.PREPARED_READS = False
    last = last_pk()
    services.access_log_record_many(
        user=users["coach"], action="view", what="plain", at=AT, subjects=[(5, None), (2, 8)], ip_address="::1"
    )
    got = [(r["family_id_logged"], r["person_id_logged"], r["ip_address"], r["at"]) for r in rows_after(last)]
    assert got == [(2, 8, "::1", AT), (5, None, "::1", AT)]
    assert _statements() == []
