"""The project's GOV.UK components as template tags: `{% load ui %}`.

One tag per component the pages repeat, so the markup lives in one template each:

- `{% error_summary_for form [other_form ...] %}`: the one error summary of a page, for all its forms;
- `{% status_tag status %}`: a deadline's status (breached, overdue, due soon, ...) as a coloured tag;
- `{% govuk_tag text colour %}`: any other tag;
- `{% deadline_link pk rule title %}`: the deadline cell, "<rule>: <title>" linked to why it is due;
- `{% deadline_due due maximum now %}`: when something is due, with "Breached" or "Overdue" once late;
- `{% table_head "Name" "Caseload" numeric="2" %}`: a table's header row;
- `{% summary_row "Key" value %}`: a summary list row;
- `{% page_href querystring number %}` and `{% query_suffix querystring %}`: links that keep the filters.
"""

from __future__ import annotations

from django import forms, template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.timezone import template_localtime

from kit.markup import format_html
from kit.querystring import with_param

register = template.Library()

# Deadline status -> (words shown, GOV.UK tag colour). Sentence case, as GOV.UK writes tags.
STATUS_TAGS = {
    "breached": ("Breached", "red"),
    "overdue": ("Overdue", "orange"),
    "due_soon": ("Due soon", "yellow"),
    "on_time": ("On time", "blue"),
    "met_late": ("Met late", "pink"),
    "met": ("Met", "green"),
    "withdrawn": ("Withdrawn", "grey"),
}


def _status_words(status) -> tuple[str, str]:
    if status in STATUS_TAGS:
        return STATUS_TAGS[status]
    return (str(status).replace("_", " ").capitalize(), "grey")


def _tag(text, colour="") -> str:
    """`<strong class="govuk-tag ...">` (the markup of includes/tag.html), built here: these tags sit in
    table rows, and rendering a template per row is what made long tables slow (ADR 43)."""
    if not text:
        return ""
    if colour:
        return format_html('<strong class="govuk-tag govuk-tag--{}">{}</strong>', colour, text)
    return format_html('<strong class="govuk-tag">{}</strong>', text)


@register.simple_tag
def status_tag(status):
    """The tag of a deadline status; an unknown status is shown in grey, in words, never dropped."""
    if not status:
        return ""
    return _tag(*_status_words(status))


@register.simple_tag
def govuk_tag(text, colour=""):
    return _tag(text, colour)


@register.simple_tag
def deadline_due(due, maximum, now, date_format="j F Y, H:i"):
    """When it is due; "Breached" once past its maximum, "Overdue" once past its due time; – if nothing.
    (The markup of includes/deadline_due.html, built here for the same reason as `_tag`.)"""
    if not due:
        return "–"
    return due_markup(date_filter(template_localtime(due), date_format), due, maximum, now)


def due_markup(shown: str, due, maximum, now) -> str:
    """`deadline_due`'s markup for a due time already written as `shown` (a list row writes it itself)."""
    if maximum and maximum < now:
        return format_html('{} <strong class="govuk-tag govuk-tag--red">Breached</strong>', shown)
    if due < now:
        return format_html('{} <strong class="govuk-tag govuk-tag--orange">Overdue</strong>', shown)
    return format_html("{}", shown)


def _error_items(form) -> list[tuple[str, str]]:
    """(link target id or "", message) for every error of a bound form, in the order of its fields."""
    items: list[tuple[str, str]] = [("", str(error)) for error in form.non_field_errors()]
    for field in form.hidden_fields():
        items.extend(("", f"{field.label}: {error}") for error in field.errors)
    for field in form.visible_fields():
        seen: list[str] = []
        for index, subfield in enumerate(getattr(field.field, "fields", ()) or ()):
            for error in getattr(subfield.widget, "errors", []) or []:
                items.append((f"{field.auto_id}_{index}", str(error)))
                seen.append(error)
        target = field.auto_id
        if getattr(field.field, "fields", None):
            target = f"{field.auto_id}_0"  # a GOV.UK date input: its first box (the day)
        elif isinstance(field.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
            target = f"id_{field.html_name}_1"  # radios and checkboxes: the first one, as crispy-forms-gds names it
        items.extend((target, str(error)) for error in field.errors if error not in seen)
    return items


@register.inclusion_tag("includes/error_summary.html")
def error_summary_for(*forms):
    """One GOV.UK error summary for every form of the page; a list stands for its forms (e.g. a formset's).

    Forms that are missing or unbound are skipped, so a page passes all its forms and shows the errors of
    the one that was posted."""
    items: list[tuple[str, str]] = []
    flat = [f for form in forms for f in (form if isinstance(form, list | tuple) else [form])]
    for form in flat:
        if form is not None and getattr(form, "is_bound", False) and form.errors:
            items.extend(_error_items(form))
    return {"items": items}


@register.inclusion_tag("includes/table_head.html")
def table_head(*headings, numeric=""):
    """`<thead>` with one column header per heading; `numeric="2,3"` right-aligns those columns (from 1)."""
    numbers = {int(n) for n in str(numeric).split(",") if n.strip().isdigit()}
    return {"headings": [(heading, index in numbers) for index, heading in enumerate(headings, start=1)]}


@register.inclusion_tag("includes/summary_row.html")
def summary_row(key, value, default="–"):
    return {"key": key, "value": value, "default": default}


@register.simple_tag
def page_href(querystring, number):
    """`?<filters>&page=N`, escaped for an href."""
    return format_html("?{}", with_param(querystring or "", "page", number))


@register.simple_tag
def query_suffix(querystring):
    """`?<filters>` when there are filters, else nothing."""
    return format_html("?{}", querystring) if querystring else ""


@register.simple_tag
def deadline_link(pk, rule, title):
    """The deadline cell: "<rule>: <title>", linked to the page that explains why it is due
    (the markup of includes/deadline_link.html, built here for the same reason as `_tag`)."""
    return deadline_link_markup(reverse("deadlines:clock_explain", args=[pk]), rule, title)


def deadline_link_markup(href: str, rule, title) -> str:
    """`deadline_link`'s markup for a link already reversed (a list row reverses the pattern once, ADR 58)."""
    return format_html(
        '<a class="govuk-link" href="{}">{}: {}<span class="govuk-visually-hidden">, why is this due?</span></a>',
        href,
        rule,
        title,
    )
