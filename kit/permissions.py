"""The one permission check that views and services share.

Views refuse with 403 (`PermissionDenied`, the default); services refuse with their own error and a
message that says why (for example `require_perm(user, perm, episode, error=WorkflowError,
message="Only the lead professional can ...")`).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied

from kit.time import acting_at


def require_perm(
    user,
    perm: str,
    obj=None,
    *,
    now: datetime | None = None,
    message: str = "",
    error: type[Exception] = PermissionDenied,
) -> None:
    """Refuse unless `user` holds `perm` (a `rules` permission), on `obj` where the rule looks at one, for an
    action happening at `now` (a rule that depends on the date judges then: kit.time.acting_at)."""
    with acting_at(now):
        allowed = user.has_perm(perm, obj)
    if not allowed:
        raise error(message)


def require_role(user, *names: str, message: str = "", error: type[Exception] = PermissionDenied) -> None:
    """Refuse unless `user` holds at least one of the roles `names`."""
    if not (user.is_authenticated and user.has_role(*names)):
        raise error(message)
