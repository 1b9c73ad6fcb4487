"""Searches by name kept on the server: the answers typed never reach a URL (ADR 0036).

A search form is POSTed; what was typed is kept in the user's own session under a random search id, and the
browser is redirected to the results page `?search=<id>`. The id means nothing outside that session and
expires after SEARCH_LIFETIME, so children's names, dates of birth and NHS numbers are never written into
URLs, browser history or the server's request logs. Plain functions taking `now`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime, timedelta

SEARCH_LIFETIME = timedelta(minutes=30)
KEPT = 20  # searches kept per session, newest first
SESSION_KEY = "searches"
PARAM = "search"


def remember_search(session: MutableMapping, kind: str, data: Mapping, fields: Iterable[str], *, now: datetime) -> str:
    """Keep the typed answers of a search (only `fields`) and return the new search id."""
    kept = {
        key: value for key, value in session.get(SESSION_KEY, {}).items() if value.get("until", 0) > now.timestamp()
    }
    search_id = secrets.token_urlsafe(12)
    kept[search_id] = {
        "kind": kind,
        "until": (now + SEARCH_LIFETIME).timestamp(),
        "data": {name: data.get(name, "") for name in fields},
    }
    newest = sorted(kept.items(), key=lambda item: item[1]["until"], reverse=True)[:KEPT]
    session[SESSION_KEY] = dict(newest)
    return search_id


def recall_search(session: Mapping, kind: str, search_id: str | None, *, now: datetime) -> dict | None:
    """The typed answers of this user's search `search_id` of this kind, or None (unknown, other kind, expired)."""
    if not search_id:
        return None
    kept = session.get(SESSION_KEY, {}).get(search_id)
    if not kept or kept.get("kind") != kind or kept.get("until", 0) <= now.timestamp():
        return None
    return dict(kept["data"])
