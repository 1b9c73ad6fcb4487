import pytest
from django.core.exceptions import ValidationError

from cases.validators import (
    nhs_number_is_valid,
    normalise_postcode,
    soundex,
    upn_check_letter,
    validate_nhs_number,
    validate_upn,
)


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "485-777-3457", "4010232137"])
def test_valid_nhs_numbers(number):
    assert nhs_number_is_valid(number)
    validate_nhs_number(number)


@pytest.mark.parametrize("number", ["9434765918", "4857773456", "1234567890"])
def test_wrong_check_digit_is_refused_with_a_clear_message(number):
    with pytest.raises(ValidationError, match="check digit does not match"):
        validate_nhs_number(number)


def test_nhs_number_format():
    with pytest.raises(ValidationError, match="10 digits"):
        validate_nhs_number("12345")


def test_upn_check_letter_round_trip():
    body = "82011101001" + "3"
    upn = upn_check_letter(body) + body
    validate_upn(upn)
    wrong = ("B" if upn[0] != "B" else "C") + body
    with pytest.raises(ValidationError, match="check letter"):
        validate_upn(wrong)


def test_postcode_and_soundex():
    assert normalise_postcode("zz11ab") == "ZZ1 1AB"
    assert soundex("Smith") == soundex("Smtih") == soundex("Smyth") == "S530"
    assert soundex("Robert") == soundex("Rupert") == "R163"
    assert soundex("Ashcraft") == "A261"
