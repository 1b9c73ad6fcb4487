"""Writes to case records that involve no workflow state: people, families, the access log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from cases.models import AccessLog, AgencyInvolvement, Family, Membership, Person


def client_ip(request) -> str | None:
    # Behind a proxy, Django's REMOTE_ADDR is the proxy; the deployment sets the real one there.
    return request.META.get("REMOTE_ADDR") or None


def access_log_record(
    *,
    user,
    action: str,
    what: str,
    at: datetime,
    family: Family | None = None,
    person: Person | None = None,
    ip_address: str | None = None,
    break_glass_reason: str = "",
) -> AccessLog:
    """Append one row to the access log (a trigger forbids changing it later)."""
    return AccessLog.objects.create(
        at=at,
        user=user,
        action=action,
        family_id_logged=family.pk if family else None,
        person_id_logged=person.pk if person else None,
        what=what[:200],
        ip_address=ip_address,
        break_glass_reason=break_glass_reason,
    )


def access_log_record_many(
    *,
    user,
    action: str,
    what: str,
    at: datetime,
    subjects: Iterable[tuple[int | None, int | None]],
    ip_address: str | None = None,
) -> list[AccessLog]:
    """One row per (family id, person id) a page listed, in one INSERT: a list page is one view of each."""
    rows = [
        AccessLog(
            at=at,
            user=user,
            action=action,
            family_id_logged=family_id,
            person_id_logged=person_id,
            what=what[:200],
            ip_address=ip_address,
        )
        for family_id, person_id in sorted(set(subjects), key=lambda pair: (pair[0] or 0, pair[1] or 0))
        if family_id or person_id
    ]
    return AccessLog.objects.bulk_create(rows) if rows else []


@transaction.atomic
def family_create(*, by, duplicate_reason: str = "", **fields) -> Family:
    family = Family(created_by=by, duplicate_reason=duplicate_reason, **fields)
    family.save()
    return family


@transaction.atomic
def person_add_to_family(*, family: Family, person: Person | None = None, relationship: str, **fields) -> Person:
    if person is None:
        person = Person(**fields)
        person.save()
    Membership.objects.get_or_create(family=family, person=person, defaults={"relationship": relationship})
    return person


def agency_add(*, family: Family, **fields) -> AgencyInvolvement:
    return AgencyInvolvement.objects.create(family=family, **fields)
