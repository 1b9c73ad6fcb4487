"""The count of alerts not yet seen, for the page header."""

from __future__ import annotations

from deadlines.selectors import unseen_alert_count


def alerts(request) -> dict[str, int]:
    """`unread_alerts`: the signed-in user's alerts not yet seen, i.e. not marked read (one indexed COUNT).

    See ADR 0028: "seen" is "read", so an alert stays counted until it is marked read.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_alerts": 0}
    return {"unread_alerts": unseen_alert_count(user)}
