"""The access log is written by one INSERT statement, without a transaction of its own (ADR 57).

Every field is written as given (the reason for a break-glass view, the address, the 200-character
cut of `what`), a list page's rows are in (family, person) order, and a request outside a
transaction pays no BEGIN and COMMIT for its row(s); a very long list is several statements in one
transaction, all or nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
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
