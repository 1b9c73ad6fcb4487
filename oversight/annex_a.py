"""Ofsted Annex A, lists 1 (contacts) and 2 (early help): the workbook and its data-quality report.

One pass over the rows does both. A Celery task (`oversight.tasks.build_annex_a`) runs one query a
list part (value tuples through server-side cursors, each counting its rows for the progress bar),
checks every cell with `annex_a_validation` (the report; each column's verdict worked out once per
value) and writes each row straight into the sheet's XML (`kit.xlsx`: openpyxl makes the rest of the
file), compressed as it comes: memory stays flat however many rows a council has, and nothing heavy
runs on a request thread (ADR 51). The file goes to private storage (MEDIA_ROOT, never served); only
the manager who asked may download it.

Rows come through the scope (`visible_family_ids`, `episodes_visible_to`) of the user who asked, so
the workbook and the report cover that manager's service only.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Window
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from cases.models import AssessmentChild, Contact, Episode, Membership
from cases.selectors import episodes_visible_to, visible_family_ids
from kit import xlsx
from kit.dates import long_date
from kit.jobs import job_advance, job_begin, job_create, job_fail, job_finish
from kit.models import BackgroundJob
from oversight import annex_a_codes as ac
from oversight import annex_a_validation as validation
from oversight.models import AnnexAExport, annex_a_path
from oversight.selectors import LONDON, Period, age_on, annex_a_period, child_id

log = logging.getLogger(__name__)

LIST_1 = "List 1"
LIST_2 = "List 2"
LIST_1_COLUMNS = validation.headers(LIST_1)
LIST_2_COLUMNS = validation.headers(LIST_2)
EXCLUDE, INCLUDE = "exclude", "include"
KEEP_FOR = timedelta(hours=24)  # a finished workbook is deleted after this
STALE_AFTER = timedelta(minutes=15)  # a build still pending after this has been lost
EXAMPLES = 50  # rows listed per problem on the report page (the count covers them all)
CHUNK = 2000
JOB_KIND = "annex-a"

VERSION_NOTE = (
    "The workbook follows Ofsted's Annex A for inspections of local authority children's services "
    "(ILACS), lists 1 and 2, with the headers and values of Ofsted's template as local authorities' "
    "shared Annex A pipeline reads them (Social Finance's liia-tools). List 1 (contacts): one row per "
    "child per contact received in the six months before the chosen date. List 2 (early help): one row "
    "per child for each Early Help episode whose assessment started or was completed in those six "
    "months, or that was open at their end. Dates are real Excel dates shown as dd/mm/yyyy (local "
    "dates, Europe/London); ages are whole numbers."
)
OWN_READINGS = (
    "Readings of our own, where the template leaves them to the council: the Child Unique ID is the "
    "person's record number (P0000123); an unborn child has the expected date of birth in Date of "
    "Birth and age -1; age is in whole years on the date of contact (List 1) or on the assessment start "
    "date (List 2); 'Organisation completing assessment' is the Early Help team holding the episode; "
    "the children on List 2 are those the assessment names, or the family's children where it names "
    "none; the six months run from the same day six months before the chosen date to the day before it."
)

# Which record to open to fix a column (the family page for the child's own details).
PERSON, CONTACT, EPISODE = "family", "contact", "episode"
FIX_AT = {
    LIST_1: {"Date of Contact": CONTACT, "Contact Source": CONTACT},
    LIST_2: {
        "Assessment start date": EPISODE,
        "Assessment completion date": EPISODE,
        "Organisation completing assessment": EPISODE,
    },
}


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
        # The period on the joined contact itself (its received_at index), not inside a subquery of
        # contacts: PostgreSQL then reads the six months' contacts only, not every contact's subjects.
        through.objects.filter(
            contact__received_at__gte=period.start_at,
            contact__received_at__lt=period.end_at,
            contact__family__in=visible_family_ids(user),
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


def _list_1_cells(rows: Iterable[tuple], *, mode: str) -> Iterator[Row]:
    for person_id, sex, ethnicity, dob, expected, received_at, source, contact_id, family_id in rows:
        day = _local_date(received_at)
        cells = (
            *_child(person_id, sex, ethnicity, dob, expected, day, mode=mode),
            day,
            ac.value_for(ac.CONTACT_SOURCE, source, mode=mode),
        )
        yield Row(cells, person_id=person_id, family_id=family_id, contact_id=contact_id)


def list_1_rows(user, *, period: Period, mode: str) -> Iterator[Row]:
    """List 1: one row per child per contact received in the period (children of the contact's family)."""
    return _list_1_cells(_list_1_query(user, period=period).iterator(chunk_size=CHUNK), mode=mode)


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
    # The episodes whose assessment names no child, chosen inside the subquery: PostgreSQL then joins
    # the families' children of those episodes only, not of every episode before leaving most out.
    unnamed = list_2_episodes(user, period=period).exclude(
        Exists(AssessmentChild.objects.filter(assessment__episode=OuterRef("pk")))
    )
    if unassessed != INCLUDE:
        unnamed = unnamed.filter(assessment__isnull=False)
    m = "family__memberships__"
    family_children = Episode.objects.filter(pk__in=unnamed.values("pk")).filter(
        **{f"{m}relationship": Membership.Relationship.CHILD}
    )
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


def _list_2_cells(rows: Iterable[tuple], *, period: Period, mode: str) -> Iterator[Row]:
    for person_id, sex, ethnicity, dob, expected, started, completed, team, family_id, episode_id in rows:
        start_day = _local_date(started)
        cells = (
            *_child(person_id, sex, ethnicity, dob, expected, start_day or period.end, mode=mode),
            start_day,
            _local_date(completed),
            team,
        )
        yield Row(cells, person_id=person_id, family_id=family_id, episode_id=episode_id)


def list_2_rows(user, *, period: Period, mode: str, unassessed: str = EXCLUDE) -> Iterator[Row]:
    """List 2: one row per child per episode (see `list_2_episodes`).

    The children are those the assessment covered; where it names none, the children of the family.
    An episode with no assessment yet has no start date, which the template requires: its children
    are left out unless the council's reading is ANNEX_A_LIST_2_UNASSESSED=include.
    """
    queries = _list_2_queries(user, period=period, unassessed=unassessed)
    rows = itertools.chain.from_iterable(q.iterator(chunk_size=CHUNK) for q in queries)
    return _list_2_cells(rows, period=period, mode=mode)


def _counted(query: QuerySet) -> tuple[int, Iterator[tuple]]:
    """Run a list's query, counting its rows in the same statement (a window count on each row: the
    rows are sorted, so PostgreSQL has them all before the first is sent); its rows without the count."""
    rows = query.annotate(rows_in_all=Window(Count("*"))).iterator(chunk_size=CHUNK)
    first = next(rows, None)
    if first is None:
        return 0, iter(())
    return first[-1], (row[:-1] for row in itertools.chain((first,), rows))


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


def _cell_pieces(list_name: str, *, date_style: int | None) -> Callable[[int, object], tuple]:
    """value -> (the value as written, its cell's XML pieces), per column; kept per value except ids."""
    columns = validation.LISTS[list_name]
    kept: list[dict | None] = [None if c.kind == "id" else {} for c in columns]

    def made(index: int, value) -> tuple:
        value = neutralise(value)
        # Only a date column's dates carry the date style (as the cells written before: ADR 51).
        styled = date_style if columns[index].kind == "date" and isinstance(value, date) else None
        return value, xlsx.piece(index + 1, value, date_style=styled)

    def pieces(index: int, value) -> tuple:
        cache = kept[index]
        if cache is None:
            return made(index, value)
        key = (value.__class__, value)
        found = cache.get(key)
        if found is None:
            found = cache[key] = made(index, value)
        return found

    return pieces


def _list_xml(
    list_name: str,
    rows: Iterator[Row],
    *,
    mode: str,
    report: QualityReport,
    date_style: int | None,
    progress: Callable[[int], None] | None = None,
) -> Callable[[int], Iterator[str]]:
    """The list's rows as sheet XML (`kit.xlsx`), each checked as it is written (the report)."""
    check = validation.RowChecker(list_name, mode=mode)
    pieces = _cell_pieces(list_name, date_style=date_style)
    width = range(len(validation.LISTS[list_name]))
    counts = report.rows

    def xml(first_row: int) -> Iterator[str]:
        number = first_row
        for row in rows:
            made = [pieces(i, v) for i, v in zip(width, row.cells, strict=True)]
            problems = check(tuple(m[0] for m in made))
            if problems:
                report.add(list_name, row, problems)
            else:
                counts[list_name] += 1
            yield xlsx.row_xml(number, (m[1] for m in made))
            number += 1
            if progress is not None and report.written % CHUNK == 0:
                progress(report.written)

    return xml


def _list_sheet(workbook: Workbook, list_name: str, *, dates: bool) -> tuple[xlsx.StreamedRows, int | None]:
    """The list's sheet with its header (bold), the place of its rows, and the date style's index."""
    sheet = workbook.create_sheet(list_name)
    bold = Font(bold=True)
    header = []
    for name in validation.headers(list_name):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    styled = xlsx.date_style(sheet, validation.DATE_FORMAT)
    date_style = styled.style_id if dates else None
    return xlsx.StreamedRows(sheet, first_row=2), date_style


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
    counted: Callable[[int], None] | None = None,
) -> tuple[dict[str, int], dict]:
    """Write lists 1 and 2 and the Notes sheet into `file`; returns the row counts and the report.

    One query a list part (three), each counting its rows as it runs: `counted(rows in all)` is called
    once they have run, before the first row is written; `progress(rows written)` every CHUNK rows."""
    period = annex_a_period(as_at)
    total_1, rows_1 = _counted(_list_1_query(user, period=period))
    totals_2, parts_2 = zip(
        *(_counted(q) for q in _list_2_queries(user, period=period, unassessed=unassessed)), strict=True
    )
    if counted is not None:
        counted(total_1 + sum(totals_2))
    return write_lists(
        file,
        _list_1_cells(rows_1, mode=mode),
        _list_2_cells(itertools.chain.from_iterable(parts_2), period=period, mode=mode),
        any_rows=bool(total_1 or sum(totals_2)),
        as_at=as_at,
        mode=mode,
        unassessed=unassessed,
        now=now,
        progress=progress,
    )


def write_lists(
    file,
    list_1: Iterable[Row],
    list_2: Iterable[Row],
    *,
    any_rows: bool,
    as_at: date,
    mode: str,
    unassessed: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, int], dict]:
    """The workbook of these rows (`write_workbook` without the queries; benchmarks feed it made-up rows).

    `any_rows`: whether either list has a row (the date style is added to the workbook only then)."""
    period = annex_a_period(as_at)
    workbook = Workbook(write_only=True)
    report = QualityReport()
    # The date style is registered only if a row is written, as writing a dated cell did (so the
    # styles, and each style's number, are those of the workbook before ADR 51).
    place_1, date_style = _list_sheet(workbook, LIST_1, dates=any_rows)
    place_2, _ = _list_sheet(workbook, LIST_2, dates=False)
    sheet = workbook.create_sheet("Notes")
    sheet.column_dimensions["A"].width = 120
    wrap = Alignment(wrap_text=True, vertical="top")
    for text in notes(period=period, as_at=as_at, mode=mode, unassessed=unassessed, now=now):
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.alignment = wrap
        sheet.append([cell])
    xml = partial(_list_xml, mode=mode, report=report, date_style=date_style, progress=progress)
    xlsx.save(workbook, file, [(place_1, xml(LIST_1, iter(list_1))), (place_2, xml(LIST_2, iter(list_2)))])
    return dict(report.rows), report.as_json()


# --- Services: ask, build, expire --------------------------------------------------------------


def _delete(exports: QuerySet[AnnexAExport]) -> int:
    """Delete the rows now and their files once the transaction has committed."""
    names = [name for name in exports.values_list("file", flat=True) if name]
    unfinished = BackgroundJob.objects.filter(
        pk__in=exports.filter(job__isnull=False).values("job_id"),
        state__in=[BackgroundJob.State.QUEUED, BackgroundJob.State.RUNNING],
    )
    unfinished.update(state=BackgroundJob.State.FAILED, message="Replaced by a newer request for the workbook")
    deleted, _ = exports.delete()
    storage = AnnexAExport._meta.get_field("file").storage

    def remove():
        for name in names:
            storage.delete(name)

    transaction.on_commit(remove)
    return deleted


def annex_a_exports_expire(*, now: datetime) -> int:
    """Delete every workbook older than a day (run each time one is asked for or built)."""
    return _delete(AnnexAExport.objects.filter(requested_at__lt=now - KEEP_FOR))


def annex_a_export_request(*, user, as_at: date, now: datetime) -> AnnexAExport:
    """Replace the user's workbook with a new one to build, queued once this transaction commits."""
    from oversight.tasks import build_annex_a

    period = annex_a_period(as_at)
    try:
        with transaction.atomic():
            annex_a_exports_expire(now=now)
            _delete(AnnexAExport.objects.filter(requested_by=user))
            export = AnnexAExport.objects.create(
                requested_by=user,
                requested_at=now,
                as_at=as_at,
                period_start=period.start,
                period_end=period.end,
                values_mode=settings.ANNEX_A_VALUES,
                unassessed=settings.ANNEX_A_LIST_2_UNASSESSED,
                # Its page shows the progress; the report and the file stay on this record.
                job=job_create(
                    kind=JOB_KIND,
                    title=f"Ofsted Annex A workbook for {long_date(as_at)}",
                    owner=user,
                    now=now,
                    params={"as_at": as_at.isoformat()},
                ),
            )
            transaction.on_commit(partial(build_annex_a.delay, export.pk), robust=True)
    except IntegrityError:
        # The same manager asked twice at once: the other request's workbook is the one.
        return AnnexAExport.objects.get(requested_by=user)
    return export


def annex_a_export_build(*, export_id: int, now: datetime) -> AnnexAExport | None:
    """Build a pending workbook and its report. Safe to run twice: a finished or replaced one is left alone."""
    annex_a_exports_expire(now=now)
    export = AnnexAExport.objects.select_related("requested_by").filter(pk=export_id).first()
    if export is None or export.status != AnnexAExport.Status.PENDING:
        return export
    storage = AnnexAExport._meta.get_field("file").storage
    pending = AnnexAExport.objects.filter(pk=export.pk, status=AnnexAExport.Status.PENDING)
    job_id = export.job_id
    progress = None
    counted = None
    if job_id is not None:
        total = 0

        # Begun once the lists' queries have run (they count the rows as they read them).
        def counted(rows: int) -> None:
            nonlocal total
            total = rows
            job_begin(job_id, total=total, now=timezone.now(), message=f"Writing {total} rows")

        def progress(written: int) -> None:
            job_advance(
                job_id, done=min(written, total), now=timezone.now(), message=f"{written} of {total} rows written"
            )

    try:
        with tempfile.TemporaryFile(suffix=".xlsx") as spool:
            counts, report = write_workbook(
                spool,
                user=export.requested_by,
                as_at=export.as_at,
                mode=export.values_mode,
                unassessed=export.unassessed,
                now=now,
                progress=progress,
                counted=counted,
            )
            spool.seek(0)
            name = storage.save(annex_a_path(export, "annex-a.xlsx"), File(spool))
    except Exception:
        log.exception("Annex A workbook %s failed", export.pk)
        pending.update(status=AnnexAExport.Status.FAILED, finished_at=timezone.now())
        if job_id is not None:
            job_fail(
                job_id,
                now=timezone.now(),
                message="The workbook could not be built (the error is logged for your system administrator). "
                "Ask for it again; if it fails again, tell your system administrator.",
            )
        raise
    finished = pending.update(
        status=AnnexAExport.Status.READY, file=name, finished_at=timezone.now(), row_counts=counts, report=report
    )
    if not finished:
        storage.delete(name)  # replaced or expired while it was being built
        if job_id is not None:
            job_fail(job_id, now=timezone.now(), message="Replaced by a newer request for the workbook")
        return None
    if job_id is not None:
        job_finish(
            job_id,
            now=timezone.now(),
            result={"rows": counts, "errors": report["errors"], "checks": report["checks"]},
            message=f"Workbook ready: {counts[LIST_1]} rows on List 1 and {counts[LIST_2]} on List 2",
        )
    export.refresh_from_db()
    return export


def is_stale(export: AnnexAExport, *, now: datetime) -> bool:
    return export.status == AnnexAExport.Status.PENDING and export.requested_at < now - STALE_AFTER


def is_expired(export: AnnexAExport, *, now: datetime) -> bool:
    return export.requested_at < now - KEEP_FOR
