"""The board's open-case figures and lists are the same read from the stored risk level and latest
decision (ADR 56) as computed on read before (`board_before.py`, the frozen reference).

A generated council, plus what the generator does not make: a later contact about a family with an
open case (through `contact_receive`), a Managers Decision (through `managers_decision_record`) and
partner-led cases. Compared for each team's leader and the service's manager, with and without a
practitioner filter (a partner lead's included), at instants either side of a month start and of the
October clock change; every risk source decides some case's level.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.utils import timezone

from accounts import roles
from accounts.models import PartnerOrganisation, Team
from cases import board, reach
from cases.models import Assessment, AssessmentRisk, Episode, Family
from oversight import selectors
from oversight.services import managers_decision_record
from tests.conftest import make_user
from tests.oversight import board_before as before
from tooling.generator import generate, generation_now
from workflows.services import contact_receive

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)
INSTANTS = (
    generation_now(TODAY),
    datetime(2026, 10, 31, 23, 59, tzinfo=UTC),  # the last minute of October (GMT since the 25th)
    datetime(2026, 11, 1, 0, 0, tzinfo=UTC),  # the month starts: this month's decisions restart
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, before the clocks go back
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, after
    datetime(2026, 9, 30, 23, 0, tzinfo=UTC),  # midnight BST: 1 October starts
)


def _rows(qs, *fields) -> list[tuple]:
    return [(e.pk, *(getattr(e, f) for f in fields)) for e in qs]


def _compare(user, team, now, seen: dict, practitioner_id=None) -> None:
    who = {"practitioner_id": practitioner_id}
    old = before.board_episode_counts(user, team=team, now=now, **who)
    new = selectors.board_episode_counts(user, team=team, now=now, **who)
    assert new == old, (user.username, now, practitioner_id)
    lists = {
        "long-open": (
            _rows(before.board_long_open(user, team=team, now=now, **who), "band"),
            selectors.board_long_open(user, team=team, now=now, **who),
            ("band",),
        ),
        "no-oversight": (
            _rows(before.board_no_oversight(user, team=team, now=now, **who), "old_last_decision_at"),
            selectors.board_no_oversight(user, team=team, now=now, **who),
            ("last_decision_at",),
        ),
        "high-risk": (
            [(e.pk, e.old_risk_level, before.risk_names(e)) for e in before.board_high_risk(user, team=team, **who)],
            selectors.board_high_risk(user, team=team, **who),
            None,
        ),
    }
    for key, (expected, qs, fields) in lists.items():
        got = _rows(qs, *fields) if fields else [(e.pk, e.risk_level, selectors.risk_names(e)) for e in qs]
        assert got == expected, (key, user.username, now, practitioner_id)
        count = selectors.board_case_list_count(key, new)
        assert count == len(expected), key
        # Page by page as the list page reads it: the count from the figures, a slice of the rows.
        paginator = Paginator(selectors.CountedRows(qs, count), 5)
        for number in paginator.page_range:
            page = list(paginator.page(number).object_list)
            assert [e.pk for e in page] == [row[0] for row in expected[(number - 1) * 5 : number * 5]]
        # And as the list page reads it since ADR 62: the page's ids along the index, then scope.
        rows = selectors.board_case_rows(user, key, team=team, now=now, counts=new, **who)
        paginator = Paginator(rows, 5)
        for number in paginator.page_range:
            page = list(paginator.page(number).object_list)
            want = expected[(number - 1) * 5 : number * 5]
            got_page = _rows(page, *fields) if fields else [(e.pk, e.risk_level, selectors.risk_names(e)) for e in page]
            assert got_page == want, (key, user.username, now, practitioner_id, number)
        seen[key] = seen.get(key, 0) + len(expected)
    partner_led = [e.pk for e in before.board_partner_led(user, team=team, **who)]
    assert [e.pk for e in selectors.board_partner_led(user, team=team, **who)] == partner_led
    seen["partner-led"] = seen.get("partner-led", 0) + len(partner_led)
    seen["high names"] = seen.get("high names", 0) + sum(1 for row in lists["high-risk"][0] if row[2])


def _sources_deciding(team) -> set[str]:
    """Which risk sources alone decide something of some open case of the team: its level, or the
    name of an indicator at high level that no other source gives."""
    found = set()
    keys = ("opening", "later", "assessed")
    for e in before.with_risk(Episode.objects.filter(team=team).exclude(state=Episode.State.CLOSED)):
        levels = {k: getattr(e, f"risk_{k}") or 0 for k in keys}
        names = {k: set(filter(None, (getattr(e, f"high_{k}") or "").split(","))) for k in keys}
        for key in keys:
            if levels[key] and all(levels[key] > levels[k] for k in keys if k != key):
                found.add(key)
            if names[key] - set().union(*(names[k] for k in keys if k != key)):
                found.add(key)
    return found


def test_board_figures_equal_the_on_read_figures_on_generated_data():
    start = generation_now(TODAY)
    with time_machine.travel(start, tick=False):
        generate(families=80, seed=5, today=TODAY, access_log=False, stream=io.StringIO())
    assert board.reconcile(repair=False).drift == []
    teams = list(
        Team.objects.exclude(kind=Team.Kind.FRONT_DOOR)
        .filter(episodes__state__in=Episode.OPEN_STATES)
        .distinct()
        .order_by("pk")
    )
    assert teams
    service = teams[0].service
    manager = make_user("cmpmanager", roles.MANAGER, None, service=service)
    front = make_user("cmpmash", roles.MASH_OFFICER, Team.objects.filter(kind=Team.Kind.FRONT_DOOR).first())

    open_cases = list(Episode.objects.filter(team=teams[0]).exclude(state=Episode.State.CLOSED).order_by("pk"))
    assessed = Assessment.objects.filter(episode__in=open_cases).order_by("pk").first()
    # An assessment's risk raised to high, as recording the assessment does (the row, then a refresh).
    AssessmentRisk.objects.update_or_create(assessment=assessed, indicator="development", defaults={"level": 3})
    board.refresh(episode_ids=[assessed.episode_id])
    assert "development" in Episode.objects.get(pk=assessed.episode_id).high_risks.split(",")
    # A later contact at high risk about a family with an open case, through intake.
    open_case = next(e for e in open_cases if e.pk != assessed.episode_id)
    family = Family.objects.get(pk=open_case.family_id)
    contact_receive(
        family=family,
        subjects=[],
        received_at=start - timedelta(hours=2),
        route="email",
        source="2A",
        presenting_needs="Police report of an incident at home.",
        risks={"offending": (3, "Arrest last night"), "health": (2, "")},
        by=front,
        now=start,
    )
    stored = Episode.objects.get(pk=open_case.pk)
    assert stored.risk_level == 3 and "offending" in stored.high_risks.split(",")
    # A Managers Decision this month, through the service: the case leaves "no oversight".
    decided = (
        Episode.objects.filter(team=teams[0])
        .filter(Q(last_decision_at__isnull=True) | Q(last_decision_at__lt=start))
        .order_by(F("last_decision_at").asc(nulls_first=True), "pk")
        .exclude(state=Episode.State.CLOSED)
        .exclude(pk=open_case.pk)
        .first()
    )
    managers_decision_record(
        episode=decided, oversees="monthly", decision="Continue", rationale="Progress.", by=manager, now=start
    )
    assert Episode.objects.get(pk=decided.pk).last_decision_at == start

    # Partner-led cases (the generator makes none): a partner agency's lead professional.
    org = PartnerOrganisation.objects.create(
        name="Lantern Primary", kind="school", contact_source="2A", email="office@school.example", registered_at=start
    )
    partner = make_user("cmppartner", roles.PARTNER, None, partner_organisation=org)
    led = list(
        Episode.objects.filter(team=teams[0], state=Episode.State.PLAN_ACTIVE)
        .order_by("pk")
        .values_list("pk", "family_id")[:3]
    )
    Episode.objects.filter(pk__in=[pk for pk, _ in led]).update(partner_organisation=org, lead_professional=partner)
    reach.refresh([family_id for _, family_id in led])
    assert board.reconcile(repair=False).drift == []

    sources: set[str] = set()
    seen: dict[str, int] = {}
    for team in teams:
        sources |= _sources_deciding(team)
        leader = make_user(f"cmpleader{team.pk}", roles.TEAM_LEADER, team)
        busiest = (
            Episode.objects.filter(team=team, lead_professional__isnull=False)
            .exclude(state=Episode.State.CLOSED)
            .values_list("lead_professional_id", flat=True)
            .first()
        )
        for now in INSTANTS:
            for user in (leader, manager) if team.service_id == service.pk else (leader,):
                _compare(user, team, now, seen)
            _compare(leader, team, now, seen, practitioner_id=busiest)
        if led and team == teams[0]:
            _compare(leader, team, timezone.now(), seen, practitioner_id=partner.pk)
    assert sources == {"opening", "later", "assessed"}
    assert all(seen.get(key) for key in ("long-open", "no-oversight", "high-risk", "high names", "partner-led")), seen
