"""The reads compiled once run as prepared statements of the connection, and nothing else does (ADR 82).

A prepared statement binds its values server-side, where Django binds them into the text: the rows
must be the same for every kind of value the compiled reads pass (ids, aware datetimes, dates, text,
lists, booleans, None, decimals), the query log must still show the statement, errors must still be
Django's, and the connection must still be usable after a rollback (psycopg deallocates its statements).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kit.compiled_sql import compiled_instances, compiled_rows, prepared_cursor

pytestmark = pytest.mark.django_db
IDS = ((-911,), (-912,))


def _prepared() -> dict[str, tuple[int, int]]:
    """The connection's prepared statements: text -> (generic plans, custom plans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {text: (generic, custom) for text, generic, custom in cursor.fetchall()}


def _named(prepared: dict, fragment: str) -> list[tuple[int, int]]:
    return [plans for text, plans in prepared.items() if fragment in text]


def test_a_compiled_read_is_prepared_once_and_then_run_as_the_statement():
    group = Group.objects.create(name="Prepared A")

    def build(pk):
        return Group.objects.filter(pk=pk).order_by("pk")

    for _ in range(8):
        (got,) = compiled_instances(("prepared groups",), build, IDS, (group.pk,), using="default", prepared=True)
        assert got.name == "Prepared A"
    (plans,) = _named(_prepared(), '"auth_group"."id" = $1')
    generic, custom = plans
    assert generic + custom == 8  # one statement, run eight times: parsed once
    assert connection.connection.prepare_threshold is None  # nothing else is prepared on the connection


def test_other_queries_are_not_prepared():
    """Nor a compiled read that does not ask: a range of times or a LIMIT over many rows can have a
    generic plan much slower than its custom plans (ADR 82), so preparing is each read's choice."""
    group = Group.objects.create(name="Plain")
    for _ in range(8):
        assert list(Group.objects.filter(name="Plain").values_list("name", flat=True)) == ["Plain"]
        (got,) = compiled_instances(
            ("not asked",), lambda pk: Group.objects.filter(pk=pk).order_by("pk"), IDS, (group.pk,), using="default"
        )
        assert got.name == "Plain"
    assert _named(_prepared(), "Plain") == [] and _named(_prepared(), "auth_group") == []


def test_the_signed_in_user_is_read_with_a_prepared_statement(client, django_user_model):
    user = django_user_model.objects.create(username="signed-in")
    client.force_login(user)
    for _ in range(3):
        assert client.get(reverse("jobs:list")).status_code == 200
    assert _named(_prepared(), 'FROM "accounts_user" LEFT OUTER JOIN "accounts_user_groups"'), _prepared()


def test_the_rows_are_the_orm_s_for_every_kind_of_value(team):
    """Aware datetimes, dates, text, booleans, decimals and lists as the compiled reads pass them: the
    same rows bound server-side as the ORM's (bound client-side), including the edge of each filter."""
    user_model = get_user_model()
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    users = [
        user_model.objects.create(username=f"kind-{n}", first_name=name, last_login=when, team=team if n else None)
        for n, (name, when) in enumerate([("Ann", at), ("Bea", None), ("Cy", datetime(2026, 12, 7, 9, 29, tzinfo=UTC))])
    ]
    stand_ins = (
        (datetime(1991, 1, 1, tzinfo=UTC), "stand-in a", True, date(1991, 1, 1), Decimal("1.25"), -71),
        (datetime(1991, 1, 2, tzinfo=UTC), "stand-in b", False, date(1991, 1, 2), Decimal("2.25"), -72),
    )

    def build(since, name, active, joined_before, ratio, team_id):
        return (
            user_model.objects.filter(
                Q(last_login__gte=since) | Q(first_name=name) | Q(team_id=team_id),
                is_active=active,
                date_joined__date__lte=joined_before,
            )
            .extra(where=["%s > 0"], params=[ratio])  # a decimal value, as the dashboards pass ratios
            .order_by("pk")
            .values_list("username", "last_login")
        )

    for values in [
        (at, "Bea", True, date(2100, 1, 1), Decimal("0.5"), team.pk),
        (at, "Nobody", True, date(2100, 1, 1), Decimal("0.5"), -1),
        (datetime(2026, 12, 7, 9, 29, tzinfo=UTC), "", True, date(2100, 1, 1), Decimal("0.5"), -1),
        (at, "Ann", False, date(2100, 1, 1), Decimal("0.5"), -1),
    ]:
        got = compiled_rows(("kinds of value",), build, stand_ins, values, using="default", prepared=True)
        assert got == list(build(*values)), values
    assert [u.username for u in users]  # made


def test_annotations_named_between_fields_keep_their_place():
    """`values_list("username", <annotation>, "id")`: the compiled rows' columns are in the order named,
    as the ORM gives them (a reorder once put a later column in an annotation's place)."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    user = get_user_model().objects.create(username="between", first_name="Ann")

    def build(pk):
        return (
            get_user_model()
            .objects.filter(pk=pk)
            .annotate(shown=Concat(F("first_name"), Value("!")), doubled=F("id") * 2)
            .values_list("username", "shown", "id", "doubled", "first_name")
        )

    for prepared in (False, True):
        got = compiled_rows(("between", prepared), build, ((-915,), (-916,)), (user.pk,), using="default",
                            prepared=prepared)  # fmt: skip
        assert got == list(build(user.pk)) == [("between", "Ann!", user.pk, user.pk * 2, "Ann")]


def test_a_list_value_is_bound_as_an_array():
    """The signed-in user's query passes an empty list (`ArrayAgg`'s default) as a parameter."""
    from accounts.backends import signed_in_user

    user = get_user_model().objects.create(username="no-roles")
    (got,) = compiled_instances(
        ("roles list",), signed_in_user, ((-913,), (-914,)), (user.pk,), using="default", prepared=True
    )
    (orm,) = list(signed_in_user(user.pk))
    assert got.role_list == orm.role_list == []


def test_the_query_log_shows_the_statement_with_its_values():
    group = Group.objects.create(name="Logged")

    def build(pk):
        return Group.objects.filter(pk=pk).order_by("pk")

    with CaptureQueriesContext(connection) as ctx:
        compiled_instances(("logged groups",), build, IDS, (group.pk,), using="default", prepared=True)
    (query,) = ctx.captured_queries
    assert query["sql"].startswith('SELECT "auth_group"."id"') and f"= {group.pk}" in query["sql"]


def test_an_error_is_django_s_and_the_connection_is_usable_after_a_rollback():
    group = Group.objects.create(name="After")

    def build(pk):
        return Group.objects.filter(pk=pk).order_by("pk")

    compiled_instances(("after rollback",), build, IDS, (group.pk,), using="default", prepared=True)
    with pytest.raises(DatabaseError), transaction.atomic(), prepared_cursor("default") as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    for _ in range(3):
        (got,) = compiled_instances(("after rollback",), build, IDS, (group.pk,), using="default", prepared=True)
        assert got.name == "After"


def test_off_it_is_the_plain_cursor(settings):
    settings.PREPARED_READS = False
    group = Group.objects.create(name="Off")

    def build(pk):
        return Group.objects.filter(pk=pk).order_by("pk")

    for _ in range(3):
        (got,) = compiled_instances(("off groups",), build, IDS, (group.pk,), using="default", prepared=True)
        assert got.name == "Off"
    assert _named(_prepared(), '"auth_group"."id" = $1') == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["ALTER TABLE prepared_probe ALTER COLUMN name TYPE text", "DEALLOCATE ALL"])
def test_a_statement_the_server_lost_or_changed_is_prepared_again(change):
    """A migration altering a column a prepared read selects ("cached plan must not change result type"),
    or a DEALLOCATE/DISCARD sent by other SQL ("prepared statement does not exist"), must not break the
    pooled connection's every later read: outside a transaction the read is prepared again and runs."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE prepared_probe (id integer PRIMARY KEY, name varchar(10))")
        cursor.execute("INSERT INTO prepared_probe VALUES (1, 'one')")
    try:

        def read():
            with prepared_cursor("default") as cursor:
                cursor.execute("SELECT name FROM prepared_probe WHERE id = %s", [1])
                return cursor.fetchall()

        assert read() == read() == [("one",)]
        assert _named(_prepared(), "prepared_probe")
        with connection.cursor() as cursor:  # not through the prepared cursor: psycopg does not see it
            cursor.execute(change)
        assert read() == [("one",)]
        assert read() == [("one",)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE prepared_probe")
