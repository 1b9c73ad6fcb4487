"""The count of alerts not yet seen, for the page header."""

from __future__ import annotations

from deadlines.selectors import UNSEEN_ALERTS_LOADED, unseen_alert_count

# Requests that change nothing: the count loaded with the user at the start of the request is still the count.
SAFE_METHODS = frozenset({"GET", "HEAD"})


def alerts(request) -> dict[str, int]:
    """`unread_alerts`: the signed-in user's alerts not yet seen, i.e. not marked read (one indexed COUNT).

    See ADR 0028: "seen" is "read", so an alert stays counted until it is marked read. A GET or HEAD
    takes the count loaded with the user in the session's user query (accounts.backends, ADR 0057);
    any other request (it may have marked an alert read before rendering) counts again.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_alerts": 0}
    loaded = getattr(user, UNSEEN_ALERTS_LOADED, None) if request.method in SAFE_METHODS else None
    return {"unread_alerts": loaded if loaded is not None else unseen_alert_count(user)}
