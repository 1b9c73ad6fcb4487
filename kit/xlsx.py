"""Large sheets in an openpyxl workbook, with their data rows written as XML text (ADR 51).

openpyxl's write-only mode builds a cell object and an XML element for every value: about 180 µs a
row of seven cells on this machine, most of the time of a workbook of 150,000 rows. Here openpyxl
still makes the whole package (workbook, styles, theme, the header rows, any other sheet), with
one marker row where a large sheet's data goes; `save` copies that package into the real file and,
in place of each marker row, streams the rows as the same XML openpyxl writes (inline strings,
`t="n"` numbers, dates as day numbers with the date style), so a reader sees the same cells.

Each cell kind is a `Cells` function: value -> the cell's XML split around its row number, so a
row is joined from cached pieces. Memory stays flat: rows go straight into the zip's deflate stream.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from uuid import uuid4

from openpyxl.cell import WriteOnlyCell
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

# value -> (XML before the row number, XML after it), or None for a cell left out (no value).
Piece = tuple[str, str] | None


def _escape(text: str) -> str:
    # What ElementTree's serialiser escapes in text (openpyxl's writer without lxml).
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def text_piece(column: int, value: str) -> Piece:
    """An inline string, as openpyxl writes it (`xml:space="preserve"` when it has outer spaces)."""
    letter = get_column_letter(column)
    if value == "":
        return (f'<c r="{letter}', '" t="inlineStr" />')
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and value != stripped else ""
    return (f'<c r="{letter}', f'" t="inlineStr"><is><t{space}>{_escape(value)}</t></is></c>')


def number_piece(column: int, value: int | float) -> Piece:
    return (f'<c r="{get_column_letter(column)}', f'" t="n"><v>{safe_string(value)}</v></c>')


def date_piece(column: int, value: date, *, style_id: int) -> Piece:
    """A date (not a datetime) as Excel's day number, with the sheet's date style."""
    serial = safe_string(to_excel(value))
    return (f'<c r="{get_column_letter(column)}', f'" s="{style_id}" t="n"><v>{serial}</v></c>')


def piece(column: int, value, *, date_style: int | None = None) -> Piece:
    """Any value the streamed sheets hold: text, a whole number, a date (styled), or nothing."""
    if value is None:
        return None
    if isinstance(value, str):
        return text_piece(column, value)
    if isinstance(value, bool):
        raise TypeError("a streamed sheet holds no true/false cells")
    if isinstance(value, int | float):
        return number_piece(column, value)
    if isinstance(value, date) and not isinstance(value, datetime):
        if date_style is None:
            raise TypeError(f"column {column} holds dates but has no date style")
        return date_piece(column, value, style_id=date_style)
    raise TypeError(f"a streamed sheet cannot hold {type(value).__name__}")


def row_xml(number: int, pieces: Iterable[Piece]) -> str:
    n = str(number)
    return f'<row r="{n}">' + "".join(p[0] + n + p[1] for p in pieces if p is not None) + "</row>"


def date_style(sheet, number_format: str):
    """A styled cell for a sheet's dates: setting the format adds it to the workbook's formats, and
    `style_id` (read only once a date is written, as writing the cell would) adds the style itself."""
    cell = WriteOnlyCell(sheet)
    cell.number_format = number_format
    return cell


class StreamedRows:
    """Where a write-only sheet's data rows go: a marker row, made after its header, replaced at `save`."""

    def __init__(self, sheet, *, first_row: int):
        self.first_row = first_row
        self.token = f"streamed-rows-{uuid4().hex}"
        sheet.append([self.token])

    @property
    def marker(self) -> bytes:
        n = self.first_row
        return f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{self.token}</t></is></c></row>'.encode()


CHUNK_BYTES = 1 << 20  # rows are joined and compressed about a megabyte at a time


def save(workbook, file, streams: list[tuple[StreamedRows, Callable[[int], Iterator[str]]]]) -> None:
    """Save `workbook` into `file`, each marker row replaced by the rows its function yields.

    `streams` are in the order of the sheets in the workbook; each function is passed its first row
    number and yields each row's XML (`row_xml`). A sheet's rows go into the zip as they come."""
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as out:
        infos = source.infolist()
        parts = {info.filename: source.read(info) for info in infos}
        stream_of = {}
        for i, (marked, _) in enumerate(streams):
            names = [name for name, data in parts.items() if marked.marker in data]
            if len(names) != 1:
                raise ValueError("the marker row of a streamed sheet is not in the workbook once")
            stream_of[names[0]] = i
        if [stream_of[i.filename] for i in infos if i.filename in stream_of] != list(range(len(streams))):
            raise ValueError("streamed sheets must be given in the order of the workbook's sheets")
        for info in infos:
            i = stream_of.get(info.filename)
            if i is None:
                out.writestr(info, parts[info.filename])
                continue
            marked, rows = streams[i]
            before, after = parts[info.filename].split(marked.marker)
            with out.open(info, "w") as sink:
                sink.write(before)
                buffer: list[str] = []
                size = 0
                for xml in rows(marked.first_row):
                    buffer.append(xml)
                    size += len(xml)
                    if size >= CHUNK_BYTES:
                        sink.write("".join(buffer).encode())
                        buffer, size = [], 0
                sink.write("".join(buffer).encode())
                sink.write(after)
