"""Writing a batch's records, and the history row of each, with PostgreSQL COPY (psycopg 3).

`bulk_create_with_history` sends an INSERT per table and another for its history table, with every
value a parameter; at 200,000 families that per-statement cost was most of the import (BENCHMARKS.md,
"Import speed, session 5"). Here, as in the data generator's loader (tooling/generator/loader.py),
rows go to PostgreSQL with `COPY ... FROM STDIN`, in the caller's transaction (one per batch):

- `add(objs)` takes unsaved model instances of one model and gives each its primary key at once, from
  the table's own sequence, in one statement (`nextval` over `generate_series`), so the records made
  after them (an episode's assessment, a family's people) know their foreign keys before anything is
  written;
- `flush()` COPYs every table's rows in the order they were added, and for a model with history
  (django-simple-history) its history rows, as `bulk_create_with_history` makes them: history type
  "+", the import's time as `history_date` and the administrator running it as `history_user`. Every
  record keeps its history row.

The foreign keys are checked by PostgreSQL at commit (Django's are deferred), the unique constraints as
each COPY runs: a row already there stops the batch and rolls it back, as an INSERT would. A field set
on save (`auto_now_add`) takes the import's `now`, not the wall clock (time is an argument). Fields with
a database default take it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault

# Field types psycopg adapts as they are; any other field's value goes through get_db_prep_save.
_PLAIN = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,  # DateTimeField too
    models.ForeignKey,
    models.IntegerField,
    models.PositiveIntegerField,
    models.TextField,
)
_HISTORY_OWN = ("history_date", "history_change_reason", "history_type", "history_user_id")


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


class _Shape:
    """How one model's instances become COPY rows (and, with history, history rows)."""

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.prep = [None if isinstance(f, _PLAIN) else f for f in self.fields]
        self.stamped = [
            i for i, f in enumerate(self.fields) if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
        ]
        self.related = [f for f in self.fields if f.is_relation]
        history = getattr(model, "history", None)
        self.history = None
        if history is not None:
            historical = history.model
            position = {f.attname: i for i, f in enumerate(self.fields)}
            tracked = [position[f.attname] for f in historical.tracked_fields]
            own = {f.column for f in historical._meta.concrete_fields}
            known = {self.fields[i].column for i in tracked} | set(_HISTORY_OWN) | {"history_id"}
            unknown = own - known
            if unknown:  # a history field this writer does not know how to fill
                raise ValueError(f"{historical.__name__} has column(s) {', '.join(sorted(unknown))}")
            self.history = (historical._meta.db_table, tracked, [self.fields[i].column for i in tracked])

    def row(self, obj, now: datetime) -> list:
        values = []
        for field, prep in zip(self.fields, self.prep, strict=True):
            value = getattr(obj, field.attname)
            if isinstance(value, DatabaseDefault):
                value = getattr(field.db_default, "value", field.db_default)
            elif prep is not None:
                value = prep.get_db_prep_save(value, connection)
            values.append(value)
        for i in self.stamped:
            if values[i] is None:
                values[i] = now
                setattr(obj, self.fields[i].attname, now)
        return values


class Writer:
    """Rows of a batch: `add` gives them their ids, `flush` writes them (and their history) by COPY."""

    def __init__(self, *, by, now: datetime):
        self.by_id = getattr(by, "pk", None)
        self.now = now
        self.pending: dict[type[models.Model], list] = defaultdict(list)
        self.written: dict[str, int] = defaultdict(int)
        self._shapes: dict[type[models.Model], _Shape] = {}
        self._sequences: dict[str, str] = {}

    def shape(self, model: type[models.Model]) -> _Shape:
        found = self._shapes.get(model)
        if found is None:
            found = self._shapes[model] = _Shape(model)
        return found

    def _sequence(self, table: str) -> str:
        if table not in self._sequences:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                self._sequences[table] = cursor.fetchone()[0]
        return self._sequences[table]

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        """`n` new primary keys from the table's sequence, in one statement."""
        if n <= 0:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self._sequence(model._meta.db_table), n]
            )
            return [pk for (pk,) in cursor.fetchall()]

    def add(self, objs: list[models.Model]) -> list[models.Model]:
        """Give these unsaved instances (all of one model) their primary keys; written at `flush`."""
        if not objs:
            return objs
        model = type(objs[0])
        for obj, pk in zip(objs, self.ids(model, len(objs)), strict=True):
            obj.pk = pk
            obj._state.adding = False
        self.pending[model].extend(objs)
        return objs

    def flush(self) -> None:
        """COPY every added row, table by table, and each one's history row."""
        now, by_id = self.now, self.by_id
        for model, objs in self.pending.items():
            shape = self.shape(model)
            rows = []
            for obj in objs:
                for field in shape.related:  # a parent given as an instance whose id came after
                    if getattr(obj, field.attname) is None and field.is_cached(obj):
                        parent = field.get_cached_value(obj)
                        if parent is not None:
                            setattr(obj, field.attname, parent.pk)
                rows.append(shape.row(obj, now))
            self._copy(shape.table, shape.columns, rows)
            if shape.history is not None:
                table, positions, columns = shape.history
                self._copy(
                    table,
                    [*columns, *_HISTORY_OWN],
                    [[*(row[i] for i in positions), now, "", "+", by_id] for row in rows],
                )
            self.written[model._meta.label] += len(rows)
        self.pending.clear()

    def copy_rows(self, model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
        """Rows of a table without history whose ids nobody needs (e.g. a many-to-many link): the id is its default."""
        if rows:
            self._copy(model._meta.db_table, columns, rows)
            self.written[model._meta.label] += len(rows)

    @staticmethod
    def _copy(table: str, columns: list[str], rows: list) -> None:
        if not rows:
            return
        sql = f"COPY {_quote(table)} ({', '.join(_quote(c) for c in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
