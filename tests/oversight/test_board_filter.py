"""The team board read with less (ADR 84): its filters checked without a form say what the form said,
the timescales list's totals by bucket alone are `board_counts`' totals, a timescales slice with only
the buckets it reaches is the ORM's four-branch read (and compiles once per set of buckets), and the
rows' dates and numbers written directly are the template filters' text.

One team's data is made once for the module (tests/module_data.py): a few clocks in every bucket.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.test import RequestFactory
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape

from accounts import roles
from cases.selectors import family_visible_exists
from deadlines.counts import counts_rebuild
from deadlines.models import DUE_SOON
from oversight import board_rows, selectors
from oversight.board_filter import board_filter
from oversight.board_reads import board_totals, team_practitioners
from oversight.filters import board_filters
from oversight.templatetags.oversight_tags import when_text
from tests.conftest import make_user, make_users
from tests.factories import ContactFactory, ServiceFactory, TeamFactory
from tests.module_data import made_once
from tests.oversight.helpers import NOW, make_deadline, make_episode

pytestmark = pytest.mark.django_db


def _make():
    service = ServiceFactory(name="Early Help")
    team = TeamFactory(name="Northfield Family Hub", service=service)
    other_team = TeamFactory(name="Southbank Family Hub", service=service)
    front_door = TeamFactory(name="Front Door", service=service, kind="front_door")
    users = make_users(team, front_door, service)
    coach, coach2 = users["coach"], make_user("coach2", roles.PRACTITIONER, team, first_name="Zoë", last_name="Ng")
    make_user("gone", roles.PRACTITIONER, team, is_active=False)  # not a member: inactive
    make_user("elsewhere", roles.PRACTITIONER, other_team)
    start = NOW - timedelta(days=60)
    limits = [
        (NOW - timedelta(days=9), NOW - timedelta(days=2)),  # breached
        (NOW - timedelta(days=5), NOW - timedelta(hours=1)),  # breached
        (NOW - timedelta(hours=3), NOW + timedelta(days=3)),  # overdue
        (NOW + timedelta(hours=2), NOW + timedelta(days=20)),  # today
        (NOW + timedelta(hours=5), None),  # today
        (NOW + timedelta(days=2), None),  # later this week
        (NOW + timedelta(days=3), NOW + timedelta(days=30)),  # later this week
        (NOW + timedelta(days=12), NOW + timedelta(days=30)),  # next week: in no bucket
    ]
    for k, (expected, due) in enumerate(limits):
        make_deadline(
            f"B{k % 3 + 1}",
            team=team,
            episode=make_episode(team, lead=coach),
            started_at=start,
            expected_at=expected,
            due_at=due,
            assignee=(coach, coach2, None)[k % 3],
        )
    make_deadline("W1", team=team, worker=coach2, started_at=start, due_at=NOW - timedelta(hours=4))
    counts_rebuild(now=NOW)
    family = make_episode(team, lead=coach).family
    return SimpleNamespace(
        team=team, other_team=other_team, users=users, coach=coach, coach2=coach2, team_family=family
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with made_once(django_db_blocker, _make) as made:
        yield made


def _request(user, query: str):
    request = RequestFactory().get("/oversight/team-board/?" + query if query else "/oversight/team-board/")
    request.user = user
    return request


def _queries(world) -> list[str]:
    coach, coach2, team, other = world.coach.pk, world.coach2.pk, world.team.pk, world.other_team.pk
    rule = selectors.rule_choices()[0][0]
    return [
        "",
        f"practitioner={coach}",
        f"practitioner={coach2}&rule={rule}&status=week",
        "practitioner=&rule=&status=&team=",
        "practitioner=abc&rule=nope&status=zzz",
        f"practitioner= {coach}&status=Breached",
        f"practitioner={coach}&practitioner=999999",  # the last value counts, as in the form
        f"practitioner=999999&practitioner={coach}",
        "practitioner=0&rule=%00&status=breached",
        f"team={team}&practitioner={coach}",
        f"team={other}",
        f"team= {team} ",  # the board of that team, but not one of the form's choices as written
        "list=timescales&page=2&status=overdue",
        f"rule={rule}&rule=",
    ]


def _said(f) -> tuple:
    return (
        f.team.pk,
        [t.pk for t in f.teams],
        [t.name for t in f.teams],
        [(u.pk, u.get_full_name() or u.username) for u in f.members],
        f.practitioner_id,
        f.practitioner.pk if f.practitioner else None,
        f.rule_id,
        f.status,
        str(f.rule_options),
    )


@pytest.mark.parametrize("who", ["teamlead", "manager"])
def test_the_filter_says_what_the_form_said(world, who):
    user = world.users[who]
    for query in _queries(world):
        try:
            old = board_filters(_request(user, query))
        except Exception as error:  # noqa: BLE001 - the same refusal is expected
            with pytest.raises(type(error)):
                board_filter(_request(user, query))
            continue
        new = board_filter(_request(user, query))
        assert _said(new) == _said(old), query
        form_errors = [e for errors in old.form.errors.values() for e in errors] if old.form.is_bound else []
        assert new.errors == form_errors, query


def test_the_filter_refuses_whom_the_form_refused(world):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    for who, query, error in (
        ("coach", "", PermissionDenied),
        ("teamlead", f"team={world.other_team.pk}", Http404),
        ("teamlead", "team=abc", Http404),
        ("manager", "team=999999", Http404),
    ):
        for read in (board_filters, board_filter):
            with pytest.raises(error):
                read(_request(world.users[who], query))


def test_the_totals_by_bucket_are_the_board_counts_totals(world):
    for now in (NOW, NOW + timedelta(hours=4), NOW + timedelta(days=2, hours=1)):
        for status, practitioner, rule in itertools.product(
            ("", "breached", "overdue", "today", "week", "nonsense"), (None, world.coach2.pk), ("", "B1")
        ):
            f = {"practitioner_id": practitioner, "rule_id": rule, "status": status}
            expected = selectors.board_counts(team=world.team, now=now, **f)["totals"]
            assert board_totals(team=world.team, now=now, **f) == expected, (now, f)


def test_a_slice_reads_only_the_buckets_it_reaches_and_compiles_once(world):
    """Every set of buckets a slice can reach, with a rule or not: the rows (their order, bucket
    and scope) are the four-branch ORM read's, and a second read compiles no SQL."""
    user, team = world.users["teamlead"], world.team
    today = timezone.localdate(NOW)
    end_of_today = selectors.local_midnight(today + timedelta(days=1))

    def orm(pages, rule_id):
        query = selectors.timescale_query(
            team.pk, now=NOW, soon=NOW + DUE_SOON, end_of_today=end_of_today, end_of_week=selectors.week_end(today),
            practitioner_id=None, rule_id=rule_id, visible=family_visible_exists(user), pages=pages,
        )  # fmt: skip
        return selectors.in_board_order(list(query), end_of_today=end_of_today)

    cases = [  # every set of buckets, every other one with a rule
        ([(limit, 1 if limit else 0) for limit in limits], "B1" if n % 2 else "")
        for n, limits in enumerate(itertools.product((0, 2), repeat=4))
    ]
    seen = 0
    for pages, rule_id in cases:
        got = selectors.timescale_rows(
            user, team_id=team.pk, now=NOW, practitioner_id=None, rule_id=rule_id, pages=pages
        )
        expected = orm(pages, rule_id)
        assert [(d.pk, d.bucket, d.in_scope) for d in got] == [(d.pk, d.bucket, d.in_scope) for d in expected], pages
        seen += len(got)
    assert seen >= 12  # rows of every bucket, most sets reaching several
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        for pages, rule_id in cases:
            selectors.timescale_rows(user, team_id=team.pk, now=NOW, practitioner_id=None, rule_id=rule_id, pages=pages)
    assert compiled == []


def test_dates_and_numbers_written_directly_are_the_filters_text(settings):
    when = board_rows.when_for(NOW)
    for value in (
        None,
        NOW,
        NOW - timedelta(days=400),
        NOW + timedelta(days=40),
        datetime(2026, 12, 31, 23, 30, tzinfo=timezone.get_fixed_timezone(-300)),  # 2027 in London
        datetime(2026, 1, 1, 0, 5),  # naive
        date(2025, 6, 1),
        "",
    ):
        assert when(value) == when_text(value, NOW), value
    for value in (0, 7, -3, 1234567, None, "a<b", 2.5):
        assert board_rows.text(value) == conditional_escape(localize(value)), value
    settings.USE_THOUSAND_SEPARATOR = True
    assert board_rows.text(1234567) == conditional_escape(localize(1234567)) == "1,234,567"


def test_the_team_s_practitioners_read_narrow_are_the_caseloads(world):
    for team in (world.team, world.other_team):
        wide = selectors.caseloads_of_teams([team.pk])
        narrow = team_practitioners(team.pk)
        said = ("pk", "username", "first_name", "last_name", "caseload", "capacity", "last_supervised_on")
        assert [[getattr(p, k) for k in said] for p in narrow] == [[getattr(p, k) for k in said] for p in wide]
        assert narrow and all(p.get_deferred_fields() >= {"password", "email"} for p in narrow)


# The narrow read's columns as `select_related` and `only` said them before ADR 84.
JOINED_COLUMNS = (
    *selectors.TIMESCALE_COLUMNS,
    "family__name", "episode__family_id", "contact__family_id",
    "worker__first_name", "worker__last_name", "worker__username",
    "assignee__first_name", "assignee__last_name", "assignee__username",
)  # fmt: skip


def _loaded(obj) -> dict | None:
    if obj is None:
        return None
    deferred = obj.get_deferred_fields()
    loaded = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in deferred}
    return {**loaded, "deferred": sorted(deferred), "db": obj._state.db, "adding": obj._state.adding}


def test_the_related_rows_read_by_subqueries_are_the_joins(world, django_assert_num_queries):
    """A clock of a case, of a contact and a worker's own, assigned or not: each related row given from
    the subqueries' columns has the fields (loaded and deferred) the LEFT JOINs gave, and reading them
    asks nothing more."""
    from deadlines.models import Deadline

    contact = ContactFactory(family=world.team_family, received_at=NOW - timedelta(days=1))
    make_deadline("C1", team=world.team, contact=contact, started_at=NOW - timedelta(days=2), due_at=NOW)
    user = world.users["manager"]
    rows = selectors.timescale_rows(
        user, team_id=world.team.pk, now=NOW, practitioner_id=None, rule_id="", pages=[(50, 0)] * 4
    )
    assert any(d.contact_id for d in rows) and any(d.worker_id for d in rows) and any(d.assignee_id for d in rows)
    joined = {d.pk: d for d in Deadline.objects.filter(pk__in=[d.pk for d in rows]).select_related(*selectors.RELATED)
              .only(*JOINED_COLUMNS)}  # fmt: skip
    with django_assert_num_queries(0):
        for d in rows:
            assert _loaded(d) == _loaded(joined[d.pk]), d.pk
            for name in selectors.RELATED:
                assert _loaded(getattr(d, name)) == _loaded(getattr(joined[d.pk], name)), (d.pk, name)
