"""Retention is scoped to the manager's service, needs a legal basis and is logged; nothing of the
family survives it, drafts included (a full scan of every text column of every table)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    AccessLog,
    AgencyInvolvement,
    CaseNote,
    Communication,
    Consent,
    Contact,
    Draft,
    Episode,
    Family,
    Membership,
    Person,
    RiskIndicator,
)
from oversight import data_protection
from oversight.models import Tombstone
from tests.factories import FamilyFactory, PersonFactory
from tests.security.world import add_far_service, add_oversight_records, build_world

pytestmark = pytest.mark.django_db
REASON = "Retention schedule period ended; no exception applies"
MARK = "Zqxvmark"  # in every string of the family's records, and nowhere else


def old_family(team):
    family = FamilyFactory(team=team)
    child = PersonFactory(date_of_birth=date(1999, 1, 1))
    Membership.objects.create(family=family, person=child, relationship="child")
    contact = Contact.objects.create(
        family=family,
        received_at=datetime(2010, 5, 1, tzinfo=ZoneInfo("Europe/London")),
        route="email",
        source="2A",
        presenting_needs="Old contact",
    )
    Contact.objects.filter(pk=contact.pk).update(state="signposted")
    return family, child


def test_retention_is_scoped_to_the_managers_service(client, users, team):
    add_far_service(users)
    family, child = old_family(team)
    for name in ("farmanager", "nomanager"):
        client.force_login(users[name])
        report = client.get(reverse("oversight:retention_report"))
        assert report.status_code == 200 and family.reference.encode() not in report.content, name
        url = reverse("oversight:retention_family", args=[family.pk])
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"confirm": family.reference, "reason": REASON}).status_code == 404, name
        assert client.post(reverse("oversight:legal_hold", args=[family.pk]), {"hold": "on"}).status_code == 404
        assert client.get(reverse("oversight:subject_access", args=[child.pk])).status_code == 404, name
        with pytest.raises(PermissionDenied):
            data_protection.retention_delete(
                family=family, authorised_by=users[name], now=timezone.now(), reason=REASON
            )
    with pytest.raises(PermissionDenied):
        data_protection.retention_delete(family=family, authorised_by=users["coach"], now=timezone.now(), reason=REASON)
    with pytest.raises(ValueError, match="legal basis"):
        data_protection.retention_delete(family=family, authorised_by=users["manager"], now=timezone.now(), reason=" ")
    family.refresh_from_db()
    assert not family.legal_hold
    assert not Tombstone.objects.exists()


def test_deletion_is_recorded_on_the_tombstone_and_in_the_append_only_log(client, users, team):
    family, _ = old_family(team)
    client.force_login(users["manager"])
    url = reverse("oversight:retention_family", args=[family.pk])
    client.get(url)  # the dry run is a view of the family: logged, and deleted with it
    assert AccessLog.objects.filter(family_id_logged=family.pk).exists()
    assert client.post(url, {"confirm": family.reference, "reason": REASON}).status_code == 302
    tombstone = Tombstone.objects.get()
    assert (tombstone.authorised_by, tombstone.reason, tombstone.family_id_deleted) == (
        users["manager"],
        REASON,
        family.pk,
    )
    assert not AccessLog.objects.filter(family_id_logged=family.pk).exists()
    row = AccessLog.objects.get(action="delete")
    assert row.user == users["manager"] and row.family_id_logged is None and row.person_id_logged is None
    assert f"tombstone {tombstone.pk}" in row.what and family.reference in row.what
    # The report lists the deletion with its legal basis, to managers of the service only.
    assert REASON.encode() in client.get(reverse("oversight:retention_report")).content
    add_far_service(users)
    client.force_login(users["farmanager"])
    assert REASON.encode() not in client.get(reverse("oversight:retention_report")).content


def _mark_everything(world, users, client):
    """Put the marker into every kind of text the family's records hold, through save() (so history has it)."""
    family, episode = world["family"], world["episode"]
    family.name, family.address_line_1 = f"The {MARK}family household", f"1 {MARK}street"
    family.save()
    for membership in Membership.objects.filter(family=family).select_related("person"):
        person = membership.person
        person.first_name, person.last_name, person.other_names = f"{MARK}first", f"{MARK}last", f"{MARK}alias"
        person.date_of_birth = date(1999, 1, 1) if membership.is_child else None
        person.save()
    for obj, field in [
        (world["contact"], "presenting_needs"),
        (world["item"], "reason"),
        (world["outcome"], "description"),
        (world["action"], "what"),
        (world["closure"], "summary"),
        (world["step_up"], "reason"),
        (world["escalation"], "disagreement"),
        (world["document"], "title"),
        (world["task"], "text"),
    ]:
        setattr(obj, field, f"{MARK} {field} of the family")
        obj.save()
    now = timezone.now()
    CaseNote.objects.create(
        episode=episode,
        family=family,
        kind="home_visit",
        happened_at=now,
        recorded_at=now,
        recorded_by=users["coach"],
        details=f"{MARK} disclosed at the visit",
    )
    Communication.objects.create(
        family=family, kind="other", recipient=f"{MARK} mum", sent_at=now, summary=f"{MARK} letter"
    )
    Consent.objects.create(family=family, given_by_name=f"{MARK} mum", status="given")
    AgencyInvolvement.objects.create(family=family, agency=f"{MARK} school", contact_name=f"{MARK} teacher")
    RiskIndicator.objects.create(contact=world["contact"], indicator="health", level=2, note=f"{MARK} risk")
    # A half-typed note, saved by the autosave endpoint as a coach types it.
    client.force_login(users["coach"])
    response = client.post(
        reverse("episodes:draft_save", args=["visit", episode.pk]), {"details": f"{MARK} child disclosed"}
    )
    assert response.status_code == 200 and Draft.objects.filter(episode=episode).exists()
    client.get(reverse("cases:family_detail", args=[family.pk]))  # leaves an access-log row
    # Close all the work, long ago, so the family is past the retention rule.
    Contact.objects.filter(family=family).update(state="signposted")
    Episode.objects.filter(pk=episode.pk).update(state="closed", closed_at=now - timedelta(days=4000))


def _tables_holding(text: str) -> list[str]:
    """Every text, varchar and json column of every table, searched for `text` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') "
            "ORDER BY table_name, column_name"
        )
        columns: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            columns.setdefault(table, []).append(column)
        found = []
        for table, names in columns.items():
            where = " OR ".join(f'"{name}"::text ILIKE %s' for name in names)
            cursor.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', [f"%{text}%"] * len(names))
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_after_deletion_no_table_holds_any_of_the_familys_text(client, users, team, other_team):
    world = add_oversight_records(build_world(users, team), users)
    others = build_world(users, other_team)  # another family, which must be untouched
    _mark_everything(world, users, client)
    assert {"cases_draft", "cases_family", "cases_historicalfamily", "cases_casenote"} <= set(_tables_holding(MARK))
    stored = world["document"].file.name
    family = world["family"]
    client.force_login(users["manager"])
    response = client.post(
        reverse("oversight:retention_family", args=[family.pk]), {"confirm": family.reference, "reason": REASON}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Family.objects.filter(pk=family.pk).exists()
    assert _tables_holding(MARK) == []
    assert not world["document"].file.storage.exists(stored)
    assert Family.objects.filter(pk=others["family"].pk).exists()
    assert Person.objects.filter(pk=others["child"].pk).exists()
