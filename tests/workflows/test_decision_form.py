"""The contact decision form reveals each decision's own question under its radio (GOV.UK conditional reveal),
and no select anywhere shows Django's "---------" placeholder (ADR 0036)."""

from __future__ import annotations

import re

import pytest
from crispy_forms.utils import render_crispy_form
from django import forms

from cases.forms import DecisionForm
from cases.models import Contact
from kit.forms import EMPTY_CHOICE, GdsForm
from tests.factories import NOW

pytestmark = pytest.mark.django_db


def test_each_decision_reveals_only_its_own_question():
    html = render_crispy_form(DecisionForm(now=NOW, initial={"version": 1}))
    assert 'data-module="govuk-radios"' in html and "---------" not in html
    for value, field in ((Contact.Decision.ALLOCATE, "team"), (Contact.Decision.MEETING, "meeting_kind")):
        radio = re.search(rf'<input[^>]*value="{value}"[^>]*>', html).group(0)
        panel = re.search(r'data-aria-controls="([^"]+)"', radio).group(1)
        revealed = re.search(
            rf'<div class="govuk-radios__conditional[^"]*" id="{panel}">(.*?)</div>\s*</div>', html, re.S
        )
        assert revealed and f'name="{field}"' in revealed.group(1), value
    assert "Choose a team" in html
    # A radio with nothing to reveal points at nothing (an aria-controls to a missing id fails axe).
    assert html.count("data-aria-controls=") == 3 and " aria-controls=" not in html


def test_an_allocation_without_a_team_is_refused_with_the_question_revealed():
    form = DecisionForm(
        data={"decision": Contact.Decision.ALLOCATE, "rationale": "Needs support", "version": "1"}, now=NOW
    )
    assert not form.is_valid() and "team" in form.errors
    html = render_crispy_form(form)
    assert 'class="govuk-radios__conditional" id=' in html  # the chosen decision's question stays open


def test_no_select_keeps_djangos_empty_label():
    class Example(GdsForm):
        kind = forms.ChoiceField(choices=[("", "---------"), ("a", "A")], required=False)
        owner = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False)

    html = render_crispy_form(Example())
    assert "---------" not in html and html.count(EMPTY_CHOICE) == 2
