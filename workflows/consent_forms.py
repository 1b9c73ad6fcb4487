"""Forms for withdrawing a consent (ADR 0038)."""

from __future__ import annotations

from datetime import datetime

from django import forms

from cases.models import WITHDRAWAL_METHODS
from kit.forms import GdsForm, SafeTextMixin
from workflows.episode_forms import WhenMixin

SOMEONE_ELSE = "other"


class ConsentWithdrawForm(SafeTextMixin, WhenMixin, GdsForm):
    when_date_label = "Date the family told us"
    when_time_label = "Time"

    told_by = forms.ChoiceField(label="Who told us?", widget=forms.RadioSelect)
    told_by_name = forms.CharField(
        label="Name of the person who told us (if not listed)", max_length=200, required=False
    )
    how = forms.ChoiceField(label="How did they tell us?", choices=WITHDRAWAL_METHODS, widget=forms.RadioSelect)

    def __init__(self, *args, people: list, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {str(p.pk): p for p in people}
        self.fields["told_by"].choices = [(pk, str(p)) for pk, p in self.people.items()] + [
            (SOMEONE_ELSE, "Someone else (type their name)")
        ]
        self.add_when_fields(now=now)
        self.order_fields(["told_by", "told_by_name", "when_date", "when_time", "how"])

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        told_by = cleaned.get("told_by")
        if told_by == SOMEONE_ELSE:
            if not (cleaned.get("told_by_name") or "").strip():
                self.add_error("told_by_name", "Type the name of the person who told us")
            cleaned["person"] = None
        elif told_by:
            cleaned["person"] = self.people.get(told_by)
        return cleaned
