"""The breach rows of the dashboard and its list of breaches (oversight/includes/breach_rows.html):
each row's markup built once in Python, the links reversed once per process (ADR 74, 85)."""

from __future__ import annotations

from datetime import datetime

from django.template.defaultfilters import timesince_filter, truncatewords
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from cases.models import Contact, Episode
from kit.links import href_for
from kit.markup import escaped, format_html
from oversight.templatetags.oversight_tags import when_text


def breach_cells(rows, *, now, querystring: str) -> list:
    """Each breach's table row as oversight/includes/breach_rows.html shows it (`row.row`: the markup of
    its five cells, byte for byte those the template's tags drew), built here with the links reversed once
    per page (ADR 74) and each value escaped as `{{ }}` escapes it, by `kit.markup.escaped` rather than
    through `format_html` and Django's lazy-string wrappers, a tenth of a millisecond a row (ADR 85)."""
    episode_href, contact_href, clock_href, acknowledge_href = _breach_hrefs()
    suffix = escaped(f"?{querystring}") if querystring else ""
    zone = timezone.get_current_timezone()
    # `day_text`'s "this year", of the page's `now`, found once.
    if isinstance(now, datetime):
        this_year = _in_zone(now, zone).year
    else:
        this_year = now.year if now else timezone.localdate().year
    for d in rows:
        family_name = escaped(d.family.name) if d.family_id else ""
        if d.episode_id:
            case = _CASE_CELL.format(
                escaped(episode_href(d.episode_id)), family_name, escaped(Episode.reference_of(d.episode_id))
            )
        elif d.contact_id:
            case = _CASE_CELL.format(
                escaped(contact_href(d.contact_id)), family_name, escaped(Contact.reference_of(d.contact_id))
            )
        else:
            worker = d.worker
            name = (worker.get_full_name() or worker.username) if worker else ""
            case = f'{escaped(name)}<br><span class="govuk-body-s">Supervision</span>'
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
            acknowledgement = "".join(acknowledgements)
        else:
            rule = escaped(d.rule_id)
            family = f" for {family_name}" if d.family_id else ""
            acknowledgement = (
                f'<a class="govuk-link" href="{escaped(acknowledge_href(d.pk))}{suffix}">Acknowledge<span '
                f'class="govuk-visually-hidden"> the breach of {rule}{family}</span></a>'
            )
        due = _when(d.due_at, zone, this_year, now)
        d.row = mark_safe(  # noqa: S308 - every value escaped above (or by format_html)
            _ROW.format(
                case,
                f'<a class="govuk-link" href="{escaped(clock_href(d.pk))}">{escaped(d.rule_id)}: {escaped(d.title)}'
                '<span class="govuk-visually-hidden">, why is this due?</span></a>',
                f'{escaped(d.team.name) if d.team_id else ""}<br><span class="govuk-body-s">{escaped(who)}</span>',
                f'{escaped(due)}<br><span class="govuk-body-s">{escaped(breach_age(d.due_at, now))} ago</span>',
                acknowledgement,
            )
        )
    return rows


def _in_zone(value: datetime, zone) -> datetime:
    return value.astimezone(zone) if timezone.is_aware(value) else value


def _when(value, zone, this_year: int, now) -> str:
    """`when_text(value, now)` with the page's zone and year found once."""
    if not isinstance(value, datetime):
        return when_text(value, now)
    value = _in_zone(value, zone)
    text = f"{value.day} {value:%B}"
    if value.year != this_year:
        text = f"{text} {value.year}"
    return f"{text}, {value:%H:%M}"


_CELL = '      <td class="govuk-table__cell">{}</td>\n'
# One iteration of the include's loop, as it drew the row (its whitespace too).
_ROW = '\n    <tr class="govuk-table__row">\n' + _CELL * 5 + "    </tr>\n  "


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
