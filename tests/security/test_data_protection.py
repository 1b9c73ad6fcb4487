"""Retention with legal hold and tombstones, and subject access export."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from cases.models import AccessLog, Contact, Family, Membership, Person
from oversight import data_protection
from oversight.data_protection import RetentionRule
from oversight.models import Tombstone
from tests.factories import FamilyFactory, PersonFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))
REASON = "Retention schedule period ended; no exception applies"


def old_family(*, hold=False, open_contact=False, youngest=date(1999, 1, 1), team=None):
    family = FamilyFactory(legal_hold=hold, team=team)
    child = PersonFactory(date_of_birth=youngest)
    Membership.objects.create(family=family, person=child, relationship="child")
    contact = Contact.objects.create(
        family=family,
        received_at=datetime(2010, 5, 1, tzinfo=ZoneInfo("Europe/London")),
        route="email",
        source="2A",
        presenting_needs="Old contact",
    )
    if not open_contact:
        Contact.objects.filter(pk=contact.pk).update(state="signposted")
    return family, child


def test_candidates_respect_rule_legal_hold_and_open_work():
    gone, _ = old_family()
    held, _ = old_family(hold=True)
    busy, _ = old_family(open_contact=True)
    young, _ = old_family(youngest=date(2010, 1, 1))
    ids = set(data_protection.retention_candidates(today=NOW.date()).values_list("pk", flat=True))
    assert gone.pk in ids
    assert not ids & {held.pk, busy.pk, young.pk}
    by_activity = RetentionRule.parse("years_after_last_activity:6")
    ids = set(data_protection.retention_candidates(today=NOW.date(), rule=by_activity).values_list("pk", flat=True))
    assert gone.pk in ids and young.pk in ids and held.pk not in ids


def test_delete_removes_records_history_and_access_log_and_leaves_a_tombstone(users, team):
    family, child = old_family(team=team)
    shared = PersonFactory(first_name="Shared")
    Membership.objects.create(family=family, person=shared, relationship="parent")
    other = FamilyFactory()
    Membership.objects.create(family=other, person=shared, relationship="parent")
    AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="x", family_id_logged=family.pk)
    preview = data_protection.retention_preview(family)
    assert preview["contacts"] == 1
    tombstone = data_protection.retention_delete(family=family, authorised_by=users["manager"], now=NOW, reason=REASON)
    assert not Family.objects.filter(pk=family.pk).exists()
    assert not Person.objects.filter(pk=child.pk).exists()
    assert Person.objects.filter(pk=shared.pk).exists()
    assert not Family.history.filter(id=family.pk).exists()
    assert not Person.history.filter(id=child.pk).exists()
    assert not AccessLog.objects.filter(family_id_logged=family.pk).exists()
    assert tombstone.authorised_by == users["manager"] and tombstone.counts["access log rows"] == 1
    # Outside a retention run the log still refuses deletion.
    AccessLog.objects.create(at=NOW, user=users["coach"], action="view", what="y")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_accesslog")


def test_legal_hold_blocks_deletion(users, team):
    family, _ = old_family(hold=True, team=team)
    with pytest.raises(ValueError, match="legal hold"):
        data_protection.retention_delete(family=family, authorised_by=users["manager"], now=NOW, reason=REASON)
    assert Family.objects.filter(pk=family.pk).exists()


def test_retention_pages_dry_run_and_confirmation(client, users, team):
    family, _ = old_family(team=team)
    client.force_login(users["manager"])
    report = client.get(reverse("oversight:retention_report"))
    assert family.reference.encode() in report.content
    url = reverse("oversight:retention_family", args=[family.pk])
    assert b"What would be deleted" in client.get(url).content
    response = client.post(url, {"confirm": "wrong", "reason": REASON})
    assert response.status_code == 400 and f"Type {family.reference} to confirm".encode() in response.content
    response = client.post(url, {"confirm": family.reference, "reason": ""})
    assert response.status_code == 400 and b"Give the legal basis" in response.content
    assert family.reference.encode() in response.content  # what was typed is kept
    assert Family.objects.filter(pk=family.pk).exists()
    client.post(url, {"confirm": family.reference, "reason": REASON})
    assert not Family.objects.filter(pk=family.pk).exists()
    tombstone = Tombstone.objects.get()
    assert (tombstone.reference, tombstone.reason, tombstone.authorised_by) == (
        family.reference,
        REASON,
        users["manager"],
    )
    client.force_login(users["coach"])
    assert client.get(reverse("oversight:retention_report")).status_code == 403


def test_subject_access_export_is_complete_readable_and_logged(client, users, team):
    family, child = old_family(team=team)
    client.force_login(users["manager"])
    response = client.get(reverse("oversight:subject_access", args=[child.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = response.content.decode()
    assert child.first_name in body and "Old contact" in body and "History of the person" in body
    # What triggers keep from other records for lists (the triage order, the board's) is not a record of its own.
    assert str(Contact._meta.get_field("earliest_due_at").verbose_name).lower() not in body.lower()
    assert AccessLog.objects.filter(action="export", person_id_logged=child.pk, user=users["manager"]).count() == 1
    client.force_login(users["outsider"])
    assert client.get(reverse("oversight:subject_access", args=[child.pk])).status_code in (403, 404)


def test_bad_retention_rule_is_named():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="RETENTION_RULE"):
        RetentionRule.parse("forever")


def test_a_family_due_today_can_be_deleted_just_after_midnight_in_summer(users, team):
    """00:30 on 15 June in London is still 14 June in UTC: the day that counts is London's, as on the list."""
    family, _ = old_family(team=team, youngest=date(2001, 6, 15))  # 25 years old on 15 June 2026
    at = datetime(2026, 6, 15, 0, 30, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
    data_protection.retention_delete(family=family, authorised_by=users["manager"], now=at, reason=REASON)
    assert not Family.objects.filter(pk=family.pk).exists()
