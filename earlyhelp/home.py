"""What each role sees first: links to their work, from the navigation they are allowed."""

from __future__ import annotations

from earlyhelp.navigation import items_for


def home_panels(user) -> list[dict]:
    return [item for item in items_for(user, "") if item["url"] != "/"]
