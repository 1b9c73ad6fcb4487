"""Annex A as it was built before session 5 (ADR 51): the reference the faster build is compared with.

A frozen copy of `oversight.annex_a`'s list builders, data-quality report and workbook writer as they
were (per-row Python over value tuples, one `check_row` call a row). `test_annex_a_equivalence.py`
builds the same world with this and with the product and compares the workbooks cell by cell and the
reports key by key. Do not "improve" this file: it is the definition of the expected output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from cases.models import AssessmentChild, Contact, Episode, Membership
from cases.selectors import contacts_visible_to, episodes_visible_to
from oversight import annex_a_codes as ac
from oversight import annex_a_validation as validation
from oversight.annex_a import (
    CONTACT,
    EPISODE,
    EXCLUDE,
    FIX_AT,
    INCLUDE,
    LIST_1,
    LIST_2,
    OWN_READINGS,
    PERSON,
    VERSION_NOTE,
)
from oversight.selectors import LONDON, Period, age_on, annex_a_period, child_id

EXAMPLES = 50
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Row:
    """One row as written, and the records it came from (for the report's links)."""

    cells: tuple
    person_id: int
    family_id: int
    episode_id: int | None = None
    contact_id: int | None = None


def _local_date(value: datetime | None) -> date | None:
    return timezone.localtime(value, LONDON).date() if value else None


def _child(person_id, sex, ethnicity, dob, expected, day: date, *, mode: str) -> tuple:
    return (
        child_id(person_id),
        ac.value_for(ac.SEX, sex, mode=mode),
        ac.value_for(ac.ETHNICITY, ethnicity, mode=mode),
        dob or expected,
        age_on(dob, expected, day),
    )


def _list_1_query(user, *, period: Period) -> QuerySet:
    """The rows of list 1, as value tuples in the order they are written."""
    through = Contact.subjects.through
    is_child = Exists(
        Membership.objects.filter(
            person_id=OuterRef("person_id"),
            family_id=OuterRef("contact__family_id"),
            relationship=Membership.Relationship.CHILD,
        )
    )
    return (
        through.objects.filter(
            contact__in=contacts_visible_to(user)
            .filter(received_at__gte=period.start_at, received_at__lt=period.end_at)
            .values("pk")
        )
        .filter(is_child)
        .order_by("contact__received_at", "contact_id", "person_id")
        .values_list(
            "person_id",
            "person__sex",
            "person__ethnicity",
            "person__date_of_birth",
            "person__expected_date_of_birth",
            "contact__received_at",
            "contact__source",
            "contact_id",
            "contact__family_id",
        )
    )


def list_1_rows(user, *, period: Period, mode: str) -> Iterator[Row]:
    """List 1: one row per child per contact received in the period (children of the contact's family)."""
    rows = _list_1_query(user, period=period)
    for person_id, sex, ethnicity, dob, expected, received_at, source, contact_id, family_id in rows.iterator(
        chunk_size=CHUNK
    ):
        day = _local_date(received_at)
        cells = (
            *_child(person_id, sex, ethnicity, dob, expected, day, mode=mode),
            day,
            ac.value_for(ac.CONTACT_SOURCE, source, mode=mode),
        )
        yield Row(cells, person_id=person_id, family_id=family_id, contact_id=contact_id)


def list_2_episodes(user, *, period: Period) -> QuerySet[Episode]:
    """Episodes whose assessment started or was completed in the period, or that were open at its end."""
    return episodes_visible_to(user).filter(
        Q(assessment__started_at__gte=period.start_at, assessment__started_at__lt=period.end_at)
        | Q(assessment__completed_at__gte=period.start_at, assessment__completed_at__lt=period.end_at)
        | (Q(opened_at__lt=period.end_at) & (Q(closed_at__isnull=True) | Q(closed_at__gte=period.end_at)))
    )


def _list_2_queries(user, *, period: Period, unassessed: str) -> tuple[QuerySet, QuerySet]:
    """The rows of list 2: the children an assessment names, then the families' children (value tuples)."""
    episodes = list_2_episodes(user, period=period).values("pk")
    assessed = (
        AssessmentChild.objects.filter(assessment__episode__in=episodes)
        .order_by("assessment__episode_id", "child_id")
        .values_list(
            "child_id",
            "child__sex",
            "child__ethnicity",
            "child__date_of_birth",
            "child__expected_date_of_birth",
            "assessment__started_at",
            "assessment__completed_at",
            "assessment__episode__team__name",
            "assessment__episode__family_id",
            "assessment__episode_id",
        )
    )
    m = "family__memberships__"
    family_children = (
        Episode.objects.filter(pk__in=episodes)
        .exclude(Exists(AssessmentChild.objects.filter(assessment__episode=OuterRef("pk"))))
        .filter(**{f"{m}relationship": Membership.Relationship.CHILD})
    )
    if unassessed != INCLUDE:
        family_children = family_children.filter(assessment__isnull=False)
    family_children = family_children.order_by("pk", f"{m}person_id").values_list(
        f"{m}person_id",
        f"{m}person__sex",
        f"{m}person__ethnicity",
        f"{m}person__date_of_birth",
        f"{m}person__expected_date_of_birth",
        "assessment__started_at",
        "assessment__completed_at",
        "team__name",
        "family_id",
        "pk",
    )
    return assessed, family_children


def list_2_rows(user, *, period: Period, mode: str, unassessed: str = EXCLUDE) -> Iterator[Row]:
    """List 2: one row per child per episode (see `list_2_episodes`).

    The children are those the assessment covered; where it names none, the children of the family.
    An episode with no assessment yet has no start date, which the template requires: its children
    are left out unless the council's reading is ANNEX_A_LIST_2_UNASSESSED=include.
    """
    for rows in _list_2_queries(user, period=period, unassessed=unassessed):
        for person_id, sex, ethnicity, dob, expected, started, completed, team, family_id, episode_id in rows.iterator(
            chunk_size=CHUNK
        ):
            start_day = _local_date(started)
            cells = (
                *_child(person_id, sex, ethnicity, dob, expected, start_day or period.end, mode=mode),
                start_day,
                _local_date(completed),
                team,
            )
            yield Row(cells, person_id=person_id, family_id=family_id, episode_id=episode_id)


def row_total(user, *, period: Period, unassessed: str = EXCLUDE) -> int:
    """How many rows lists 1 and 2 will have (three counts): the total of the job's progress bar."""
    queries = (_list_1_query(user, period=period), *_list_2_queries(user, period=period, unassessed=unassessed))
    return sum(q.count() for q in queries)


# --- The data-quality report -------------------------------------------------------------------


@dataclass
class _Found:
    problem: validation.Problem
    count: int = 0
    rows: list[dict] = field(default_factory=list)
    seen: set = field(default_factory=set)  # bounded: at most EXAMPLES keys
    truncated: bool = False


class QualityReport:
    """Problems by list, column and rule: how many rows, and the first few records to fix (bounded)."""

    def __init__(self):
        self.found: dict[tuple, _Found] = {}
        self.rows = {LIST_1: 0, LIST_2: 0}

    @property
    def written(self) -> int:
        return sum(self.rows.values())

    def add(self, list_name: str, row: Row, problems: list[validation.Problem]) -> None:
        self.rows[list_name] += 1
        for problem in problems:
            entry = self.found.get(problem.key)
            if entry is None:
                entry = self.found[problem.key] = _Found(problem)
            entry.count += 1
            fix_at = FIX_AT[list_name].get(problem.column, PERSON)
            target = {PERSON: row.family_id, CONTACT: row.contact_id, EPISODE: row.episode_id}[fix_at]
            # The same child on several contacts needs one fix: list each record once.
            key = (row.person_id, fix_at, target)
            if key in entry.seen:
                continue
            if len(entry.rows) >= EXAMPLES:
                entry.truncated = True
                continue
            entry.seen.add(key)
            entry.rows.append({"child": row.cells[0], "fix_at": fix_at, "pk": target})

    def as_json(self) -> dict:
        order = {name: i for i, name in enumerate(validation.LISTS)}
        columns = {name: [c.header for c in cols] for name, cols in validation.LISTS.items()}
        entries = sorted(
            self.found.values(),
            key=lambda e: (
                e.problem.severity != validation.ERROR,
                order[e.problem.list_name],
                columns[e.problem.list_name].index(e.problem.column)
                if e.problem.column in columns[e.problem.list_name]
                else -1,
                e.problem.rule,
            ),
        )
        problems = [
            {
                "list": e.problem.list_name,
                "column": e.problem.column,
                "rule": e.problem.rule,
                "severity": e.problem.severity,
                "message": e.problem.message,
                "count": e.count,
                "rows": e.rows,
                "truncated": e.truncated,
            }
            for e in entries
        ]
        return {
            "rows": self.rows,
            "errors": sum(p["count"] for p in problems if p["severity"] == validation.ERROR),
            "checks": sum(p["count"] for p in problems if p["severity"] == validation.CHECK),
            "problems": problems,
        }


# --- The workbook ------------------------------------------------------------------------------


def neutralise(value):
    """Text as a spreadsheet will show it and never run: no formula, no characters Excel refuses."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(validation.FORMULA_START):
            return "'" + value
    return value


def _write_list(
    workbook: Workbook,
    list_name: str,
    rows: Iterator[Row],
    *,
    mode: str,
    report: QualityReport,
    progress: Callable[[int], None] | None = None,
):
    sheet = workbook.create_sheet(list_name)
    bold = Font(bold=True)
    header = []
    for name in validation.headers(list_name):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    dates = [i for i, c in enumerate(validation.LISTS[list_name]) if c.kind == "date"]
    # One styled cell per date column, reused: a write-only sheet writes each row as it is
    # appended, and making a styled cell per value is most of the cost of a large list.
    date_cells = {}
    for i in dates:
        date_cells[i] = WriteOnlyCell(sheet)
        date_cells[i].number_format = validation.DATE_FORMAT
    for row in rows:
        cells = tuple(neutralise(v) for v in row.cells)
        report.add(list_name, row, validation.check_row(list_name, cells, mode=mode))
        out = list(cells)
        for i in dates:
            if isinstance(out[i], date):
                date_cells[i].value = out[i]
                out[i] = date_cells[i]
        sheet.append(out)
        if progress is not None and report.written % CHUNK == 0:
            progress(report.written)


def readings(*, mode: str, unassessed: str) -> list[str]:
    """The choices this deployment makes (ANNEX_A_VALUES, ANNEX_A_LIST_2_UNASSESSED), in words."""
    values = (
        "Sex, ethnicity and contact source are the template's values (for example 'a) Male', 'a) WBRI', "
        "'e) 2A: Schools')."
        if mode == ac.LABELS
        else "Sex, ethnicity and contact source are the bare DfE codes (for example 'M', 'WBRI', '2A'); "
        "a sex recorded as unknown or indeterminate is 'Not stated/recorded', as Annex A has no code for it."
    )
    list_2 = (
        "List 2 includes only children whose episode has an assessment: the template's 'Assessment start "
        "date' may not be blank, so a child in an Early Help episode with no assessment started yet is not "
        "on List 2."
        if unassessed != INCLUDE
        else "List 2 also includes children in an Early Help episode open at the period's end with no "
        "assessment started yet (this council's reading): their 'Assessment start date' is blank, which "
        "the template's rules flag."
    )
    return [values, list_2]


def notes(*, period: Period, as_at: date, mode: str, unassessed: str, now: datetime) -> list[str]:
    """The Notes sheet: which Annex A this is, and the readings the template leaves to the council."""
    return [
        "Ofsted Annex A: lists 1 and 2",
        f"Return for {as_at:%d/%m/%Y}: contacts and early help from {period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}.",
        f"Built on {timezone.localtime(now, LONDON):%d/%m/%Y at %H:%M}.",
        VERSION_NOTE,
        *readings(mode=mode, unassessed=unassessed),
        OWN_READINGS,
    ]


def write_workbook(
    file,
    *,
    user,
    as_at: date,
    mode: str,
    unassessed: str = EXCLUDE,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, int], dict]:
    """Write lists 1 and 2 and the Notes sheet into `file`; returns the row counts and the report.

    `progress(rows written)` is called every CHUNK rows (the job's progress bar)."""
    period = annex_a_period(as_at)
    workbook = Workbook(write_only=True)
    report = QualityReport()
    rows_1 = list_1_rows(user, period=period, mode=mode)
    _write_list(workbook, LIST_1, rows_1, mode=mode, report=report, progress=progress)
    rows_2 = list_2_rows(user, period=period, mode=mode, unassessed=unassessed)
    _write_list(workbook, LIST_2, rows_2, mode=mode, report=report, progress=progress)
    sheet = workbook.create_sheet("Notes")
    sheet.column_dimensions["A"].width = 120
    wrap = Alignment(wrap_text=True, vertical="top")
    for text in notes(period=period, as_at=as_at, mode=mode, unassessed=unassessed, now=now):
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.alignment = wrap
        sheet.append([cell])
    workbook.save(file)
    return dict(report.rows), report.as_json()
