"""`kit.markup` gives the characters Django's `conditional_escape` and `format_html` give (ADR 89)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.utils import html as django_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from kit import markup


class _HasMarkup:
    def __html__(self) -> str:
        return "<b>already markup</b>"


VALUES = [
    "plain",
    "",
    "<script>alert('x') & \"y\"</script>",
    mark_safe("<em>safe</em>"),
    SafeString("a & b"),
    gettext_lazy("Breached <now>"),
    0,
    1234567,
    -3.5,
    Decimal("2.50"),
    None,
    True,
    datetime.date(2026, 3, 29),
    datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC),
    _HasMarkup(),
    forms.CharField().widget.render("name", "<x>"),
    ["a", "<b>"],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + str(v)[:20])
def test_escaped_and_conditional_escape_are_djangos(value):
    expected = django_html.conditional_escape(value)
    assert markup.escaped(value) == str(expected)
    ours = markup.conditional_escape(value)
    assert ours == expected and isinstance(ours, SafeString)


def test_format_html_is_djangos_for_every_kind_of_value():
    template = "<p>" + "".join(f"<span>{{{n}}}</span>" for n in range(len(VALUES))) + "</p>"
    ours = markup.format_html(template, *VALUES)
    assert ours == django_html.format_html(template, *VALUES) and isinstance(ours, SafeString)
    link, values = '<a href="{href}">{label}</a>', {"href": "/x?a=1&b=2", "label": mark_safe("<i>1</i>")}
    assert markup.format_html(link, **values) == django_html.format_html(link, **values)
    assert markup.format_html("{}", gettext_lazy("Overdue")) == "Overdue"


def test_format_html_without_values_is_refused():
    with pytest.raises(TypeError):
        markup.format_html("<p>nothing to escape</p>")
