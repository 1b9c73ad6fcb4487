"""`make run` loads demo data once: families with open work for every demo account."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Team, User
from cases.models import Contact, Episode, Family
from workflows import list_rows
from workflows.demo import MORNING_CONTACTS

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_demo_is_idempotent_and_gives_each_role_work(capsys):
    call_command("seed_demo", families=40)
    first = capsys.readouterr().out
    assert "Created 40 demo families." in first and "coach" in first
    call_command("seed_demo", families=40)
    assert "Created" not in capsys.readouterr().out
    assert Family.objects.count() == 40
    assert Episode.objects.filter(lead_professional__username="coach").exists()
    assert Contact.objects.filter(state__in=Contact.OPEN_STATES, created_by__username="mash").exists()


def test_the_demo_team_has_a_pre_allocation_list_and_the_front_door_new_contacts():
    call_command("seed_demo", families=40)
    assert Team.objects.filter(kind=Team.Kind.FRONT_DOOR).count() == 1
    duty, leader, coach, mash = (User.objects.get(username=u) for u in ("duty", "teamlead", "coach", "mash"))
    assert duty.team_id == leader.team_id == coach.team_id
    for user in (duty, leader):  # the pre-allocation list they work from
        page = list_rows.pre_allocation(user, team_id=user.team_id, page_number=1, now=timezone.now())
        assert page.paginator.count >= 3
    # The coach leads a case in every state after allocation.
    held = set(Episode.objects.filter(lead_professional=coach).values_list("state", flat=True))
    assert set(Episode.OPEN_STATES) - {Episode.State.AWAITING_ALLOCATION} <= held
    assert mash.team.kind == Team.Kind.FRONT_DOOR
    morning = Contact.objects.filter(created_by=mash, state=Contact.State.RECEIVED)
    assert morning.count() == MORNING_CONTACTS
    assert all(timezone.now() - c.received_at < timedelta(hours=24) for c in morning)


def test_the_demo_school_asks_for_support_works_in_a_team_and_leads_single_agency_support():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.demo import DEMO_PASSWORD
    from oversight.selectors import board_partner_led
    from partners.models import SupportRequest

    call_command("seed_demo", families=40)
    school = User.objects.get(username="school")
    assert school.is_partner and school.check_password(DEMO_PASSWORD)
    assert TOTPDevice.objects.filter(user=school, confirmed=True).exists()
    request = SupportRequest.objects.get(created_by=school)
    assert request.contact.route == Contact.Route.PORTAL and request.contact.state == Contact.State.RECEIVED
    assert school.partner_teams.exists()
    led = Episode.objects.get(lead_professional=school)
    assert led.partner_organisation == school.partner_organisation and led.state == Episode.State.FIRST_VISIT
    leader = User.objects.get(username="teamlead")
    assert list(board_partner_led(leader, team=leader.team)) == [led]
