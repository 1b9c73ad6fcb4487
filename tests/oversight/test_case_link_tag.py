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
