"""Role and team history: every change of an account's roles, team, service or admin flags.

Roles are Django groups, so a change can arrive by many paths: the users pages, the Django
admin, a management command, `user.groups.add()` in a shell, `group.user_set.remove()`. The
receivers below (connected in `AccountsConfig.ready`) see all of them through `m2m_changed`
and `pre_save`/`post_save`, and write `RoleChange` rows. Paths that skip signals (raw SQL,
`QuerySet.update()`, `bulk_create` on the through table) are not recorded; the application
uses none of them for accounts.

A service that knows who is acting wraps its work in `role_changes(by=..., source=...)`: the
changes made inside are merged per account and field ("Practitioner" to "Manager", not a
removal then an addition) and written when the block ends, inside the caller's transaction.
Outside such a block each change is written at once, attributed to the signed-in user of the
current request if there is one (simple-history's request middleware keeps it).

Giving an account a role that sees families (every role except Administrator) alerts the
managers of the account's service (ADR 0012).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts import roles
from accounts.models import RoleChange, User
from kit.dates import long_datetime

logger = logging.getLogger(__name__)

What = RoleChange.What
Source = RoleChange.Source

# Roles that open families' records: granting one is told to the service's managers.
CASE_SEEING_ROLES = frozenset(roles.ALL_ROLES) - {roles.ADMINISTRATOR}

# User fields recorded besides the roles, and how a value is shown.
TRACKED_FIELDS = {
    "team_id": What.TEAM,
    "service_id": What.SERVICE,
    "is_superuser": What.SUPERUSER,
    "is_staff": What.STAFF,
}
_TRACKED_NAMES = {"team", "team_id", "service", "service_id", "is_superuser", "is_staff"}


@dataclass
class _Batch:
    by: User | None
    source: str
    now: datetime
    # (user id, what) -> [before, after]
    pending: dict[tuple[int, str], list[str]] = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("role_change_batch", default=None)


@contextmanager
def role_changes(*, by: User | None, source: str, now: datetime | None = None) -> Iterator[None]:
    """Attribute the role and team changes made inside to `by`, merged per account and field."""
    batch = _Batch(by=by, source=source, now=now or timezone.now())
    token = _batch.set(batch)
    try:
        yield
    except BaseException:
        _batch.reset(token)
        raise
    _batch.reset(token)
    for (user_id, what), (before, after) in batch.pending.items():
        if before != after:
            _write(
                user_id=user_id, what=what, before=before, after=after, by=batch.by, source=batch.source, now=batch.now
            )


def record(*, user_id: int, what: str, before: str, after: str) -> None:
    """Called by the receivers for each change they see."""
    if before == after:
        return
    batch = _batch.get()
    if batch is not None:
        entry = batch.pending.setdefault((user_id, what), [before, before])
        entry[1] = after
        return
    by, source = _actor_from_request()
    _write(user_id=user_id, what=what, before=before, after=after, by=by, source=source, now=timezone.now())


def _actor_from_request() -> tuple[User | None, str]:
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return None, Source.OTHER
    user = getattr(request, "user", None)
    by = user if user is not None and user.is_authenticated else None
    source = Source.DJANGO_ADMIN if request.path.startswith("/django-admin/") else Source.OTHER
    return by, source


def _write(*, user_id: int, what: str, before: str, after: str, by: User | None, source: str, now) -> RoleChange:
    alerted: list[User] = []
    if what == What.ROLES:
        gained = set(_split(after)) - set(_split(before))
        if gained & CASE_SEEING_ROLES:
            alerted = managers_to_alert(User.objects.select_related("team").get(pk=user_id))
    change = RoleChange.objects.create(
        user_id=user_id,
        changed_by_id=by.pk if by is not None else None,
        changed_at=now,
        what=what,
        before=before,
        after=after,
        source=source,
        managers_alerted=", ".join(manager.username for manager in alerted),
    )
    addresses = [manager.email for manager in alerted if manager.email]
    if addresses:
        # After commit: a rolled-back change alerts nobody. A failed send is logged, not raised,
        # because the change is already saved; the row names who should have been told.
        transaction.on_commit(partial(_send_alert, change.pk, addresses), robust=True)
    return change


def managers_to_alert(account: User) -> list[User]:
    """Active managers of the account's service; every active manager if it has none or no service."""
    managers = User.objects.filter(is_active=True, groups__name=roles.MANAGER).exclude(pk=account.pk).distinct()
    service_id = account.service_id_in_scope
    in_service = (
        list(managers.filter(Q(service_id=service_id) | Q(team__service_id=service_id)))
        if service_id is not None
        else []
    )
    return in_service or list(managers)


def _send_alert(change_id: int, addresses: list[str]) -> None:
    change = RoleChange.objects.select_related("user", "changed_by").get(pk=change_id)
    by = str(change.changed_by) if change.changed_by else "someone without a signed-in account (shell or script)"
    when = timezone.localtime(change.changed_at)
    subject = f"{change.user} has been given a role that can see families' records"
    body = (
        f"{change.user} (username {change.user.username}) now has the roles: {change.after or 'none'}.\n"
        f"Before: {change.before or 'none'}.\n"
        f"Changed by {by} on {long_datetime(when)} ({change.get_source_display().lower()}).\n\n"
        "You are told because you manage this service. If this change was not agreed, ask an "
        "administrator to remove the role and report it to your information governance lead.\n"
    )
    send_mail(subject, body, None, addresses, fail_silently=False)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def role_text(user_id: int) -> str:
    return ", ".join(sorted(Group.objects.filter(user__id=user_id).values_list("name", flat=True)))


def field_text(what: str, value) -> str:
    if value is None:
        return ""
    if what == What.TEAM:
        from accounts.models import Team

        return Team.objects.filter(pk=value).values_list("name", flat=True).first() or f"team {value}"
    if what == What.SERVICE:
        from accounts.models import Service

        return Service.objects.filter(pk=value).values_list("name", flat=True).first() or f"service {value}"
    return "yes" if value else "no"


# --- Receivers --------------------------------------------------------------------------------


def groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """m2m_changed on User.groups, from either side (user.groups.x() or group.user_set.x())."""
    if action.startswith("pre_"):
        if reverse:  # instance is a Group; pk_set holds user ids (None on clear)
            user_ids = set(pk_set) if pk_set is not None else set(instance.user_set.values_list("pk", flat=True))
        else:
            user_ids = {instance.pk}
        instance._role_audit_before = {uid: role_text(uid) for uid in user_ids}
        return
    before = getattr(instance, "_role_audit_before", None)
    if before is None:
        return
    del instance._role_audit_before
    for user_id, text in before.items():
        record(user_id=user_id, what=What.ROLES, before=text, after=role_text(user_id))
    if not reverse:
        instance._role_names = None  # the request cache of this user's roles is stale


def user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & _TRACKED_NAMES:
        return  # e.g. the last_login update at every sign-in
    instance._tracked_before = User.objects.filter(pk=instance.pk).values(*TRACKED_FIELDS).first()


def user_post_save(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        before = {"team_id": None, "service_id": None, "is_superuser": False, "is_staff": False}
    else:
        before = getattr(instance, "_tracked_before", None)
        if before is None:
            return
        del instance._tracked_before
    for name, what in TRACKED_FIELDS.items():
        old, new = before[name], getattr(instance, name)
        if old != new:
            record(user_id=instance.pk, what=what, before=field_text(what, old), after=field_text(what, new))
