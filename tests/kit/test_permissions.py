"""kit.permissions: the one check views and services share, refusing with the caller's error and reason."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts import roles
from kit.permissions import require_perm, require_role

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


def test_require_role_passes_a_holder_of_any_named_role(users):
    require_role(users["coach"], roles.TEAM_LEADER, roles.PRACTITIONER)


def test_require_role_refuses_with_403_by_default(users):
    with pytest.raises(PermissionDenied):
        require_role(users["coach"], roles.MANAGER)


def test_require_role_refuses_anonymous_with_the_callers_error_and_reason():
    with pytest.raises(Refused, match="Sign in first"):
        require_role(AnonymousUser(), roles.PRACTITIONER, error=Refused, message="Sign in first")


def test_require_perm_refuses_a_user_without_the_permission(users):
    with pytest.raises(Refused, match="Only front door staff"):
        require_perm(users["coach"], "cases.record_contact", error=Refused, message="Only front door staff")
    require_perm(users["mash"], "cases.record_contact")
