"""The filters of the episode's sub-pages (ADR 35): read from the query string, never a 500."""

from __future__ import annotations

from django import forms

from cases.models import CaseNote
from kit.forms import GdsForm, SafeTextMixin, date_field


class NoteFilterForm(SafeTextMixin, GdsForm):
    """Which visits and case notes the notes page lists: of one kind, from and to a day (both included)."""

    kind = forms.ChoiceField(label="Kind", choices=[("", "All kinds"), *CaseNote.Kind.choices], required=False)
    since = date_field("From", required=False, help_text="For example, 1 9 2026")
    until = date_field("To", required=False, help_text="For example, 30 11 2026")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The ‘to’ date must be the same as or after the ‘from’ date")
        return cleaned

    def filters(self) -> dict:
        """The filters in force: none of those that were refused."""
        self.is_valid()  # a refused field is left out of cleaned_data
        return {name: self.cleaned_data.get(name) for name in ("kind", "since", "until")}
