"""The rulebook editor's forms: one rule, publishing a draft, importing a TOML file (ADR 0034)."""

from __future__ import annotations

import re

from django import forms

from deadlines.calendar import UNITS
from deadlines.events import EVENTS
from deadlines.models import RulebookVersion
from deadlines.rulebook import APPLIES_TO, ROUTING_ROLES
from deadlines.versions import limit_problem
from kit.forms import MAX_TEXT, SafeTextMixin, gds_helper

UNIT_CHOICES = [("", "No limit")] + [(u, u.replace("_", " ").capitalize()) for u in UNITS]
EVENT_CHOICES = [(e, e.replace("_", " ")) for e in sorted(EVENTS)]
ROLE_CHOICES = [(r, r.replace("_", " ").capitalize()) for r in ROUTING_ROLES]
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_UNKNOWN_EVENT = {"invalid_choice": "%(value)s is not an event the system records: choose from the list"}


def _events(label: str, *, required: bool = False, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=EVENT_CHOICES,
        required=required,
        help_text=help_text,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        error_messages={**_UNKNOWN_EVENT, "required": f"Choose at least one event for ‘{label}’"},
    )


class RuleForm(SafeTextMixin, forms.Form):
    """One rule of a draft. `edit_version` is the draft's when the form was opened (ADR 0004)."""

    id = forms.CharField(
        label="Reference", max_length=20, help_text="For example, B2", error_messages={"required": "Enter a reference"}
    )
    title = forms.CharField(label="Title", max_length=200, error_messages={"required": "Enter a title"})
    applies_to = forms.ChoiceField(
        label="The clock is kept on",
        choices=[(a, a.capitalize()) for a in APPLIES_TO],
        error_messages={"invalid_choice": "Choose a contact, an episode or a worker"},
    )
    starts_on = _events("Starts when", required=True)
    stops_on = _events("Stops when any of these happens")
    stops_on_all = _events(
        "Stops only when all of these have happened", help_text="Leave empty unless it needs two or more"
    )
    ends_on = _events("Withdrawn without judging when", help_text="For example, the episode closed")
    expected_amount = forms.IntegerField(
        label="Expected within (amount)", required=False, min_value=0, max_value=10_000
    )
    expected_unit = forms.ChoiceField(label="Expected within (unit)", choices=UNIT_CHOICES, required=False)
    maximum_amount = forms.IntegerField(label="Maximum (amount)", required=False, min_value=0, max_value=10_000)
    maximum_unit = forms.ChoiceField(label="Maximum (unit)", choices=UNIT_CHOICES, required=False)
    recurs = forms.BooleanField(label="Starts again each time it stops", required=False)
    flag_only = forms.BooleanField(label="An aim: flagged when passed, never breached", required=False)
    per_record = forms.BooleanField(label="One clock per record (each assessment, plan, visit)", required=False)
    exempt_routes = forms.CharField(
        label="Contact routes it does not apply to",
        required=False,
        max_length=200,
        help_text="Lowercase names separated by commas, for example: dart",
    )
    acts = forms.ChoiceField(label="Who does the task", choices=ROLE_CHOICES)
    escalate_to = forms.MultipleChoiceField(
        label="Also told of a breach",
        choices=ROLE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "%(value)s is not a role alerts can reach"},
    )
    source = forms.CharField(
        label="The sentence in the council's procedure", required=False, max_length=MAX_TEXT, widget=forms.Textarea
    )
    edit_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, adding: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()
        if not adding:
            self.fields["id"].disabled = True

    def _limit(self, cleaned: dict, name: str, label: str) -> dict | None:
        amount, unit = cleaned.get(f"{name}_amount"), cleaned.get(f"{name}_unit")
        if amount is None and not unit:
            return None
        if amount is None:
            self.add_error(f"{name}_amount", f"Enter the amount for the {label}, or choose ‘No limit’ as its unit")
            return None
        if not unit:
            self.add_error(f"{name}_unit", f"Choose the unit of the {label}")
            return None
        limit = {"amount": amount, "unit": unit}
        problem = limit_problem(limit, label)
        if problem:
            self.add_error(f"{name}_amount", problem)
        return limit

    def clean(self):
        cleaned = super().clean()
        rule_id = cleaned.get("id") or ""
        if rule_id and not (rule_id.isascii() and rule_id.replace("-", "").isalnum()):
            self.add_error("id", "Use letters, digits and hyphens only, for example B2")
        cleaned["expected"] = self._limit(cleaned, "expected", "expected time")
        cleaned["maximum"] = self._limit(cleaned, "maximum", "maximum")
        if not self.errors and cleaned["expected"] is None and cleaned["maximum"] is None:
            self.add_error("maximum_amount", "Give an expected time, a maximum, or both")
        stops, stops_all = cleaned.get("stops_on") or [], cleaned.get("stops_on_all") or []
        if "stops_on" not in self.errors and not stops and not stops_all:
            self.add_error("stops_on", "Choose at least one event that stops the clock")
        if len(stops_all) == 1:
            self.add_error("stops_on_all", "Choose two or more events here, or move the one to ‘Stops when any…’")
        if set(stops) & set(stops_all):
            self.add_error("stops_on_all", "An event cannot be in both lists of stopping events")
        routes = [r.strip() for r in (cleaned.get("exempt_routes") or "").split(",") if r.strip()]
        if any(not SLUG_PATTERN.match(r) for r in routes):
            self.add_error("exempt_routes", "Use lowercase route names separated by commas, for example: dart")
        cleaned["routes"] = routes
        acts, escalate = cleaned.get("acts"), cleaned.get("escalate_to") or []
        if acts and acts in escalate:
            self.add_error("escalate_to", "The role that does the task is told of a breach anyway: untick it here")
        return cleaned

    def table(self) -> dict:
        """The rule as its [[rule]] table in the rulebook file."""
        c = self.cleaned_data
        table: dict = {"id": c["id"], "title": c["title"], "starts_on": list(c["starts_on"])}
        if c["stops_on"]:
            table["stops_on"] = list(c["stops_on"])
        if c["stops_on_all"]:
            table["stops_on_all"] = list(c["stops_on_all"])
        if c["ends_on"]:
            table["ends_on"] = list(c["ends_on"])
        for name in ("expected", "maximum"):
            if c[name] is not None:
                table[name] = c[name]
        table.update(
            recurs=c["recurs"],
            applies_to=c["applies_to"],
            exempt_routes=c["routes"],
            flag_only=c["flag_only"],
            per_record=c["per_record"],
            source=c["source"],
            acts=c["acts"],
            escalate_to=list(c["escalate_to"]),
        )
        return table


def initial_from_table(table: dict, edit_version: int) -> dict:
    """The form's first values from a [[rule]] table."""
    initial = {k: table.get(k) for k in ("id", "title", "applies_to", "recurs", "flag_only", "per_record", "source")}
    for key in ("starts_on", "stops_on", "stops_on_all", "ends_on"):
        initial[key] = table.get(key, [])
    for name in ("expected", "maximum"):
        limit = table.get(name) or {}
        initial[f"{name}_amount"], initial[f"{name}_unit"] = limit.get("amount"), limit.get("unit", "")
    initial["exempt_routes"] = ", ".join(table.get("exempt_routes", []))
    initial["acts"] = table.get("acts", "lead_professional")
    initial["escalate_to"] = table.get("escalate_to", ["team_leader"])
    initial["edit_version"] = edit_version
    return initial


class PublishForm(SafeTextMixin, forms.Form):
    effective_at = forms.DateTimeField(
        label="Takes effect from",
        required=False,
        help_text="Leave empty for now. Otherwise a date and time such as 2027-01-04 09:00 (UK time)",
        input_formats=["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
        error_messages={"invalid": "Enter a date and time such as 2027-01-04 09:00"},
    )
    open_clocks = forms.ChoiceField(
        label="Clocks already running",
        choices=RulebookVersion.OpenClocks.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happens to the clocks already running"},
    )
    reason = forms.CharField(
        label="Why the rulebook is changing",
        max_length=300,
        error_messages={"required": "Say why the rulebook is changing"},
    )
    edit_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()


class ImportForm(SafeTextMixin, forms.Form):
    text = forms.CharField(
        label="The rulebook file (TOML)",
        widget=forms.Textarea(attrs={"rows": 20}),
        max_length=200_000,
        error_messages={"required": "Paste the contents of a rulebook file"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()


class EditVersionForm(SafeTextMixin, forms.Form):
    """The draft's edit version, for the one-button forms (retire a rule, discard the draft)."""

    edit_version = forms.IntegerField(widget=forms.HiddenInput)
