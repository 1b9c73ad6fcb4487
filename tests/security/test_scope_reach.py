"""Who a family's record reaches is stored (cases_familyreach) and always equals what its records say.

After each service that moves a family (intake, a decision, a meeting and its outcome, allocation,
the episode's journey to closure, step-up to wraparound, a transfer, bulk reallocation, step-down,
a team moving service, a member of staff changing team, the generator), the stored rows equal the
derived truth (`cases.reach.derived_rows`), and every user sees exactly the families the scope rule
as it was written before the rows existed gives them (`legacy_scope` below, the old sub-plans).
The scope check itself is an indexed equality: the query plan reads the reach indexes.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts import roles
from accounts.models import Service, Team, User
from cases import reach, selectors
from cases.models import Contact, Episode, Family, MeetingItem
from tests.conftest import make_user
from tests.factories import NOW, children_of, family_with_children
from tests.workflows.helpers import S, make_episode
from workflows import episode_services as es
from workflows import services
from workflows import transfer_services as ts

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def _waiting_on_meeting_inviting(teams: Q) -> Exists:
    return Exists(
        MeetingItem.objects.filter(
            contact__family=OuterRef("pk"),
            decided_at__isnull=True,
            meeting__invited_teams__in=Team.objects.filter(teams).values("pk"),
        )
    )


def legacy_scope(user) -> Q | None:
    """The scope rule as sub-plans over episodes, contacts and meetings (before ADR 43), for comparison."""
    if not user.is_authenticated or not user.is_active:
        return None
    names = user.role_names
    clauses: list[Q] = []
    if names & selectors.FRONT_DOOR:
        clauses += [Q(Exists(Contact.objects.filter(family=OuterRef("pk")))), Q(created_by_id=user.pk)]
    if names & selectors.TEAM_ROLES:
        if user.team_id:
            clauses.append(Q(team_id=user.team_id))
            clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), team_id=user.team_id))))
            if roles.TEAM_LEADER in names:
                clauses.append(Q(_waiting_on_meeting_inviting(Q(pk=user.team_id))))
        clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), lead_professional_id=user.pk))))
    if names & selectors.SERVICE_ROLES:
        service_id = user.service_id_in_scope
        if service_id:
            teams = Team.objects.filter(service_id=service_id).values("pk")
            clauses.append(Q(team__service_id=service_id))
            clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), team__service_id=service_id))))
            routed = Contact.objects.filter(family=OuterRef("pk")).filter(
                Q(allocated_team__in=teams) | Q(created_by__team__in=teams)
            )
            clauses.append(Q(Exists(routed)))
            clauses.append(Q(_waiting_on_meeting_inviting(Q(service_id=service_id))))
    if not clauses:
        return None
    scope = clauses[0]
    for clause in clauses[1:]:
        scope |= clause
    return scope


def assert_reach_is_true(step: str) -> None:
    assert reach.drift() == {"missing": set(), "extra": set()}, step
    for user in User.objects.all():
        user = User.objects.get(pk=user.pk)  # fresh roles and team
        legacy = legacy_scope(user)
        expected = set() if legacy is None else set(Family.objects.filter(legacy).values_list("pk", flat=True))
        shown = set(selectors.families_visible_to(user).values_list("pk", flat=True))
        assert shown == expected, f"{step}: {user.username}"
        contacts = set(selectors.contacts_visible_to(user).values_list("family_id", flat=True))
        assert contacts <= shown, f"{step}: {user.username} contacts"


@pytest.fixture
def staff(users, team, other_team):
    far_service = Service.objects.create(name="Far service")
    far_team = Team.objects.create(name="Far team", service=far_service)
    return {
        **users,
        "otherlead": make_user("otherlead", roles.TEAM_LEADER, other_team),
        "othercoach": make_user("othercoach", roles.PRACTITIONER, other_team, caseload_capacity_override=10),
        "ana": make_user("ana", roles.PRACTITIONER, team, caseload_capacity_override=10),
        "farmanager": make_user("farmanager", roles.MANAGER, far_team, service=far_service),
        "farlead": make_user("farlead", roles.TEAM_LEADER, far_team),
        "far_team": far_team,
    }


def _receive(family, by, at):
    return services.contact_receive(
        family=family,
        subjects=children_of(family),
        received_at=at,
        route="email",
        source="2A",
        presenting_needs="Needs",
        by=by,
        now=at,
        consent={"status": "given", "purpose": "early_help", "recorded_on": at.date()},
    )


def test_intake_decisions_and_a_meeting_keep_the_reach(staff, team, other_team):
    assert_reach_is_true("start")
    family, _ = family_with_children(1, created_by=staff["mash"])
    assert_reach_is_true("family created at intake")
    contact = _receive(family, staff["mash"], NOW)
    assert_reach_is_true("contact received")
    services.contact_decide(
        contact=contact,
        decision="meeting",
        meeting_kind="MAAM",
        rationale="Several agencies",
        by=staff["mash"],
        now=NOW,
    )
    meeting = services.meeting_schedule(
        kind="MAAM",
        scheduled_for=NOW + 24 * H,
        location="Hub",
        attendees="",
        by=staff["mashlead"],
        invited_teams=[other_team, staff["far_team"]],
    )
    assert_reach_is_true("meeting scheduled")
    item = services.meeting_add_contact(
        meeting=meeting, contact=Contact.objects.get(pk=contact.pk), by=staff["mashlead"]
    )
    assert_reach_is_true("contact on the agenda: invited teams' leaders and services see the family")
    assert selectors.families_visible_to(staff["farlead"]).filter(pk=family.pk).exists()
    meeting.invited_teams.remove(staff["far_team"])
    assert_reach_is_true("a team no longer invited")
    assert not selectors.families_visible_to(staff["farlead"]).filter(pk=family.pk).exists()
    meeting.invited_teams.add(staff["far_team"])
    services.meeting_record_outcome(
        item=item, outcome="allocate", reason="EH support", by=staff["mashlead"], now=NOW + 25 * H, team=team
    )
    assert_reach_is_true("meeting outcome: allocated, the invitation no longer opens the family")
    assert not selectors.families_visible_to(staff["farlead"]).filter(pk=family.pk).exists()
    assert selectors.families_visible_to(staff["teamlead"]).filter(pk=family.pk).exists()


def test_an_episodes_journey_transfer_and_reallocation_keep_the_reach(staff, team, other_team):
    closed, _ = make_episode(staff, team, state=S.CLOSED)
    assert_reach_is_true("closed")
    stepped_up, _ = make_episode(staff, team, state=S.WRAPAROUND)
    assert_reach_is_true("step-up to wraparound")
    moving, _ = make_episode(staff, team, state=S.FIRST_VISIT)
    moving.refresh_from_db()
    transfer = ts.transfer_request(
        episode=moving,
        to_team=other_team,
        reason="Moved",
        by=staff["teamlead"],
        now=NOW + 30 * H,
        expected_version=moving.version,
    )
    ts.transfer_accept(transfer=transfer, practitioner=staff["othercoach"], by=staff["otherlead"], now=NOW + 31 * H)
    assert_reach_is_true("transferred")
    assert selectors.families_visible_to(staff["othercoach"]).filter(pk=moving.family_id).exists()
    kept, _ = make_episode(staff, team, state=S.ALLOCATED, at=NOW + 40 * H)
    kept.refresh_from_db()
    ts.caseload_reallocate(
        from_practitioner=staff["coach"],
        moves=[ts.Move(episode_pk=kept.pk, version=kept.version, to=staff["ana"])],
        reason="Leaving",
        by=staff["teamlead"],
        now=NOW + 50 * H,
    )
    assert_reach_is_true("bulk reallocation")
    family, _ = family_with_children(1, team=team)
    es.step_down_receive(
        family=family,
        team=team,
        social_care_assessment_date=date(2026, 10, 1),
        summary="CIN plan ended.",
        by=staff["teamlead"],
        now=NOW + 60 * H,
    )
    assert_reach_is_true("step-down")
    assert closed.family_id and stepped_up.family_id


def test_a_team_moving_service_and_staff_changing_team_keep_the_reach(staff, team, other_team):
    family, _ = family_with_children(1)
    _receive(family, staff["mash"], NOW)
    make_episode(staff, other_team, state=S.AWAITING_ALLOCATION)
    assert_reach_is_true("before")
    other_team.service = Service.objects.get(name="Far service")
    other_team.save()
    assert_reach_is_true("a team moved to another service")
    mash = User.objects.get(pk=staff["mash"].pk)
    mash.team = staff["far_team"]
    mash.save()
    assert_reach_is_true("the member of staff who received a contact changed team")


def test_the_generator_and_a_rebuild_give_the_truth(users):
    import io

    from tooling.generator import generate

    generate(families=25, seed=7, access_log=False, analyze=False, stream=io.StringIO())
    assert reach.stored_rows()
    assert_reach_is_true("generated")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_familyreach WHERE kind = 'team'")
    assert reach.drift()["missing"]
    reach.rebuild()
    assert_reach_is_true("rebuilt")


def test_the_scope_check_is_an_indexed_equality(users, team):
    family_with_children(1, team=team)
    for who in ("coach", "teamlead", "manager", "mash"):
        sql, params = selectors.visible_family_ids(users[who]).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask what the plan could use
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "reach_" in plan, (who, plan)
        assert "cases_episode" not in plan and "cases_meetingitem" not in plan, (who, plan)
