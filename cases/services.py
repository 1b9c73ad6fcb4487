"""Writes to case records that involve no workflow state: people, families, the access log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import connections, router, transaction

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
    """Append one row to the access log (a trigger forbids changing it later): one INSERT statement,
    its own transaction in autocommit (see `_append`). The row is returned as written, without its id."""
    row = AccessLog(
        at=at,
        user=user,
        action=action,
        family_id_logged=family.pk if family else None,
        person_id_logged=person.pk if person else None,
        what=what[:200],
        ip_address=ip_address,
        break_glass_reason=break_glass_reason,
    )
    _append([row])
    return row


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
    _append(rows)
    return rows


# Rows a statement carries: a longer list (an export's) is several statements in one transaction.
ACCESS_LOG_ROWS_PER_INSERT = 2000


def _append(rows: list[AccessLog]) -> None:
    """INSERT the rows in one statement (several, in one transaction, past ACCESS_LOG_ROWS_PER_INSERT).

    `Model.save` and `bulk_create` cost the pages Python time for what they do not need here (the
    save machinery and its signals, the new ids), and `bulk_create` wraps even one statement in a
    transaction: BEGIN and COMMIT, two more round trips on every list page. Outside a transaction a
    single statement is atomic by itself; inside one (a service's atomic block) it is part of it.
    """
    if not rows:
        return
    using = router.db_for_write(AccessLog)
    connection = connections[using]
    fields = [field for field in AccessLog._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    chunks = [rows[n : n + ACCESS_LOG_ROWS_PER_INSERT] for n in range(0, len(rows), ACCESS_LOG_ROWS_PER_INSERT)]
    with transaction.atomic(using=using) if len(chunks) > 1 else nullcontext(), connection.cursor() as cursor:
        for chunk in chunks:
            params = [
                field.get_db_prep_save(getattr(row, field.attname), connection) for row in chunk for field in fields
            ]
            # Only names from the model's metadata, quoted: every value is a parameter.
            sql = f"INSERT INTO {quote(AccessLog._meta.db_table)} ({columns}) VALUES " + ", ".join(  # noqa: S608
                [one_row] * len(chunk)
            )
            cursor.execute(sql, params)


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


PERSON_ADDRESS_FIELDS = ("address_confidential", "address_line_1", "address_line_2", "town", "postcode")


@transaction.atomic
def person_address_change(*, person: Person, **fields) -> bool:
    """Change a family member's own address (all four lines and the confidential flag; blank lines: they
    live with the family). The change is kept in the person's history; returns whether anything changed."""
    unknown = set(fields) - set(PERSON_ADDRESS_FIELDS)
    if unknown:
        raise TypeError(f"not address fields: {sorted(unknown)}")
    person = Person.objects.select_for_update().get(pk=person.pk)
    changed = [name for name, value in fields.items() if getattr(person, name) != value]
    if not changed:
        return False
    for name in changed:
        setattr(person, name, fields[name])
    person.save()
    return True


def agency_add(*, family: Family, **fields) -> AgencyInvolvement:
    return AgencyInvolvement.objects.create(family=family, **fields)


# --- Access outside scope, held in the user's session --------------------------------------------

BREAK_GLASS = timedelta(hours=1)
INTAKE_MATCH = timedelta(hours=1)


def break_glass_grant(session: MutableMapping, *, family: Family, reason: str, now: datetime) -> datetime:
    """Open one family's record outside the user's work for an hour, with the reason given.

    The grant lives in the session (it ends with it); each view under it is logged with the reason
    (cases.access.family_for_request_or_404). Returns when it ends.
    """
    until = now + BREAK_GLASS
    grants = dict(session.get("break_glass", {}))
    grants[str(family.pk)] = {"until": until.timestamp(), "reason": reason}
    session["break_glass"] = grants
    return until


def break_glass_reason(session: Mapping, family_pk: int, *, now: datetime) -> str | None:
    """The reason given for break-glass access to this family in this session, while it lasts."""
    grant = session.get("break_glass", {}).get(str(family_pk))
    if not grant or grant["until"] < now.timestamp():
        return None
    return grant["reason"]


def intake_matches_grant(session: MutableMapping, family_pks: Iterable[int], *, now: datetime) -> None:
    """Let the user record a contact for the families an intake match search showed, for an hour
    (they may be outside the user's scope, see selectors.find_matches); expired grants are dropped."""
    until = (now + INTAKE_MATCH).timestamp()
    grants = {k: v for k, v in session.get("intake_matches", {}).items() if v > now.timestamp()}
    grants.update({str(pk): until for pk in family_pks})
    session["intake_matches"] = grants


def intake_match_granted(session: Mapping, family_pk: int, *, now: datetime) -> bool:
    return session.get("intake_matches", {}).get(str(family_pk), 0) > now.timestamp()
