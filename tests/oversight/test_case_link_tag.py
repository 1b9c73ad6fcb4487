"""`{% case_link %}` builds exactly the markup of oversight/includes/case_link.html (ADR 49: no template
rendered per table row), escaping what it shows."""

from __future__ import annotations

import pytest
from django.template import engines
from django.template.loader import render_to_string

from tests.workflows.helpers import S, make_episode

pytestmark = pytest.mark.django_db


def test_the_tag_is_the_include(users, team):
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    episode.family.name = 'The <b>"Smith" & Jones</b> household'
    included = render_to_string("oversight/includes/case_link.html", {"e": episode})
    tagged = engines["django"].from_string("{% load oversight_tags %}{% case_link e %}").render({"e": episode})
    assert tagged == included.rstrip("\n")  # the file ends with a newline; the markup is the same
    assert "<b>" not in tagged and "&lt;b&gt;" in tagged


@pytest.mark.parametrize(
    "row",
    [
        None,
        {},
        {"run": 0, "judged_expected": 0, "judged_maximum": 0, "open": 0},
        {
            "run": 1234,
            "judged_expected": 12,
            "met_expected": 8,
            "pct_expected": 66.7,
            "judged_maximum": 1200,
            "met_maximum": 1199,
            "pct_maximum": 99.9,
            "open": 34,
        },
    ],
)
def test_the_timeliness_cells_tag_is_the_include(row):
    """`{% timeliness_cells %}` (ADR 56): the dashboard's drill-downs no longer render a template per row."""
    included = render_to_string("oversight/includes/timeliness_cells.html", {"t": row})
    tagged = engines["django"].from_string("{% load oversight_tags %}{% timeliness_cells t %}").render({"t": row})
    assert tagged == included.rstrip("\n")
