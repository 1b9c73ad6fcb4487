"""Multi-agency meetings are scoped: the front door and the invited teams (and their service's managers).

An agenda item is named only to someone whose scope holds its contact, an outcome is recorded only
for such an item, "allocate" only to a team the user may allocate to, and every view of a meeting's
families is in the access log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from accounts import roles
from cases import selectors
from cases.models import AccessLog, Consent, Contact, Episode, Meeting, MeetingItem
from tests.conftest import make_user
from tests.factories import family_with_children
from tests.security.world import add_far_service
from workflows import services
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))


def waiting_contact(family, by):
    contact = Contact.objects.create(
        family=family,
        received_at=NOW - timedelta(days=1),
        route="email",
        source="2A",
        presenting_needs="Needs",
        created_by=by,
    )
    Contact.objects.filter(pk=contact.pk).update(state="at_meeting", meeting_kind="MAAM")
    Consent.objects.create(family=family, status="given", purpose="early_help")
    return contact


@pytest.fixture
def setting(users, team, other_team):
    far = add_far_service(users)
    users["otherlead"] = make_user("otherlead", roles.TEAM_LEADER, other_team)
    invited, _ = family_with_children(1)
    uninvited, _ = family_with_children(1)
    meeting = Meeting.objects.create(kind="MAAM", scheduled_for=NOW, chair=users["mashlead"])
    meeting.invited_teams.set([team])
    item = MeetingItem.objects.create(meeting=meeting, contact=waiting_contact(invited, users["mash"]))
    # A meeting the team leader chairs without inviting their team: they see it, not its agenda.
    chaired = Meeting.objects.create(kind="NAM", scheduled_for=NOW, chair=users["teamlead"])
    hidden_item = MeetingItem.objects.create(meeting=chaired, contact=waiting_contact(uninvited, users["mash"]))
    return {
        "far": far,
        "meeting": meeting,
        "item": item,
        "family": invited,
        "chaired": chaired,
        "hidden_item": hidden_item,
        "hidden_family": uninvited,
    }


def outcome(client, meeting, item, **data):
    return client.post(
        reverse("cases:meeting_outcome", args=[meeting.pk, item.pk]),
        {f"item{item.pk}-{k}": v for k, v in {"reason": "Agreed at the meeting", **data}.items()},
    )


def test_who_sees_a_meeting_and_its_agenda(client, users, setting):
    meeting, family = setting["meeting"], setting["family"]
    url = reverse("cases:meeting_detail", args=[meeting.pk])
    for name in ("mash", "mashlead", "teamlead", "manager"):
        client.force_login(users[name])
        last = AccessLog.objects.order_by("pk").last()
        body = client.get(url).content.decode()
        assert family.name in body, name
        # One row per family shown (the agenda, and the contacts waiting to be added), for the user who looked.
        rows = AccessLog.objects.filter(pk__gt=last.pk if last else 0)
        assert [r.family_id_logged for r in rows if r.family_id_logged == family.pk] == [family.pk], name
        assert {r.user_id for r in rows} == {users[name].pk}
        shown = {r.family_id_logged for r in rows}
        assert len(shown) == rows.count(), name
        assert (setting["hidden_family"].pk in shown) == (setting["hidden_family"].name in body), name
        assert meeting.get_kind_display() in client.get(reverse("cases:meeting_list")).content.decode(), name
    for name in ("otherlead", "farlead", "farmanager", "nomanager", "fardutymanager", "coach", "outsider"):
        client.force_login(users[name])
        assert client.get(url).status_code in (403, 404), name
        list_page = client.get(reverse("cases:meeting_list"))
        assert list_page.status_code == 403 or f'href="{url}"' not in list_page.content.decode(), name
    assert not AccessLog.objects.filter(user__username__in=["otherlead", "farlead", "farmanager"]).exists()


def test_an_item_outside_scope_is_counted_not_named_and_cannot_be_decided(client, users, setting):
    chaired, hidden_item = setting["chaired"], setting["hidden_item"]
    client.force_login(users["teamlead"])
    before = AccessLog.objects.order_by("pk").values_list("pk", flat=True).last() or 0
    body = client.get(reverse("cases:meeting_detail", args=[chaired.pk])).content.decode()
    assert "1 other item on this agenda is about family outside your work" in body
    assert setting["hidden_family"].name not in body and hidden_item.contact.reference not in body
    assert not AccessLog.objects.filter(pk__gt=before, family_id_logged=setting["hidden_family"].pk).exists()
    response = outcome(client, chaired, hidden_item, outcome="signpost")
    assert response.status_code == 404
    hidden_item.refresh_from_db()
    assert hidden_item.decided_at is None
    # Nor through another meeting's URL, nor straight through the service.
    assert outcome(client, setting["meeting"], hidden_item, outcome="signpost").status_code == 404
    with pytest.raises(WorkflowError):
        services.meeting_record_outcome(
            item=hidden_item, outcome="signpost", reason="Because", by=users["teamlead"], now=NOW
        )
    assert Contact.objects.get(pk=hidden_item.contact_id).state == Contact.State.AT_MEETING


def test_uninvited_team_leader_cannot_decide_or_add(client, users, setting):
    meeting, item = setting["meeting"], setting["item"]
    client.force_login(users["otherlead"])
    assert outcome(client, meeting, item, outcome="allocate", team=users["otherlead"].team_id).status_code == 404
    assert client.post(reverse("cases:meeting_add", args=[meeting.pk]), {"contact": item.contact_id}).status_code == 404
    with pytest.raises(WorkflowError):
        services.meeting_record_outcome(
            item=item, outcome="allocate", reason="Ours", team=users["otherlead"].team, by=users["otherlead"], now=NOW
        )
    item.refresh_from_db()
    assert item.decided_at is None and not Episode.objects.filter(family=setting["family"]).exists()


def test_allocate_only_to_a_team_the_user_may_allocate_to(client, users, team, other_team, setting):
    meeting, item, family = setting["meeting"], setting["item"], setting["family"]
    assert list(selectors.teams_allocatable_by(users["teamlead"])) == [team]
    assert set(selectors.teams_allocatable_by(users["manager"])) == {team, other_team}
    assert setting["far"]["team"] in selectors.teams_allocatable_by(users["mashlead"])
    client.force_login(users["teamlead"])
    page = client.get(reverse("cases:meeting_detail", args=[meeting.pk])).content.decode()
    assert f'value="{team.pk}"' in page and f'value="{other_team.pk}"' not in page
    # Allocating to another team (which would open the family to it) is refused, keeping what was typed.
    response = outcome(client, meeting, item, outcome="allocate", team=other_team.pk, reason="Send it over there")
    assert response.status_code == 400 and "Send it over there" in response.content.decode()
    with pytest.raises(WorkflowError, match="cannot allocate"):
        services.meeting_record_outcome(
            item=item, outcome="allocate", reason="Over", team=other_team, by=users["teamlead"], now=NOW
        )
    assert not Episode.objects.filter(family=family).exists()
    assert outcome(client, meeting, item, outcome="allocate", team=team.pk).status_code == 302
    assert Episode.objects.get(family=family).team == team


def test_scheduling_names_the_invited_teams(client, users, team, setting):
    client.force_login(users["mashlead"])
    response = client.post(
        reverse("cases:meeting_list"),
        {
            "kind": "ICDM",
            "date_0": "30",
            "date_1": "11",
            "date_2": "2026",
            "start_time": "09:30",
            "invited_teams": [team.pk],
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get(kind="ICDM")
    assert list(meeting.invited_teams.all()) == [team]
    assert selectors.meetings_visible_to(users["teamlead"]).filter(pk=meeting.pk).exists()
    assert not selectors.meetings_visible_to(users["otherlead"]).filter(pk=meeting.pk).exists()
    assert not selectors.meetings_visible_to(users["coach"]).exists()


def test_invited_team_sees_the_family_only_while_it_waits_for_the_meeting(users, setting):
    family, item = setting["family"], setting["item"]
    assert selectors.families_visible_to(users["teamlead"]).filter(pk=family.pk).exists()
    assert not selectors.families_visible_to(users["otherlead"]).filter(pk=family.pk).exists()
    assert not selectors.families_visible_to(users["coach"]).filter(pk=family.pk).exists()
    item.decided_at, item.outcome = NOW, "signpost"
    item.save()  # as workflows.services records an outcome (a save: the family's reach follows it)
    assert not selectors.families_visible_to(users["teamlead"]).filter(pk=family.pk).exists()


def test_an_outcome_recorded_twice_is_refused_with_409_and_what_was_typed(client, users, setting):
    meeting, item = setting["meeting"], setting["item"]
    client.force_login(users["mashlead"])
    assert outcome(client, meeting, item, outcome="signpost", reason="Signposted to the food bank").status_code == 302
    second = outcome(client, meeting, item, outcome="signpost", reason="A second person's reason")
    assert second.status_code in (404, 409)  # the decided item leaves the agenda form, or is refused
    if second.status_code == 409:
        assert "A second person&#x27;s reason" in second.content.decode()
