"""Forms for moving work: a transfer between teams, its decision, bulk reallocation, and a family
leaving the pre-allocation list (ADR 0032). Each form only checks what was typed; the
services in workflows.transfer_services decide whether the move may happen."""

from __future__ import annotations

from crispy_forms_gds.layout import Layout
from django import forms
from django.utils.html import format_html

from cases.models import ClosureReason
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin
from workflows.transfer_services import CLOSE_REASONS, Move


def _text(label: str, *, required: bool = True, rows: int = 4, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


def _capacity_label(practitioner) -> str:
    return format_html("{} – {} of {} families", practitioner, practitioner.caseload, practitioner.caseload_capacity)


class _Version(SafeTextMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class TransferRequestForm(_Version, GdsForm):
    to_team = forms.ChoiceField(label="Team to take the case", widget=forms.RadioSelect)
    reason = _text("Why the case should move", help_text="The receiving team leader reads this before deciding")

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {str(t.pk): t for t in teams}
        self.fields["to_team"].choices = [(pk, f"{t} ({t.service})") for pk, t in self.teams.items()]
        self.fields["to_team"].error_messages["required"] = "Choose the team to take the case"
        self.fields["reason"].error_messages["required"] = "Say why the case should move to another team"

    def clean(self):
        cleaned = super().clean()
        cleaned["team"] = self.teams.get(cleaned.get("to_team") or "")
        return cleaned


class TransferDecideForm(SafeTextMixin, GdsForm):
    ACCEPT, DECLINE = "accept", "decline"
    decision = forms.ChoiceField(
        label="Will your team take the case?",
        widget=forms.RadioSelect,
        choices=[(ACCEPT, "Yes: accept and allocate a lead professional"), (DECLINE, "No: decline the transfer")],
        error_messages={"required": "Choose whether your team accepts the transfer"},
    )
    practitioner = forms.ChoiceField(label="Lead professional (if accepting)", widget=forms.RadioSelect, required=False)
    allocation_reason = _text(
        "Reason for allocating above capacity",
        required=False,
        rows=3,
        help_text="Needed only when the practitioner is at or above their caseload capacity",
    )
    decline_reason = _text("Why your team cannot take the case (if declining)", required=False, rows=3)

    def __init__(self, *args, practitioners: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.practitioners = {str(p.pk): p for p in practitioners}
        self.fields["practitioner"].choices = [(pk, _capacity_label(p)) for pk, p in self.practitioners.items()]

    def clean(self):
        cleaned = super().clean()
        chosen = self.practitioners.get(cleaned.get("practitioner") or "")
        cleaned["practitioner_user"] = chosen
        if cleaned.get("decision") == self.ACCEPT:
            if chosen is None:
                self.add_error("practitioner", "Choose the lead professional who will hold the case")
            elif chosen.caseload + 1 > chosen.caseload_capacity and not cleaned.get("allocation_reason"):
                self.add_error(
                    "allocation_reason",
                    format_html(
                        "{} has {} of {} families: give the reason for allocating above capacity",
                        chosen,
                        chosen.caseload,
                        chosen.caseload_capacity,
                    ),
                )
        if cleaned.get("decision") == self.DECLINE and not cleaned.get("decline_reason"):
            self.add_error("decline_reason", "Say why your team cannot take the case")
        return cleaned


class BulkReallocateForm(SafeTextMixin, GdsForm):
    """One row per open case of the practitioner: a new lead professional, or none (the case stays)."""

    reason = _text("Why the cases are moving", rows=3, help_text="For example: the practitioner is leaving the team")
    capacity_reason = _text(
        "Reason for allocating above capacity",
        required=False,
        rows=3,
        help_text="Needed only when a new lead professional would go above their caseload capacity",
    )

    def __init__(self, *args, episodes: list, practitioners: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.episodes = episodes
        self.practitioners = {str(p.pk): p for p in practitioners}
        choices = [("", "Stays with the current lead professional")]
        choices += [(pk, _capacity_label(p)) for pk, p in self.practitioners.items()]
        for episode in episodes:
            self.fields[f"to_{episode.pk}"] = forms.ChoiceField(
                label=f"{episode.reference}: {episode.family}", choices=choices, required=False
            )
            self.fields[f"version_{episode.pk}"] = forms.IntegerField(widget=forms.HiddenInput, required=False)
            self.initial.setdefault(f"version_{episode.pk}", episode.version)
        self.fields["reason"].error_messages["required"] = "Say why the cases are moving"
        # The table of cases draws the rows' fields; the helper draws only the reasons below it.
        self.helper.layout = Layout("reason", "capacity_reason")

    def rows(self):
        """(episode, its choice field) for the template's table."""
        return [(episode, self[f"to_{episode.pk}"], self[f"version_{episode.pk}"]) for episode in self.episodes]

    def clean(self):
        cleaned = super().clean()
        moves = []
        for episode in self.episodes:
            chosen = self.practitioners.get(cleaned.get(f"to_{episode.pk}") or "")
            if chosen is not None:
                version = cleaned.get(f"version_{episode.pk}")
                moves.append(
                    Move(episode_pk=episode.pk, version=episode.version if version is None else version, to=chosen)
                )
        if not moves and not self.errors:
            self.add_error(None, "Choose a new lead professional for at least one case")
        cleaned["moves"] = moves
        return cleaned


class BeforeAllocationForm(_Version, GdsForm):
    """A family on the pre-allocation list that will not be allocated: closed, or stepped down."""

    CLOSE, STEP_DOWN = "close", "step_down"
    outcome = forms.ChoiceField(
        label="What happens to the family?",
        widget=forms.RadioSelect,
        choices=[
            (CLOSE, "Close: the family does not need allocating"),
            (STEP_DOWN, "Step down to universal or community support"),
        ],
        error_messages={"required": "Choose whether the family is closed or stepped down"},
    )
    reason = forms.ChoiceField(
        label="Why is the family being closed? (if closing)",
        widget=forms.RadioSelect,
        required=False,
        choices=[(value, ClosureReason(value).label) for value in CLOSE_REASONS],
    )
    note = _text("The other reason, or anything the record should say", required=False, rows=3)
    support = _text(
        "Which support the family is stepped down to, and why (if stepping down)",
        required=False,
        rows=3,
        help_text="For example: school nurse and the family hub's parenting group",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == self.CLOSE:
            if not cleaned.get("reason"):
                self.add_error("reason", "Choose why the family is being closed")
            elif cleaned["reason"] == ClosureReason.OTHER and not cleaned.get("note"):
                self.add_error("note", "Say what the other reason is")
        if cleaned.get("outcome") == self.STEP_DOWN and not cleaned.get("support"):
            self.add_error("support", "Say which support the family is stepped down to, and why")
        return cleaned
