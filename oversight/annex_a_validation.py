"""Annex A column rules, checked per cell: one module for the data-quality report and the tests.

The rules are those local authorities' shared Annex A pipeline applies to lists 1 and 2 (Social
Finance's liia-tools, `annex_a_pipeline/spec/Annex_A_schema.yml`): the exact headers; which
columns may be blank; dates; whole numbers; category columns holding one of the template's values
(`annex_a_codes`). On top, checks a council's performance team makes by hand: an assessment
completed before it started, and values that are valid but say nothing was recorded.

Two severities:
- "error": the cell breaks a rule; the pipeline rejects it or an inspector cannot read it.
- "check": the cell is valid, but the record is incomplete (no date of birth, ethnicity "not yet
  obtained", contact source "unknown") and worth completing before the return leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import BinaryIO

from oversight import annex_a_codes as ac

ERROR = "error"
CHECK = "check"

# Text a spreadsheet would run as a formula (as oversight.exports.FORMULA_START); the workbook
# writes such text with a leading apostrophe, so a cell never starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "dd/mm/yyyy"
ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")
MAX_CHILD_AGE = 25  # Early Help works with young people up to 25 with special educational needs


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # "id", "category", "date", "integer" or "text"
    blank_ok: bool = False
    category: str = ""  # the annex_a_codes column, for kind "category"


_CHILD = (
    Column("Child Unique ID", "id"),
    Column("Gender", "category", category=ac.SEX),
    Column("Ethnicity", "category", category=ac.ETHNICITY),
    Column("Date of Birth", "date", blank_ok=True),
    Column("Age of Child (Years)", "integer", blank_ok=True),
)
LISTS: dict[str, tuple[Column, ...]] = {
    "List 1": (
        *_CHILD,
        Column("Date of Contact", "date"),
        Column("Contact Source", "category", category=ac.CONTACT_SOURCE),
    ),
    "List 2": (
        *_CHILD,
        Column("Assessment start date", "date"),
        Column("Assessment completion date", "date", blank_ok=True),
        Column("Organisation completing assessment", "text"),
    ),
}


def headers(list_name: str) -> tuple[str, ...]:
    return tuple(c.header for c in LISTS[list_name])


@dataclass(frozen=True)
class Problem:
    list_name: str
    column: str
    rule: str
    severity: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.list_name, self.column, self.rule)


# What staff read in the report, by column and rule; a fallback covers the rest.
MESSAGES = {
    ("Gender", "blank"): "No sex recorded",
    ("Gender", "invalid"): "Sex is not one of the Annex A values",
    ("Gender", "not_known"): "Sex not stated or recorded",
    ("Ethnicity", "blank"): "No ethnicity recorded",
    ("Ethnicity", "invalid"): "Ethnicity is not one of the Annex A values",
    ("Ethnicity", "not_known"): "Ethnicity recorded as information not yet obtained",
    ("Date of Birth", "blank"): "No date of birth (or expected date of birth) recorded",
    ("Age of Child (Years)", "range"): "Age is not a child's: check the date of birth",
    ("Contact Source", "blank"): "No contact source recorded",
    ("Contact Source", "invalid"): "Contact source is not one of the Annex A values",
    ("Contact Source", "not_known"): "Contact source recorded as unknown",
    ("Assessment start date", "blank"): "No assessment started",
    ("Assessment completion date", "before_start"): "Assessment completed before it started",
    ("Organisation completing assessment", "blank"): "No team holds the episode",
}
_FALLBACK = {
    "blank": "{column} is blank",
    "invalid": "{column} is not one of the Annex A values",
    "not_date": "{column} is not a date",
    "date_format": "{column} is not shown as dd/mm/yyyy",
    "not_integer": "{column} is not a whole number",
    "not_text": "{column} is not text",
    "not_alphanumeric": "{column} is not letters and digits only",
    "formula": "{column} would run as a spreadsheet formula",
    "range": "{column} is out of range",
    "not_known": "{column} recorded as not known",
}


def _problem(list_name: str, column: str, rule: str, severity: str = ERROR) -> Problem:
    message = MESSAGES.get((column, rule)) or _FALLBACK[rule].format(column=column)
    return Problem(list_name, column, rule, severity, message)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _as_date(value) -> date | None:
    """A date, or a datetime at midnight (what a spreadsheet reader hands back for a date cell)."""
    if isinstance(value, datetime):
        return value.date() if value.time() == time(0) and value.tzinfo is None else None
    if isinstance(value, date):
        return value
    return None


def check_headers(list_name: str, found: Iterable) -> list[Problem]:
    expected = headers(list_name)
    found = tuple(found)
    if found == expected:
        return []
    return [Problem(list_name, "(headers)", "headers", ERROR, f"Headers are {list(found)}, expected {list(expected)}")]


def _cell(list_name: str, column: Column, value, allowed, not_known) -> tuple[tuple[Problem, ...], date | None]:
    """One cell's problems, and its date (for a date column holding one)."""
    name = column.header
    if _blank(value):
        if not column.blank_ok:
            return (_problem(list_name, name, "blank"),), None
        if column.header == "Date of Birth":
            return (_problem(list_name, name, "blank", CHECK),), None
        return (), None
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return (_problem(list_name, name, "formula"),), None
    if column.kind == "id":
        if not isinstance(value, str):
            return (_problem(list_name, name, "not_text"),), None
        if not ALPHANUMERIC.fullmatch(value):
            return (_problem(list_name, name, "not_alphanumeric"),), None
    elif column.kind == "category":
        if value in not_known[column.category]:
            return (_problem(list_name, name, "not_known", CHECK),), None
        if value not in allowed[column.category]:
            return (_problem(list_name, name, "invalid"),), None
    elif column.kind == "date":
        day = _as_date(value)
        if day is None:
            return (_problem(list_name, name, "not_date"),), None
        return (), day
    elif column.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return (_problem(list_name, name, "not_integer"),), None
        if not -1 <= value <= MAX_CHILD_AGE:
            # -1 is the Annex A convention for an unborn child.
            return (_problem(list_name, name, "range", CHECK),), None
    elif column.kind == "text" and not isinstance(value, str):
        return (_problem(list_name, name, "not_text"),), None
    return (), None


def check_row(list_name: str, cells: tuple, *, mode: str) -> list[Problem]:
    """Every problem of one row, as written to the workbook (or read back from it)."""
    columns = LISTS[list_name]
    if len(cells) != len(columns):
        return [Problem(list_name, "(row)", "width", ERROR, f"Row has {len(cells)} cells, expected {len(columns)}")]
    problems: list[Problem] = []
    dates: dict[str, date] = {}
    allowed = ac.ALLOWED[ac.check_mode(mode)]
    not_known = ac.NOT_KNOWN[mode]
    for column, value in zip(columns, cells, strict=True):
        found, day = _cell(list_name, column, value, allowed, not_known)
        problems += found
        if day is not None:
            dates[column.header] = day
    start, end = dates.get("Assessment start date"), dates.get("Assessment completion date")
    if start and end and end < start:
        problems.append(_problem(list_name, "Assessment completion date", "before_start"))
    return problems


class RowChecker:
    """`check_row` for many rows of one list: each column's verdict on a value is worked out once.

    The same rules (`_cell`) and the same result as `check_row`, row for row; the verdicts are kept
    per column and value except for the id column (one value per child: kept, it would grow with the
    council). A column's kept values are bounded by what it can hold (codes, dates, ages, team names).
    """

    def __init__(self, list_name: str, *, mode: str):
        self.list_name, self.mode = list_name, mode
        self.columns = LISTS[list_name]
        self.allowed = ac.ALLOWED[ac.check_mode(mode)]
        self.not_known = ac.NOT_KNOWN[mode]
        self.cached = [{} if column.kind != "id" else None for column in self.columns]
        names = [c.header for c in self.columns]
        self.start = names.index("Assessment start date") if "Assessment start date" in names else None
        self.end = names.index("Assessment completion date") if "Assessment completion date" in names else None
        self.before_start = _problem(list_name, "Assessment completion date", "before_start")

    def verdict(self, index: int, value) -> tuple[tuple[Problem, ...], date | None]:
        cache = self.cached[index]
        if cache is None:
            return _cell(self.list_name, self.columns[index], value, self.allowed, self.not_known)
        key = (value.__class__, value)  # True == 1 and 1.0 == 1, but their verdicts differ
        try:
            return cache[key]
        except KeyError:
            found = cache[key] = _cell(self.list_name, self.columns[index], value, self.allowed, self.not_known)
            return found
        except TypeError:  # a value that cannot be a key (none is written; checked all the same)
            return _cell(self.list_name, self.columns[index], value, self.allowed, self.not_known)

    def __call__(self, cells: tuple) -> list[Problem]:
        if len(cells) != len(self.columns):
            return check_row(self.list_name, cells, mode=self.mode)  # the width problem
        problems: list[Problem] = []
        days = []
        for index, value in enumerate(cells):
            found, day = self.verdict(index, value)
            if found:
                problems += found
            days.append(day)
        if self.start is not None and self.end is not None:
            start, end = days[self.start], days[self.end]
            if start and end and end < start:
                problems.append(self.before_start)
        return problems


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def check_workbook(file: BinaryIO | str, *, mode: str) -> Iterator[tuple[str, int, Problem]]:
    """Every problem in a finished workbook, as (sheet, row number, problem): headers, cells, date formats."""
    from openpyxl import load_workbook

    book = load_workbook(file, read_only=True)
    try:
        for list_name in LISTS:
            if list_name not in book.sheetnames:
                yield list_name, 0, Problem(list_name, "(sheet)", "missing", ERROR, f"No sheet {list_name}")
                continue
            rows = book[list_name].iter_rows()
            header = next(rows, ())
            for problem in check_headers(list_name, (c.value for c in header)):
                yield list_name, 1, problem
            date_columns = [i for i, c in enumerate(LISTS[list_name]) if c.kind == "date"]
            for number, row in enumerate(rows, start=2):
                values = tuple(c.value for c in row)
                # A reader may drop empty cells at the end of a row.
                values += (None,) * (len(LISTS[list_name]) - len(values))
                for problem in check_row(list_name, values, mode=mode):
                    yield list_name, number, problem
                for i in date_columns:
                    if i < len(row) and row[i].value is not None and row[i].number_format != DATE_FORMAT:
                        yield list_name, number, _problem(list_name, LISTS[list_name][i].header, "date_format")
    finally:
        book.close()
