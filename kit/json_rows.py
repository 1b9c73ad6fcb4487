"""A few related rows brought inside another row's query as JSON, and read back as model instances.

A page that shows a short list of records belonging to the record it is about (an episode's closure
requests, step-ups and escalations) need not ask for each list in a query of its own: the list can be
a correlated `ArraySubquery` of `json_object`s in the main record's query (ADR 63). `json_of` writes
the object (every column of the model and of the named related rows); `instances_from_json` turns
each object back into the instance the ORM would have given, with the related rows cached as
`select_related` would have cached them, so the templates and presenters read them as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, Model, QuerySet
from django.db.models.functions import JSONObject


def _columns(model: type[Model], prefix: str = "") -> dict[str, F]:
    return {field.attname: F(prefix + field.attname) for field in model._meta.concrete_fields}


def json_of(model: type[Model], *, related: Sequence[str] = ()) -> JSONObject:
    """Every column of `model`, and under each name in `related` (a foreign key) every column of that
    row (all null when there is none)."""
    columns: dict = _columns(model)
    for name in related:
        target = model._meta.get_field(name).related_model
        columns[name] = JSONObject(**_columns(target, prefix=f"{name}__"))
    return JSONObject(**columns)


def json_array(queryset: QuerySet, *, related: Sequence[str] = ()) -> ArraySubquery:
    """`queryset`'s rows (already filtered on an `OuterRef`, ordered and sliced) as an array of
    `json_of` objects, for an annotation of the outer row."""
    return ArraySubquery(queryset.values(json=json_of(queryset.model, related=related)))


def _instance(model: type[Model], data: dict, using: str) -> Model:
    names, values = [], []
    for field in model._meta.concrete_fields:
        value = data.get(field.attname)
        names.append(field.attname)
        values.append(None if value is None else field.to_python(value))
    return model.from_db(using, names, values)


def instances_from_json(
    model: type[Model], rows: Iterable[dict] | None, *, related: Sequence[str] = (), using: str = "default"
) -> list[Model]:
    """`json_of` objects back into `model` instances, each related row cached on its field (None where
    the foreign key is empty), as `select_related(*related)` leaves them."""
    out = []
    for data in rows or ():
        obj = _instance(model, data, using)
        for name in related:
            field = model._meta.get_field(name)
            target = field.related_model
            nested = data.get(name) or {}
            found = nested.get(target._meta.pk.attname) is not None
            field.set_cached_value(obj, _instance(target, nested, using) if found else None)
        out.append(obj)
    return out
