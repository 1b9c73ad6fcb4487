"""The front door: intake with matching, decisions, consent, meetings, scope and the access log."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AccessLog, Communication, Consent, Contact, Episode, Family, Meeting, Person
from kit.time import LONDON
from tests.factories import EpisodeFactory, FamilyFactory, PersonFactory, TeamFactory, family_with_children
from workflows import services
from workflows.errors import CaseChanged, WorkflowError

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)

pytestmark = pytest.mark.django_db


def receive(family, children, by, *, consent="given", at=None, route="email"):
    return services.contact_receive(
        family=family,
        subjects=children,
        received_at=at or NOW.replace(hour=9),
        route=route,
        source="2A",
        presenting_needs="Attendance has dropped.",
        referrer={"referrer_name": "Ms Teacher", "referrer_agency": "Exampleton Primary"},
        risks={"attendance": (3, "Below 80%"), "health": (1, "")},
        consent={"purpose": "early_help", "status": consent, "given_by_name": "Parent", "recorded_on": NOW.date()}
        if consent
        else None,
        by=by,
        now=NOW,
    )


class TestIntake:
    def test_search_shows_likely_matches_including_a_misspelt_name(self, client, users):
        family, children = family_with_children(1)
        child = children[0]
        client.force_login(users["mash"])
        misspelt = "Testwod"  # a typo that sounds the same
        dob = child.date_of_birth
        response = client.post(
            reverse("cases:contact_create"),
            {
                "find-last_name": misspelt,
                "find-date_of_birth_0": dob.day,
                "find-date_of_birth_1": dob.month,
                "find-date_of_birth_2": dob.year,
            },
            follow=True,
        )
        assert response.status_code == 200
        assert family.name in response.content.decode()
        assert reverse("cases:contact_record", args=[family.pk]) in response.content.decode()

    def test_creating_a_duplicate_after_matches_needs_a_reason(self, client, users):
        other = FamilyFactory(name="The other Kestrelby household")
        other.memberships.create(person=PersonFactory(first_name="Ava", last_name="Kestrelby"), relationship="child")
        client.force_login(users["mash"])
        data = {
            # The page's own flag is ignored: the matches are looked for again from what was submitted.
            "matches_found": "0",
            "new-family_name": "The Kestrelby household",
            "new-first_name": "Ava",
            "new-last_name": "Kestrelby",
            "new-sex": "F",
            "new-ethnicity": "NOBT",
            "new-postcode": "ZZ1 2AB",
        }
        response = client.post(reverse("cases:contact_create"), data)
        assert response.status_code == 200
        assert "say why none of them is this family" in response.content.decode()
        assert "The other Kestrelby household" in response.content.decode()  # the matches are shown
        assert 'value="The Kestrelby household"' in response.content.decode()
        assert not Family.objects.filter(name="The Kestrelby household").exists()
        data["new-duplicate_reason"] = "Different child, same surname"
        response = client.post(reverse("cases:contact_create"), data)
        family = Family.objects.get(name="The Kestrelby household")
        assert response.status_code == 302
        assert family.duplicate_reason == "Different child, same surname"
        assert family.people.get().first_name == "Ava"

    def test_no_reason_is_needed_when_nothing_matches_whatever_the_page_said(self, client, users):
        client.force_login(users["mash"])
        data = {
            "matches_found": "1",
            "new-family_name": "The Quillbeck household",
            "new-first_name": "Ivo",
            "new-last_name": "Quillbeck",
            "new-sex": "M",
            "new-ethnicity": "NOBT",
        }
        response = client.post(reverse("cases:contact_create"), data)
        assert response.status_code == 302
        assert Family.objects.get(name="The Quillbeck household").duplicate_reason == ""

    def test_future_date_of_birth_and_bad_nhs_number_are_refused_keeping_input(self, client, users):
        client.force_login(users["mash"])
        response = client.post(
            reverse("cases:contact_create"),
            {
                "new-family_name": "The Larkspur household",
                "new-first_name": "Leo",
                "new-last_name": "Larkspur",
                "new-date_of_birth_0": "1",
                "new-date_of_birth_1": "1",
                "new-date_of_birth_2": "2099",
                "new-nhs_number": "943 476 5918",
                "new-sex": "M",
                "new-ethnicity": "WBRI",
            },
        )
        body = response.content.decode()
        assert response.status_code == 200
        assert "Date of birth must be today or in the past" in body
        assert "check digit does not match" in body
        assert 'value="Leo"' in body
        assert not Person.objects.filter(first_name="Leo").exists()

    def test_record_contact_with_risks_and_consent(self, client, users):
        # Created at intake by this MASH officer (a family out of scope would be a 404).
        family, children = family_with_children(2, created_by=users["mash"])
        client.force_login(users["mash"])
        data = {
            "received_date_0": "23",
            "received_date_1": "11",
            "received_date_2": "2026",
            "received_time": "08:15",
            "route": "phone",
            "source": "3B",
            "referrer_name": "Health Visitor Hale",
            "subjects": [c.pk for c in children],
            "presenting_needs": "Mum's low mood, baby weight.",
            "consent_status": "given",
            "consent_given_by": "Mum",
            "risk_health": "3",
            "risk_health_note": "Postnatal depression",
        }
        with time_machine.travel(NOW, tick=False):
            response = client.post(reverse("cases:contact_record", args=[family.pk]), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        contact = Contact.objects.get(family=family)
        assert contact.received_at == datetime(2026, 11, 23, 8, 15, tzinfo=LONDON)
        assert contact.state == Contact.State.RECEIVED
        assert set(contact.subjects.all()) == set(children)
        assert contact.risk_indicators.get(indicator="health").level == 3
        assert Consent.objects.get(family=family).is_in_force
        assert contact.history.count() >= 1

    def test_contact_received_in_the_future_is_refused(self, client, users):
        family, children = family_with_children(1, created_by=users["mash"])
        client.force_login(users["mash"])
        with time_machine.travel(NOW, tick=False):
            response = client.post(
                reverse("cases:contact_record", args=[family.pk]),
                {
                    "received_date_0": "24",
                    "received_date_1": "11",
                    "received_date_2": "2026",
                    "received_time": "25:00",
                    "route": "phone",
                    "source": "3B",
                    "subjects": [children[0].pk],
                    "presenting_needs": "Needs",
                    "consent_status": "not_sought",
                },
            )
        body = response.content.decode()
        assert response.status_code == 200
        assert "Enter a time in 24-hour format" in body
        assert not Contact.objects.exists()

    def test_new_contact_for_family_with_open_episode_notifies_lead_professional(self, users, team):
        family, children = family_with_children(1)
        EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=NOW)
        contact = receive(family, children, users["mash"])
        assert contact.lead_professional_notified == users["coach"]
        notice = Communication.objects.get(contact=contact)
        assert notice.kind == Communication.Kind.LEAD_PROFESSIONAL_NOTICE
        assert notice.recipient == str(users["coach"])


class TestDecisions:
    def test_allocate_needs_consent_then_opens_episode_on_team_list(self, users, team):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"], consent=None)
        with pytest.raises(WorkflowError, match="consent"):
            services.contact_decide(
                contact=contact,
                decision="allocate",
                rationale="Meets EH threshold",
                team=team,
                by=users["mashlead"],
                now=NOW,
                expected_version=contact.version,
            )
        contact.refresh_from_db()
        assert contact.state == Contact.State.RECEIVED
        services.consent_record(
            family=family,
            by=users["mash"],
            now=NOW,
            contact=contact,
            purpose="early_help",
            status="given",
            given_by_name="Dad",
            recorded_on=NOW.date(),
        )
        services.contact_decide(
            contact=contact,
            decision="allocate",
            rationale="Meets EH threshold",
            team=team,
            by=users["mashlead"],
            now=NOW,
            expected_version=contact.version,
        )
        contact.refresh_from_db()
        family.refresh_from_db()
        assert contact.state == Contact.State.ALLOCATED_TO_TEAM
        assert contact.decided_by == users["mashlead"]
        episode = Episode.objects.get(family=family)
        assert episode.state == Episode.State.AWAITING_ALLOCATION
        assert episode.team == team
        assert family.team == team

    def test_decision_without_rationale_or_by_wrong_role_is_refused(self, users):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"])
        with pytest.raises(WorkflowError, match="reason"):
            services.contact_decide(contact=contact, decision="signpost", rationale="  ", by=users["mash"], now=NOW)
        with pytest.raises(WorkflowError, match="Only front door staff"):
            services.contact_decide(contact=contact, decision="signpost", rationale="x", by=users["coach"], now=NOW)

    def test_decision_on_a_contact_just_decided_by_someone_else(self, client, users):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"])
        stale_version = contact.version
        services.contact_decide(
            contact=contact,
            decision="signpost",
            rationale="Universal services",
            by=users["mashlead"],
            now=NOW,
            expected_version=stale_version,
        )
        with pytest.raises(CaseChanged):
            services.contact_decide(
                contact=contact,
                decision="step_up",
                rationale="x",
                by=users["mash"],
                now=NOW,
                expected_version=stale_version,
            )
        client.force_login(users["mash"])
        response = client.post(
            reverse("cases:contact_decide", args=[contact.pk]),
            {"decision": "step_up", "rationale": "Risk of significant harm", "version": stale_version},
        )
        body = response.content.decode()
        assert response.status_code == 409
        assert "changed by someone else" in body
        assert "Risk of significant harm" in body
        contact.refresh_from_db()
        assert contact.decision == "signpost"

    def test_decision_form_errors_keep_what_was_typed(self, client, users):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"])
        client.force_login(users["mash"])
        response = client.post(
            reverse("cases:contact_decide", args=[contact.pk]),
            {"decision": "single_agency", "rationale": "", "agency": "", "version": contact.version},
        )
        body = response.content.decode()
        assert response.status_code == 400
        assert "Give the reason for the decision" in body
        assert "Name the agency that agreed to support the family" in body
        contact.refresh_from_db()
        assert contact.state == Contact.State.RECEIVED

    @pytest.mark.parametrize("decision", ["step_up", "signpost", "no_further_action", "single_agency"])
    def test_each_decision(self, users, decision):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"])
        services.contact_decide(
            contact=contact,
            decision=decision,
            rationale="Reason",
            agency="School nurse",
            by=users["mash"],
            now=NOW,
            expected_version=contact.version,
        )
        contact.refresh_from_db()
        assert contact.decision == decision
        assert not contact.is_open

    def test_awaiting_consent_returns_to_screening_when_consent_is_given(self, users):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"], consent=None)
        services.contact_decide(
            contact=contact, decision="await_consent", rationale="Letter sent", by=users["mash"], now=NOW
        )
        contact.refresh_from_db()
        assert contact.state == Contact.State.AWAITING_CONSENT
        services.consent_record(
            family=family,
            by=users["mash"],
            now=NOW,
            contact=contact,
            purpose="early_help",
            status="given",
            given_by_name="Mum",
            recorded_on=NOW.date(),
        )
        contact.refresh_from_db()
        assert contact.state == Contact.State.SCREENING

    def test_step_up_within_three_months_flags_the_next_contact(self, users):
        family, children = family_with_children(1)
        first = receive(family, children, users["mash"])
        services.contact_decide(
            contact=first, decision="step_up", rationale="Significant harm", by=users["mash"], now=NOW
        )
        second = receive(family, children, users["mash"])
        assert second.recent_step_up_flag is True


class TestMeetings:
    def test_meeting_outcome_allocates_and_records_reason(self, client, users, team):
        family, children = family_with_children(1)
        contact = receive(family, children, users["mash"])
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="Below FFS", by=users["mash"], now=NOW
        )
        client.force_login(users["mashlead"])
        response = client.post(
            reverse("cases:meeting_list"),
            {
                "kind": "MAAM",
                "date_0": "24",
                "date_1": "11",
                "date_2": "2026",
                "start_time": "10:00",
                "attendees": "Jo (school)",
            },
        )
        meeting = Meeting.objects.get()
        assert response.status_code == 302
        client.post(reverse("cases:meeting_add", args=[meeting.pk]), {"contact": contact.pk})
        item = meeting.items.get()
        response = client.post(
            reverse("cases:meeting_outcome", args=[meeting.pk, item.pk]),
            {f"item{item.pk}-outcome": "allocate", f"item{item.pk}-reason": ""},
        )
        assert response.status_code == 400
        assert "Give the reason for the outcome" in response.content.decode()
        response = client.post(
            reverse("cases:meeting_outcome", args=[meeting.pk, item.pk]),
            {
                f"item{item.pk}-outcome": "allocate",
                f"item{item.pk}-reason": "Needs a coach",
                f"item{item.pk}-team": team.pk,
            },
        )
        assert response.status_code == 302
        contact.refresh_from_db()
        item.refresh_from_db()
        assert contact.state == Contact.State.ALLOCATED_TO_TEAM
        assert item.outcome == "allocate" and item.reason == "Needs a coach"
        assert Episode.objects.get(family=family).origin == Episode.Origin.MEETING

    def test_practitioner_cannot_run_meetings(self, client, users):
        client.force_login(users["coach"])
        assert client.get(reverse("cases:meeting_list")).status_code == 403


class TestScopeAndAudit:
    def test_outsider_and_other_team_get_404_not_the_record(self, client, users, other_team):
        family, children = family_with_children(1, team=other_team)
        contact = receive(family, children, users["mash"])
        for username in ("outsider", "coach", "admin"):
            client.force_login(users[username])
            for url in (
                reverse("cases:family_detail", args=[family.pk]),
                reverse("cases:contact_detail", args=[contact.pk]),
            ):
                response = client.get(url)
                assert response.status_code in (404, 302), (username, url)
                assert family.name.encode() not in response.content

    def test_team_sees_its_families_and_front_door_sees_contacts(self, client, users, team):
        family, children = family_with_children(1, team=team)
        receive(family, children, users["mash"])
        for username in ("coach", "teamlead", "mash", "mashlead", "manager"):
            client.force_login(users[username])
            assert client.get(reverse("cases:family_detail", args=[family.pk])).status_code == 200, username

    def test_every_view_of_a_family_leaves_exactly_one_access_log_row(self, client, users, team):
        family, _ = family_with_children(1, team=team)
        client.force_login(users["coach"])
        client.get(reverse("cases:family_detail", args=[family.pk]), REMOTE_ADDR="10.1.2.3")
        rows = list(AccessLog.objects.filter(family_id_logged=family.pk))
        assert len(rows) == 1
        assert rows[0].user == users["coach"] and rows[0].ip_address == "10.1.2.3" and rows[0].action == "view"

    def test_access_log_refuses_update_and_delete(self, users):
        row = AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="family F1")
        for statement in ("UPDATE cases_accesslog SET what = 'x'", "DELETE FROM cases_accesslog"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
                c.execute(statement)
        row.refresh_from_db()
        assert row.what == "family F1"

    def test_search_finds_by_name_dob_postcode_and_nhs_number_within_scope(self, client, users, team, other_team):
        mine = FamilyFactory(team=team, postcode="ZZ3 4CD")
        theirs = FamilyFactory(team=other_team, postcode="ZZ3 4CD")
        from cases.models import Membership

        child = PersonFactory(first_name="Juniper", last_name="Hollowell", nhs_number="9434765919")
        other = PersonFactory(first_name="Juniper", last_name="Hollowell")
        Membership.objects.create(family=mine, person=child, relationship="child")
        Membership.objects.create(family=theirs, person=other, relationship="child")
        client.force_login(users["coach"])
        for q in ("Juniper Hollowel", "Holowell", child.date_of_birth.strftime("%d/%m/%Y"), "zz34cd", "943 476 5919"):
            response = client.post(reverse("cases:search"), {"q": q}, follow=True)
            body = response.content.decode()
            assert mine.name in body, q
            assert theirs.name not in body, q
        assert AccessLog.objects.filter(action="search", user=users["coach"]).count() == 5


class TestBoundedQueries:
    def _queries(self, client, url):
        client.get(url)  # warm per-process caches (content types, permissions)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def test_triage_queue_queries_do_not_grow_with_contacts(self, client, users):
        client.force_login(users["mash"])
        for _ in range(3):
            family, children = family_with_children(2)
            receive(family, children, users["mash"])
        few = self._queries(client, reverse("cases:triage_queue"))
        for _ in range(12):
            family, children = family_with_children(3)
            receive(family, children, users["mash"])
        many = self._queries(client, reverse("cases:triage_queue"))
        assert few == many
        assert many <= 20

    def test_family_page_queries_do_not_grow_with_contacts(self, client, users, team):
        family, children = family_with_children(2, team=team)
        client.force_login(users["coach"])
        receive(family, children, users["mash"])
        few = self._queries(client, reverse("cases:family_detail", args=[family.pk]))
        for _ in range(10):
            receive(family, children, users["mash"])
        many = self._queries(client, reverse("cases:family_detail", args=[family.pk]))
        assert few == many
        assert many <= 25

    def test_triage_queue_is_most_urgent_first(self, client, users):
        client.force_login(users["mash"])
        f1, c1 = family_with_children(1)
        f2, c2 = family_with_children(1)
        late = receive(f1, c1, users["mash"], at=NOW.replace(hour=9))
        early = receive(f2, c2, users["mash"], at=NOW.replace(hour=7))
        response = client.get(reverse("cases:triage_queue"))
        queue = list(response.context["page"])
        assert [c.pk for c in queue] == [early.pk, late.pk]


def test_new_team_factory_is_usable():
    assert TeamFactory(name="Eastmoor").service


def test_chronology_merges_sources_newest_first_with_authors(users):
    from cases.selectors import chronology

    family, children = family_with_children(1)
    contact = receive(family, children, users["mash"], at=NOW.replace(hour=8))
    services.communication_record(
        family=family,
        contact=contact,
        kind="acknowledgement",
        recipient="Ms Teacher",
        method="email",
        sent_at=NOW.replace(hour=9),
        by=users["mash"],
        now=NOW,
    )
    services.contact_decide(
        contact=contact, decision="signpost", rationale="Universal services", by=users["mashlead"], now=NOW
    )
    entries = chronology(family)
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["Decision: Signpost", "Acknowledgement to referrer", "Contact received"]
    assert entries[0]["by"] == users["mashlead"] and entries[0]["text"] == "Universal services"
    assert entries[1]["text"].startswith("To Ms Teacher by email")
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
