"""A queryset's SQL compiled once per process and run again with new values (ADR 57, after ADR 49).

Building a queryset of annotated `Case`/`When` expressions and compiling it costs a page more Python
time than running it. When the SQL is the same on every request but for a few values (an id, `now`),
`compiled_once` builds it twice with two different sets of stand-in values, and keeps it only if the
two SQL texts are identical and the parameters differ exactly where the stand-ins are. Each later run
puts the request's values in those places. A build whose SQL depends on anything else (a value that
changes the SQL's shape, or a parameter derived from a value in a way the stand-ins do not show) is
refused (None), and the caller builds its queryset with the ORM as before.

Compiled once in Python, such a query is still parsed and planned by PostgreSQL on every run: Django's
psycopg backend binds parameters client-side (the values written into the text), so each run is a new
statement. A read whose best plan is the same for every value (a row and its related rows found by id
or key: the signed-in user, the session, a record's scope check, a family's chronology) can ask to run
as a prepared statement of the connection (`prepared=True`, `prepared_cursor`, ADR 82): parsed once per
connection and planned once (connections ask for the generic plan, `plan_cache_mode =
force_generic_plan`, ADR 90: PostgreSQL's own choice kept re-planning the chronology on every run). Not
for a read with a range of times or a LIMIT over a
team's or a service's rows: PostgreSQL's generic plan estimates `due_at < $1` without the value and can
be a hundred times slower than the custom plan (ADR 82's example: the manager's home page's most urgent
clocks, 0.7 ms custom, 89 ms generic at 5,000 families). Those stay bound client-side, planned per run.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators


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
# The first stand-in build's compiler, kept with its SQL: after compiling it knows how a row becomes
# model instances (its columns, select_related's models, the annotations' places, the converters).
_compilers: dict[Hashable, object] = {}
# Reads keyed by reach shape (ADR 67: a handful of shapes times the scope checks' options) are most of
# the entries. Session 9 compiled the board's, the dashboard's, the home pages' and the worklists' reads
# too (ADRs 73-75: a few entries per shape and filter each), so the cap leaves room for all of them in a
# process serving every role; it only guards the memory (an entry is its SQL and a compiler, ~10-30 KB).
_MAX = 1024


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
            _compilers.clear()
            _row_compilers.clear()
            _converter_lists.clear()
        compiled, compiler = _compile(build, stand_ins, using=using)
        _compilers[full_key] = compiler
        _compiled[full_key] = compiled
    return _compiled[full_key]


def compiled_instances(
    key: Hashable,
    build: Callable[..., QuerySet],
    stand_ins: tuple[Sequence, Sequence],
    values: Sequence,
    *,
    using: str,
    prepared: bool = False,
) -> list[Model]:
    """`list(build(*values))`: the model instances the ORM would give (the model's fields, the
    `select_related` objects, the annotations), read with SQL compiled once (`compiled_once`), and
    built with the ORM as before when the SQL cannot be shared. For hot reads whose queryset costs
    more Python to build and compile than to run (the signed-in user on every request, ADR 63).
    `prepared`: run it as a prepared statement of the connection (`prepared_cursor`; only a read whose
    plan does not depend on its values, see the module docstring)."""
    compiled = compiled_once(key, build, stand_ins, using=using)
    compiler = _compilers.get((key, using))
    if compiled is None or compiler is None:
        return list(build(*values).using(using))
    return _instances(compiler, _fetched(compiled, values, using=using, prepared=prepared), using)


def _fetched(compiled: CompiledSQL, values: Sequence, *, using: str, prepared: bool) -> list[tuple]:
    """The rows of SQL compiled once, run with `values` in the stand-ins' places (prepared or not)."""
    with prepared_cursor(using) if prepared else connections[using].cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(values))
        return cursor.fetchall()


# The first stand-in build's compiler of a `values_list()` read, for `compiled_rows`.
_row_compilers: dict[Hashable, object] = {}


def compiled_rows(
    key: Hashable,
    build: Callable[..., QuerySet],
    stand_ins: tuple[Sequence, Sequence],
    values: Sequence,
    *,
    using: str,
    prepared: bool = False,
) -> list[tuple]:
    """`list(build(*values))` for a `values_list()` queryset (not `flat`, not `named`): the tuples the
    ORM would give (each column through its converters: dates, UTC-aware datetimes, decimals), read
    with SQL compiled once (`compiled_once`), and built with the ORM when the SQL cannot be shared.
    Added in session 9 (ADR 75) for the worklists, whose rows are values. `prepared` as for
    `compiled_instances`."""
    full_key = ("rows", key, using)
    compiled = compiled_once(full_key, build, stand_ins, using=using)
    if compiled is not None and full_key not in _row_compilers:
        queryset = build(*stand_ins[0])
        compiler = queryset.query.get_compiler(using)
        if queryset._iterable_class is ValuesListIterable and compiler.as_sql()[0] == compiled.sql:
            _row_compilers[full_key] = compiler
        else:
            _row_compilers[full_key] = None
    found = _row_compilers.get(full_key) if compiled is not None else None
    if found is None:
        return list(build(*values).using(using))
    # Django 5.2 selects a `values_list`'s fields and annotations in the order they are named, and
    # `ValuesListIterable` takes the rows as they come: nothing to reorder.
    rows = _fetched(compiled, values, using=using, prepared=prepared)
    return [tuple(row) for row in _converted(found, rows)] if _converters(found) else rows


# Each compiler's column converters, worked out once: Django's `results_iter` asks every column's field
# and the backend for them on each call (35 columns of a family's records: a third of a millisecond).
_converter_lists: dict[int, tuple[object, list]] = {}


def _converters(compiler) -> list:
    kept = _converter_lists.get(id(compiler))
    if kept is None or kept[0] is not compiler:
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        kept = _converter_lists[id(compiler)] = (compiler, compiler.get_converters(fields))
    return kept[1]


def _converted(compiler, rows: list):
    """`compiler.results_iter([rows])` with the converters worked out once (lists, as Django gives)."""
    converters = _converters(compiler)
    return compiler.apply_converters(rows, converters) if converters else rows


def _instances(compiler, rows: list, using: str) -> list[Model]:
    """Rows into model instances as `django.db.models.query.ModelIterable` makes them (Django 5.2),
    from a compiler that compiled the same SQL; `known_related_objects` (a related manager's own
    queryset) is not supported, and `compiled_instances` is not used for one."""
    select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    related_populators = get_related_populators(klass_info, select, using)
    out = []
    for row in _converted(compiler, rows):
        obj = model_cls.from_db(using, init_list, row[start:end])
        for populator in related_populators:
            populator.populate(row, obj)
        for attr_name, col_pos in (annotation_col_map or {}).items():
            setattr(obj, attr_name, row[col_pos])
        out.append(obj)
    return out


def _compile(build, stand_ins: tuple[Sequence, Sequence], *, using: str) -> tuple[CompiledSQL | None, object]:
    first, second = stand_ins
    if len(first) != len(second) or len({*map(repr, first), *map(repr, second)}) != 2 * len(first):
        raise ValueError("every stand-in must be different from every other")
    queryset = build(*first)
    compiler = queryset.query.get_compiler(using)
    sql, params = compiler.as_sql()
    # Only rows that become plain model instances are read by `compiled_instances` (no prefetch, no
    # related manager's known objects, no values()); the SQL alone still serves `compiled_once`'s callers.
    plain = (
        queryset._iterable_class is ModelIterable
        and not queryset._known_related_objects
        and not queryset._prefetch_related_lookups
    )
    sql_b, params_b = build(*second).query.get_compiler(using).as_sql()
    if sql != sql_b or len(params) != len(params_b):
        return None, None
    slots = []
    for position, (a, b) in enumerate(zip(params, params_b, strict=True)):
        index = next((i for i, value in enumerate(first) if _same(a, value)), None)
        if index is not None and _same(b, second[index]):
            slots.append((position, index))
        elif not _same(a, b) or index is not None:
            return None, None  # a parameter the stand-ins change in some other way
    if {index for _, index in slots} != set(range(len(first))):
        return None, None  # a value that is not a parameter: it shaped the SQL
    if any(str(value) in sql for value in (*first, *second)):
        return None, None
    return CompiledSQL(sql, tuple(params), tuple(slots)), (compiler if plain else None)


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


# --- Prepared statements for the compiled reads (ADR 82) ------------------------------------------


def prepared_cursor(using: str):
    """A cursor of the `using` connection whose statements are prepared on that connection (psycopg's
    `prepare=True`, parameters bound server-side) and run as the prepared statement from then on: for
    SQL compiled once (`CompiledSQL.sql`, the session read), whose text is the same on every request
    and whose plan does not depend on its values (the module docstring).

    It is Django's cursor wrapper around it (the execute wrappers, the query log and the database
    errors are Django's as for any cursor). Where prepared statements are off (`PREPARED_READS`
    false, or not PostgreSQL through psycopg 3) it is `connections[using].cursor()`, as before.
    """
    connection = connections[using]
    if not (getattr(settings, "PREPARED_READS", False) and connection.vendor == "postgresql" and _psycopg3()):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _prepared_classes()[0](connection.connection)
    connection.validate_thread_sharing()
    return _prepared_classes()[1](cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


# Executions a statement is seen before psycopg prepares it: only `prepare=True` prepares here.
_ONLY_WHEN_ASKED = 2**31 - 1
_classes: list[type] = []


def _prepared_classes() -> tuple[type, type]:
    """Django's server-binding psycopg cursor (`ServerBindingCursor`: psycopg's `Cursor` with Django's
    `callproc`) executing with `prepare=True`, and the debug wrapper that logs its statements. Defined
    on first use: importing the backend needs psycopg."""
    if not _classes:
        from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor
        from psycopg import errors
        from psycopg.pq import TransactionStatus

        class PreparedCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=None, binary=None):
                # The connection prepares nothing by itself (Django sets `prepare_threshold` to None:
                # a threshold kept on would have psycopg count every other query, ~20 us each): it
                # is lifted for this statement only. psycopg keeps the statement's name per
                # connection (at most `prepared_max` of them, the least recently used deallocated).
                connection = self.connection
                threshold = connection.prepare_threshold
                if threshold is None:
                    connection.prepare_threshold = _ONLY_WHEN_ASKED
                try:
                    try:
                        return super().execute(query, params, prepare=True, binary=binary)
                    except (errors.InvalidSqlStatementName, errors.FeatureNotSupported):
                        # The server no longer has the statement (a DEALLOCATE or DISCARD sent by other
                        # SQL, which psycopg does not watch while the threshold is None), or its plan's
                        # result type changed under it (a migration altered a column it reads: "cached
                        # plan must not change result type"). In a transaction, the transaction is
                        # aborted: its rollback makes psycopg forget every statement, so the next
                        # request prepares afresh. Outside one, forget them now and run it once more.
                        if connection.info.transaction_status != TransactionStatus.IDLE:
                            raise
                        super().execute("DEALLOCATE ALL")  # psycopg sees it and forgets its names
                        return super().execute(query, params, prepare=True, binary=binary)
                finally:
                    if threshold is None:
                        connection.prepare_threshold = None

        class PreparedDebugWrapper(CursorDebugWrapper):
            """Django's query log (DEBUG, tests' `CaptureQueriesContext`) takes a statement's text from
            the driver, which keeps none for a prepared statement's run: it logs the statement with
            its values written in, as Django's client-side binding sent it."""

            def execute(self, sql, params=None):
                with self.debug_sql(_with_values(self.db, sql, params), params):
                    return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)

        _classes.extend((PreparedCursor, PreparedDebugWrapper))
    return _classes[0], _classes[1]


def _psycopg3() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def _with_values(connection, sql: str, params) -> str:
    if not params:
        return sql
    try:
        return connection.ops.compose_sql(sql, params)
    except Exception:  # noqa: BLE001 - only the log's text: the statement itself runs as given
        return sql
