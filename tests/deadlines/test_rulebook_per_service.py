"""One council's procedure per service, plus step-up (ADR 0019).

Running Families First and Family Solutions together doubled the clocks on one episode (A8-A11
and B12-B14 open at once). Each service names its procedure; an event starts only the rules of
its subject's service's procedure and of the shared step-up rulebook. The episodes are driven
through the real workflow services, as the pages drive them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import roles
from accounts.models import Service
from cases.models import Contact, Episode
from deadlines import events as ev
from deadlines.checks import procedures_check
from deadlines.models import ClosureDay, Deadline
from deadlines.procedures import procedure_of
from deadlines.rulebook import load_rulebooks, select_rulebooks
from deadlines.services import deadline_record_event
from tests.conftest import make_user
from tests.factories import ContactFactory, ServiceFactory, TeamFactory, family_with_children
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es
from workflows import services

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def follow(team, slug: str) -> None:
    Service.objects.filter(pk=team.service_id).update(rulebook=slug)
    team.service.refresh_from_db()


def books_on(**subject) -> set[str]:
    return set(Deadline.objects.filter(**subject).values_list("rulebook", flat=True))


def rules_on(**subject) -> set[str]:
    return set(Deadline.objects.filter(**subject).values_list("rule_id", flat=True))


def step_up(episode, users, at):
    request = es.step_up_propose(
        episode=episode,
        concern="increasing_risk",
        reason="Two police call-outs in a week.",
        multi_agency_views="School and police worried.",
        family_views="Mum says it was a one-off.",
        by=users["coach"],
        now=at,
    )
    es.step_up_send_to_duty_manager(
        step_up=request, next_step="marf", parenting="partly", judgement="Risk is rising.", by=users["manager"], now=at
    )
    return request


# --- Which rules start ------------------------------------------------------------------------


def test_a_families_first_episode_gets_only_families_first_clocks_and_step_up(users, team):
    follow(team, "families-first")
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    assert books_on(episode=episode) == {"families-first"}
    assert {"A4", "A5", "A8", "A9", "A10", "A11"} <= rules_on(episode=episode)
    step_up(episode, users, NOW + 9 * H)
    assert books_on(episode=episode) == {"families-first", "step-up"}
    assert {"C1", "C2"} <= rules_on(episode=episode)
    assert not any(rule.startswith("B") for rule in rules_on(episode=episode))


def test_a_family_solutions_episode_gets_only_family_solutions_clocks_and_step_up(users, team):
    follow(team, "family-solutions")
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    assert books_on(episode=episode) == {"family-solutions"}
    assert {"B8", "B9", "B11", "B12"} <= rules_on(episode=episode)
    step_up(episode, users, NOW + 9 * H)
    assert books_on(episode=episode) == {"family-solutions", "step-up"}
    # The probe's doubling: never both councils' review and visit clocks open at once.
    open_rules = set(
        Deadline.objects.filter(episode=episode, stopped_at__isnull=True).values_list("rule_id", flat=True)
    )
    assert not open_rules & {"A8", "A9", "A10", "A11"}


def test_a_service_that_names_no_procedure_follows_the_deployment_default(users, team, settings):
    settings.EARLYHELP_DEFAULT_RULEBOOK = "families-first"
    assert team.service.rulebook == ""
    episode, _ = make_episode(users, team)
    assert books_on(episode=episode) == {"families-first"}


def test_two_services_in_one_deployment_each_run_their_own(users, team):
    follow(team, "families-first")
    south = TeamFactory(name="Southmoor Hub", service=ServiceFactory(name="Southmoor", rulebook="family-solutions"))
    south_lead = make_user("southlead", roles.TEAM_LEADER, south)
    ours, _ = make_episode(users, team)
    theirs = services.episode_open(
        contact=None,
        family=family_with_children(1, team=south)[0],
        team=south,
        now=NOW,
        by=south_lead,
        origin=Episode.Origin.FRONT_DOOR,
    )
    assert books_on(episode=ours) == {"families-first"}
    assert books_on(episode=theirs) == {"family-solutions"}


# --- Contacts: which service ------------------------------------------------------------------


def contact_for(family, **extra) -> Contact:
    return ContactFactory(family=family, received_at=NOW, presenting_needs="Needs", **extra)


def test_a_contact_follows_its_front_door_team_then_the_team_it_was_allocated_to(
    users, team, front_door_team, settings
):
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"
    door = ServiceFactory(name="MASH", rulebook="families-first")
    front_door_team.service = door
    front_door_team.save()
    follow(team, "family-solutions")
    family = team.families.create(name="The Front household")
    recorded = contact_for(family, created_by=users["mash"])
    assert procedure_of(contact=recorded) == "families-first"  # the recording front-door team's service
    result = deadline_record_event(event=ev.CONTACT_RECEIVED, now=NOW, contact=recorded)
    assert set(result.opened_rules) == {"A1"}
    allocated = contact_for(family, created_by=users["mash"], allocated_team=team)
    assert procedure_of(contact=allocated) == "family-solutions"  # the receiving team's service
    unknown = contact_for(family)  # recorded by nobody known, allocated nowhere
    assert procedure_of(contact=unknown) == "family-solutions"  # EARLYHELP_DEFAULT_RULEBOOK
    settings.EARLYHELP_DEFAULT_RULEBOOK = "families-first"
    assert procedure_of(contact=unknown) == "families-first"


def test_a_worker_follows_their_team_then_the_service_they_oversee(users, team):
    follow(team, "families-first")
    assert procedure_of(worker=users["coach"]) == "families-first"
    manager = users["manager"]
    manager.service = ServiceFactory(name="Children's services", rulebook="family-solutions")
    manager.save()
    assert procedure_of(worker=manager) == "family-solutions"
    # B20 (supervision, Family Solutions) does not start for a Families First practitioner.
    result = deadline_record_event(event=ev.SUPERVISION_RECORDED, now=NOW, worker=users["coach"])
    assert result.opened == 0


def test_select_rulebooks_keeps_the_procedure_and_the_shared_ones():
    books = load_rulebooks(["families-first", "family-solutions", "step-up"])
    chosen = select_rulebooks(books, procedure="family-solutions", shared=["step-up"])
    assert [b.slug for b in chosen] == ["family-solutions", "step-up"]


# --- A change of procedure applies to clocks started after it ----------------------------------


def test_a_change_applies_to_clocks_started_after_it(users, team):
    follow(team, "families-first")
    episode, _ = make_episode(users, team, state=S.PLANNING)
    a9 = Deadline.objects.get(episode=episode, rule_id="A9", cycle=1)
    assert a9.stopped_at is None
    follow(team, "family-solutions")
    # A visit stops the running Families First clock (its own rule), which does not recur any more;
    # the visit starts Family Solutions' recording clock (B18) under the new procedure.
    es.episode_record_visit(
        episode=episode,
        kind="home_visit",
        happened_at=NOW + 9 * H,
        details="Saw the family.",
        children=[],
        by=users["coach"],
        now=NOW + 9 * H,
    )
    a9.refresh_from_db()
    assert a9.stop_reason == "met"
    assert not Deadline.objects.filter(episode=episode, rule_id="A9", cycle=2).exists()
    assert Deadline.objects.filter(episode=episode, rule_id="B18", rulebook="family-solutions").exists()
    # Other Families First clocks keep running until their own events.
    assert Deadline.objects.filter(episode=episode, rulebook="families-first", stopped_at__isnull=True).exists()


def test_recompute_deadlines_recomputes_the_old_procedures_clocks_and_starts_none(users, team):
    follow(team, "families-first")
    episode, _ = make_episode(users, team, state=S.PLANNING)
    follow(team, "family-solutions")
    before = {d.pk: (d.rulebook, d.due_at) for d in Deadline.objects.filter(episode=episode, stopped_at__isnull=True)}
    a9 = Deadline.objects.get(episode=episode, rule_id="A9", stopped_at__isnull=True)
    ClosureDay.objects.create(date=(a9.started_at + timedelta(days=1)).date(), reason="Staff training day")
    out = StringIO()
    call_command("recompute_deadlines", stdout=out)
    after = {d.pk: (d.rulebook, d.due_at) for d in Deadline.objects.filter(episode=episode, stopped_at__isnull=True)}
    assert set(after) == set(before)  # nothing started, nothing withdrawn
    assert {book for book, _ in after.values()} == {"families-first"}
    a9.refresh_from_db()
    assert a9.due_at != before[a9.pk][1]  # the closure day moved the Families First clock


# --- Settings and start-up validation -------------------------------------------------------------


def test_the_shipped_settings_pass():
    assert procedures_check() == []


def test_a_default_procedure_that_is_not_loaded_is_an_error(settings):
    settings.EARLYHELP_DEFAULT_RULEBOOK = "families-frist"
    (error,) = procedures_check()
    assert error.id == "deadlines.E002"
    assert "EARLYHELP_DEFAULT_RULEBOOK is 'families-frist', which is not one of the loaded rulebooks" in error.msg
    settings.EARLYHELP_DEFAULT_RULEBOOK = "step-up"
    assert "is a shared rulebook, not a procedure" in procedures_check()[0].msg


def test_a_service_following_a_rulebook_that_is_not_loaded_is_named(settings, service):
    Service.objects.filter(pk=service.pk).update(rulebook="families-first")
    settings.EARLYHELP_RULEBOOKS = ["family-solutions", "step-up"]
    (error,) = procedures_check()
    assert "Service 'Early Help' follows the procedure 'families-first', which is not loaded" in error.msg
    settings.EARLYHELP_SHARED_RULEBOOKS = ["step-up", "stepup"]
    assert any("EARLYHELP_SHARED_RULEBOOKS names 'stepup'" in e.msg for e in procedures_check())


def test_manage_py_check_reports_it(settings, service):
    from django.core.management.base import SystemCheckError

    Service.objects.filter(pk=service.pk).update(rulebook="families-first")
    settings.EARLYHELP_RULEBOOKS = ["family-solutions", "step-up"]
    with pytest.raises(SystemCheckError, match="deadlines.E002"):
        call_command("check")


# --- The Procedures page ------------------------------------------------------------------------


def test_administrators_choose_a_services_procedure_and_the_change_is_recorded(client, users, service):
    client.force_login(users["admin"])
    listing = client.get(reverse("accounts:service_list"))
    assert listing.status_code == 200
    assert "Early Help" in listing.text and "Family Solutions" in listing.text
    assert "applies to clocks started after it" in listing.text
    url = reverse("accounts:service_procedure", args=[service.pk])
    page = client.get(url)
    assert "A change applies to clocks started after it" in page.text
    form = page.text.split("novalidate>")[1].split("</form>")[0]
    assert "Families First" in form and "Family Solutions" in form and "deployment default" in form
    assert "step-up" not in form.lower()  # shared, not a procedure to choose
    response = client.post(url, {"rulebook": "families-first", "expected": ""})
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.rulebook == "families-first"
    latest = service.history.latest()
    assert latest.history_user == users["admin"] and latest.rulebook == "families-first"
    page = client.get(url)
    assert "Families First" in page.text and str(users["admin"]) in page.text


def test_a_choice_that_is_not_loaded_or_stale_re_renders_saying_why(client, users, service):
    client.force_login(users["admin"])
    url = reverse("accounts:service_procedure", args=[service.pk])
    response = client.post(url, {"rulebook": "../etc/passwd", "expected": ""})
    assert response.status_code == 200
    assert "Choose one of the procedures listed" in response.text
    Service.objects.filter(pk=service.pk).update(rulebook="family-solutions")  # someone else, meanwhile
    response = client.post(url, {"rulebook": "families-first", "expected": ""})
    assert response.status_code == 200
    assert "Someone else changed this service&#x27;s procedure" in response.text
    service.refresh_from_db()
    assert service.rulebook == "family-solutions"
    # The next save is against what is there now; what was typed stays chosen.
    assert re.search(r'name="expected"[^>]*value="family-solutions"', response.text)
    assert re.search(r'value="families-first"[^>]*checked', response.text)


@pytest.mark.parametrize("role", ["teamlead", "manager", "outsider"])
def test_only_administrators_see_the_procedures_pages(client, users, service, role):
    client.force_login(users[role])
    assert client.get(reverse("accounts:service_list")).status_code == 403
    url = reverse("accounts:service_procedure", args=[service.pk])
    assert client.post(url, {"rulebook": "families-first", "expected": ""}).status_code == 403
    service.refresh_from_db()
    assert service.rulebook == ""


def test_the_procedures_list_keeps_a_constant_query_budget(client, users, django_assert_max_num_queries):
    for n in range(12):
        TeamFactory(name=f"Hub {n}", service=ServiceFactory(name=f"Service {n}", rulebook="families-first"))
    client.force_login(users["admin"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("accounts:service_list")).status_code == 200


# --- Demo data and the generator: one procedure ---------------------------------------------------


def test_demo_accounts_put_the_demo_service_on_one_procedure():
    from accounts.demo import DEMO_PROCEDURE, ensure_demo_accounts

    ensure_demo_accounts()
    assert Service.objects.get(name="Early Help").rulebook == DEMO_PROCEDURE


def test_the_generator_refuses_two_procedures_for_one_service():
    from tooling.generator import GeneratorError, generate

    with pytest.raises(GeneratorError, match="exactly one council procedure"):
        generate(families=1, rulebooks=("families-first", "family-solutions", "step-up"), today=date(2026, 11, 23))
