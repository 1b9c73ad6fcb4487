"""Form bases and GOV.UK field builders every app's forms share.

- `GdsForm` / `GdsModelForm`: forms rendered with the GOV.UK Design System (crispy-forms-gds), the
  `<form>` tag written by the template (`gds_helper`).
- `SafeTextMixin`: refuses hidden characters in every answer (tests/security/test_hidden_characters.py
  checks every form of the product includes it, or says why not).
- `date_field` (the GOV.UK day/month/year input that refuses dates that do not exist) and `parse_time`
  (24-hour "14:30").
- `MAX_TEXT`: the longest free-text answer kept, in characters.
"""

from __future__ import annotations

import re
from datetime import time

from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError

MAX_TEXT = 10_000

# Characters that have no place in a case record: C0 controls except tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Unicode bidirectional controls: embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069),
# the left-to-right, right-to-left and Arabic letter marks (U+200E, U+200F, U+061C). A right-to-left
# override makes "Smith\u202eexe.pdf" read "Smithfdp.exe": in a name or a file name it can only mislead.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")

CONTROL_CHARACTERS_MESSAGE = "Remove the invisible control characters from this answer"
BIDI_CONTROLS_MESSAGE = (
    "Remove the hidden characters that change the direction of the text (they can make a name read differently)"
)


def has_hidden_characters(value: str) -> bool:
    """Control characters or bidirectional controls anywhere in `value` (a file name, a one-line answer)."""
    return bool(CONTROL_CHARACTERS.search(value or "") or BIDI_CONTROLS.search(value or ""))


def validate_no_bidi_controls(value: str) -> None:
    if BIDI_CONTROLS.search(value or ""):
        raise ValidationError(BIDI_CONTROLS_MESSAGE, code="bidi_controls")


def is_single_line(field: forms.Field) -> bool:
    """A one-line text answer: a name, a title, a reference (free text is a textarea)."""
    return isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea)


def is_password(field: forms.Field | None) -> bool:
    """A password is never shown nor kept as text: any character may be part of it."""
    return field is not None and isinstance(field.widget, forms.PasswordInput)


class SafeTextMixin:
    """Refuse hidden characters in every answer of a form, whatever its fields.

    Control characters are refused everywhere. Bidirectional controls are refused in every
    one-line answer (names of people, families, users, agencies and referrers, titles, references);
    multi-line free text keeps them, as someone writing Arabic or Hebrew may need the marks.
    Every form of the product includes this mixin (tests/security/test_hidden_characters.py checks).
    """

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            field = self.fields.get(name)
            if not isinstance(value, str) or name in self.errors or is_password(field):
                continue
            if CONTROL_CHARACTERS.search(value):
                self.add_error(name, CONTROL_CHARACTERS_MESSAGE)
            elif field is not None and is_single_line(field) and BIDI_CONTROLS.search(value):
                self.add_error(name, BIDI_CONTROLS_MESSAGE)
        return cleaned


def gds_helper() -> FormHelper:
    """The crispy-forms-gds helper of every form: the template writes the `<form>` tag and its one CSRF token.

    crispy adds a CSRF token of its own to every form it renders, even without the `<form>` tag: a POST form
    then had two, and a GET form sent the token in its URL (ADR 0036).
    """
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


# The empty choice of a select, in words: never Django's "---------" (ADR 0036).
EMPTY_CHOICE = "Choose one"
DJANGO_EMPTY_LABEL = "---------"


def name_empty_choices(form: forms.BaseForm) -> None:
    """Give every select's empty choice words instead of Django's "---------" placeholder."""
    for field in form.fields.values():
        if isinstance(field, forms.ModelChoiceField):
            if field.empty_label == DJANGO_EMPTY_LABEL:
                field.empty_label = EMPTY_CHOICE
        elif isinstance(field, forms.ChoiceField) and any(label == DJANGO_EMPTY_LABEL for _, label in field.choices):
            field.choices = [
                (value, EMPTY_CHOICE if label == DJANGO_EMPTY_LABEL else label) for value, label in field.choices
            ]


class GdsForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()
        name_empty_choices(self)


class GdsModelForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()
        name_empty_choices(self)


class SafeDateInputField(DateInputField):
    """The GOV.UK date input, refusing any day, month and year that make no date (even a huge year)."""

    def compress(self, data_list):
        try:
            return super().compress(data_list)
        except (OverflowError, ValueError, forms.ValidationError):
            raise forms.ValidationError("Enter a real date, for example 27 3 2026") from None


def date_field(label: str, *, required: bool = True, help_text: str = "For example, 27 3 2026") -> DateInputField:
    """A GOV.UK date input (day, month, year) for a form."""
    return SafeDateInputField(label=label, required=required, help_text=help_text, require_all_fields=False)


def parse_time(value: str) -> time:
    """A time of day typed in 24-hour format ("14:30" or "14.30"); a ValidationError that says so otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", value or "")
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise forms.ValidationError("Enter a time in 24-hour format, like 14:30")
    return time(int(match.group(1)), int(match.group(2)))
