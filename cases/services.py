"""Writes to case records that involve no workflow state: people, families, the access log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import CharField

from cases.models import AccessLog, AgencyInvolvement, Family, Membership, Person
from kit.compiled_sql import prepared_cursor


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
    _append(
        [(row.family_id_logged, row.person_id_logged)],
        at=row.at,
        user_id=row.user_id,
        action=row.action,
        what=row.what,
        ip_address=row.ip_address,
        break_glass_reason=row.break_glass_reason,
    )
    return row


def access_log_record_many(
    *,
    user,
    action: str,
    what: str,
    at: datetime,
    subjects: Iterable[tuple[int | None, int | None]],
    ip_address: str | None = None,
) -> int:
    """One row per (family id, person id) a page listed, in one INSERT: a list page is one view of each.
    Returns how many rows were written."""
    pairs = sorted({pair for pair in subjects if pair[0] or pair[1]}, key=lambda pair: (pair[0] or 0, pair[1] or 0))
    _append(pairs, at=at, user_id=user.pk, action=action, what=what[:200], ip_address=ip_address)
    return len(pairs)


# Rows a statement carries: a longer list (an export's) is several statements in one transaction.
ACCESS_LOG_ROWS_PER_INSERT = 2000

# The access log's INSERT, one text per database alias: the row's values once, its subjects as two
# arrays (`_insert_sql`).
_INSERT_SQL: dict[str, str] = {}


def _insert_sql(connection) -> str:
    """`INSERT INTO cases_accesslog (...) SELECT <the row's values>, subject.family_id, subject.person_id
    FROM unnest(<family ids>, <person ids>) AS subject`: the same text for one row or two thousand,
    so it is parsed and planned once per connection (a prepared statement, ADR 82) and its parameters
    are eight values whatever the length of the list.

    Each value is cast to its column's type (a character column to `text`: assigning the text to the
    column then refuses a value too long, as an INSERT of the value did, where a cast to `varchar(n)`
    would cut it). unnest's rows come in the arrays' order, so the ids are given in that order.
    """
    quote = connection.ops.quote_name
    fields = [field for field in AccessLog._meta.concrete_fields if not field.primary_key]
    subject = {"family_id_logged": "subject.family_id", "person_id_logged": "subject.person_id"}
    values = []
    for field in fields:
        if field.attname in subject:
            values.append(subject[field.attname])
        else:
            cast = "text" if isinstance(field, CharField) else field.db_type(connection)
            values.append(f"%s::{cast}")
    # Only names and types from the model's metadata: every value is a parameter.
    return (
        f"INSERT INTO {quote(AccessLog._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM unnest(%s::bigint[], %s::bigint[]) AS subject (family_id, person_id)"
    )


def _append(
    pairs: list[tuple[int | None, int | None]],
    *,
    at: datetime,
    user_id: int,
    action: str,
    what: str,
    ip_address: str | None,
    break_glass_reason: str = "",
) -> None:
    """INSERT a row for each (family id, person id) in one statement (several, in one transaction, past
    ACCESS_LOG_ROWS_PER_INSERT), the other columns the same for every row.

    `Model.save` and `bulk_create` cost the pages Python time for what they do not need here (the
    save machinery and its signals, the new ids), and `bulk_create` wraps even one statement in a
    transaction: BEGIN and COMMIT, two more round trips on every list page. Outside a transaction a
    single statement is atomic by itself; inside one (a service's atomic block) it is part of it.
    The statement's text is the same whatever the rows (`_insert_sql`): a prepared statement of the
    connection (`kit.compiled_sql.prepared_cursor`), each value prepared for the database once by its
    field, as a model's save prepares it, and no Python per row but the two lists of ids.
    """
    if not pairs:
        return
    using = router.db_for_write(AccessLog)
    connection = connections[using]
    sql = _INSERT_SQL.get(using)
    if sql is None:
        sql = _INSERT_SQL[using] = _insert_sql(connection)
    given = {
        "at": at,
        "user_id": user_id,
        "action": action,
        "what": what,
        "ip_address": ip_address,
        "break_glass_reason": break_glass_reason,
    }
    values = [
        _as_text(field.get_db_prep_save(given[field.attname], connection))
        for field in AccessLog._meta.concrete_fields
        if field.attname in given
    ]
    chunks = [pairs[n : n + ACCESS_LOG_ROWS_PER_INSERT] for n in range(0, len(pairs), ACCESS_LOG_ROWS_PER_INSERT)]
    with transaction.atomic(using=using) if len(chunks) > 1 else nullcontext(), prepared_cursor(using) as cursor:
        for chunk in chunks:
            cursor.execute(sql, [*values, _id_array(pair[0] for pair in chunk), _id_array(pair[1] for pair in chunk)])


def _as_text(value):
    """A value for the INSERT as text (None and datetimes as they are). psycopg sends text as of no
    type, and the statement's casts type it; an integer or an address it would send as int2, int4,
    int8 or inet, and its prepared statements are one per text *and* parameter types: one statement
    per connection, not one per size of the user's id or per address given or not."""
    return value if value is None or isinstance(value, (str, datetime)) else str(value)


def _id_array(ids: Iterable[int | None]) -> str:
    """A `bigint[]` parameter as PostgreSQL's array text (`{12,NULL,7}`), for `_as_text`'s reason."""
    return "{" + ",".join("NULL" if pk is None else str(int(pk)) for pk in ids) + "}"


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
