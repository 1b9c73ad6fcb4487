"""The printable family chronology (ADR 37): the on-screen chronology filtered by date and kind of
entry, for a print-friendly page and a PDF. The family's address appears only as it may in anything
that leaves the building (cases.selectors.address_for_letter)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.utils import timezone
from fpdf import FPDF

from cases import selectors as case_selectors
from cases.models import Family
from kit.dates import long_date, long_datetime

# Enough for any family's printed history; the screen shows less and offers more.
PRINT_LIMIT = 2000
# A Unicode font when the machine has one (names with accents, quotes); else text is folded to Latin-1.
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


@dataclass(frozen=True)
class Chronology:
    family: Family
    entries: list[dict]
    kinds: list[str]  # every kind of entry the family's chronology holds, for the filter
    address: list[str] | None  # None: confidential, not printed
    date_from: date | None
    date_to: date | None
    chosen_kinds: list[str]


def chronology_kinds(rows: list[dict]) -> list[str]:
    return sorted({row["kind"] for row in rows if row["kind"]})


def family_chronology(
    family: Family, *, date_from: date | None = None, date_to: date | None = None, kinds=()
) -> Chronology:
    """The family's chronology, oldest first (as read on paper), between the dates and of the chosen kinds."""
    rows = case_selectors.chronology(family, limit=PRINT_LIMIT)
    chosen = [k for k in kinds if k]
    entries = [
        row
        for row in rows
        if (date_from is None or timezone.localtime(row["at"]).date() >= date_from)
        and (date_to is None or timezone.localtime(row["at"]).date() <= date_to)
        and (not chosen or row["kind"] in chosen)
    ]
    entries.reverse()
    return Chronology(
        family=family,
        entries=entries,
        kinds=chronology_kinds(rows),
        address=case_selectors.address_for_letter(family),
        date_from=date_from,
        date_to=date_to,
        chosen_kinds=chosen,
    )


def filters_described(chronology: Chronology) -> str:
    parts = []
    if chronology.date_from:
        parts.append(f"from {long_date(chronology.date_from)}")
    if chronology.date_to:
        parts.append(f"to {long_date(chronology.date_to)}")
    if chronology.chosen_kinds:
        parts.append("only " + ", ".join(chronology.chosen_kinds))
    return "Entries " + " ".join(parts) if parts else "All entries"


def _latin1(text: str) -> str:
    folded = (
        str(text)
        .replace("\u2018", "'")
        .replace("\u2019", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
        .replace("\u2013", "-")
        .replace("\u2014", "-")
        .replace("\u2026", "...")
        .replace("\u00b7", "-")
    )
    folded = unicodedata.normalize("NFKC", folded)
    return "".join(
        ch
        if ord(ch) < 256
        else (unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1") or "?")
        for ch in folded
    )


def latin1(text: str) -> str:
    """Text folded to what the PDF's built-in font can show (when no Unicode font is installed)."""
    return _latin1(text)


def chronology_pdf(chronology: Chronology, *, printed_by, now: datetime) -> bytes:
    """The chronology as a PDF: a heading, the filters, then one block per entry."""
    pdf = FPDF(format="A4")
    font_file = next((p for p in UNICODE_FONTS if p.exists()), None)
    if font_file is not None:
        pdf.add_font("Body", "", str(font_file))
        bold_file = font_file.with_name(font_file.stem + "-Bold.ttf")
        pdf.add_font("Body", "B", str(bold_file if bold_file.exists() else font_file))
        family, clean = "Body", str
    else:
        family, clean = "Helvetica", _latin1
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(clean(f"Family chronology - {chronology.family.reference}"))
    pdf.alias_nb_pages()
    pdf.add_page()

    def line(text: str, *, size: int = 10, style: str = "", gap: float = 5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, gap, clean(text), new_x="LMARGIN", new_y="NEXT")

    family_obj = chronology.family
    line(f"Family chronology: {family_obj}", size=16, style="B", gap=8)
    line(f"Family reference {family_obj.reference}")
    if chronology.address is None:
        line("Address: confidential, not printed")
    else:
        line("Address: " + (", ".join(chronology.address) or "not recorded"))
    local_now = timezone.localtime(now)
    line(f"Printed {long_datetime(local_now)} by {printed_by}. OFFICIAL-SENSITIVE.")
    line(filters_described(chronology) + f": {len(chronology.entries)}.")
    pdf.ln(3)
    if not chronology.entries:
        line("Nothing recorded for these filters.")
    for entry in chronology.entries:
        at = timezone.localtime(entry["at"])
        by = f" - by {entry['by']}" if entry["by"] else ""
        line(f"{long_datetime(at)}  {entry['kind']}{by}", style="B")
        if entry["text"]:
            line(entry["text"])
        pdf.ln(2)
    return bytes(pdf.output())
