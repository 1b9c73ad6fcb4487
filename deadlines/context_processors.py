"""The unread alert count for the page header."""

from __future__ import annotations

from deadlines.models import Alert


def alerts(request) -> dict[str, int]:
    """`unread_alerts`: the signed-in user's unread alerts (one indexed COUNT query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_alerts": 0}
    return {"unread_alerts": Alert.objects.filter(recipient=user, read_at__isnull=True).count()}
