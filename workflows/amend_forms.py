"""The amendment form (ADR 37): the record's correctable fields as they are now, and the reason."""

from __future__ import annotations

from django import forms

from cases.models import CaseNote
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin
from workflows.amend_services import AMENDABLE, REASON_MAX
from workflows.episode_forms import CaseNoteForm


class AmendForm(SafeTextMixin, GdsForm):
    reason = forms.CharField(
        label="Why are you amending this record?",
        max_length=REASON_MAX,
        help_text=f"For example: the wrong child was named. Up to {REASON_MAX} characters.",
        error_messages={
            "required": "Give the reason for the amendment",
            "max_length": f"Give the reason in {REASON_MAX} characters or fewer",
        },
    )

    def __init__(self, *args, kind: str, record, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.record = kind, record
        for name, label in AMENDABLE[kind].fields.items():
            self.fields[name] = forms.CharField(
                label=label, required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4})
            )
        self.order_fields([*AMENDABLE[kind].fields, "reason"])

    @staticmethod
    def initial_from(kind: str, record) -> dict:
        return {name: getattr(record, name) for name in AMENDABLE[kind].fields}

    def clean(self):
        cleaned = super().clean()
        if self.kind == "note":
            # An amended visit still holds its minimum content (seed 003, 10.2); any note says what happened.
            needed = CaseNoteForm.VISIT_MINIMUM if self.record.kind in CaseNote.IN_PERSON_KINDS else {}
            needed = {**needed, "details": "what happened"}
            for name, what in needed.items():
                if name not in self.errors and not (cleaned.get(name) or "").strip():
                    self.add_error(name, f"The record needs {what}")
        return cleaned

    def changes(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in AMENDABLE[self.kind].fields}
