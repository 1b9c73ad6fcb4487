"""Querystrings for links that keep a page's filters: pagination, CSV exports, "back to the list".

Two helpers, both returning the part after `?` (no leading `?`), already URL-encoded:

- `querystring(request.GET, drop=("page",))` keeps what the user asked for, minus the keys named
  (by default the page number, which each pagination link sets itself);
- `querystring_from(("route", route), ("team", team_id))` builds one from cleaned filter values and
  leaves out the empty ones, so a page shows only the filters in force.

Templates add a page number or a leading `?` with the `page_href` and `query_suffix` tags in
`kit/templatetags/ui.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.http import QueryDict


def querystring(params: QueryDict, *, drop: Iterable[str] = ("page",)) -> str:
    """`params` (e.g. request.GET) encoded again without the keys in `drop`; repeated keys are kept."""
    query = params.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


def querystring_from(*pairs: tuple[str, object]) -> str:
    """`key=value&...` for the pairs whose value is not empty (None, "" and 0 are left out)."""
    return urlencode([(key, value) for key, value in pairs if value])


def with_param(query: str, key: str, value: object) -> str:
    """`query` with `key=value` appended (query may be empty)."""
    extra = urlencode([(key, value)])
    return f"{query}&{extra}" if query else extra
