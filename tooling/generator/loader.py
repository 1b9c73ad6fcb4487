"""Bulk loading with PostgreSQL COPY: ids allocated by the generator, rows buffered per table.

The generator builds rows as tuples in a fixed column order per table and hands them to a
`Loader`, which streams each table's buffer with `COPY ... FROM STDIN` (psycopg 3 `write_row`).
Ids are the generator's own (max(id) + 1 onwards); the sequences are moved past them at the end.

For speed on big tables the loader can, inside the one transaction of the whole run:
- drop the tables' foreign keys and the secondary indexes that back no constraint first and recreate them at the
  end (a sorted index build and one set-based foreign-key check are far cheaper than maintaining
  them row by row; the recreated foreign keys still prove every reference);
- load tables that are empty with `COPY ... FREEZE` after a no-op TRUNCATE, so the rows arrive
  frozen and all-visible and no VACUUM storm follows the load.
A failure anywhere rolls the whole run back, dropped indexes included (DDL is transactional).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, models, transaction


@dataclass
class Table:
    model: type[models.Model]
    columns: tuple[str, ...]
    # Values for model columns the generator does not set: NULL or the field's default.
    suffix_columns: tuple[str, ...] = ()
    suffix: tuple = ()
    rows: list = field(default_factory=list)
    next_id: int = 1
    first_id: int = 1
    written: int = 0
    seconds: float = 0.0
    freeze: bool = False

    @property
    def name(self) -> str:
        return self.model._meta.db_table


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _defaults_for(model: type[models.Model], columns: Sequence[str]) -> tuple[tuple[str, ...], tuple]:
    """Columns the generator leaves out, and a constant value for each (or an error)."""
    given = set(columns)
    names, values = [], []
    for f in model._meta.concrete_fields:
        if f.column in given:
            continue
        if f.has_default():
            names.append(f.column)
            values.append(f.get_db_prep_save(f.get_default(), connection))
        elif f.null:
            continue
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{model.__name__}.{f.name} is set on save: the generator must give it")
        elif f.blank and isinstance(f, models.CharField | models.TextField):
            names.append(f.column)
            values.append("")
        else:
            raise ValueError(
                f"{model.__name__}.{f.name} is required and has no default: teach tooling/generator how to fill it"
            )
    unknown = given - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {', '.join(sorted(unknown))}")
    return tuple(names), tuple(values)


class Progress:
    """A one-line progress bar on stderr with rows/s, and per-table rates every few seconds."""

    def __init__(self, total: int, stream=None, every: float = 0.5, table_every: float = 15.0):
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every if self.tty else 10.0
        self.table_every = table_every
        self.started = time.perf_counter()
        self.last = self.last_tables = 0.0
        self.done = 0

    def update(self, done: int, tables: Iterable[Table], *, force: bool = False) -> None:
        self.done = done
        now = time.perf_counter()
        if not force and now - self.last < self.every:
            return
        self.last = now
        tables = list(tables)
        elapsed = now - self.started
        rows = sum(t.written for t in tables)
        share = done / self.total
        eta = elapsed / share - elapsed if share else 0
        width = 30
        bar = "#" * int(width * share) + "-" * (width - int(width * share))
        line = (
            f"families {done:,}/{self.total:,} [{bar}] {share:4.0%}  rows {rows:,} "
            f"({rows / elapsed if elapsed else 0:,.0f} rows/s)  {elapsed:,.0f}s elapsed, ~{eta:,.0f}s left"
        )
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        if force or now - self.last_tables >= self.table_every:
            self.last_tables = now
            busy = sorted((t for t in tables if t.written), key=lambda t: -t.written)[:8]
            summary = ", ".join(f"{t.name} {t.written / t.seconds if t.seconds else 0:,.0f}/s" for t in busy)
            self.stream.write(("\n" if self.tty else "") + f"  rows/s while copying: {summary}\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        self.stream.write(("\n" if self.tty else "") + message + "\n")
        self.stream.flush()


class Loader:
    """Allocates ids, buffers rows and COPYs them; see the module docstring."""

    def __init__(self, *, fast_indexes: bool = True, freeze: bool = True, stream=None):
        self.tables: dict[type[models.Model], Table] = {}
        self.fast_indexes = fast_indexes
        self.freeze = freeze
        self.stream = stream or sys.stderr
        self.dropped_indexes: list[tuple[str, str, str]] = []  # (table, index name, definition)
        self.dropped_fks: list[tuple[str, str, str]] = []  # (table, constraint name, definition)
        self.timings: dict[str, float] = {}

    # --- set-up ----------------------------------------------------------------------
    def register(self, model: type[models.Model], columns: Sequence[str]) -> Table:
        names, values = _defaults_for(model, columns)
        table = Table(model=model, columns=tuple(columns), suffix_columns=names, suffix=values)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_quote(table.name)}")  # noqa: S608
            table.first_id = table.next_id = cursor.fetchone()[0] + 1
        self.tables[model] = table
        return table

    def prepare(self, bulk: Iterable[type[models.Model]]) -> None:
        """Flush deferred constraint checks, then drop FKs/indexes and truncate empty tables."""
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Earlier work in this transaction (e.g. staff) may have deferred FK checks queued;
            # ALTER TABLE refuses to run on a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for model in bulk:
                table = self.tables[model]
                name = table.name
                if self.freeze and table.first_id == 1:
                    table.freeze = self._truncate_if_empty(cursor, name)
                if not self.fast_indexes:
                    continue
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    [name],
                )
                for conname, definition in cursor.fetchall():
                    self.dropped_fks.append((name, conname, definition))
                    cursor.execute(f"ALTER TABLE {_quote(name)} DROP CONSTRAINT {_quote(conname)}")
                cursor.execute(
                    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
                    "ORDER BY c.relname",
                    [name],
                )
                for index, definition in cursor.fetchall():
                    self.dropped_indexes.append((name, index, definition))
                    cursor.execute(f"DROP INDEX {_quote(index)}")
            # Back to Django's default: what foreign keys remain are checked at commit.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        self.timings["prepare"] = time.perf_counter() - started

    @staticmethod
    def _truncate_if_empty(cursor, name: str) -> bool:
        """TRUNCATE an empty table so COPY FREEZE may load it; False if that is not possible."""
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_quote(name)})")  # noqa: S608
        if cursor.fetchone()[0]:
            return False
        try:
            with transaction.atomic():
                cursor.execute(f"TRUNCATE {_quote(name)}")
        except Exception:  # noqa: BLE001 - e.g. referenced by another table's foreign key: load without FREEZE
            return False
        return True

    # --- rows ------------------------------------------------------------------------
    def ids(self, model: type[models.Model], n: int = 1) -> int:
        """Reserve `n` ids; returns the first."""
        table = self.tables[model]
        first = table.next_id
        table.next_id += n
        return first

    def buffer(self, model: type[models.Model]) -> list:
        return self.tables[model].rows

    def flush(self, order: Iterable[type[models.Model]] | None = None) -> None:
        for model in order or list(self.tables):
            table = self.tables[model]
            if not table.rows:
                continue
            started = time.perf_counter()
            columns = ", ".join(_quote(c) for c in (*table.columns, *table.suffix_columns))
            options = " WITH (FREEZE)" if table.freeze else ""
            sql = f"COPY {_quote(table.name)} ({columns}) FROM STDIN{options}"
            suffix = table.suffix
            with connection.cursor() as cursor, cursor.copy(sql) as copy:
                write = copy.write_row
                if suffix:
                    for row in table.rows:
                        write(row + suffix)
                else:
                    for row in table.rows:
                        write(row)
            table.written += len(table.rows)
            table.rows.clear()
            table.seconds += time.perf_counter() - started

    # --- the end -----------------------------------------------------------------------
    def finish(self, progress: Progress | None = None) -> None:
        """Recreate what `prepare` dropped and move every sequence past the ids used."""
        say = progress.note if progress else (lambda m: None)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            started = time.perf_counter()
            for _, index, definition in self.dropped_indexes:
                t = time.perf_counter()
                cursor.execute(definition)
                say(f"  index {index}: {time.perf_counter() - t:.1f}s")
            self.timings["indexes"] = time.perf_counter() - started
            started = time.perf_counter()
            for name, conname, definition in self.dropped_fks:
                cursor.execute(f"ALTER TABLE {_quote(name)} ADD CONSTRAINT {_quote(conname)} {definition}")
            self.timings["foreign_keys"] = time.perf_counter() - started
            for table in self.tables.values():
                if table.next_id > table.first_id:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table.name, table.next_id - 1]
                    )
