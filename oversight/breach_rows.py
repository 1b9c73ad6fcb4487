"""The breach rows of the dashboard and its list of breaches (oversight/includes/breach_rows.html):
each row's five cells built once in Python, the links reversed once per process (ADR 74)."""

from __future__ import annotations

from django.template.defaultfilters import timesince_filter, truncatewords
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from cases.models import Contact, Episode
from kit.links import href_for
from kit.templatetags.ui import deadline_link_markup
from oversight.templatetags.oversight_tags import when_text


def breach_cells(rows, *, now, querystring: str) -> list:
    """Each breach's five cells as oversight/includes/breach_rows.html shows them (`row.cells`), built
    here with the links reversed once per page, not with a URL tag and filters per cell (ADR 74)."""
    episode_href, contact_href, clock_href, acknowledge_href = _breach_hrefs()
    suffix = f"?{querystring}" if querystring else ""
    for d in rows:
        family_name = d.family.name if d.family_id else ""
        if d.episode_id:
            case = format_html(_CASE_CELL, episode_href(d.episode_id), family_name, Episode.reference_of(d.episode_id))
        elif d.contact_id:
            case = format_html(_CASE_CELL, contact_href(d.contact_id), family_name, Contact.reference_of(d.contact_id))
        else:
            worker = d.worker
            name = (worker.get_full_name() or worker.username) if worker else ""
            case = format_html('{}<br><span class="govuk-body-s">Supervision</span>', name)
        assignee = d.assignee
        who = (assignee.get_full_name() or assignee.username) if assignee else "Not allocated"
        acknowledgements = [
            format_html(
                '<strong class="govuk-tag govuk-tag--green">Acknowledged</strong><br>'
                '<span class="govuk-body-s">{}, {}: {}</span>',
                a.by,
                when_text(a.at, now),
                truncatewords(a.comment, 25),
            )
            # A breach not acknowledged has none (`ServiceBreaches` reads only the others').
            for a in (d.acknowledgements.all() if d.is_acknowledged else ())
        ]
        if acknowledgements:
            acknowledgement = mark_safe("".join(acknowledgements))  # noqa: S308 (each escaped by format_html)
        else:
            acknowledgement = format_html(
                '<a class="govuk-link" href="{}{}">Acknowledge<span class="govuk-visually-hidden"> the breach of '
                "{}{}</span></a>",
                acknowledge_href(d.pk),
                suffix,
                d.rule_id,
                format_html(" for {}", family_name) if d.family_id else "",
            )
        d.cells = {
            "case": case,
            "clock": deadline_link_markup(clock_href(d.pk), d.rule_id, d.title),
            "team": format_html('{}<br><span class="govuk-body-s">{}</span>', d.team.name if d.team_id else "", who),
            "due": format_html(
                '{}<br><span class="govuk-body-s">{} ago</span>',
                when_text(d.due_at, now),
                breach_age(d.due_at, now),
            ),
            "acknowledgement": acknowledgement,
        }
    return rows


_BREACH_LINKS = (
    "episodes:episode_detail",
    "cases:contact_detail",
    "deadlines:clock_explain",
    "oversight:breach_acknowledge",
)
# (URL configuration, script prefix) -> the breach rows' four `href_for`s, kept per process.
_HREFS: dict[tuple, tuple] = {}


def _breach_hrefs() -> tuple:
    key = (get_urlconf(), get_script_prefix())
    found = _HREFS.get(key)
    if found is None:
        if len(_HREFS) >= 16:
            _HREFS.clear()
        found = _HREFS[key] = tuple(href_for(name) for name in _BREACH_LINKS)
    return found


_CASE_CELL = '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-body-s">{}</span>'


class _Plural:
    """`"%(num)d hour" / "%(num)d hours" % {"num": n}` without the translation machinery."""

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def __mod__(self, values: dict) -> str:
        n = values["num"]
        return f"{n:d} {self.unit}" if n == 1 else f"{n:d} {self.unit}s"


# Django's time strings as the English catalogue gives them (its msgids; en-gb translates none).
_ENGLISH = {unit: _Plural(unit) for unit in ("year", "month", "week", "day", "hour", "minute")}


def breach_age(due_at, now) -> str:
    """`due_at|timesince:now`: Django's `timesince` itself (its calendar months and years), given
    plain English unit strings where it would look each up lazily in the catalogue (a tenth of a breach
    row's cost); in another language, or for a value the filter refuses, the filter as it is."""
    language = translation.get_language() or ""
    if due_at and now and (language == "en" or language.startswith("en-")):
        try:
            return timesince(due_at, now, time_strings=_ENGLISH)
        except (ValueError, TypeError):
            pass
    return timesince_filter(due_at, now)
