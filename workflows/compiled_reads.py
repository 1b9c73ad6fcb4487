"""A user's own worklist reads compiled once per shape of user (ADR 75).

My work, my cases and the home pages read the signed-in user's own rows: their cases, tasks, visits,
alerts, the most urgent clocks of their caseload, team or service. Each read's SQL depends on the user
only through their roles, whether they have a team (and whether it has a service) and a service of
their own; the user's id, team id and service ids are values. So each read is built with a *stand-in
user* of the same shape (an unsaved `User` with ids no row has, the real user's role names, a stand-in
team), compiled once per process (`kit.compiled_sql`, which refuses any build whose SQL the stand-ins
do not explain), and run with the real user's ids. The scope is still checked in SQL on every request,
with the same clauses (`cases.selectors.reach_shape`: the shape is the same, so is the reach).

A user who cannot be given a stand-in (not active, a partner agency's user) is read with the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import router
from django.db.models import Model, QuerySet

from accounts.models import Team, User
from kit.compiled_sql import compiled_instances, compiled_rows

# Ids no row has: user, team, the team's service, the user's own service (k = 0 and 1). Inside the 32-bit
# range: Django drops a filter on an integer column whose value is outside it (matching nothing), and an
# `exclude` of it would then be compiled as no filter at all.
_STAND_IN = -2_105_994_000
_PARTS = 4


def user_shape(user) -> Hashable | None:
    """What of the user can change a worklist read's SQL, or None when the user gets no stand-in."""
    if not user.is_authenticated or not user.is_active or user.partner_organisation_id is not None:
        return None
    team_service = user.team.service_id if user.team_id is not None else None
    return (
        tuple(sorted(user.role_names)),
        user.team_id is not None,
        team_service is not None,
        user.service_id is not None,
    )


def _user_values(user) -> tuple:
    return (user.pk, user.team_id, user.team.service_id if user.team_id is not None else None, user.service_id)


def _stand_in_user(user, ids: Sequence[int]) -> User:
    """An unsaved user of `user`'s shape whose user, team and service ids are `ids`."""
    stand_in = User(pk=ids[0], username=f"stand-in {ids[0]}", is_active=True)
    stand_in._role_names = user.role_names
    if user.team_id is not None:
        stand_in.team = Team(pk=ids[1], name="", service_id=ids[2] if user.team.service_id is not None else None)
    if user.service_id is not None:
        stand_in.service_id = ids[3]
    return stand_in


def _stand_in_ids(k: int) -> tuple[int, ...]:
    return tuple(_STAND_IN - 10 * k - i for i in range(_PARTS))


# (key, shape) -> which of the user's ids the read's SQL takes as parameters.
_used: dict[Hashable, tuple[int, ...]] = {}


def _ids_used(user, build, extra: Sequence) -> tuple[int, ...] | None:
    """Which of the user's ids (user, team, team's service, own service) the read's SQL takes as
    parameters, or None when it cannot be compiled once: a read of nothing, or one whose SQL changes
    with an id that is not among its parameters as found (an id made into text, or an integer the
    driver wraps), which would otherwise stay the first stand-in's value for every user of the shape."""

    def sql(ids):
        queryset = build(_stand_in_user(user, ids), *extra)
        return queryset.query.get_compiler(router.db_for_read(queryset.model)).as_sql()

    first, second = _stand_in_ids(0), _stand_in_ids(1)
    try:
        text, params = sql(first)
    except EmptyResultSet:
        return None  # a read of nothing (`none()`): the ORM answers it without a query
    found = set()
    for param in params:
        for value in param if isinstance(param, list | tuple) else (param,):
            if isinstance(value, int) and not isinstance(value, bool):
                found.add(int(value))
    used = tuple(i for i in range(_PARTS) if first[i] in found)
    # Every id not found must change nothing: the same SQL and parameters with those ids changed.
    others_changed = [second[i] if i not in used else first[i] for i in range(_PARTS)]
    try:
        if sql(others_changed) != (text, params):
            return None
    except EmptyResultSet:
        return None
    return used


def _prepared(key, user, build, extra_stand_ins):
    shape = user_shape(user)
    if shape is None:
        return None
    full_key = (key, shape)
    if full_key not in _used:
        if len(_used) > 512:
            _used.clear()
        _used[full_key] = _ids_used(user, build, extra_stand_ins[0])
    used = _used[full_key]
    if used is None:
        return None  # the read's SQL takes the user in a way the stand-ins cannot show: the ORM reads it
    n_used = len(used)

    def build_from_values(*values):
        ids = list(_stand_in_ids(0))
        for i, value in zip(used, values[:n_used], strict=True):
            ids[i] = value
        return build(_stand_in_user(user, ids), *values[n_used:])

    stand_ins = tuple(
        (*(_stand_in_ids(k)[i] for i in used), *extra) for k, extra in zip((0, 1), extra_stand_ins, strict=True)
    )
    real = _user_values(user)
    if any(real[i] is None for i in used):
        return None  # cannot happen for one shape; the ORM reads it if it does
    return (full_key, used), build_from_values, stand_ins, tuple(real[i] for i in used)


def _read(key, user, build, extra, extra_stand_ins, run):
    """`list(build(user, *extra))`, through `run` (a `kit.compiled_sql` reader) once per user shape."""
    prepared = _prepared(key, user, build, extra_stand_ins)
    if prepared is None:
        return list(build(user, *extra))
    full_key, build_from_values, stand_ins, values = prepared
    if full_key not in _models:
        _models[full_key] = build_from_values(*stand_ins[0]).model
    using = router.db_for_read(_models[full_key])
    return run(full_key, build_from_values, stand_ins, (*values, *extra), using=using)


def user_rows(
    key: str,
    user,
    build: Callable[..., QuerySet],
    extra: Sequence = (),
    extra_stand_ins: tuple[Sequence, Sequence] = ((), ()),
) -> list[tuple]:
    """`list(build(user, *extra))` for a `values_list()` read, compiled once per user shape."""
    return _read(key, user, build, extra, extra_stand_ins, compiled_rows)


def user_instances(
    key: str,
    user,
    build: Callable[..., QuerySet],
    extra: Sequence = (),
    extra_stand_ins: tuple[Sequence, Sequence] = ((), ()),
) -> list[Model]:
    """`list(build(user, *extra))` as model instances (with `select_related`'s), compiled once per user shape."""
    return _read(key, user, build, extra, extra_stand_ins, compiled_instances)


_models: dict[Hashable, type[Model]] = {}
