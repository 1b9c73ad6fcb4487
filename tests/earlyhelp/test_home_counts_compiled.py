"""The practitioner's home counts (`my_case_clock_counts`) are compiled once per reach shape (ADR 67)
and equal `clock_counts(my_case_clocks(user))`, the ORM's aggregate, at every instant and for every role."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from accounts import roles
from oversight import home_selectors as hs
from tests.conftest import make_user
from tests.earlyhelp.test_home import MONDAY_9AM, SATURDAY, clocks_on
from tests.oversight.helpers import make_episode

pytestmark = pytest.mark.django_db


def test_the_compiled_counts_are_the_orm_s_at_every_instant(users, team, other_team):
    coach = users["coach"]
    clocks_on(make_episode(team, lead=coach), team)
    clocks_on(make_episode(team, lead=users["duty"]), team, prefix="D")
    far = make_user("far", roles.PRACTITIONER, other_team)
    clocks_on(make_episode(other_team, lead=far), other_team, prefix="F")
    clocks_on(make_episode(other_team, lead=coach), other_team, prefix="O")  # led, in another team's family
    both = make_user("coach-and-mash", roles.PRACTITIONER, team)
    both.groups.add(*users["mash"].groups.all())
    clocks_on(make_episode(team, lead=both), team, prefix="M")
    people = [*users.values(), far, both, make_user("teamless", roles.PRACTITIONER, None)]
    instants = [SATURDAY + timedelta(hours=h) for h in (-24 * 400, -49, -1, 0, 13, 14, 47, 24 * 30)] + [MONDAY_9AM]
    nonzero = 0
    for user in people:
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
        for now in instants:
            compiled = hs.my_case_clock_counts(user, now=now)
            assert compiled == hs.clock_counts(hs.my_case_clocks(user), now=now), (user.username, now)
            nonzero += any(compiled.values())
    assert nonzero >= 10


def test_a_second_count_compiles_no_sql(users, team):
    coach = users["coach"]
    clocks_on(make_episode(team, lead=coach), team)
    first = hs.my_case_clock_counts(coach, now=SATURDAY)
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        again = hs.my_case_clock_counts(coach, now=SATURDAY)
        later = hs.my_case_clock_counts(coach, now=SATURDAY + timedelta(days=3))
    assert calls == []
    assert again == first == {"breached": 2, "overdue": 1, "due_today": 1}
    assert later == hs.clock_counts(hs.my_case_clocks(coach), now=SATURDAY + timedelta(days=3)) != first
