"""Forms of the daily screening (seed 003, 2.1; ADR 0038)."""

from __future__ import annotations

from datetime import datetime

from django import forms

from cases import selectors as case_selectors
from cases.models import Meeting, ScreeningItem
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin, parse_time
from kit.time import LONDON
from workflows.episode_forms import WhenMixin


class ScreeningStartForm(SafeTextMixin, WhenMixin, GdsForm):
    when_date_label = "Date of the screening"
    when_time_label = "Time it started"

    attendees = forms.CharField(
        label="Who attended",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: name and agency",
    )

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_when_fields(now=now)
        self.order_fields(["when_date", "when_time", "attendees"])

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        return cleaned


class ScreeningOutcomeForm(SafeTextMixin, GdsForm):
    outcome = forms.ChoiceField(
        label="Outcome of screening", choices=ScreeningItem.Outcome.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(label="Reason", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))
    screened_time = forms.CharField(label="Time screened", max_length=5, help_text="24-hour clock, for example 09:40")
    team = forms.ChoiceField(
        label="Early Help team (when allocating, or keeping oversight of single-agency support a partner leads)",
        required=False,
    )
    meeting_kind = forms.ChoiceField(
        label="Meeting (when taking to a multi-agency meeting)",
        choices=[("", "Choose a meeting"), *Meeting.Kind.choices],
        required=False,
    )
    agency = forms.CharField(label="Agency that agreed to support (single-agency)", max_length=200, required=False)
    lead_partner = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Lead professional at a registered partner agency (single-agency, optional)",
        empty_label="None: the agency named above leads outside this system",
    )

    def __init__(self, *args, teams, held_on, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_partner"].queryset = case_selectors.partner_leads_available()
        self.fields["lead_partner"].label_from_instance = lambda u: f"{u.get_full_name()}, {u.partner_organisation}"
        self.teams = {str(t.pk): t for t in teams}
        self.fields["team"].choices = [("", "Choose a team"), *((pk, str(t)) for pk, t in self.teams.items())]
        self.held_on = held_on
        self.now = now

    def clean_screened_time(self):
        return parse_time(self.cleaned_data.get("screened_time", ""))

    def clean(self):
        cleaned = super().clean()
        at = cleaned.get("screened_time")
        if at:
            when = datetime.combine(self.held_on, at, tzinfo=LONDON)
            if when > self.now:
                self.add_error("screened_time", "The time screened must not be in the future")
            cleaned["screened_at"] = when
        outcome = cleaned.get("outcome")
        if outcome == ScreeningItem.Outcome.ALLOCATE and not cleaned.get("team"):
            self.add_error("team", "Choose the Early Help team to allocate to")
        if outcome == ScreeningItem.Outcome.MEETING and not cleaned.get("meeting_kind"):
            self.add_error("meeting_kind", "Choose the meeting: NAM, MAAM or ICDM")
        if outcome == ScreeningItem.Outcome.SINGLE_AGENCY and cleaned.get("lead_partner"):
            if not cleaned.get("team"):
                self.add_error("team", "Choose the Early Help team that keeps oversight")
        elif outcome == ScreeningItem.Outcome.SINGLE_AGENCY and not (cleaned.get("agency") or "").strip():
            self.add_error("agency", "Name the agency that agreed to support the family")
        cleaned["team_obj"] = self.teams.get(cleaned.get("team") or "")
        return cleaned
