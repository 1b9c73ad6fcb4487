"""Checks on what people type: identifiers (NHS number, UPN, postcode).

The hidden-character check every form shares is `kit.forms.SafeTextMixin`.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError


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
