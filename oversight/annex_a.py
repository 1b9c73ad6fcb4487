"""Ofsted Annex A, lists 1 (contacts) and 2 (early help), as an .xlsx streamed in bounded memory.

openpyxl's write-only workbook writes each row to a temporary file as it goes, the rows come
from the database in chunks (`QuerySet.iterator`), and the finished workbook is streamed to the
client from disk by `FileResponse`: memory stays flat however many rows a council has.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date

from django.http import FileResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from cases.models import AccessLog
from cases.views import log_access
from oversight import selectors

VERSION_NOTE = (
    "The workbook follows Ofsted's Annex A for inspections of local authority children's services "
    "(ILACS), lists 1 and 2 in the layout used since the 2023 revision, where the second column is "
    "headed 'Sex'. List 1 (contacts) has one row per child per contact received in the six months "
    "before the chosen date: Child Unique ID, Sex, Ethnicity, Date of Birth, Age of Child (Years), "
    "Date of Contact, Contact Source. List 2 (early help) has one row per child for each Early Help "
    "episode with an assessment started or completed in those six months, or open at their end: "
    "Child Unique ID, Sex, Ethnicity, Date of Birth, Age of Child (Years), Assessment start date, "
    "Assessment completion date, Organisation completing assessment. Dates are real Excel dates shown "
    "as dd/mm/yyyy (local dates in Europe/London). Sex, ethnicity and contact source are the DfE codes "
    "(CIN census lists, e.g. M / F / U / I, WBRI, 2A) rather than the lettered labels of Ofsted's "
    "template. Readings of our own, since Ofsted's template leaves them to the council: the Child "
    "Unique ID is the person's record number (P0000123); an unborn child has the expected date of "
    "birth in Date of Birth and age -1; age is in whole years on the date of contact (List 1) or on "
    "the assessment start date (List 2; the period's last day where no assessment has started); "
    "'Organisation completing assessment' is the Early Help team holding the episode; the six months "
    "run from the same day six months before the chosen date to the day before it."
)

DATE_FORMAT = "dd/mm/yyyy"
LIST_1_DATES = {3, 5}
LIST_2_DATES = {3, 5, 6}


def _write_sheet(workbook: Workbook, title: str, columns: tuple[str, ...], rows: Iterable[tuple], dates: set[int]):
    sheet = workbook.create_sheet(title)
    bold = Font(bold=True)
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    # One styled cell per date column, reused: a write-only sheet writes each row as it is
    # appended, and making a styled cell per value is most of the cost of a large list.
    date_cells = {}
    for i in dates:
        date_cells[i] = WriteOnlyCell(sheet)
        date_cells[i].number_format = DATE_FORMAT
    count = 0
    for row in rows:
        out = list(row)
        for i in dates:
            if isinstance(out[i], date):
                date_cells[i].value = out[i]
                out[i] = date_cells[i]
        sheet.append(out)
        count += 1
    return count


def write_workbook(file, *, user, as_at: date) -> dict[str, int]:
    """Write lists 1 and 2 for the six months before `as_at` into `file`; returns the row counts."""
    period = selectors.annex_a_period(as_at)
    workbook = Workbook(write_only=True)
    counts = {
        "List 1": _write_sheet(
            workbook,
            "List 1",
            selectors.LIST_1_COLUMNS,
            selectors.annex_a_list_1(user, period=period),
            LIST_1_DATES,
        ),
        "List 2": _write_sheet(
            workbook,
            "List 2",
            selectors.LIST_2_COLUMNS,
            selectors.annex_a_list_2(user, period=period),
            LIST_2_DATES,
        ),
    }
    workbook.save(file)
    return counts


def download(request, *, as_at: date) -> FileResponse:
    period = selectors.annex_a_period(as_at)
    log_access(
        request,
        action=AccessLog.Action.EXPORT,
        what=f"Ofsted Annex A lists 1 and 2, {period.start:%d/%m/%Y} to {period.end:%d/%m/%Y}",
    )
    # On disk, not in memory; deleted when the response closes it.
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    write_workbook(spool, user=request.user, as_at=as_at)
    spool.seek(0)
    stamp = timezone.localdate().isoformat()
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"annex-a-{as_at.isoformat()}-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
