"""Sign-in with Django's model backend, without Django's model permissions.

Roles are groups and what a role may do is decided by `rules` (workflows/rules.py). Letting
ModelBackend answer permission checks as well costs two queries on every page for nothing, and
loading the signed-in user with their team and role names in one query saves two more. Apps above
this layer may load a per-request value in the same query (`register_user_annotation`): the header's
count of unread alerts is one (deadlines.apps).
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import Q, QuerySet

from accounts.models import User
from kit.compiled_sql import compiled_instances

# name -> a function returning an expression over the user row, evaluated in the user's own query.
_USER_ANNOTATIONS: dict[str, Callable] = {}


def register_user_annotation(name: str, expression: Callable) -> None:
    """Load `expression()` (an expression correlated to the user row) as `user.<name>` with the
    signed-in user on every request, in the same query (the layers above register theirs at start-up)."""
    _USER_ANNOTATIONS[name] = expression


class NoModelPermissions:
    """A backend that answers no permission check: what a role may do is `rules`' answer alone. A
    ModelBackend left to answer reads the user's and their groups' model permissions (two queries)
    on every page that checks a permission without an object, for nothing (roles carry none)."""

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False


class AuthenticationOnlyBackend(NoModelPermissions, ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # PASSWORD_SIGN_IN off: only single sign-on signs anyone in (ADR 47), on every path.
        if not settings.PASSWORD_SIGN_IN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        # The same query on every request but for the id: compiled once per process (ADR 63); building
        # and compiling its annotations was half of what a signed-in page cost before its own work.
        # A prepared statement of the connection (ADR 82): found by its primary key, its plan is the
        # same for every user, so PostgreSQL parses and plans it once per connection, not per request.
        found = compiled_instances(
            ("signed-in user", tuple(_USER_ANNOTATIONS)), signed_in_user, _USER_STAND_INS, (pk,),
            using=router.db_for_read(User), prepared=True,
        )  # fmt: skip
        user = found[0] if found else None
        if user is None or not self.user_can_authenticate(user):
            return None
        user._role_names = frozenset(user.role_list)
        return user


# Two ids no user has, for compiling the signed-in user's query once (kit.compiled_sql).
_USER_STAND_INS = ((-7_105_993_451,), (-7_105_993_452,))


def signed_in_user(pk) -> QuerySet[User]:
    """The user with their team, their role names (`role_list`) and every registered annotation."""
    return (
        User._default_manager.select_related("team")
        .annotate(role_list=ArrayAgg("groups__name", filter=Q(groups__isnull=False), default=[]))
        .annotate(**{name: expression() for name, expression in _USER_ANNOTATIONS.items()})
        .filter(pk=pk)
        .order_by("pk")[:1]
    )
