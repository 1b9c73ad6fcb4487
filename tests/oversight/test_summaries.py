"""The board and the dashboard read the summary rows: the same figures as computing them on read.

On generated data (the generator COPYs the clocks, then recounts them once), at several instants,
before and after the alert job moves the counts, and after work happens (events, transfers).
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import time_machine

from accounts import roles
from accounts.models import Team, User
from deadlines.alerts import alerts_raise
from deadlines.counts import counts_reconcile
from deadlines.models import Deadline
from oversight import selectors
from tests.conftest import make_user
from tooling.generator import generate, generation_now

TODAY = date(2026, 11, 30)
N = 60


def _old_board(user, team, now, **filters):
    deadlines = selectors.board_deadlines(user, team=team, now=now, **filters)
    summary = selectors.board_deadline_summary(deadlines)
    by_rule = selectors.board_rule_summary(deadlines)
    return summary, by_rule


def _without_titles(rows):
    return sorted(({k: v for k, v in r.items() if k != "title"} for r in rows), key=lambda r: str(r))


def _compare_board(user, team, now, **filters):
    old_summary, old_rules = _old_board(user, team, now, **filters)
    new = selectors.board_counts(team=team, now=now, **filters)
    assert new["totals"] == old_summary["totals"], filters
    key = lambda r: r["assignee_id"] or 0  # noqa: E731
    old_people = sorted(({k: r[k] for k in ("assignee_id", *selectors.BUCKET_LABELS, "total")}
                         for r in old_summary["by_practitioner"]), key=key)  # fmt: skip
    new_people = sorted(({k: r[k] for k in ("assignee_id", *selectors.BUCKET_LABELS, "total")}
                         for r in new["by_practitioner"]), key=key)  # fmt: skip
    assert new_people == old_people, filters
    assert _without_titles(new["by_rule"]) == _without_titles(old_rules), filters
    return new


def _compare_lists(user, team, now, period, **filters):
    """The board's timescales list and the dashboard's breaches, read page by page along the indexes
    (ADR 0050), list exactly the rows, in the order, of the lists computed on read."""
    totals = selectors.board_counts(team=team, now=now, **filters)["totals"]
    pages = selectors.board_timescales(user, team=team, now=now, totals=totals, **filters)
    old = list(selectors.board_deadlines(user, team=team, now=now, **filters).values_list("pk", flat=True))
    assert len(pages) == len(old), filters  # every clock of the team is in the user's reach here
    assert [d.pk for d in pages[0 : len(pages)]] == old, filters
    for start in range(0, len(old), 7):  # any page, including one across two buckets
        assert [d.pk for d in pages[start : start + 7]] == old[start : start + 7], (filters, start)
    if filters:
        return
    teams = list(Team.objects.filter(service_id=team.service_id))
    for acknowledged in ("no", "yes", ""):
        for team_id in (None, team.pk):
            scope = {"period": period, "team_id": team_id, "rule_id": ""}
            summary = selectors.breach_summaries(user, now=now, teams=teams, **scope)["period"]
            count = selectors.breach_count(summary, acknowledged)
            new = selectors.ServiceBreaches(user, now=now, count=count, teams=teams, acknowledged=acknowledged, **scope)
            old = list(
                selectors.service_breaches(user, now=now, acknowledged=acknowledged, **scope).values_list(
                    "pk", flat=True
                )
            )
            assert len(new) == len(old), (acknowledged, team_id)
            assert [d.pk for d in new[0 : len(new)]] == old, (acknowledged, team_id)
            assert [d.pk for d in new[3:9]] == old[3:9]


def _compare_dashboard(user, now, period, **scope):
    scope = {"team_id": None, "rule_id": "", **scope}
    for period_ in (period, None):
        new = selectors.breach_counts_summary(user, now=now, period=period_, **scope)
        old_team = selectors._breach_counts(user.service_id_in_scope, now=now, by="team", period=period_, **scope)
        old_rule = selectors._breach_counts(user.service_id_in_scope, now=now, by="rule", period=period_, **scope)
        assert [(r["team_id"], r["breached"], r["unacknowledged"]) for r in new["by_team"]] == [
            (r["team_id"], r["breached"], r["unacknowledged"]) for r in old_team
        ]
        assert _without_titles(new["by_rule"]) == _without_titles(old_rule)
    clocks = selectors.timeliness_clocks(user, period=period, **scope)
    new = selectors.timeliness_summary(user, period=period, now=now, **scope)

    def plain(rows, drop=("median", "title", "team__name")):
        return [{k: v for k, v in r.items() if k not in drop} for r in rows]

    assert plain(new["by_rule"]) == plain(selectors.timeliness_by_rule(clocks, now=now))
    by_team = lambda rows: sorted(plain(rows), key=lambda r: r["team_id"] or 0)  # noqa: E731
    assert by_team(new["by_team"]) == by_team(selectors.timeliness_by_team(clocks, now=now))
    assert plain(new["by_month"]) == plain(selectors.timeliness_by_month(clocks, now=now, period=period))


@pytest.mark.django_db
def test_summary_figures_equal_the_on_read_figures_on_generated_data():
    start = generation_now(TODAY)
    with time_machine.travel(start, tick=False) as traveller:
        generate(families=N, seed=11, today=TODAY, access_log=False, stream=io.StringIO())
        assert counts_reconcile(now=start, repair=False).clean
        team = (
            Team.objects.filter(deadlines__stopped_at__isnull=True)
            .exclude(kind=Team.Kind.FRONT_DOOR)
            .order_by("pk")
            .first()
        )
        manager = make_user("cmpmanager", roles.MANAGER, None, service=team.service)
        leader = make_user("cmpleader", roles.TEAM_LEADER, team)
        period = selectors.default_period(TODAY)
        busiest = (
            Deadline.objects.filter(team=team, stopped_at__isnull=True, assignee__isnull=False)
            .values_list("assignee_id", flat=True)
            .first()
        )
        rule = Deadline.objects.filter(team=team, stopped_at__isnull=True).values_list("rule_id", flat=True).first()
        for hours in (0, 5, 30, 80):  # readers correct from the last job run; then the job moves them
            now = start + timedelta(hours=hours)
            traveller.move_to(now)
            for user in (leader, manager):
                _compare_board(user, team, now)
            _compare_board(leader, team, now, practitioner_id=busiest)
            _compare_board(leader, team, now, rule_id=rule, status="breached")
            _compare_board(leader, team, now, status="today")
            _compare_lists(manager, team, now, period)
            _compare_lists(leader, team, now, period, practitioner_id=busiest)
            _compare_lists(leader, team, now, period, rule_id=rule, status="breached")
            for status in ("overdue", "today", "week"):
                _compare_lists(leader, team, now, period, status=status)
            _compare_dashboard(manager, now, period)
            _compare_dashboard(manager, now, period, team_id=team.pk, rule_id=rule)
            _compare_dashboard(leader, now, period)
            alerts_raise(now=now)
            _compare_board(leader, team, now)
            _compare_dashboard(manager, now, period)
        # Work happens: a practitioner's clocks go to another, the team's to another team.
        other = User.objects.filter(team=team, is_active=True).exclude(pk=busiest).first()
        Deadline.objects.filter(assignee_id=busiest).update(assignee=other)
        second = Team.objects.filter(service=team.service).exclude(pk=team.pk).first()
        Deadline.objects.filter(team=second, stopped_at__isnull=True, rule_id=rule).update(team=team)
        _compare_board(leader, team, now)
        _compare_dashboard(manager, now, period)
        _compare_lists(manager, team, now, period)
        assert counts_reconcile(now=now).clean
