"""Retention (with legal hold) and subject access: the data-protection duties of the service.

Councils set their own retention rule (RETENTION_RULE):
  "youngest_child_age:25"       keep until the youngest child's 25th birthday, or
  "years_after_last_activity:N" keep N years after the last contact or closure.
A family on legal hold is kept whatever the rule says, and so is any family with open work.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.admin.utils import NestedObjects
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection, models, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from accounts import roles
from cases.models import AccessLog, Contact, Episode, Family, Membership, Person
from cases.selectors import families_visible_to
from kit.time import LONDON
from oversight.models import Tombstone

MIN_REASON = 20


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    amount: int

    @classmethod
    def parse(cls, text: str) -> RetentionRule:
        try:
            kind, amount = text.split(":")
            rule = cls(kind.strip(), int(amount))
        except ValueError:
            raise ImproperlyConfigured(
                f"RETENTION_RULE must look like youngest_child_age:25 or years_after_last_activity:6, not {text!r}."
            ) from None
        if rule.kind not in {"youngest_child_age", "years_after_last_activity"} or rule.amount < 1:
            raise ImproperlyConfigured(f"RETENTION_RULE {text!r} names an unknown rule or a limit below 1.")
        return rule

    def __str__(self) -> str:
        if self.kind == "youngest_child_age":
            return f"until the youngest child is {self.amount}"
        return f"{self.amount} years after the last contact or closure"


def current_rule() -> RetentionRule:
    return RetentionRule.parse(settings.RETENTION_RULE)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def retention_candidates(*, today: date, rule: RetentionRule | None = None, visible_to=None):
    """Families whose records are past the retention rule, not on legal hold and with no open work.

    With `visible_to` (a user), only the families in that user's scope (cases.selectors): a manager
    reviews and deletes their own service's records, never another service's.
    """
    rule = rule or current_rule()
    open_work = Q(Exists(Episode.objects.filter(family=OuterRef("pk")).exclude(state=Episode.State.CLOSED))) | Q(
        Exists(Contact.objects.filter(family=OuterRef("pk"), state__in=Contact.OPEN_STATES))
    )
    families = Family.objects.all() if visible_to is None else families_visible_to(visible_to)
    qs = families.filter(legal_hold=False).exclude(open_work)
    if rule.kind == "youngest_child_age":
        cutoff = _years_before(today, rule.amount)
        qs = qs.annotate(
            youngest_dob=Max("memberships__person__date_of_birth", filter=Q(memberships__relationship="child"))
        ).filter(youngest_dob__lte=cutoff)
    else:
        cutoff = _years_before(today, rule.amount)
        qs = (
            qs.annotate(last_contact=Max("contacts__received_at"), last_closure=Max("episodes__closed_at"))
            .filter(
                Q(last_contact__date__lte=cutoff) | Q(last_contact__isnull=True),
                Q(last_closure__date__lte=cutoff) | Q(last_closure__isnull=True),
            )
            .exclude(last_contact__isnull=True, last_closure__isnull=True)
        )
    return qs.order_by("pk")


def _collect(family: Family) -> dict[type[models.Model], set]:
    collector = NestedObjects(using="default")
    collector.collect([family])
    # People belong to the family only if no other family holds them.
    sole_people = Person.objects.filter(memberships__family=family).exclude(
        Exists(Membership.objects.filter(person=OuterRef("pk")).exclude(family=family))
    )
    if sole_people.exists():
        collector.collect(list(sole_people))
    return collector.data


def retention_preview(family: Family) -> dict[str, int]:
    return {model._meta.verbose_name_plural: len(objs) for model, objs in _collect(family).items()}


def may_delete_records(user) -> bool:
    return user.is_authenticated and user.has_role(roles.MANAGER)


@transaction.atomic
def retention_delete(
    *, family: Family, authorised_by, now: datetime, reason: str, rule: RetentionRule | None = None
) -> Tombstone:
    """Delete a family's records with their history, drafts, documents and access log; leave a tombstone.

    Only a manager, for a family in their scope, with the legal basis given. The deletion itself is
    recorded twice: on the tombstone (who, when, rule, reason, what was removed) and as an access-log
    row that names the tombstone and not the family, so the family's own rows can go while the
    append-only log keeps the fact of the deletion.
    """
    if not may_delete_records(authorised_by):
        raise PermissionDenied("Only a manager can authorise a retention deletion.")
    if not families_visible_to(authorised_by).filter(pk=family.pk).exists():
        raise PermissionDenied(f"{family.reference} is not in your service's records.")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValueError("Give the legal basis for the deletion.")
    family = Family.objects.select_for_update().get(pk=family.pk)
    if family.legal_hold:
        raise ValueError(f"{family.reference} is on legal hold and cannot be deleted.")
    if not retention_candidates(today=timezone.localdate(now, LONDON), rule=rule).filter(pk=family.pk).exists():
        raise ValueError(f"{family.reference} is not past the retention rule (or has open work).")
    data = _collect(family)
    counts: Counter[str] = Counter()
    person_ids = [p.pk for p in data.get(Person, ())]
    ids_by_model = {model: [obj.pk for obj in objects] for model, objects in data.items()}
    for model, objects in data.items():
        counts[model._meta.label] += len(objects)
        for field in model._meta.fields:
            if isinstance(field, models.FileField):
                for obj in objects:
                    stored = getattr(obj, field.name)
                    if stored:
                        stored.delete(save=False)
    with connection.cursor() as cursor:
        # The application's role may not delete from the access log; the owner's function may, for this
        # family and its people only, and the commit fails unless they are deleted too (ADR 13).
        cursor.execute("SELECT cases_accesslog_retention_delete(%s::bigint, %s::bigint[])", [family.pk, person_ids])
        counts["access log rows"] = cursor.fetchone()[0]
    reference, family_pk = family.reference, family.pk
    collector = NestedObjects(using="default")
    collector.collect([family])
    if data.get(Person):
        collector.collect(list(data[Person]))
    collector.delete()
    # After the delete, which itself writes a "deleted" history row for each record.
    for model, ids in ids_by_model.items():
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            deleted, _ = history.model.objects.filter(id__in=ids).delete()
            counts[f"{model._meta.label} history"] += deleted
    tombstone = Tombstone.objects.create(
        family_id_deleted=family_pk,
        reference=reference,
        deleted_at=now,
        authorised_by=authorised_by,
        rule=str(rule or current_rule()),
        reason=reason,
        counts=dict(counts),
    )
    # No family id on this row: it must outlive the family (the family's own rows went above).
    AccessLog.objects.create(
        at=now,
        user=authorised_by,
        action=AccessLog.Action.DELETE,
        what=f"retention deletion of {reference}: tombstone {tombstone.pk}",
    )
    return tombstone


def subject_access_bundle(person: Person) -> list[dict]:
    """Everything held about one person: their record, history, families and every record under them."""
    sections = [
        {"title": "Person", "rows": [_as_dict(person)]},
        {"title": "History of the person's record", "rows": [_as_dict(h) for h in person.history.all()]},
    ]
    for membership in Membership.objects.filter(person=person).select_related("family"):
        family = membership.family
        sections.append({"title": f"Family {family.reference}: {family}", "rows": [_as_dict(family)]})
        for model, objects in sorted(_collect(family).items(), key=lambda kv: kv[0]._meta.label):
            if model in (Family, Person):
                continue
            rows = [_as_dict(obj) for obj in sorted(objects, key=lambda o: o.pk)]
            if rows:
                sections.append({"title": f"{family.reference}: {model._meta.verbose_name_plural}", "rows": rows})
    return sections


ADDRESS_FIELDS = frozenset({"address_line_1", "address_line_2", "town", "postcode"})
WITHHELD = "[confidential address withheld]"


def _as_dict(obj) -> dict:
    """A record's fields for the export; a confidential address never leaves in it."""
    values = {}
    confidential = bool(getattr(obj, "address_confidential", False))
    for field in obj._meta.concrete_fields:
        if field.name in {"password"} or field.name in getattr(obj, "BOARD_FIELDS", ()):
            continue  # kept by triggers from other records (the board's, the triage order), not recorded
        if confidential and field.name in ADDRESS_FIELDS:
            values[field.verbose_name] = WITHHELD
            continue
        value = getattr(obj, field.attname)
        if isinstance(field, models.FileField):
            value = value.name if value else ""
        values[field.verbose_name] = value
    return values
