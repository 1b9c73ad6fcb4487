"""A letter for the post as a printable A4 PDF (fpdf2, pure Python).

The recipient's name and address sit where a DL window envelope shows them (20 mm from the left,
50 mm from the top); the council's name heads the page. Everything is written as text: nothing in
a merge field or an edited letter is interpreted. The address printed is the one kept on the
message, which `correspondence_services.message_send` took from `address_for_letter` and which is
never a confidential one.

The text font is `EARLYHELP_LETTER_FONT` (a TrueType file; DejaVu Sans where the system has it) so
that every name prints as written; without one, the PDF's built-in Helvetica is used and characters
it cannot show are replaced.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone
from fpdf import FPDF

from cases.models import Message

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PUNCTUATION = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})


def _font_file() -> Path | None:
    configured = getattr(settings, "EARLYHELP_LETTER_FONT", "")
    for candidate in (Path(configured) if configured else None, DEFAULT_FONT):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


class _Letter(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(auto=True, margin=20)
        font = _font_file()
        if font is not None:
            self.add_font("Letter", "", str(font))
            self.family_name, self.unicode = "Letter", True
        else:
            self.family_name, self.unicode = "Helvetica", False

    def text_of(self, value: str) -> str:
        if self.unicode:
            return value
        return value.translate(PUNCTUATION).encode("latin-1", "replace").decode("latin-1")


def letter_pdf(message: Message) -> bytes:
    """The message as a printed letter."""
    pdf = _Letter()
    pdf.set_title(message.subject)
    pdf.set_creator(settings.SERVICE_NAME)
    pdf.add_page()
    council = settings.EARLYHELP_COUNCIL_NAME or settings.SERVICE_NAME
    pdf.set_font(pdf.family_name, size=14)
    pdf.cell(0, 8, pdf.text_of(council), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, size=10)
    pdf.cell(0, 6, pdf.text_of(settings.SERVICE_NAME), align="R", new_x="LMARGIN", new_y="NEXT")
    # The window of a DL envelope: name and address, nothing else.
    pdf.set_xy(20, 50)
    pdf.set_font(pdf.family_name, size=11)
    for line in [message.recipient_name, *message.address.splitlines()]:
        pdf.cell(90, 5, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(20, 95)
    when = timezone.localtime(message.sent_at or message.created_at)
    pdf.cell(0, 6, pdf.text_of(f"{when.day} {when:%B %Y}"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(pdf.family_name, size=12)
    pdf.multi_cell(0, 7, pdf.text_of(message.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(pdf.family_name, size=11)
    pdf.multi_cell(0, 5.5, pdf.text_of(message.body), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
