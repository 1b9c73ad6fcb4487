"""The shared UI kit: querystring helpers and the GOV.UK template tags of `{% load ui %}`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from crispy_forms_gds.fields import DateInputField
from django import forms
from django.http import QueryDict
from django.template import Context, Template
from django.urls import reverse

from kit.querystring import querystring, querystring_from, with_param
from kit.templatetags.ui import STATUS_TAGS
from kit.time import LONDON

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)


def render(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


def summaries(html: str) -> int:
    return len(re.findall(r'class="govuk-error-summary"', html))


# --- querystrings ---------------------------------------------------------------------------------


def test_querystring_keeps_the_filters_and_drops_the_page():
    params = QueryDict("team=3&page=4&route=email&route=phone&q=O%27Brien+%26+Co")
    assert querystring(params) == "team=3&route=email&route=phone&q=O%27Brien+%26+Co"
    assert querystring(params, drop=("page", "team")) == "route=email&route=phone&q=O%27Brien+%26+Co"
    assert params["page"] == "4"  # the request's own GET is not changed


def test_querystring_from_leaves_out_empty_filters():
    assert querystring_from(("route", "email"), ("team", None), ("older_than", 48)) == "route=email&older_than=48"
    assert querystring_from(("route", ""), ("team", 0)) == ""
    assert querystring_from(("q", "a&b=c")) == "q=a%26b%3Dc"


def test_with_param_appends_to_an_empty_or_a_full_querystring():
    assert with_param("", "page", 2) == "page=2"
    assert with_param("team=3", "page", 2) == "team=3&page=2"


def test_page_href_and_query_suffix_escape_for_an_attribute():
    assert render("{% page_href qs 3 %}", qs="team=3&route=email") == "?team=3&amp;route=email&amp;page=3"
    assert render("{% page_href qs 2 %}", qs="") == "?page=2"
    assert render("{% query_suffix qs %}", qs="team=3&x=1") == "?team=3&amp;x=1"
    assert render("{% query_suffix qs %}", qs="") == ""


# --- status tag, deadline cell --------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(STATUS_TAGS))
def test_every_status_has_one_tag_in_sentence_case(status):
    words, colour = STATUS_TAGS[status]
    html = render("{% status_tag status %}", status=status)
    assert html == f'<strong class="govuk-tag govuk-tag--{colour}">{words}</strong>'
    assert words[0].isupper() and words[1:] == words[1:].lower()


def test_an_unknown_status_is_shown_in_grey_words_and_no_status_shows_nothing():
    assert render("{% status_tag s %}", s="paused_for_court") == (
        '<strong class="govuk-tag govuk-tag--grey">Paused for court</strong>'
    )
    assert render("{% status_tag s %}", s="") == ""
    assert render("{% status_tag s %}", s="<b>") == '<strong class="govuk-tag govuk-tag--grey">&lt;b&gt;</strong>'


def test_deadline_due_says_breached_past_the_maximum_and_overdue_past_the_due_time():
    due = NOW - timedelta(hours=1)
    source = "{% deadline_due due maximum now %}"
    breached = render(source, due=due, maximum=NOW - timedelta(minutes=1), now=NOW)
    assert "2 March 2026, 09:00" in breached and "Breached" in breached and "Overdue" not in breached
    overdue = render(source, due=due, maximum=NOW + timedelta(days=1), now=NOW)
    assert "Overdue" in overdue and "Breached" not in overdue
    on_time = render(source, due=NOW + timedelta(hours=1), maximum=None, now=NOW)
    assert on_time == "2 March 2026, 11:00"
    assert render(source, due=None, maximum=None, now=NOW) == "–"


def test_deadline_link_links_the_rule_and_title_to_why_it_is_due():
    html = render("{% deadline_link 7 rule title %}", rule="EH-3", title="Assessment <done>")
    assert f'href="{reverse("deadlines:clock_explain", args=[7])}"' in html
    assert "EH-3: Assessment &lt;done&gt;" in html
    assert '<span class="govuk-visually-hidden">, why is this due?</span>' in html


# --- error summary --------------------------------------------------------------------------------


class VisitForm(forms.Form):
    what = forms.CharField(label="What happened")
    on = DateInputField(label="Date of the visit", require_all_fields=False)
    how = forms.ChoiceField(
        label="How", choices=[("visit", "Home visit"), ("call", "Phone call")], widget=forms.RadioSelect
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self):
        super().clean()
        raise forms.ValidationError("Someone else changed this visit first")


def test_one_summary_lists_field_hidden_and_form_errors_with_links_to_the_fields():
    form = VisitForm(data={"what": "", "on_0": "31", "on_1": "2", "on_2": "2026"})
    html = render("{% error_summary_for form %}", form=form)
    assert summaries(html) == 1
    assert "<li>Someone else changed this visit first</li>" in html
    assert '<a href="#id_what">This field is required.</a>' in html
    assert 'href="#id_on_0"' in html  # a date links to its first box
    assert 'href="#id_how_1"' in html  # radios link to the first radio
    assert "Version: This field is required." in html


def test_one_summary_for_all_the_forms_of_a_page_and_none_before_a_post():
    posted = VisitForm(data={"what": ""}, prefix="a")
    other = VisitForm(data={"what": ""}, prefix="b")
    html = render("{% error_summary_for first second third missing %}", first=posted, second=other, third=VisitForm())
    assert summaries(html) == 1
    assert 'href="#id_a-what"' in html and 'href="#id_b-what"' in html
    assert render("{% error_summary_for form rows %}", form=VisitForm(), rows=[VisitForm()]).strip() == ""
    assert summaries(render("{% error_summary_for form rows %}", form=VisitForm(), rows=[other])) == 1


def test_error_messages_are_escaped():
    form = VisitForm(data={"what": ""})
    form.add_error("what", "<script>alert(1)</script>")
    html = render("{% error_summary_for form %}", form=form)
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- table head, summary row ----------------------------------------------------------------------


def test_table_head_marks_numeric_columns():
    html = render('{% table_head "Team" "Open cases" numeric="2" %}')
    assert '<th scope="col" class="govuk-table__header">Team</th>' in html
    assert '<th scope="col" class="govuk-table__header govuk-table__header--numeric">Open cases</th>' in html


def test_summary_row_shows_a_dash_or_the_default_for_nothing_but_keeps_zero():
    assert '<dd class="govuk-summary-list__value">0</dd>' in render('{% summary_row "Children" n %}', n=0)
    assert ">–</dd>" in render('{% summary_row "Practitioner" who %}', who=None)
    assert ">Not allocated</dd>" in render('{% summary_row "Practitioner" who default="Not allocated" %}', who="")
