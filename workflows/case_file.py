"""The full case file of a family for a transfer (ADR 0038): the family, its people, contacts, episodes,
assessments, plans, reviews, case notes, escalations, consents and the chronology, as one PDF.

It reuses the chronology's PDF setup (workflows.chronology). Each record is printed field by field from the
model (its labels and displayed choices), so a field added later is printed without a change here. No
address is printed but the family's own, and only as `address_for_letter` allows: a confidential address
(the family's or anyone's in it) is never printed, whoever prints.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import models
from django.utils import timezone
from fpdf import FPDF

from cases import selectors as case_selectors
from cases.models import Family
from kit.dates import long_date, long_datetime
from workflows.chronology import UNICODE_FONTS, family_chronology, latin1

# Never printed from a record, whatever it is: addresses (the rule above), internal keys and versions.
SKIPPED = ("address", "postcode", "town", "_key", "version", "password", "file")


def _value(record, field) -> str:
    value = getattr(record, field.attname)
    if value in (None, "", [], {}):
        return ""
    if field.choices:
        return str(getattr(record, f"get_{field.name}_display")())
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return long_datetime(value)
    if isinstance(value, date):
        return long_date(value)
    return str(value)


def record_lines(record) -> list[tuple[str, str]]:
    """(label, value) for each filled-in field of a record that is not a relation, an id or an address."""
    lines = []
    for field in record._meta.concrete_fields:
        if field.primary_key or field.is_relation or any(part in field.name for part in SKIPPED):
            continue
        if field.name in getattr(record, "BOARD_FIELDS", ()):  # derived for the team board (ADR 56), not recorded
            continue
        text = _value(record, field)
        if text:
            lines.append((str(field.verbose_name).capitalize(), text))
    return lines


class _Pdf:
    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="A4")
        font_file = next((p for p in UNICODE_FONTS if p.exists()), None)
        if font_file is not None:
            self.pdf.add_font("Body", "", str(font_file))
            bold = font_file.with_name(font_file.stem + "-Bold.ttf")
            self.pdf.add_font("Body", "B", str(bold if bold.exists() else font_file))
            self.font, self.clean = "Body", str
        else:
            self.font, self.clean = "Helvetica", latin1
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_title(self.clean(title))
        self.pdf.alias_nb_pages()
        self.pdf.add_page()

    def line(self, text: str, *, size: int = 10, style: str = "", gap: float = 5) -> None:
        self.pdf.set_font(self.font, style, size)
        self.pdf.multi_cell(0, gap, self.clean(text), new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.line(text, size=13, style="B", gap=7)

    def record(self, title: str, record) -> None:
        self.line(title, style="B")
        for label, value in record_lines(record):
            self.line(f"{label}: {value}")
        self.pdf.ln(2)


def case_file_pdf(family: Family, *, printed_by, now: datetime) -> bytes:
    """The whole case file as a PDF, in a fixed number of queries."""
    records = case_selectors.case_file_records(family)
    people = case_selectors.people_of(family)
    address = case_selectors.address_for_letter(family)
    chronology = family_chronology(family)
    doc = _Pdf(f"Case file - {family.reference}")
    doc.line(f"Case file: {family}", size=16, style="B", gap=8)
    doc.line(f"Family reference {family.reference}")
    doc.line(
        "Address: confidential, not printed"
        if address is None
        else "Address: " + (", ".join(address) or "not recorded")
    )
    doc.line(f"Printed {long_datetime(timezone.localtime(now))} by {printed_by}. OFFICIAL-SENSITIVE.")
    doc.heading("People")
    for person in people:
        doc.record(str(person), person)
    doc.heading("Consents")
    for consent in records["consents"]:
        doc.record(f"{consent.get_purpose_display()}{f' ({consent.agency})' if consent.agency else ''}", consent)
    doc.heading("Contacts")
    for contact in records["contacts"]:
        doc.record(f"Contact {contact.reference}", contact)
    episode_refs = {e.pk: e.reference for e in records["episodes"]}
    doc.heading("Episodes of Early Help")
    for episode in records["episodes"]:
        lead = f", lead professional {episode.lead_professional}" if episode.lead_professional_id else ""
        doc.record(f"Episode {episode.reference} with {episode.team}{lead}", episode)
    for heading, kind, label in (
        ("Assessments", "assessments", "Assessment"),
        ("Plans", "plans", "Plan"),
        ("Reviews", "reviews", "Review"),
        ("Case notes", "notes", "Case note"),
    ):
        doc.heading(heading)
        for record in records[kind]:
            doc.record(f"{label} ({episode_refs.get(record.episode_id, '')})", record)
    doc.heading("Plan outcomes and actions")
    for outcome in records["outcomes"]:
        doc.record(f"Outcome {outcome.number}", outcome)
    for action in records["actions"]:
        doc.record("Action", action)
    doc.heading("Escalations")
    for escalation in records["escalations"]:
        doc.record(f"Escalation {escalation.reference}", escalation)
    doc.heading(f"Chronology ({len(chronology.entries)} entries)")
    for entry in chronology.entries:
        by = f" - by {entry['by']}" if entry["by"] else ""
        doc.line(f"{long_datetime(timezone.localtime(entry['at']))}  {entry['kind']}{by}", style="B")
        if entry["text"]:
            doc.line(entry["text"])
    return bytes(doc.pdf.output())
