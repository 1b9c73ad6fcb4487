"""Forms of the oversight pages. Filters never fail a page: a bad value is reported and ignored."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from cases.models import add_months
from kit.forms import MAX_TEXT, SafeTextMixin, date_field, gds_helper
from oversight.models import ManagersDecision
from oversight.selectors import Period, default_period

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
MAX_PERIOD_DAYS = 2 * 366 + 1


def _textarea(label: str, *, required: bool = True, rows: int = 4, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class GdsForm(SafeTextMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()


# --- Filters (GET) -------------------------------------------------------------------------------


class FilterForm(forms.Form):
    """A GET filter: invalid values give a message and the page carries on without them."""

    def valid_or_empty(self) -> dict:
        if self.is_valid():
            return self.cleaned_data
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


class BoardFilterForm(FilterForm):
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    practitioner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    rule = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False)

    def __init__(self, data, *, teams, practitioners, rules, statuses=()):
        super().__init__(data)
        self.fields["team"].choices = [("", "")] + [(t.pk, t.name) for t in teams]
        self.fields["practitioner"].choices = [("", "Everyone")] + [
            (u.pk, u.get_full_name() or u.username) for u in practitioners
        ]
        self.fields["rule"].choices = [("", "All rules"), *rules]
        self.fields["status"].choices = [("", "Any status"), *statuses]
        for name in self.fields:
            self.fields[name].error_messages["invalid_choice"] = f"Choose a {name} from the list"


DATE_PARTS = ("day", "month", "year")


def date_parts_joined(data):
    """The GOV.UK date inputs `start-day`, `start-month`, `start-year` (and `end-...`) as one
    `start` value the date field reads: a whole date as YYYY-MM-DD, anything else as typed (so it
    is reported as not a real date). A link with `start=2026-09-01` still works."""
    data = data.copy()
    for name in ("start", "end"):
        parts = [(data.get(f"{name}-{part}") or "").strip() for part in DATE_PARTS]
        if not any(parts):
            continue
        day, month, year = parts
        if all(p.isascii() and p.isdigit() for p in parts) and len(year) == 4:
            data[name] = f"{year}-{int(month):02d}-{int(day):02d}"
        else:
            data[name] = " ".join(parts) or "?"
    return data


class PeriodFilterForm(FilterForm):
    """A period of whole local days, a team and a rule: shared by the dashboard and the reports."""

    start = forms.DateField(required=False, input_formats=DATE_FORMATS)
    end = forms.DateField(required=False, input_formats=DATE_FORMATS)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    rule = forms.ChoiceField(required=False)
    acknowledged = forms.ChoiceField(
        required=False, choices=[("no", "Not yet acknowledged"), ("yes", "Acknowledged"), ("all", "All")]
    )

    def __init__(self, data, *, teams, rules, today: date):
        super().__init__(None if data is None else date_parts_joined(data))
        self.today = today
        self.fields["team"].choices = [("", "All teams")] + [(t.pk, t.name) for t in teams]
        self.fields["rule"].choices = [("", "All rules"), *rules]
        self.fields["start"].error_messages["invalid"] = "Enter the start of the period as a real date"
        self.fields["end"].error_messages["invalid"] = "Enter the end of the period as a real date"
        for name in ("team", "rule", "acknowledged"):
            self.fields[name].error_messages["invalid_choice"] = f"Choose a {name} from the list"

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if end and end > self.today:
            self.add_error("end", "The end of the period cannot be in the future")
        if start and start.year < 2000:
            self.add_error("start", "The start of the period must be in 2000 or later")
        if start and end and start > end:
            self.add_error("end", "The end of the period must be on or after its start")
        elif start and end and (end - start).days > MAX_PERIOD_DAYS:
            self.add_error("start", "The period can be at most 2 years long")
        return cleaned

    def period(self) -> Period:
        data = self.valid_or_empty()
        default = default_period(self.today)
        start = data.get("start") or default.start
        end = data.get("end") or (self.today if data.get("start") else default.end)
        if "start" in self.errors or "end" in self.errors or start > end:
            return default
        return Period(start, end)


# --- Records -------------------------------------------------------------------------------------


class ManagersDecisionForm(GdsForm):
    oversees = forms.ChoiceField(
        label="What does this decision oversee?",
        choices=ManagersDecision.Oversees.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the decision oversees"},
    )
    record = forms.ChoiceField(
        label="Which record (optional)",
        required=False,
        help_text="Link the decision to the assessment, plan, review, closure request, step-up or case discussion",
    )
    decision = _textarea("Decision", help_text="What you have decided, including next steps and by when")
    rationale = _textarea("Rationale", help_text="Why: your analysis of risk, progress and the child's needs")

    def __init__(self, *args, record_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["record"].choices = [("", "Not linked to one record")] + list(record_choices)
        self.fields["record"].error_messages["invalid_choice"] = "Choose a record of this case from the list"
        self.fields["decision"].error_messages["required"] = "Enter the decision"
        self.fields["rationale"].error_messages["required"] = "Enter the rationale for the decision"

    def clean(self):
        cleaned = super().clean()
        record, oversees = cleaned.get("record"), cleaned.get("oversees")
        if record and oversees:
            kind = record.split(":", 1)[0]
            if kind != oversees:
                self.add_error("record", "The record chosen is not the kind of record this decision oversees")
        return cleaned


class BreachAcknowledgeForm(GdsForm):
    comment = _textarea(
        "Comment", help_text="What is being done about the breach, and why it happened if known", rows=3
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].error_messages["required"] = "Enter a comment saying what is being done"


class SupervisionForm(GdsForm):
    held_on = date_field("Date of the supervision")
    cases_discussed = forms.MultipleChoiceField(
        label="Cases discussed", required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = _textarea("Discussion and reflection", rows=6)

    def __init__(self, *args, case_choices, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["cases_discussed"].choices = case_choices
        self.fields["cases_discussed"].error_messages["invalid_choice"] = "Choose cases from the list"
        self.fields["notes"].error_messages["required"] = "Enter what was discussed in supervision"

    def clean_held_on(self):
        day = self.cleaned_data["held_on"]
        if day > self.today:
            raise forms.ValidationError("The date of the supervision must be today or in the past")
        if day < add_months(self.today, -12):
            raise forms.ValidationError("The date of the supervision cannot be more than a year ago")
        return day


class SupervisionActionForm(GdsForm):
    """One action agreed in supervision. A row left blank is ignored."""

    text = forms.CharField(label="Action", required=False, max_length=2000)
    episode = forms.ChoiceField(label="Case (optional)", required=False)
    assignee = forms.TypedChoiceField(label="Who will do it", coerce=int, required=False, empty_value=None)
    due_on = date_field("Due by", required=False)

    def __init__(self, *args, case_choices, assignee_choices, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["episode"].choices = [("", "Not about one case")] + list(case_choices)
        self.fields["assignee"].choices = list(assignee_choices)
        self.fields["episode"].error_messages["invalid_choice"] = "Choose a case from the list"
        self.fields["assignee"].error_messages["invalid_choice"] = "Choose who will do it from the list"

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("text", "").strip():
            if cleaned.get("due_on") or cleaned.get("episode"):
                self.add_error("text", "Enter what the action is, or clear the row")
            return cleaned
        if not cleaned.get("due_on") and "due_on" not in self.errors:
            self.add_error("due_on", "Enter the date the action is due by")
        if not cleaned.get("assignee") and "assignee" not in self.errors:
            self.add_error("assignee", "Choose who will do it")
        due = cleaned.get("due_on")
        if due and due > self.today + timedelta(days=366):
            self.add_error("due_on", "An action must be due within a year")
        return cleaned

    @property
    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("text") or "").strip()


class AnnexAForm(GdsForm):
    as_at = date_field(
        "Date the return is for", help_text="Usually the date the inspection was announced. For example, 27 3 2026"
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_as_at(self):
        day = self.cleaned_data["as_at"]
        if day > self.today + timedelta(days=1):
            raise forms.ValidationError("The date must be today, tomorrow or in the past")
        if day.year < 2000:
            raise forms.ValidationError("The date must be in 2000 or later")
        return day


# --- Retention -----------------------------------------------------------------------------------


class RetentionDeleteForm(GdsForm):
    """Deleting a family's records: the reference typed back, and the legal basis for it."""

    def __init__(self, *args, reference: str, **kwargs):
        self.reference = reference
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = f"Type {reference} to confirm"
        self.fields["confirm"].error_messages["required"] = f"Type {reference} to confirm the deletion"

    reason = forms.CharField(
        label="Legal basis for the deletion",
        min_length=20,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            "For example: the retention schedule's period has ended and no exception applies. "
            "It is kept with the record of the deletion: do not name the family or anyone in it."
        ),
        error_messages={
            "required": "Give the legal basis for the deletion",
            "min_length": "Give a fuller legal basis (at least 20 characters)",
        },
    )
    confirm = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip().upper()
        if value != self.reference:
            raise forms.ValidationError(f"Type {self.reference} to confirm the deletion")
        return value
