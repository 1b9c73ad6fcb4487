"""Changing a history-tracked row without its save(): the history row is written all the same.

`QuerySet.update()` and `bulk_update()` send no signal, so django-simple-history never hears of them and
the record's history silently misses the change (tests/test_history_writes.py fails on any such call on
a tracked model). A service that must not run the row's save() (no version bump, no signals: a team set
as a side effect, a field claimed by a conditional UPDATE) uses one of these instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

from simple_history.utils import bulk_update_with_history, get_history_manager_for_model

REASON_MAX = 100  # simple-history keeps the change reason in a 100-character column


@cache
def history_model(model: type) -> type:
    """`model.history.model`, the tracked model's historical model, found once: each read of `model.history`
    makes a new manager class (simple-history's descriptor calls `Manager.from_queryset`, which walks the
    queryset class's members), about half a millisecond of a page that reads a record's history."""
    return model.history.model


def update_with_history(objs: Sequence, fields: Sequence[str], *, by, now: datetime, reason: str = "") -> None:
    """Write `fields` of `objs` (instances of one tracked model, already changed in memory) and one history
    row ("~") each, by `by` at `now`, in two statements whatever their number."""
    objs = list(objs)
    if not objs:
        return
    bulk_update_with_history(
        objs,
        type(objs[0]),
        list(fields),
        default_user=by,
        default_date=now,
        default_change_reason=reason[:REASON_MAX] or None,
    )


def history_of_update(objs: Iterable, *, by, now: datetime, reason: str = "") -> None:
    """History rows ("~") for rows a conditional `update()` has just changed (a claim that must stay one
    statement, such as "used, if not used yet"): `objs` are the rows as they now are."""
    objs = list(objs)
    if not objs:
        return
    get_history_manager_for_model(type(objs[0])).bulk_history_create(
        objs, update=True, default_user=by, default_date=now, default_change_reason=reason[:REASON_MAX]
    )
