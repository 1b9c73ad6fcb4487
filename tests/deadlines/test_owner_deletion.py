"""Deleting a member of staff or a team cannot change the clocks the summary rows count behind their back.

Deadline.assignee and Deadline.team were SET_NULL: Django nulls them with an UPDATE no signal reports, so
the board's counts (deadlines.counts, ADR 41) drifted until the reconcile. Every foreign key of a counted
row is classified here: PROTECT (deletion refused, the admin says why), CASCADE (the delete is counted by
the pre_delete receiver) or not a dimension of any summary row. A new key fails until it is classified.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.db import models
from django.db.models import ProtectedError
from django.test import RequestFactory

from accounts.admin import TeamAdmin, UserAdmin
from accounts.models import Team, User
from deadlines.counts import counts_reconcile, open_counts
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.factories import NOW, DeadlineFactory, TeamFactory

pytestmark = pytest.mark.django_db

# Every foreign key of Deadline (the one table the summary rows count) and what deleting its target does.
ON_DELETE = {
    "contact": models.CASCADE,  # counted: pre_delete receiver (deadlines.counts)
    "episode": models.CASCADE,  # counted
    "family": models.CASCADE,  # counted (a family erased under data protection takes its clocks)
    "worker": models.CASCADE,  # counted (a worker's own supervision clocks)
    "assignee": models.PROTECT,  # a summary dimension: refused
    "team": models.PROTECT,  # a summary dimension: refused
    "started_by": models.SET_NULL,  # in no summary row: "Why is this due?" only
}


def test_every_foreign_key_of_a_counted_clock_is_protected_cascaded_and_counted_or_uncounted():
    found = {
        field.name: field.remote_field.on_delete
        for field in Deadline._meta.get_fields()
        if isinstance(field, models.ForeignKey)
    }
    assert found == ON_DELETE


@pytest.fixture
def owner(db):
    """A member of staff and a team that nothing but a clock points at (no role history, no cases)."""
    return make_user("owner", None, None), TeamFactory(name="Owners' team")


@pytest.fixture
def owned(owner):
    user, team = owner
    clock = DeadlineFactory(assignee=user, team=team, breached=True)
    assert counts_reconcile(now=NOW).clean
    return clock


def test_a_member_of_staff_with_clocks_cannot_be_deleted(owned, owner):
    before = open_counts(now=NOW)
    with pytest.raises(ProtectedError):
        owner[0].delete()
    owned.refresh_from_db()
    assert owned.assignee == owner[0]
    assert open_counts(now=NOW) == before and counts_reconcile(now=NOW).clean


def test_a_team_with_clocks_cannot_be_deleted(owned, owner):
    with pytest.raises(ProtectedError):
        Team.objects.filter(pk=owner[1].pk).delete()
    owned.refresh_from_db()
    assert owned.team == owner[1] and counts_reconcile(now=NOW).clean


def test_deleting_a_worker_takes_their_own_clocks_and_the_counts_follow():
    worker = make_user("leaver", None, None)
    DeadlineFactory(worker=worker, rule_id="B20", team=None, assignee=None)
    DeadlineFactory(worker=worker, rule_id="B20", team=None, assignee=None, breached=True, met=True, cycle=2)
    assert counts_reconcile(now=NOW).clean
    worker.delete()
    assert not Deadline.objects.filter(worker_id=worker.pk).exists()
    assert counts_reconcile(now=NOW, repair=False).clean


def _admin_request(user):
    request = RequestFactory().post("/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


@pytest.mark.parametrize(("model_admin", "words"), [(UserAdmin, "deactivates staff"), (TeamAdmin, "move its members")])
def test_the_admin_says_why_and_what_to_do_instead(owned, owner, model_admin, words):
    root = User.objects.create_superuser("root", "root@example.invalid", "not-the-password-0")
    target = owner[0] if model_admin is UserAdmin else owner[1]
    model = User if model_admin is UserAdmin else Team
    request = _admin_request(root)
    _deleted, _counts, _perms, protected = model_admin(model, admin.site).get_deleted_objects([target], request)
    assert protected
    assert any(words in str(message) for message in get_messages(request))
    # Nothing protects a member of staff without clocks: no message.
    request = _admin_request(root)
    spare = make_user("spare", None, None)
    _deleted, _counts, _perms, protected = UserAdmin(User, admin.site).get_deleted_objects([spare], request)
    assert not protected and not list(get_messages(request))
