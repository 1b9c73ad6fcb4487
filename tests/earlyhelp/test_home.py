"""Home = my work (ADR 0028): each role's counts, its next five most urgent items, their links, and scope.

Time is pinned (a Saturday, so "due today" is tested on a weekend); the data is built straight
through the ORM so every count is known.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts import roles
from cases.models import ClosureRequest, Contact, PlannedVisit, StepUp
from deadlines.models import Alert
from earlyhelp.home import home_sections
from tests.conftest import make_user
from tests.factories import ServiceFactory, TeamFactory, family_with_children
from tests.oversight.helpers import S, london, make_contact, make_deadline, make_episode

SATURDAY = london(2026, 11, 28, 10, 0)
MONDAY_9AM = london(2026, 11, 30, 9, 0)


@pytest.fixture
def pinned():
    with time_machine.travel(SATURDAY, tick=False):
        yield SATURDAY


@pytest.fixture
def coach2(team):
    return make_user("coach2", roles.PRACTITIONER, team)


@pytest.fixture
def far_manager(db):
    far = ServiceFactory(name="Far Borough Early Help")
    TeamFactory(name="Far Hub", service=far)
    return make_user("farmanager", roles.MANAGER, None, service=far)


def section(user, key):
    found = [s for s in home_sections(user, now=SATURDAY) if s.key == key]
    assert len(found) == 1, [s.key for s in home_sections(user, now=SATURDAY)]
    return found[0]


def counts(sec) -> dict[str, int]:
    return {card.label: card.count for card in sec.cards}


def urls(sec) -> dict[str, str]:
    return {card.label: card.url for card in sec.cards}


def clocks_on(episode, team, *, prefix=""):
    """Five open clocks of known urgency on one episode, and one stopped one (never counted)."""
    made = {
        "old_breach": make_deadline(
            f"{prefix}B1", team=team, episode=episode, started_at=london(2022, 1, 1), due_at=london(2022, 1, 3)
        ),
        "new_breach": make_deadline(
            f"{prefix}B2",
            team=team,
            episode=episode,
            started_at=SATURDAY - timedelta(days=5),
            due_at=SATURDAY - timedelta(days=1),
        ),
        "overdue": make_deadline(
            f"{prefix}B3",
            team=team,
            episode=episode,
            started_at=SATURDAY - timedelta(days=3),
            expected_at=SATURDAY - timedelta(hours=1),
            due_at=SATURDAY + timedelta(days=3),
        ),
        "today": make_deadline(
            f"{prefix}B4",
            team=team,
            episode=episode,
            started_at=SATURDAY,
            expected_at=london(2026, 11, 28, 23, 0),
            due_at=SATURDAY + timedelta(days=10),
        ),
        "monday": make_deadline(f"{prefix}B5", team=team, episode=episode, started_at=SATURDAY, due_at=MONDAY_9AM),
    }
    make_deadline(
        f"{prefix}B6",
        team=team,
        episode=episode,
        started_at=london(2022, 1, 1),
        due_at=london(2022, 1, 3),
        stopped_at=london(2022, 1, 5),
    )
    return made


def episode_url(episode):
    return reverse("episodes:episode_detail", args=[episode.pk])


# --- Practitioner ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_practitioner_sees_counts_of_their_own_cases_on_a_saturday(pinned, users, team, other_team, coach2):
    coach = users["coach"]
    mine = make_episode(team, lead=coach)
    made = clocks_on(mine, team)
    clocks_on(make_episode(team, lead=coach2), team)  # a colleague's case: not mine
    clocks_on(make_episode(other_team, lead=make_user("far", roles.PRACTITIONER, other_team)), other_team)
    PlannedVisit.objects.create(
        episode=mine,
        family=mine.family,
        planned_at=SATURDAY - timedelta(days=2),
        visitor=coach,
        created_at=SATURDAY - timedelta(days=3),
        created_by=coach,
    )
    PlannedVisit.objects.create(  # still to come: not yet to be recorded
        episode=mine,
        family=mine.family,
        planned_at=SATURDAY + timedelta(days=2),
        visitor=coach,
        created_at=SATURDAY - timedelta(days=3),
        created_by=coach,
    )
    Alert.objects.create(deadline=made["new_breach"], level="breached", recipient=coach, created_at=SATURDAY)
    Alert.objects.create(
        deadline=made["overdue"], level="overdue", recipient=coach, created_at=SATURDAY, read_at=SATURDAY
    )

    sec = section(coach, "practitioner")
    assert counts(sec) == {
        "Breached": 2,
        "Overdue": 1,
        "Due today": 1,  # Saturday 23:00; Monday 09:00 is not today even though Monday is the next working day
        "Planned visits not recorded": 1,
        "Alerts not seen": 1,
    }
    assert urls(sec)["Breached"] == reverse("oversight:my_work")
    assert urls(sec)["Alerts not seen"] == reverse("deadlines:alerts")
    # Breached (newest breach first), then overdue, then due soonest; five at most.
    assert [i.record.pk for i in sec.items] == [
        made[k].pk for k in ("new_breach", "old_breach", "overdue", "today", "monday")
    ]
    assert {i.url for i in sec.items} == {episode_url(mine)}
    assert [i.status for i in sec.items] == ["breached", "breached", "overdue", "due_soon", "on_time"]


@pytest.mark.django_db
def test_home_page_shows_the_work_first_and_the_navigation_below(client, pinned, users, team):
    coach = users["coach"]
    episode = make_episode(team, lead=coach)
    made = clocks_on(episode, team)
    client.force_login(coach)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("My cases</h2>") < html.index("Your pages</h2>") < html.index("Your roles</h2>")
    assert f'href="{episode_url(episode)}"' in html
    assert made["new_breach"].title in html
    assert "27 November 2026, 10:00" in html  # the newest breach, with its year
    assert f'href="{reverse("oversight:my_work")}"' in html


@pytest.mark.django_db
def test_home_page_view_is_logged_for_each_family_shown(client, pinned, users, team):
    from cases.models import AccessLog

    coach = users["coach"]
    episode = make_episode(team, lead=coach)
    clocks_on(episode, team)
    client.force_login(coach)
    client.get(reverse("home"))
    assert AccessLog.objects.filter(user=coach, family_id_logged=episode.family_id, what="home page").exists()


# --- Team leader -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_team_leader_sees_the_teams_work_and_not_another_teams(pinned, users, team, other_team, coach2):
    lead = users["teamlead"]
    a = make_episode(team, lead=users["coach"])
    b = make_episode(team, lead=coach2)
    clocks_on(a, team)
    clocks_on(b, team, prefix="X")
    make_episode(team, state=S.AWAITING_ALLOCATION)
    make_episode(other_team, state=S.AWAITING_ALLOCATION)
    far = make_episode(other_team, lead=make_user("far", roles.PRACTITIONER, other_team))
    clocks_on(far, other_team)
    ClosureRequest.objects.create(
        episode=a,
        requested_at=SATURDAY,
        requested_by=users["coach"],
        summary="Goals met",
        child_voice="Happier",
        proposed_reason="goals_met",
    )
    for episode in (b, far):
        StepUp.objects.create(
            episode=episode,
            proposed_at=SATURDAY,
            proposed_by=users["coach"],
            concern=StepUp.Concern.choices[0][0],
            reason="Risk up",
            multi_agency_views="School worried",
            family_views="Mum agrees",
        )

    sec = section(lead, "team_leader")
    assert counts(sec) == {
        "Waiting for allocation": 1,
        "Breached": 4,
        "Overdue": 2,
        "Due today": 2,
        "Awaiting a manager's sign-off": 2,
    }
    board = reverse("oversight:team_board") + f"?team={team.pk}"
    assert urls(sec)["Breached"] == board
    assert urls(sec)["Waiting for allocation"] == reverse("episodes:pre_allocation")
    assert len(sec.items) == 5
    assert [i.status for i in sec.items] == ["breached"] * 4 + ["overdue"]
    assert {i.url for i in sec.items} == {episode_url(a), episode_url(b)}


# --- Front door ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mash", "mashlead"])
def test_front_door_sees_contacts_awaiting_a_decision_and_their_clocks(pinned, users, front_door_team, who):
    waiting = make_contact(family_with_children(1)[0], received_at=SATURDAY - timedelta(days=2))
    decided = make_contact(family_with_children(1)[0], received_at=SATURDAY - timedelta(days=9))
    Contact.objects.filter(pk=decided.pk).update(state="signposted")
    breach = make_deadline(
        "A1",
        team=front_door_team,
        contact=waiting,
        started_at=waiting.received_at,
        due_at=SATURDAY - timedelta(hours=2),
    )
    soon = make_deadline(
        "A2",
        team=front_door_team,
        contact=waiting,
        started_at=waiting.received_at,
        due_at=SATURDAY + timedelta(hours=3),
    )
    make_deadline(  # a decided contact's clock: no longer the front door's queue
        "A3", team=front_door_team, contact=decided, started_at=decided.received_at, due_at=SATURDAY - timedelta(days=1)
    )

    sec = section(users[who], "front_door")
    assert counts(sec) == {"Contacts awaiting a decision": 1, "Breached": 1, "Overdue": 0, "Due today": 1}
    assert set(urls(sec).values()) == {reverse("cases:triage_queue")}
    assert [i.record.pk for i in sec.items] == [breach.pk, soon.pk]
    assert sec.items[0].url == reverse("cases:contact_detail", args=[waiting.pk])


# --- Duty worker -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_duty_worker_sees_the_pre_allocation_list_weekly_contact_due_first(pinned, users, team, other_team):
    from tests.oversight.helpers import duty_note

    duty = users["duty"]
    longest = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=SATURDAY - timedelta(days=20))
    duty_note(longest, at=SATURDAY - timedelta(days=2), by=duty)  # contacted this week
    due = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=SATURDAY - timedelta(days=10))
    make_episode(other_team, state=S.AWAITING_ALLOCATION, opened_at=SATURDAY - timedelta(days=30))
    make_episode(team, lead=users["coach"])  # allocated: not on the list
    make_deadline("B7", team=team, episode=due, started_at=due.opened_at, due_at=SATURDAY - timedelta(days=1))

    sec = section(duty, "duty")
    assert counts(sec) == {
        "Families waiting for allocation": 2,
        "Weekly contact due": 1,
        "Breached": 1,
        "Overdue": 0,
    }
    assert set(urls(sec).values()) == {reverse("episodes:pre_allocation")}
    assert [i.record.pk for i in sec.items] == [due.pk, longest.pk]
    assert sec.items[0].url == episode_url(due)


# --- Managers --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_sees_the_services_breaches_and_sign_offs_not_another_services(
    pinned, users, team, other_team, far_manager
):
    manager = users["manager"]
    a = make_episode(team, lead=users["coach"])
    b = make_episode(other_team, lead=make_user("south", roles.PRACTITIONER, other_team))
    clocks_on(a, team)
    clocks_on(b, other_team, prefix="X")
    ClosureRequest.objects.create(
        episode=a,
        requested_at=SATURDAY,
        requested_by=users["coach"],
        summary="Goals met",
        child_voice="Happier",
        proposed_reason="goals_met",
    )
    StepUp.objects.create(
        episode=b,
        proposed_at=SATURDAY,
        proposed_by=users["coach"],
        concern=StepUp.Concern.choices[0][0],
        reason="Risk up",
        multi_agency_views="School worried",
        family_views="Mum agrees",
    )
    StepUp.objects.create(
        episode=a,
        proposed_at=SATURDAY,
        proposed_by=users["coach"],
        concern=StepUp.Concern.choices[0][0],
        reason="Risk up",
        multi_agency_views="School worried",
        family_views="Mum agrees",
        sent_at=SATURDAY,
    )

    sec = section(manager, "service")
    assert counts(sec) == {
        "Breached": 4,
        "Overdue": 2,
        "Due today": 2,
        "Closures awaiting sign-off": 1,
        "Step-ups to send": 1,
    }
    assert urls(sec)["Breached"] == reverse("oversight:dashboard") + "?acknowledged=all"
    assert urls(sec)["Closures awaiting sign-off"] == reverse("episodes:sign_off")
    assert [i.status for i in sec.items] == ["breached"] * 4 + ["overdue"]
    # The newest breaches (yesterday's) come before the four-year-old ones.
    assert [i.when.year for i in sec.items[:4]] == [2026, 2026, 2022, 2022]

    far = section(far_manager, "service")
    assert all(card.count == 0 for card in far.cards) and far.items == []


@pytest.mark.django_db
def test_duty_manager_sees_step_ups_awaiting_their_decision(pinned, users, team):
    a = make_episode(team, lead=users["coach"])
    b = make_episode(team, lead=users["coach"])
    for episode, sent in ((a, SATURDAY - timedelta(hours=30)), (b, None)):
        StepUp.objects.create(
            episode=episode,
            proposed_at=SATURDAY - timedelta(days=2),
            proposed_by=users["coach"],
            concern=StepUp.Concern.choices[0][0],
            reason="Risk up",
            multi_agency_views="School worried",
            family_views="Mum agrees",
            sent_at=sent,
        )
    decision = make_deadline(
        "B30", team=team, episode=a, started_at=SATURDAY - timedelta(hours=30), due_at=SATURDAY + timedelta(hours=18)
    )
    make_deadline("B31", team=team, episode=b, started_at=SATURDAY, due_at=SATURDAY + timedelta(hours=5))

    sec = section(users["dutymanager"], "service")
    assert counts(sec) == {"Step-ups awaiting my decision": 1}
    assert urls(sec)["Step-ups awaiting my decision"] == reverse("episodes:sign_off")
    assert [i.record.pk for i in sec.items] == [decision.pk]


# --- Administrator and someone with no role --------------------------------------------------------


@pytest.mark.django_db
def test_administrator_sees_links_as_before_and_no_work_sections(client, users):
    assert home_sections(users["admin"], now=SATURDAY) == []
    client.force_login(users["admin"])
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("accounts:user_list")}"' in html


@pytest.mark.django_db
def test_someone_with_no_role_is_told_to_ask_for_one(client, users):
    client.force_login(users["outsider"])
    response = client.get(reverse("home"))
    assert response.status_code == 200 and "You have no role yet" in response.content.decode()
    assert response.context["sections"] == []


# --- Bounded queries -------------------------------------------------------------------------------


def _build(users, team, n: int):
    for _ in range(n):
        episode = make_episode(team, lead=users["coach"])
        clocks_on(episode, team)
        make_episode(team, state=S.AWAITING_ALLOCATION)
        contact = make_contact(family_with_children(1)[0], received_at=SATURDAY - timedelta(days=1))
        make_deadline("A1", team=team, contact=contact, started_at=contact.received_at, due_at=SATURDAY)
        ClosureRequest.objects.create(
            episode=episode,
            requested_at=SATURDAY,
            requested_by=users["coach"],
            summary="Goals met",
            child_voice="Happier",
            proposed_reason="goals_met",
        )
        Alert.objects.create(
            deadline=episode.deadlines.first(), level="breached", recipient=users["coach"], created_at=SATURDAY
        )


ROLES = ["mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager", "admin"]


@pytest.mark.django_db
def test_home_page_queries_do_not_grow_with_the_caseload(client, pinned, users, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(name: str) -> int:
        client.force_login(users[name])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        client.logout()
        return len(ctx.captured_queries)

    _build(users, team, 1)
    one = {name: queries(name) for name in ROLES}
    _build(users, team, 29)
    thirty = {name: queries(name) for name in ROLES}
    assert one == thirty
    assert max(thirty.values()) <= 20, thirty


def test_today_ends_at_local_midnight_in_summer_time_too():
    from datetime import UTC, datetime

    from oversight.home_selectors import end_of_today

    late_utc = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 July in London (BST)
    assert end_of_today(late_utc) == london(2026, 7, 3, 0, 0)
    assert end_of_today(SATURDAY) == london(2026, 11, 29, 0, 0)


# --- Read at constant cost (ADR 0064) ----------------------------------------------------------------


def _ordered_before(clocks, now):
    """`most_urgent_clocks` as it was: every open clock of the scope ranked in one ORDER BY (the reference)."""
    from django.db.models import Case, F, IntegerField, Value, When
    from django.db.models.functions import Coalesce

    from deadlines.models import Status

    ranked = (
        clocks.open()
        .with_status(now)
        .annotate(
            urgency=Case(
                When(status=Status.BREACHED, then=Value(0)),
                When(status=Status.OVERDUE, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            breached_at=Case(When(status=Status.BREACHED, then=F("due_at")), default=None),
            first_limit=Coalesce("expected_at", "due_at"),
        )
        .order_by("urgency", F("breached_at").desc(nulls_last=True), F("first_limit").asc(nulls_last=True), "pk")
    )
    return [d.pk for d in ranked]


@pytest.mark.django_db
def test_team_and_service_clocks_counted_from_the_summary_rows_and_most_urgent_by_branch(
    pinned, users, team, other_team, far_manager
):
    """The team leader's and the manager's cards come from the summary rows, and their five most urgent
    from one branch per urgency: the same figures and items as counting and ranking the scoped clocks,
    at instants the summary rows are not advanced to (the correction to `now` included)."""
    from oversight import home_selectors as hs

    lead, manager = users["teamlead"], users["manager"]
    for n in range(3):
        clocks_on(make_episode(team, lead=users["coach"]), team, prefix=f"T{n}")
    clocks_on(make_episode(other_team, lead=make_user("south", roles.PRACTITIONER, other_team)), other_team, prefix="O")
    # Supervision (worker) clocks of the team count too; an aim past its maximum is overdue, not breached.
    make_deadline("S1", team=team, worker=users["coach"], started_at=SATURDAY, due_at=SATURDAY + timedelta(hours=3))
    episode = make_episode(team, lead=users["coach"])
    aim = make_deadline("F1", team=team, episode=episode, started_at=london(2026, 11, 1), due_at=london(2026, 11, 20))
    aim.__class__.objects.filter(pk=aim.pk).update(flag_only=True)
    service_id = manager.service_id_in_scope
    for at in (
        SATURDAY,
        SATURDAY + timedelta(hours=2),
        SATURDAY + timedelta(hours=14),
        MONDAY_9AM + timedelta(minutes=1),
        SATURDAY + timedelta(days=40),
    ):
        team_clocks, service_clocks = hs.team_clocks(lead), hs.service_clocks(manager)
        team_counts = hs.summary_clock_counts(now=at, team_id=team.pk)
        service_counts = hs.summary_clock_counts(now=at, service_id=service_id)
        assert team_counts == hs.clock_counts(team_clocks, now=at), at
        assert service_counts == hs.clock_counts(service_clocks, now=at), at
        for clocks, counts in ((team_clocks, team_counts), (service_clocks, service_counts)):
            for limit in (1, 3, 5, 12, 40):
                got = [d.pk for d in hs.most_urgent_clocks(clocks, now=at, counts=counts, limit=limit)]
                assert got == _ordered_before(clocks, at)[:limit], (at, limit)
                assert got == [d.pk for d in hs.most_urgent_clocks(clocks, now=at, counts=None, limit=limit)]
    assert hs.summary_clock_counts(now=SATURDAY, service_id=far_manager.service_id_in_scope) == hs.NO_CLOCKS


@pytest.mark.django_db
def test_sign_off_counts_start_from_the_waiting_rows_and_keep_to_scope(pinned, users, team, other_team, far_manager):
    from oversight import home_selectors as hs

    a, b = make_episode(team, lead=users["coach"]), make_episode(other_team)
    for episode, status in ((a, ClosureRequest.Status.PENDING), (a, ClosureRequest.Status.PENDING), (b, "signed_off")):
        ClosureRequest.objects.create(
            episode=episode,
            requested_at=SATURDAY,
            requested_by=users["coach"],
            summary="Goals met",
            child_voice="Happier",
            proposed_reason="goals_met",
            status=status,
        )
    ClosureRequest.objects.create(
        episode=b,
        requested_at=SATURDAY,
        requested_by=users["coach"],
        summary="Goals met",
        child_voice="Happier",
        proposed_reason="goals_met",
    )
    for episode, sent, decided in ((a, None, None), (b, SATURDAY, None), (b, SATURDAY, SATURDAY), (a, SATURDAY, None)):
        StepUp.objects.create(
            episode=episode,
            proposed_at=SATURDAY,
            proposed_by=users["coach"],
            concern=StepUp.Concern.choices[0][0],
            reason="Risk up",
            multi_agency_views="School worried",
            family_views="Mum agrees",
            sent_at=sent,
            decided_at=decided,
        )
    assert hs.team_sign_off_counts(users["teamlead"]) == {"closures": 2, "step_ups": 2}
    assert hs.service_sign_off_counts(users["manager"]) == {
        "closures": 3,
        "step_ups_to_send": 1,
        "step_ups_to_decide": 2,
    }
    assert hs.service_sign_off_counts(far_manager) == {"closures": 0, "step_ups_to_send": 0, "step_ups_to_decide": 0}
    assert hs.service_sign_off_counts(users["outsider"]) == {
        "closures": 0,
        "step_ups_to_send": 0,
        "step_ups_to_decide": 0,
    }


@pytest.mark.django_db
def test_alerts_not_seen_is_counted_up_to_a_hundred_with_the_user(client, pinned, users, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    episode = make_episode(team, lead=users["coach"])
    clocks = [
        make_deadline(f"Z{n}", team=team, episode=episode, started_at=london(2026, 1, 1), due_at=london(2026, 2, 1))
        for n in range(40)
    ]
    levels = ("overdue", "breached", "escalated")
    Alert.objects.bulk_create(
        [
            Alert(deadline=c, level=level, recipient=users["coach"], created_at=SATURDAY)
            for c in clocks
            for level in levels
        ]
    )
    client.force_login(users["coach"])
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(reverse("home")).content.decode()
    assert '<span class="eh-count__number" data-count="Alerts not seen">99+</span>' in html
    assert not [q for q in ctx.captured_queries if "deadlines_alert" in q["sql"] and "accounts_user" not in q["sql"]]
    Alert.objects.filter(pk__in=Alert.objects.values("pk")[:30]).update(read_at=SATURDAY)
    html = client.get(reverse("home")).content.decode()
    assert '<span class="eh-count__number" data-count="Alerts not seen">90</span>' in html
