"""The rules that moved out of pages into cases: the break-glass and intake-match grants, the
confidential-address rule, and the reads of what belongs to a record already in scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases import selectors, services
from cases.models import Consent, Draft, Episode, Family, Membership, PlannedVisit
from tests.factories import FamilyFactory, PersonFactory, family_with_children

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_a_break_glass_grant_opens_one_family_for_one_hour():
    family, _ = family_with_children(1)
    other, _ = family_with_children(1)
    session: dict = {}
    until = services.break_glass_grant(session, family=family, reason="Police request at 9pm", now=NOW)
    assert until == NOW + timedelta(hours=1)
    assert services.break_glass_reason(session, family.pk, now=NOW + timedelta(minutes=59)) == "Police request at 9pm"
    assert services.break_glass_reason(session, family.pk, now=NOW + timedelta(minutes=61)) is None
    assert services.break_glass_reason(session, other.pk, now=NOW) is None


def test_a_second_grant_keeps_the_first():
    first, _ = family_with_children(1)
    second, _ = family_with_children(1)
    session: dict = {}
    services.break_glass_grant(session, family=first, reason="First", now=NOW)
    services.break_glass_grant(session, family=second, reason="Second", now=NOW + timedelta(minutes=30))
    assert services.break_glass_reason(session, first.pk, now=NOW + timedelta(minutes=45)) == "First"
    assert services.break_glass_reason(session, second.pk, now=NOW + timedelta(minutes=80)) == "Second"


def test_intake_matches_are_granted_for_an_hour_and_expired_ones_are_dropped():
    session: dict = {}
    services.intake_matches_grant(session, [11, 12], now=NOW)
    assert services.intake_match_granted(session, 11, now=NOW + timedelta(minutes=59))
    assert not services.intake_match_granted(session, 11, now=NOW + timedelta(minutes=61))
    assert not services.intake_match_granted(session, 13, now=NOW)
    services.intake_matches_grant(session, [13], now=NOW + timedelta(hours=2))
    assert set(session["intake_matches"]) == {"13"}


def test_only_someone_who_may_break_glass_finds_a_family_that_way(users):
    family, _ = family_with_children(1)
    assert selectors.family_for_break_glass(users["coach"], family.pk) == family
    assert selectors.family_for_break_glass(users["admin"], family.pk) is None
    assert selectors.family_for_break_glass(users["outsider"], family.pk) is None
    assert selectors.family_for_break_glass(users["coach"], family.pk + 1000) is None


def test_who_may_see_a_confidential_address_on_screen(users):
    may = {name for name, user in users.items() if selectors.can_see_confidential_address(user)}
    assert may == {"mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager"}


def test_no_address_for_a_letter_when_the_family_or_anyone_in_it_is_confidential():
    family = FamilyFactory(address_line_1="1 Lantern Row", address_line_2="", town="Exampleton", postcode="ZZ1 1AB")
    child = PersonFactory()
    Membership.objects.create(family=family, person=child, relationship="child")
    assert selectors.address_for_letter(family) == ["1 Lantern Row", "Exampleton", "ZZ1 1AB"]
    child.address_confidential = True
    child.save()
    assert selectors.address_for_letter(family) is None
    hidden = FamilyFactory(address_confidential=True)
    assert selectors.address_for_letter(hidden) is None


def test_reads_of_what_belongs_to_a_record_stay_with_that_record(team, users):
    family, _ = family_with_children(1)
    other, _ = family_with_children(1)
    episode = Episode.objects.create(family=family, team=team, opened_at=NOW, state="allocated")
    other_episode = Episode.objects.create(family=other, team=team, opened_at=NOW, state="allocated")
    coach = users["coach"]
    visit, _ = (
        PlannedVisit.objects.create(
            episode=e, family=e.family, planned_at=NOW, visitor=coach, created_at=NOW, created_by=coach
        )
        for e in (episode, other_episode)
    )
    assert list(selectors.episode_records(PlannedVisit, episode)) == [visit]
    assert list(selectors.plan_outcomes_of(other_episode)) == []
    assert list(selectors.plan_actions_of(other_episode)) == []
    older = Consent.objects.create(family=family, status="given", recorded_on=NOW.date() - timedelta(days=3))
    newer = Consent.objects.create(family=family, status="refused", recorded_on=NOW.date())
    Consent.objects.create(family=other, status="given", recorded_on=NOW.date())
    assert list(selectors.consents_of(family)) == [newer, older]
    key = str(episode.pk)
    mine = Draft.objects.create(user=coach, episode=episode, form_key="plan", object_key=key, updated_at=NOW)
    Draft.objects.create(user=users["teamlead"], episode=episode, form_key="plan", object_key="x", updated_at=NOW)
    assert selectors.draft_of(coach, "plan", str(episode.pk)) == mine
    assert selectors.draft_of(users["teamlead"], "plan", str(episode.pk)) is None


def test_a_record_as_saved_is_read_again_from_the_database():
    family, _ = family_with_children(1)
    stale = Family.objects.get(pk=family.pk)
    Family.objects.filter(pk=family.pk).update(name="The Renamed household")
    assert selectors.record_as_saved(stale).name == "The Renamed household"
    assert selectors.record_as_saved(None) is None
