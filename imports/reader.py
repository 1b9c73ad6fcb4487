"""Reading one export file, CSV or XLSX, into rows of text, whatever is in it.

Nothing here raises on a bad file: a file that is not UTF-8, not a spreadsheet, has a cell too long or a
row with too many cells becomes a `Problem` (file, row, column, what is wrong) and reading stops or goes
on as it can. Row numbers are as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from kit.forms import MAX_TEXT

# A cell longer than this is refused (case notes and needs are the longest free text, MAX_TEXT).
MAX_CELL = MAX_TEXT
MAX_COLUMNS = 60


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    row: int  # 0: the file as a whole
    column: str
    message: str


class FileUnreadable(Exception):
    """The file cannot be read at all; the message says why in words an administrator can act on."""


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_lines(path: Path) -> Iterator[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileUnreadable(
            f"The file is not in UTF-8 (a character on line {line} cannot be read): "
            "save it as 'CSV UTF-8' and upload it again"
        ) from None
    if "\x00" in text:
        raise FileUnreadable("The file contains NUL characters: it is not a text CSV file")
    return iter(io.StringIO(text, newline=""))


def _csv_rows(path: Path) -> Iterator[list[str]]:
    csv.field_size_limit(MAX_CELL * 4 + 1024)
    reader = csv.reader(_csv_lines(path))
    try:
        yield from reader
    except csv.Error as exc:
        raise FileUnreadable(f"Row {reader.line_num} cannot be read as CSV ({exc})") from None


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError):
        raise FileUnreadable("The file is not an Excel workbook (.xlsx) that can be opened") from None
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_text(v) for v in values[: MAX_COLUMNS + 1]]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, AttributeError, IndexError):
        raise FileUnreadable("The workbook's first sheet cannot be read") from None
    finally:
        book.close()


def read_rows(path: Path, *, known: tuple[str, ...], file_label: str) -> Iterator[tuple[int, dict[str, str]] | Problem]:
    """Each data row as (row number, {column: text}) of the `known` columns, and problems as they are met.

    Unknown columns and cells too long are problems; an unreadable file is one problem and no rows.
    """
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    try:
        header = next(rows, None)
        if not header or not any(h.strip() for h in header):
            yield Problem(file_label, 1, "", "The first row must name the columns; this file is empty")
            return
        if len(header) > MAX_COLUMNS:
            yield Problem(file_label, 1, "", f"The file has {len(header)} columns: at most {MAX_COLUMNS} are read")
            return
        names = [str(h).strip().lower().lstrip("\ufeff") for h in header]
        for name in names:
            if name and name not in known:
                yield Problem(file_label, 1, name[:60], "Unknown column: see the layout for this kind of file")
        seen: set[str] = set()
        for name in names:
            if name in seen and name:
                yield Problem(file_label, 1, name[:60], "This column is named twice")
            seen.add(name)
        for number, cells in enumerate(rows, start=2):
            if not any(str(c).strip() for c in cells):
                continue
            if len(cells) > len(names):
                extra = [c for c in cells[len(names) :] if str(c).strip()]
                if extra:
                    yield Problem(file_label, number, "", "The row has more cells than the header has columns")
                    continue
            row: dict[str, str] = {}
            too_long = False
            for name, value in zip(names, cells, strict=False):
                if name not in known:
                    continue
                text = str(value).strip()
                if len(text) > MAX_CELL:
                    yield Problem(file_label, number, name, f"The cell has {len(text)} characters: at most {MAX_CELL}")
                    too_long = True
                    continue
                row[name] = text
            if not too_long:
                yield number, row
    except FileUnreadable as exc:
        yield Problem(file_label, 0, "", str(exc))
