"""The dashboard's figures summed in SQL (`open_totals`, `timeliness_totals`) are exactly those of the
readers they replace, which read every summary row into Python (`open_counts`, `timeliness_counts`):
kept here word for word as the reference (`_reference_breach_summaries`, `_reference_timeliness_summary`).

A generated council, time pinned, read at instants where clocks cross limits between the rows'
`as_of` and `now` (the correction), with and without a team and a rule filter, in a period and
whenever breached, and with acknowledgements to subtract.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db.models import Case, Count, Q, Value, When
from django.utils import timezone

from accounts import roles
from accounts.models import Team, User
from cases.models import add_months
from deadlines.alerts import alerts_raise
from deadlines.counts import counts_as_of, open_totals, timeliness_totals
from deadlines.models import ClockCountsState, Deadline, OpenClockCount, Status
from oversight import selectors
from oversight.models import BreachAcknowledgement
from oversight.selectors import (
    BUCKET_LABELS,
    Period,
    local_midnight,
    rule_choices,
    rule_titles,
    service_id_of,
    timeliness_months,
)
from tests.conftest import make_user
from tooling.generator import generate, generation_now

TODAY = date(2026, 11, 30)

# The reference selectors below call these helpers by their names, as they did in oversight.selectors.
_board_bucket = selectors._board_bucket
_names = selectors._names
_service_teams = selectors._service_teams
_with_percentages = selectors._with_percentages


def _reference_breach_summaries(
    user,
    *,
    now: datetime,
    period: Period | None,
    teams: list[Team] | None = None,
    team_id: int | None = None,
    rule_id: str = "",
) -> dict[str, dict]:
    """Open breaches of the service by team and by rule with how many are not yet acknowledged, for
    those breached in `period` ("period") and whenever breached ("whenever"): the figures of
    `_breach_counts`, from the summary rows (one read) plus one count of acknowledgements (a
    manager's act, so few). `teams`: the service's teams, if the caller has them."""
    from deadlines.counts import BREACH_DAY, open_counts

    empty = {"by_team": [], "by_rule": [], "breached": 0, "unacknowledged": 0}
    if not service_id_of(user):
        return {"period": empty, "whenever": empty}
    teams = _service_teams(user) if teams is None else teams
    names = {t.pk: t.name for t in teams if not team_id or t.pk == team_id}
    if not names:
        return {"period": empty, "whenever": empty}
    # Whenever: the status rows of breached clocks; in the period: their rows by the day they breached.
    by_day = Q(status=BREACH_DAY)
    if period is not None:
        by_day &= Q(day__gte=period.start, day__lte=period.end)
    where = Q(team_id__in=list(names)) & (Q(status=Status.BREACHED) | by_day)
    if rule_id:
        where &= Q(rule_id=rule_id)

    def in_period(day) -> bool:
        return period is None or period.start <= day <= period.end

    def keep(key) -> bool:
        if rule_id and key[2] != rule_id:
            return False
        return key[3] == Status.BREACHED or (key[3] == BREACH_DAY and in_period(key[4]))

    counts = open_counts(now=now, where=where, clock_where=Q(team_id__in=list(names)), keep=keep)
    acked = Deadline.objects.breached(now).filter(team_id__in=list(names), acknowledgements__isnull=False)
    if rule_id:
        acked = acked.filter(rule_id=rule_id)
    within = Q(due_at__gte=period.start_at, due_at__lt=period.end_at) if period is not None else Q(pk__isnull=False)
    acked_rows = list(
        acked.order_by()
        .annotate(in_period=Case(When(within, then=Value(True)), default=Value(False)))
        .values_list("team_id", "rule_id", "in_period")
        .annotate(n=Count("pk", distinct=True))
    )
    titles = rule_titles()
    out = {}
    for name, only_period in (("period", True), ("whenever", False)):
        by_team: dict[int, dict] = {}
        by_rule: dict[str, dict] = {}
        for (team, _a, rule, status, _day), n in counts.items():
            if status != (BREACH_DAY if only_period else Status.BREACHED):
                continue
            by_team.setdefault(team, {"breached": 0, "unacknowledged": 0})["breached"] += n
            by_rule.setdefault(rule, {"breached": 0, "unacknowledged": 0})["breached"] += n
        for row in (*by_team.values(), *by_rule.values()):
            row["unacknowledged"] = row["breached"]
        for team, rule, is_within, n in acked_rows:
            if only_period and not is_within:
                continue
            for row in (by_team.get(team), by_rule.get(rule)):
                if row is not None:
                    row["unacknowledged"] = max(0, row["unacknowledged"] - n)
        team_rows = sorted(
            ({"team_id": t, "team__name": names.get(t, ""), **row} for t, row in by_team.items()),
            key=lambda r: (r["team__name"], r["team_id"]),
        )
        rule_rows = sorted(
            ({"rule_id": r, "title": titles.get(r, r), **row} for r, row in by_rule.items()),
            key=lambda r: (-r["breached"], r["rule_id"]),
        )
        out[name] = {
            "by_team": team_rows,
            "by_rule": rule_rows,
            "breached": sum(r["breached"] for r in team_rows),
            "unacknowledged": sum(r["unacknowledged"] for r in team_rows),
        }
    return out


def _reference_timeliness_summary(
    user,
    *,
    period: Period,
    now: datetime,
    team_id: int | None = None,
    rule_id: str = "",
    teams: list[Team] | None = None,
) -> dict:
    """Timeliness by rule, team and month of the clocks started in the months of `period`, from the
    summary rows: the figures of `timeliness_by_rule`, `_by_team` and `_by_month` for whole months
    (no median: the timeliness report has it). Scoped like `timeliness_clocks`."""
    from deadlines.counts import timeliness_counts

    out = {"by_rule": [], "by_team": [], "by_month": [], "computed_at": now}
    found = _service_teams(user) if teams is None else teams
    if user.has_role(roles.TEAM_LEADER) and not user.has_role(roles.MANAGER):
        found = [t for t in found if t.pk == user.team_id]
    names = {t.pk: t.name for t in found if not team_id or t.pk == team_id}
    teams = list(names)
    first, last = timeliness_months(period)
    where = Q(team_id__in=teams, month__gte=first, month__lte=last)
    if rule_id:
        where &= Q(rule_id=rule_id)
    end = local_midnight(add_months(last, 1))
    clock_where = Q(team_id__in=teams, started_at__gte=local_midnight(first), started_at__lt=end)
    counts = timeliness_counts(now=now, where=where, clock_where=clock_where)
    by_rule: dict[str, dict] = {}
    by_team: dict[int, dict] = {}
    by_month: dict[date, dict] = {}
    for (team, rule, month), measures in counts.items():
        if team not in teams or not (first <= month <= last) or (rule_id and rule != rule_id):
            continue
        for group, key in ((by_rule, rule), (by_team, team), (by_month, month)):
            row = group.setdefault(key, dict.fromkeys(measures, 0))
            for m, v in measures.items():
                row[m] += v

    def shaped(row: dict, **extra) -> dict:
        return _with_percentages({**row, **extra, "median": None})

    titles = rule_titles()
    order = {r: i for i, (r, _) in enumerate(rule_choices())}
    out["by_rule"] = sorted(
        (shaped(row, rule_id=r, title=titles.get(r, r)) for r, row in by_rule.items()),
        key=lambda r: (order.get(r["rule_id"], 999), r["rule_id"]),
    )
    out["by_team"] = sorted(
        (shaped(row, team_id=t, team__name=names.get(t, "")) for t, row in by_team.items()),
        key=lambda r: (r["team__name"], r["team_id"]),
    )
    zero = dict.fromkeys(("run", "with_expected", "with_maximum", "stopped", "met_expected", "missed_expected",
                          "met_maximum", "missed_maximum"), 0)  # fmt: skip
    out["by_month"] = [shaped(dict(by_month.get(m, zero)), month=m) for m in Period(first, period.end).months()]
    return out


def _reference_board_counts(
    *,
    team: Team,
    now: datetime,
    practitioner_id: int | None = None,
    rule_id: str = "",
    status: str = "",
    members: list[User] | None = None,
) -> dict:
    """The board's counts of the team's open clocks by practitioner and by rule, from the summary rows.

    The same figures as `board_deadline_summary` and `board_rule_summary` over `board_deadlines`:
    breached, overdue, due today and due later this week (to Sunday), filtered by practitioner,
    rule and status.
    """
    from deadlines.counts import open_counts

    today = timezone.localdate(now)
    sunday = today + timedelta(days=6 - today.weekday())

    def bucket(key) -> str | None:
        return _board_bucket(key[3], key[4], today=today, sunday=sunday)

    where = Q(team_id=team.pk) & (Q(status__in=[Status.BREACHED, Status.OVERDUE]) | Q(day__lte=sunday))
    counts = open_counts(now=now, where=where, clock_where=Q(team_id=team.pk), keep=lambda k: bucket(k) is not None)
    people: dict[int, dict] = {}
    rules: dict[str, dict] = {}
    zero = dict.fromkeys([*BUCKET_LABELS, "total"], 0)
    for key, n in counts.items():
        _team, assignee_id, rule, _status, _day = key
        b = bucket(key)
        if (practitioner_id and assignee_id != practitioner_id) or (rule_id and rule != rule_id):
            continue
        if status in BUCKET_LABELS and b != status:
            continue
        for row in (people.setdefault(assignee_id, dict(zero)), rules.setdefault(rule, dict(zero))):
            row[b] += n
            row["total"] += n
    # The team's members are already read by the page: only anyone else holding clocks is looked up.
    names = {u.pk: u.get_full_name() or u.username for u in members or ()}
    names.update(_names([pk for pk in people if pk not in names]))
    by_practitioner = [
        {"assignee_id": pk or None, "name": names.get(pk) or "Not allocated (team)", **row}
        for pk, row in people.items()
    ]
    by_practitioner.sort(key=lambda r: (r["assignee_id"] is None, r["name"], r["assignee_id"] or 0))
    totals = dict(zero)
    for row in people.values():
        for key in totals:
            totals[key] += row[key]
    titles = rule_titles()
    by_rule = sorted(
        (
            {"rule_id": r, "title": titles.get(r, r), **row, "due": row["today"] + row["week"]}
            for r, row in rules.items()
        ),
        key=lambda r: (-r["breached"], -r["overdue"], -r["total"], r["rule_id"]),
    )
    return {"by_practitioner": by_practitioner, "totals": totals, "by_rule": by_rule}


def _moving(now) -> int:
    """How many open clocks the readers correct between the rows' `as_of` and `now`."""
    from deadlines import counts

    return sum(abs(n) for n in counts._movement(counts_as_of(), now).open.values()) // 2


@pytest.mark.django_db
def test_the_figures_summed_in_sql_equal_those_summed_in_python():
    start = generation_now(TODAY)
    with time_machine.travel(start, tick=False) as traveller:
        generate(families=60, seed=11, today=TODAY, access_log=False, stream=io.StringIO())
        team = (
            Team.objects.filter(deadlines__stopped_at__isnull=True)
            .exclude(kind=Team.Kind.FRONT_DOOR)
            .order_by("pk")
            .first()
        )
        manager = make_user("sqlmanager", roles.MANAGER, None, service=team.service)
        leader = make_user("sqlleader", roles.TEAM_LEADER, team)
        teams = list(Team.objects.filter(service=team.service))
        # Some breaches acknowledged, in the period and before it: subtracted from "unacknowledged".
        breached = list(Deadline.objects.breached(start).filter(team__in=teams).order_by("due_at", "pk"))
        assert len(breached) > 6
        for deadline in (*breached[:3], *breached[-3:]):
            BreachAcknowledgement.objects.create(deadline=deadline, by=manager, at=start, comment="Seen")
        rule = Deadline.objects.filter(team=team, due_at__lt=start).values_list("rule_id", flat=True).first()
        period = selectors.default_period(TODAY)
        short = Period(TODAY - timedelta(days=20), TODAY)
        moved = 0
        # The rows stay as of `start` (no alert job): each later instant reads them with a correction.
        for hours in (0, 6, 30, 80, 200):
            now = start + timedelta(hours=hours)
            traveller.move_to(now)
            moved = max(moved, _moving(now))
            busiest = (
                Deadline.objects.filter(team=team, stopped_at__isnull=True, assignee__isnull=False)
                .values_list("assignee_id", flat=True)
                .first()
            )
            board_filters = (
                {},
                {"practitioner_id": busiest},
                {"rule_id": rule},
                {"rule_id": rule, "status": "breached"},
                *({"status": status} for status in BUCKET_LABELS),
                {"practitioner_id": busiest, "status": "week"},
            )
            for filters in board_filters:
                new = selectors.board_counts(team=team, now=now, **filters)
                assert new == _reference_board_counts(team=team, now=now, **filters), (hours, filters)
            for user in (manager, leader):
                for p in (period, short, None):
                    for scope in ({}, {"team_id": team.pk}, {"rule_id": rule}, {"team_id": team.pk, "rule_id": rule}):
                        new = selectors.breach_summaries(user, now=now, period=p, **scope)
                        old = _reference_breach_summaries(user, now=now, period=p, **scope)
                        assert new == old, (hours, user.username, p, scope)
                        if p is None:
                            continue
                        new = selectors.timeliness_summary(user, now=now, period=p, teams=teams, **scope)
                        old = _reference_timeliness_summary(user, now=now, period=p, teams=teams, **scope)
                        assert new == old, (hours, user.username, p, scope)
        assert moved > 0  # the correction window was exercised: clocks crossed a limit after `as_of`
        figures = selectors.breach_summaries(manager, now=now, period=period)
        assert figures["whenever"]["breached"] > figures["whenever"]["unacknowledged"] > 0
        # Then the job moves the rows to now: the same figures with no correction left.
        alerts_raise(now=now)
        assert _moving(now) == 0
        assert selectors.breach_summaries(manager, now=now, period=period) == figures


@pytest.mark.django_db
def test_an_empty_grouping_reads_nothing_and_a_zero_row_is_left_out(django_assert_num_queries):
    now = generation_now(TODAY)
    with time_machine.travel(now, tick=False):
        OpenClockCount.objects.create(team_id=1, assignee_id=0, rule_id="R1", status=Status.BREACHED, n=0)
        OpenClockCount.objects.create(team_id=1, assignee_id=2, rule_id="R1", status=Status.BREACHED, n=2)
        OpenClockCount.objects.create(team_id=1, assignee_id=3, rule_id="R2", status=Status.BREACHED, n=1)
        by = (("team_id", "status"), ("rule_id", "status"))
        ClockCountsState.objects.update_or_create(pk=1, defaults={"as_of": now - timedelta(hours=1)})
        with django_assert_num_queries(2):  # the rows and the instant, then the correction
            teams, rules = open_totals(now=now, by=by, where=Q(team_id=1))
        assert teams == {(1, Status.BREACHED): 3}
        assert rules == {("R1", Status.BREACHED): 2, ("R2", Status.BREACHED): 1}
        with django_assert_num_queries(1):  # no team: only the instant is read
            assert open_totals(now=now, by=by, where=Q(team_id__in=[]), clock_where=Q(team_id__in=[])) == [{}, {}]
        assert timeliness_totals(now=now, by=(("rule_id",),), where=Q(team_id=1)) == [{}]
