"""SQL compiled once is kept only when the values are its parameters and nothing else (ADR 57)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Q

from kit.compiled_sql import compiled_once

pytestmark = pytest.mark.django_db
IDS = ((-901,), (-902,))


def test_a_query_whose_values_are_its_parameters_is_compiled_once_and_runs_with_new_values():
    wanted = Group.objects.create(name="Wanted")
    Group.objects.create(name="Other")
    calls = []

    def build(pk):
        calls.append(pk)
        return Group.objects.filter(pk=pk).values_list("name")

    compiled = compiled_once(("groups", 1), build, IDS, using="default")
    assert compiled is not None and calls == [-901, -902]
    assert compiled_once(("groups", 1), build, IDS, using="default") is compiled
    assert calls == [-901, -902]  # not built again
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for((wanted.pk,)))
        assert cursor.fetchall() == [("Wanted",)]


def test_a_value_derived_inside_the_build_is_found_by_its_stand_in():
    """`now + 24 hours` computed inside the build (as `with_status` does) is passed as a value of its
    own, and goes where its stand-in went."""
    stand_ins = tuple((datetime(1990, 1 + n, 1, tzinfo=UTC), datetime(1990, 1 + n, 2, tzinfo=UTC)) for n in (0, 1))
    user_model = get_user_model()

    def build(at, _a_day_later):
        return user_model.objects.filter(Q(last_login__gte=at) | Q(date_joined__lte=at + timedelta(days=1)))

    compiled = compiled_once(("a day later",), build, stand_ins, using="default")
    assert compiled is not None
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    params = compiled.params_for((now, now + timedelta(days=1)))
    assert now in params and now + timedelta(days=1) in params
    assert not any(isinstance(p, datetime) and p.year == 1990 for p in params)


@pytest.mark.parametrize(
    "build",
    [
        # The value shapes the SQL (a LIMIT is written into the text): every value gets its own SQL.
        lambda pk: Group.objects.filter(pk__gt=0)[:-pk],
        # A parameter computed from the value but not passed as a value: a constant of the first build.
        lambda pk: Group.objects.filter(pk=pk - 1),
        # The value never reaches the parameters.
        lambda pk: Group.objects.filter(name="x"),
    ],
    ids=["shapes-the-sql", "derived-not-passed", "not-a-parameter"],
)
def test_a_query_that_depends_on_more_than_its_parameters_is_refused(build):
    assert compiled_once(("refused", id(build)), build, IDS, using="default") is None


def test_stand_ins_must_differ():
    with pytest.raises(ValueError, match="different"):
        compiled_once(("same",), lambda pk: Group.objects.filter(pk=pk), ((1,), (1,)), using="default")


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_compiled_instances_are_the_instances_the_orm_gives(team):
    """Model fields, `select_related` rows and annotations, as `list(queryset)` makes them (ADR 63)."""
    from django.contrib.postgres.aggregates import ArrayAgg

    from kit.compiled_sql import compiled_instances

    user_model = get_user_model()
    with_team = user_model.objects.create(username="with-team", first_name="Ann", team=team)
    with_team.groups.add(Group.objects.create(name="Role A"), Group.objects.create(name="Role B"))
    without = user_model.objects.create(username="no-team")

    def build(pk):
        return (
            user_model.objects.select_related("team")
            .annotate(
                roles=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[], order_by="groups__name")
            )
            .filter(pk=pk)
            .order_by("pk")
        )

    for user in (with_team, without):
        (got,) = compiled_instances(("users with team",), build, IDS, (user.pk,), using="default")
        (orm,) = list(build(user.pk))
        assert _fields(got) == _fields(orm)
        assert got.roles == orm.roles
        assert user_model._meta.get_field("team").is_cached(got)
        assert (got.team and _fields(got.team)) == (orm.team and _fields(orm.team))
        assert not got._state.adding and got._state.db == "default"
    assert compiled_instances(("users with team",), build, IDS, (-5,), using="default") == []


def test_a_read_that_cannot_be_compiled_once_is_read_by_the_orm():
    from kit.compiled_sql import compiled_instances

    Group.objects.create(name="Kept")
    build = lambda pk: Group.objects.filter(name="Kept")  # noqa: E731 - the value is not a parameter
    assert [g.name for g in compiled_instances(("not a parameter",), build, IDS, (1,), using="default")] == ["Kept"]
