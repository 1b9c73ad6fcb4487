"""The closure day form (a GOV.UK date input and a reason) and the choice of a service's procedure."""

from __future__ import annotations

from crispy_forms_gds.fields import DateInputField
from django import forms

from deadlines.calendar import DEFAULT_YEARS
from deadlines.models import ClosureDay
from kit.forms import SafeTextMixin, gds_helper


class ClosureDayForm(SafeTextMixin, forms.Form):
    date = DateInputField(
        label="Date the service is closed",
        help_text="For example, 29 12 2026",
        require_all_fields=False,
    )
    reason = forms.CharField(
        max_length=200,
        help_text="For example, Christmas closure",
        error_messages={"required": "Enter the reason the service is closed"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day.year not in DEFAULT_YEARS:
            raise forms.ValidationError(f"Enter a date between {DEFAULT_YEARS.start} and {DEFAULT_YEARS.stop - 1}")
        if ClosureDay.objects.filter(date=day).exists():
            raise forms.ValidationError(f"{day:%-d %B %Y} is already a closure day")
        return day


class ServiceProcedureForm(SafeTextMixin, forms.Form):
    """Which council procedure (rulebook) a service's clocks follow; blank is the deployment default."""

    rulebook = forms.ChoiceField(
        label="Procedure this service follows",
        widget=forms.RadioSelect,
        required=False,
        error_messages={"invalid_choice": "Choose one of the procedures listed"},
    )
    # The procedure when the page was opened: a change made meanwhile is not overwritten.
    expected = forms.CharField(widget=forms.HiddenInput, required=False, max_length=60)

    def __init__(self, *args, choices: list[tuple[str, str]], default_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rulebook"].choices = [("", default_label), *choices]
        self.helper = gds_helper()
