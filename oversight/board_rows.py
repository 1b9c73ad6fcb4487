"""The team board's table rows written once in Python (ADR 79), as the lists' rows are (ADR 43, 49, 58).

The board and its timescales list printed each row through the template language: a variable lookup,
a filter or a tag per cell, a URL reversed per link. Here each row is one `format_html` with the URL
patterns reversed once per page (`kit.links.href_for`), and the templates print the rows inline. The
markup is exactly what the template loops wrote (tests/oversight/test_board_rows.py renders both).
The page's context keeps the rows' objects too, so the access log still finds every family shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.template.defaultfilters import urlencode
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from kit.links import href_for
from kit.markup import conditional_escape, format_html
from kit.templatetags.ui import deadline_link_markup, status_tag
from oversight.templatetags.oversight_tags import day_text, when_text

_TIMESCALE_ROW = (
    '<tr class="govuk-table__row">\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    "    </tr>"
)
_DUE_TODAY = mark_safe('<strong class="govuk-tag govuk-tag--yellow">Due today</strong>')  # noqa: S308
_DUE_WEEK = mark_safe('<strong class="govuk-tag govuk-tag--blue">Due this week</strong>')  # noqa: S308


def full_name(user) -> str:
    """`{{ user.get_full_name|default:user.username }}`: "" for no user."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


def text(value) -> str:
    """`{{ value }}`: localised, escaped; None as "None", as the template prints it. A whole number
    without thousands separators is its digits (what `localize` gives then, without its lookups of
    the language's formats: a tenth of the board's rows' time)."""
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return SafeString(value)
    return conditional_escape(localize(value))


def when_for(now) -> Callable:
    """`oversight_tags.when_text(value, now)` for the rows of one page: the year of `now` found once
    instead of twice per cell. A datetime is written here; anything else goes to `when_text`."""
    this_year = timezone.localtime(now).year if timezone.is_aware(now) else now.year

    def when(value) -> str:
        if not isinstance(value, datetime):
            return when_text(value, now)
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        text = f"{value.day} {value:%B}"
        if value.year != this_year:
            text = f"{text} {value.year}"
        return f"{text}, {value:%H:%M}"

    return when


# The row links' URL patterns, reversed once per process (per URL configuration and script prefix),
# not once per page (`kit.links.href_for`, ADR 58).
_hrefs: dict[tuple, Callable[[int], str]] = {}


def _href(view_name: str) -> Callable[[int], str]:
    key = (view_name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    found = _hrefs.get(key)
    if found is None:
        found = _hrefs[key] = href_for(view_name)
    return found


def timescale_rows_markup(rows, now) -> list[SafeString]:
    """Each clock of the board's timescales as its table row (`includes/timescale_table.html`)."""
    episode_href = _href("episodes:episode_detail")
    contact_href = _href("cases:contact_detail")
    clock_href = _href("deadlines:clock_explain")
    when = when_for(now)
    out = []
    for d in rows:
        family = d.family.name if d.family is not None else ""
        if d.episode_id:
            case = format_html(
                '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-body-s">{}</span>',
                episode_href(d.episode_id),
                family,
                d.episode.reference,
            )
        elif d.contact_id:
            case = format_html(
                '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-body-s">{}</span>',
                contact_href(d.contact_id),
                family,
                d.contact.reference,
            )
        else:
            case = format_html('{}<br><span class="govuk-body-s">Supervision</span>', full_name(d.worker))
        if d.bucket == "today":
            tag = _DUE_TODAY
        elif d.bucket == "week":
            tag = _DUE_WEEK
        else:
            tag = status_tag(d.status)
        out.append(
            format_html(
                _TIMESCALE_ROW,
                case,
                deadline_link_markup(clock_href(d.pk), d.rule_id, d.title),
                full_name(d.assignee) if d.assignee is not None else "Not allocated (team)",
                when(d.expected_at),
                when(d.due_at),
                tag,
            )
        )
    return out


_PERSON_ROW = (
    '<tr class="govuk-table__row">\n'
    '      <th scope="row" class="govuk-table__header">{}</th>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    "    </tr>"
)
_BANDS = {
    "over": ' <strong class="govuk-tag govuk-tag--red">Over</strong>',
    "at": ' <strong class="govuk-tag govuk-tag--orange">Full</strong>',
}


def people_rows_markup(people: list[dict], *, now, team_pk: int, is_manager: bool) -> list[SafeString]:
    """The board's "By practitioner" rows (`oversight.views._people_rows`), each linking to the
    person's timescales."""
    base = f"{reverse('oversight:team_board_list')}?list=timescales&amp;"
    if is_manager:
        base += f"team={text(team_pk)}&amp;"
    out = []
    for r in people:
        person = r.get("person")
        name = r.get("name")
        if r.get("assignee_id") or person:
            who = person.pk if person else r.get("assignee_id")
            heading = format_html('<a class="govuk-link" href="{}practitioner={}">{}</a>', mark_safe(base), who, name)  # noqa: S308
        else:
            heading = conditional_escape(name)
        if person:
            load = format_html(
                "{} of {}{}",
                text(person.caseload),
                text(person.capacity),
                mark_safe(_BANDS.get(person.band, "")),  # noqa: S308
            )
            supervised = day_text(person.last_supervised_on, now) or "Not recorded"
        else:
            load = supervised = "–"
        out.append(
            format_html(
                _PERSON_ROW,
                heading,
                load,
                *(text(r.get(key, "")) for key in ("breached", "overdue", "today", "week")),
                supervised,
            )
        )
    return out


def member_options(members, chosen_id) -> SafeString:
    """The practitioner filter's options after "Everyone", the chosen one selected."""
    return mark_safe(  # noqa: S308 - each part escaped by format_html
        "".join(
            format_html(
                '<option value="{}"{}>{}</option>',
                text(u.pk),
                mark_safe(" selected") if u.pk == chosen_id else "",  # noqa: S308
                full_name(u),
            )
            for u in members
        )
    )


_RULE_ROW = (
    '<tr class="govuk-table__row">\n'
    '      <th scope="row" class="govuk-table__header">'
    '<a class="govuk-link" href="{}?list=timescales&amp;rule={}{}" title="{}">{}'
    '<span class="govuk-visually-hidden">: {}</span></a></th>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    '      <td class="govuk-table__cell govuk-table__cell--numeric">{}</td>\n'
    "    </tr>"
)


def rule_rows_markup(
    by_rule: list[dict], *, team_pk: int, is_manager: bool, practitioner_id: int | None, status: str
) -> list[SafeString]:
    """The board's "By rule" rows (`board_counts`' `by_rule`, the first rows the page shows), each
    linking to the rule's timescales with the board's team, practitioner and status."""
    href = reverse("oversight:team_board_list")
    rest = ""
    if is_manager:
        rest += f"&amp;team={text(team_pk)}"
    if practitioner_id:
        rest += f"&amp;practitioner={text(practitioner_id)}"
    if status:
        rest += f"&amp;status={conditional_escape(status)}"
    return [
        format_html(
            _RULE_ROW,
            href,
            urlencode(r["rule_id"]),
            mark_safe(rest),  # noqa: S308 - escaped above
            r["title"],
            r["rule_id"],
            r["title"],
            text(r["breached"]),
            text(r["overdue"]),
            text(r["due"]),
        )
        for r in by_rule
    ]
