"""The base layout's fixed links (`{% fixed_url %}`, ADR 67) are `{% url %}`'s, reversed once."""

from __future__ import annotations

from unittest import mock

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix

from earlyhelp.templatetags import layout

NAMES = ("home", "deadlines:alerts", "jobs:list", "logout")


def render(text: str) -> str:
    return Template("{% load layout %}" + text).render(Context({}))


def test_the_same_urls_as_the_url_tag_reversed_once():
    for name in NAMES:
        assert render(f"{{% fixed_url '{name}' %}}") == render(f"{{% url '{name}' %}}") == reverse(name)
    with mock.patch.object(layout, "reverse", side_effect=AssertionError("reversed again")):
        assert [render(f"{{% fixed_url '{name}' %}}") for name in NAMES] == [reverse(name) for name in NAMES]


def test_another_script_prefix_gets_its_own():
    try:
        set_script_prefix("/council/")
        assert render("{% fixed_url 'logout' %}") == "/council/sign-out/" == reverse("logout")
    finally:
        clear_script_prefix()
    assert render("{% fixed_url 'logout' %}") == "/sign-out/"


@pytest.mark.django_db
def test_the_layout_links_every_page_draws(client, users):
    client.force_login(users["coach"])
    html = client.get(reverse("jobs:list")).content.decode()
    for name in NAMES:
        assert f'href="{reverse(name)}"' in html or f'action="{reverse(name)}"' in html, name
