"""The team board's reads compiled once (ADR 73) find exactly what the ORM finds.

The timescales' rows (every field, the related rows, the bucket, the order, whether each is in scope),
the counts of the board's lists and the open-case figures: read with SQL compiled once per reach shape
and filter, and equal to the same queryset built and run by the ORM, for every role and combination
that matters (team leader, manager, both, a team leader without a team, a manager without a service),
two users of one shape each getting their own team's and scope's figures, at instants that move clocks
between buckets and cases between bands. A second read compiles nothing.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from accounts import roles
from accounts.models import User
from cases.models import Episode, Escalation, FamilyReach, PlannedVisit
from cases.selectors import family_visible_exists, reach_shape
from deadlines.models import DUE_SOON
from oversight import selectors
from tests.conftest import make_user
from tests.factories import FamilyFactory
from tests.oversight.helpers import NOW, duty_note, make_deadline, make_episode

pytestmark = pytest.mark.django_db
S = Episode.State
K = FamilyReach.Kind
INSTANTS = (NOW, NOW + timedelta(hours=5), NOW + timedelta(days=2, hours=3), NOW - timedelta(days=45))


def fields(obj) -> dict | None:
    """The fields the read loaded (a deferred one is left out, and said so: never loaded by comparing)."""
    if not obj:
        return None
    deferred = obj.get_deferred_fields()
    loaded = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in deferred}
    return {**loaded, "deferred": sorted(deferred)}


def _team_work(team, *, coach, coach2, reaches) -> None:
    """For each way a family can be reached (and none), an open case of `team` with clocks in every
    bucket and out of them, a case waiting for allocation, a visit due, an escalation and a partner's
    case; a worker's own clock; a case held by someone deactivated."""
    for n, reach in enumerate(reaches):
        family = FamilyFactory(team=team)
        lead = coach if n % 2 else coach2
        episode = make_episode(team, lead=lead, family=family, opened_at=NOW - timedelta(days=40 + 70 * n))
        Episode.objects.filter(pk=episode.pk).update(
            risk_level=n % 4, last_decision_at=(NOW - timedelta(days=25 * n)) if n % 3 else None
        )
        start = NOW - timedelta(days=60)
        for k, (expected, due, flag_only) in enumerate(
            [
                (NOW - timedelta(days=9), NOW - timedelta(days=2 + n), False),  # breached
                (NOW - timedelta(hours=3 + n), NOW + timedelta(days=3), False),  # overdue
                (NOW + timedelta(hours=2 + n), NOW + timedelta(days=20), False),  # today
                (NOW + timedelta(days=2, hours=n), None, False),  # later this week
                (None, NOW - timedelta(hours=1 + n), True),  # an aim past its limit
                (NOW + timedelta(days=12), NOW + timedelta(days=30), False),  # next week
            ]
        ):
            make_deadline(
                f"R{k}",
                team=team,
                episode=episode,
                started_at=start,
                expected_at=expected,
                due_at=due,
                flag_only=flag_only,
                assignee=lead if k % 2 else None,
            )
        waiting = make_episode(team, family=family, state=S.AWAITING_ALLOCATION, opened_at=NOW - timedelta(days=10 + n))
        if n % 2:
            duty_note(waiting, at=NOW - timedelta(days=3 + 4 * n), by=coach)
        PlannedVisit.objects.create(
            episode=episode,
            family=family,
            planned_at=NOW - timedelta(days=n, hours=1),
            visitor=lead,
            created_at=NOW - timedelta(days=20),
            created_by=lead,
        )
        Escalation.objects.create(
            episode=episode,
            about=Escalation.About.STEP_UP,
            disagreement="Threshold",
            escalated_to="Ops lead",
            raised_at=NOW - timedelta(days=2),
            raised_by=lead,
        )
        FamilyReach.objects.filter(family=family).delete()  # only the row below opens it
        if reach:
            FamilyReach.objects.create(family=family, **reach)
    make_deadline("W1", team=team, worker=coach, started_at=NOW - timedelta(days=5), due_at=NOW - timedelta(hours=4))
    gone = make_user(f"gone-{team.pk}", roles.PRACTITIONER, team, is_active=False)
    make_episode(team, lead=gone, family=FamilyFactory(team=team))


@pytest.fixture
def world(users, team, other_team, service, coach2, other_coach, other_teamlead, far_service):
    far_team = far_service  # a team of another service
    for board_team, lead, second, n in (
        (team, users["coach"], coach2, 6),
        (other_team, other_coach, users["coach"], 4),
    ):
        reaches = [
            {"kind": K.TEAM, "team": board_team, "service": service},
            {"kind": K.TEAM, "team": far_team, "service": far_team.service},
            {"kind": K.MEETING, "team": board_team, "service": service},
            {"kind": K.ROUTED, "team": board_team, "service": service},
            {"kind": K.LEAD, "user": users["teamlead"]},
            {},  # reached by nobody
        ]
        _team_work(board_team, coach=lead, coach2=second, reaches=reaches[-n:])
    people = {
        "teamlead": users["teamlead"],
        "other teamlead": other_teamlead,
        "manager": users["manager"],
        "leader and manager": make_user("lead-manager", roles.TEAM_LEADER, team, service=service),
        "leader without a team": make_user("teamless-lead", roles.TEAM_LEADER, None),
        "manager without a service": make_user("serviceless", roles.MANAGER, None),
        "coach": users["coach"],
    }
    people["leader and manager"].groups.add(*users["manager"].groups.all())
    for user in people.values():
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
    return people


def _orm_timescales(user, team, now, *, practitioner_id, rule_id, pages) -> list:
    today = timezone.localdate(now)
    query = selectors.timescale_query(
        team.pk,
        now=now,
        soon=now + DUE_SOON,
        end_of_today=selectors.local_midnight(today + timedelta(days=1)),
        end_of_week=selectors.week_end(today),
        practitioner_id=practitioner_id,
        rule_id=rule_id,
        visible=family_visible_exists(user),
        pages=pages,
    )
    return selectors.in_board_order(list(query), end_of_today=selectors.local_midnight(today + timedelta(days=1)))


ANNOTATIONS = ("status", "first_limit", "bucket", "bucket_rank", "breached_at", "in_scope")


def _same_rows(got: list, orm: list, why) -> None:
    assert [d.pk for d in got] == [d.pk for d in orm], why
    for a, b in zip(got, orm, strict=True):
        assert fields(a) == fields(b), why
        assert {k: getattr(a, k) for k in ANNOTATIONS} == {k: getattr(b, k) for k in ANNOTATIONS}, why
        for rel in selectors.RELATED:
            assert fields(getattr(a, rel)) == fields(getattr(b, rel)), (why, rel)


PAGES = (
    [(50, 0), (50, 0), (50, 0), (50, 0)],
    [(5, 0), (0, 0), (0, 0), (0, 0)],
    [(0, 0), (2, 3), (4, 1), (0, 0)],
    [(0, 0), (0, 0), (0, 0), (3, 2)],
)


def _timescales_cases(world, team, other_team, coach2):
    """Every SQL the compiled read can have (each reach shape, with and without each filter) at two
    instants and two pages each; and, for two users, every instant, page and team (the values)."""
    for name, user in world.items():
        for practitioner_id in (None, coach2.pk):
            for rule_id in ("", "R1"):
                for board_team, now, pages in ((team, INSTANTS[0], PAGES[0]), (other_team, INSTANTS[2], PAGES[2])):
                    yield name, user, board_team, now, practitioner_id, rule_id, pages
    for name in ("teamlead", "manager"):
        for board_team in (team, other_team):
            for now in INSTANTS:
                for pages in PAGES:
                    yield name, world[name], board_team, now, None, "", pages


def test_the_timescales_rows_are_the_orm_s_for_every_shape(world, team, other_team, coach2):
    shapes, seen = set(), 0
    for name, user, board_team, now, practitioner_id, rule_id, pages in _timescales_cases(
        world, team, other_team, coach2
    ):
        shapes.add(found[0] if (found := reach_shape(user)) else None)
        why = (name, board_team.name, now, practitioner_id, rule_id, pages)
        filters = {"practitioner_id": practitioner_id, "rule_id": rule_id, "pages": pages}
        orm = _orm_timescales(user, board_team, now, **filters)
        got = selectors.timescale_rows(user, team_id=board_team.pk, now=now, **filters)
        _same_rows(got, orm, why)
        seen += sum(1 for d in orm if d.in_scope)
    assert len(shapes) >= 5, shapes  # team leader, manager, both, a team leader with no team, none
    assert seen > 150


def test_the_board_s_timescales_are_the_board_s_deadlines(world, team, other_team):
    """The compiled slices list the rows `board_deadlines` lists, in its order, page after page (every
    clock here is one the user may see or a worker's clock, so the numbering is the same)."""
    for name in ("manager", "leader and manager"):
        user = world[name]
        for now in INSTANTS:
            for status in ("", "breached", "overdue", "today", "week"):
                totals = selectors.board_counts(team=team, now=now, status=status)["totals"]
                rows = selectors.board_timescales(user, team=team, now=now, totals=totals, status=status)
                visible = [d.pk for d in selectors.board_deadlines(user, team=team, now=now, status=status)]
                assert len(rows) >= len(visible), (name, now, status)
                for start in range(0, len(rows), 4):
                    got = [d.pk for d in rows[start : start + 4]]
                    assert got == [pk for pk in visible if pk in set(got)], (name, now, status, start)
                listed = [d.pk for d in rows[0 : len(rows)]]
                assert listed == visible, (name, now, status)


def _orm_list_counts(user, team, now, practitioner_id, with_high_risk) -> dict:
    row = selectors.list_counts_query(
        team.pk,
        now=now,
        week_ago=now - timedelta(days=7),
        practitioner_id=practitioner_id,
        visible=lambda family: family_visible_exists(user, family),
        with_high_risk=with_high_risk,
    ).first()
    return selectors.list_counts_of(dict(row))


def test_the_list_counts_and_case_figures_are_the_orm_s_for_every_shape(world, team, other_team, coach2):
    nonzero = set()
    for name, user in world.items():
        for board_team in (team, other_team):
            for now in INSTANTS:
                for practitioner_id in (None, coach2.pk):
                    why = (name, board_team.name, now, practitioner_id)
                    who = {"practitioner_id": practitioner_id}
                    orm_cases = selectors.episode_counts_query(
                        board_team.pk,
                        cutoffs=selectors.month_cutoffs(timezone.localdate(now)),
                        since=selectors.month_start(now),
                        **who,
                    )[0]
                    cases = selectors.board_episode_counts(user, team=board_team, now=now, **who)
                    assert cases == orm_cases, why
                    for given in (None, cases):
                        got = selectors.board_list_counts(user, team=board_team, now=now, episode_counts=given, **who)
                        if reach_shape(user) is None:
                            assert set(got.values()) <= {0, cases["high_risk"]}, why
                            continue
                        orm = _orm_list_counts(user, board_team, now, practitioner_id, given is None)
                        if given is not None:
                            orm["high_risk"] = cases["high_risk"]
                        assert got == orm, why
                        nonzero |= {k for k, v in got.items() if v}
    assert nonzero == {"pre_allocation", "weekly_contact_due", "unrecorded_visits", "deactivated", "escalations",
                       "high_risk"}  # fmt: skip


def test_the_list_counts_are_the_lists_lengths(world, team, other_team):
    """Each count is its list's length (the lists are read with the ORM), for two team leaders of one
    shape on their own teams: each gets their own figures."""
    counted = set()
    for user, board_team in ((world["teamlead"], team), (world["other teamlead"], other_team)):
        counts = selectors.board_list_counts(user, team=board_team, now=NOW)
        assert counts["pre_allocation"] == len(selectors.board_pre_allocation(user, team=board_team, now=NOW))
        due = [e for e in selectors.board_pre_allocation(user, team=board_team, now=NOW) if e.weekly_contact_due]
        assert counts["weekly_contact_due"] == len(due)
        assert counts["deactivated"] == len(selectors.board_deactivated(user, team=board_team))
        assert counts["escalations"] == len(selectors.open_escalations(user, team_ids=[board_team.pk]))
        assert counts["high_risk"] == len(selectors.board_high_risk(user, team=board_team))
        counted.add(tuple(sorted(counts.items())))
    assert len(counted) == 2  # the two teams' figures differ: neither read the other's


def test_a_second_board_read_compiles_no_sql(world, team):
    user = world["teamlead"]
    manager = world["manager"]

    def read(who):
        counts = selectors.board_episode_counts(who, team=team, now=NOW)
        selectors.board_list_counts(who, team=team, now=NOW, episode_counts=counts)
        totals = selectors.board_counts(team=team, now=NOW)["totals"]
        return list(selectors.board_timescales(who, team=team, now=NOW, totals=totals)[:5])

    first = {who.pk: read(who) for who in (user, manager)}
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    later = NOW + timedelta(minutes=7)
    with mock.patch.object(SQLCompiler, "as_sql", counted):
        for who in (user, manager):
            selectors.board_episode_counts(who, team=team, now=later)
            selectors.board_list_counts(who, team=team, now=later, episode_counts={"high_risk": 0})
            rows = selectors.timescale_rows(
                who, team_id=team.pk, now=NOW, practitioner_id=None, rule_id="", pages=[(5, 0), (0, 0), (0, 0), (0, 0)]
            )
            assert [d.pk for d in rows if d.in_scope][:5] == [d.pk for d in first[who.pk]][: len(rows)]
    assert compiled == []


def test_a_deactivated_user_counts_nothing(world, team):
    user = world["teamlead"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    counts = selectors.board_list_counts(user, team=team, now=NOW)
    assert set(counts) >= {"pre_allocation", "high_risk"} and not any(counts.values())
    rows = selectors.timescale_rows(
        user, team_id=team.pk, now=NOW, practitioner_id=None, rule_id="", pages=[(50, 0)] * 4
    )
    assert rows and all(d.in_scope == (d.family_id is None) for d in rows)  # only the worker's own clock


@pytest.mark.parametrize("chosen", ["", "first", "last", "unknown"])
def test_the_rule_options_are_the_template_s(chosen):
    """The rule filter's options, made once per set of rulebooks, are what the template's loop made."""
    from django.template import Context, Template

    from oversight.filters import rule_options

    rules = selectors.rule_choices()
    assert len(rules) > 5 and any(len(label) > 32 for _, label in rules)
    rule_id = {"": "", "first": rules[0][0], "last": rules[-1][0], "unknown": "<b>"}[chosen]
    loop = Template(
        '{% for value, label in rules %}<option value="{{ value }}"{% if value == rule_id %} selected{% endif %}>'
        "{{ label|truncatechars:32 }}</option>{% endfor %}"
    )
    assert rule_options(rule_id) == loop.render(Context({"rules": rules, "rule_id": rule_id}))
    assert rule_options(rule_id).count(" selected") == (0 if chosen in ("", "unknown") else 1)


def test_the_case_lists_pages_are_the_orm_s_and_compile_once(world, team, other_team, coach2):
    """The long-open, no-oversight and high-risk lists' pages read with SQL compiled once (ADR 79) are
    the ORM's pages (every field, the band, the family and lead professional), for every reach shape,
    with and without a practitioner, at instants that move cases between bands and months; a second
    read compiles nothing."""
    seen = 0
    for name, user in world.items():
        for board_team in (team, other_team):
            for now in INSTANTS:
                for practitioner_id in (None, coach2.pk):
                    who = {"practitioner_id": practitioner_id}
                    counts = selectors.board_episode_counts(user, team=board_team, now=now, **who)
                    for key in ("long-open", "no-oversight", "high-risk"):
                        rows = selectors.board_case_rows(user, key, team=board_team, now=now, counts=counts, **who)
                        orm = selectors.BoardCaseRows(user, rows.rows, len(rows))
                        for index in (slice(0, 20), slice(1, 3), slice(2, 50), slice(5, 5)):
                            got, want = rows[index], orm[index]
                            why = (name, board_team.name, now, practitioner_id, key, index)
                            assert [e.pk for e in got] == [e.pk for e in want], why
                            for a, b in zip(got, want, strict=True):
                                assert fields(a) == fields(b), why
                                assert getattr(a, "band", None) == getattr(b, "band", None), why
                                assert fields(a.family) == fields(b.family), why
                                assert fields(a.lead_professional) == fields(b.lead_professional), why
                            seen += len(got)
    assert seen > 200
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    user = world["teamlead"]
    counts = selectors.board_episode_counts(user, team=team, now=NOW)
    with mock.patch.object(SQLCompiler, "as_sql", counted):
        for key in ("long-open", "no-oversight", "high-risk"):
            selectors.board_case_rows(user, key, team=team, now=NOW + timedelta(days=3), counts=counts)[0:20]
    assert compiled == []
