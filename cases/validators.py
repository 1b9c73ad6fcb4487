"""Checks on what people type: identifiers (NHS number, UPN, postcode) and hidden characters."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

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


def validate_no_bidi_controls(value: str) -> None:
    if BIDI_CONTROLS.search(value or ""):
        raise ValidationError(BIDI_CONTROLS_MESSAGE, code="bidi_controls")


def is_single_line(field: forms.Field) -> bool:
    """A one-line text answer: a name, a title, a reference (free text is a textarea)."""
    return isinstance(field, forms.CharField) and not isinstance(field.widget, forms.Textarea)


def _is_password(field: forms.Field | None) -> bool:
    # A password is never shown nor kept as text: any character may be part of it.
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
            if not isinstance(value, str) or name in self.errors or _is_password(field):
                continue
            if CONTROL_CHARACTERS.search(value):
                self.add_error(name, CONTROL_CHARACTERS_MESSAGE)
            elif field is not None and is_single_line(field) and BIDI_CONTROLS.search(value):
                self.add_error(name, BIDI_CONTROLS_MESSAGE)
        return cleaned


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def nhs_number_is_valid(value: str) -> bool:
    digits = normalise_nhs_number(value)
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def validate_nhs_number(value: str) -> None:
    digits = normalise_nhs_number(value)
    if not re.fullmatch(r"\d{10}", digits):
        raise ValidationError("Enter an NHS number with 10 digits, like 943 476 5919", code="nhs_format")
    if not nhs_number_is_valid(digits):
        raise ValidationError("Enter a valid NHS number: the check digit does not match", code="nhs_check")


# The UPN check letter alphabet omits I, O and S.
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(rest: str) -> str:
    weights = range(2, 14)
    total = 0
    for ch, weight in zip(rest, weights, strict=True):
        if ch.isdigit():
            total += int(ch) * weight
        else:
            total += _UPN_LETTERS.index(ch) * weight
    return _UPN_LETTERS[total % 23]


def validate_upn(value: str) -> None:
    upn = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]\d{11}[A-HJ-NP-RT-Z0-9]", upn):
        raise ValidationError(
            "Enter a Unique Pupil Number of 13 characters: a letter, 11 digits, then a letter or digit",
            code="upn_format",
        )
    if upn[0] != upn_check_letter(upn[1:]):
        raise ValidationError("Enter a valid Unique Pupil Number: the check letter does not match", code="upn_check")


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s", "", (value or "").upper())
    if len(compact) > 3:
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def validate_postcode(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", (value or "").strip().upper()):
        raise ValidationError("Enter a real postcode, like SW1A 1AA", code="postcode")


def soundex(name: str) -> str:
    """American Soundex, so that 'Smtih' and 'Smith' match when looking for existing records."""
    letters = [c for c in (name or "").upper() if c.isalpha()]
    if not letters:
        return ""
    codes = {
        **dict.fromkeys("BFPV", "1"),
        **dict.fromkeys("CGJKQSXZ", "2"),
        **dict.fromkeys("DT", "3"),
        "L": "4",
        **dict.fromkeys("MN", "5"),
        "R": "6",
    }
    first = letters[0]
    result = [first]
    previous = codes.get(first, "")
    for ch in letters[1:]:
        code = codes.get(ch, "")
        if code and code != previous:
            result.append(code)
        if ch not in "HW":
            previous = code
    return ("".join(result) + "000")[:4]
