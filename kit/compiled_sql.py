"""A queryset's SQL compiled once per process and run again with new values (ADR 57, after ADR 49).

Building a queryset of annotated `Case`/`When` expressions and compiling it costs a page more Python
time than running it. When the SQL is the same on every request but for a few values (an id, `now`),
`compiled_once` builds it twice with two different sets of stand-in values, and keeps it only if the
two SQL texts are identical and the parameters differ exactly where the stand-ins are. Each later run
puts the request's values in those places. A build whose SQL depends on anything else (a value that
changes the SQL's shape, or a parameter derived from a value in a way the stand-ins do not show) is
refused (None), and the caller builds its queryset with the ORM as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class CompiledSQL:
    sql: str
    params: tuple
    slots: tuple[tuple[int, int], ...]  # (parameter position, index of the value that goes there)

    def params_for(self, values: Sequence) -> list:
        params = list(self.params)
        for position, index in self.slots:
            params[position] = values[index]
        return params


_compiled: dict[Hashable, CompiledSQL | None] = {}
_MAX = 64


def compiled_once(
    key: Hashable, build: Callable[..., QuerySet], stand_ins: tuple[Sequence, Sequence], *, using: str
) -> CompiledSQL | None:
    """`build(*values)`'s SQL, compiled on the first call for `key` (with `stand_ins[0]` and
    `stand_ins[1]`), or None when it cannot be shared (see the module docstring).

    `build` receives every value that appears among the parameters, those derived from another too
    (`now` and `now + 24 hours` are two values): a value that reaches the SQL without being passed
    would be a constant of the first build. Each stand-in must differ from its counterpart and from
    every other value, and appear nowhere in the SQL text.
    """
    full_key = (key, using)
    if full_key not in _compiled:
        if len(_compiled) >= _MAX:
            _compiled.clear()
        _compiled[full_key] = _compile(build, stand_ins, using=using)
    return _compiled[full_key]


def _compile(build, stand_ins: tuple[Sequence, Sequence], *, using: str) -> CompiledSQL | None:
    first, second = stand_ins
    if len(first) != len(second) or len({*map(repr, first), *map(repr, second)}) != 2 * len(first):
        raise ValueError("every stand-in must be different from every other")
    sql, params = build(*first).query.get_compiler(using).as_sql()
    sql_b, params_b = build(*second).query.get_compiler(using).as_sql()
    if sql != sql_b or len(params) != len(params_b):
        return None
    slots = []
    for position, (a, b) in enumerate(zip(params, params_b, strict=True)):
        index = next((i for i, value in enumerate(first) if _same(a, value)), None)
        if index is not None and _same(b, second[index]):
            slots.append((position, index))
        elif not _same(a, b) or index is not None:
            return None  # a parameter the stand-ins change in some other way
    if {index for _, index in slots} != set(range(len(first))):
        return None  # a value that is not a parameter: it shaped the SQL
    if any(str(value) in sql for value in (*first, *second)):
        return None
    return CompiledSQL(sql, tuple(params), tuple(slots))


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b
