"""The by-team page's rows written in Python (ADR 80), with its numbers written as the template localises
them but without a catalogue look-up per number (ADR 85): the page shows 20 teams where a small service
has 3, so what each row costs is what the page grows by."""

from __future__ import annotations

import html

from django.conf import settings
from django.template.defaultfilters import urlencode
from django.urls import reverse
from django.utils.formats import get_format, localize
from django.utils.safestring import mark_safe

from kit.markup import conditional_escape
from oversight.templatetags.oversight_tags import day_text

NUMBER_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'
_JUDGED_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric">{} of {}<br><strong>{}%</strong></td>'
_NO_TIMELINESS = NUMBER_CELL.format("0") + NUMBER_CELL.format("–") + NUMBER_CELL.format("–") + NUMBER_CELL.format("0")


def number_writer():
    """A function writing a number as `localize` (and so `{{ n }}`) writes it, for the request's
    language: a whole number or a float as Python writes it when no thousands are grouped and the
    decimal separator is a point (`django.utils.numberformat.format`'s own fast path); anything else,
    or another separator, by `localize` itself."""
    plain = not settings.USE_THOUSAND_SEPARATOR and get_format("DECIMAL_SEPARATOR") == "."

    def number(value) -> str:
        if plain and type(value) is int:
            return str(value)
        if plain and type(value) is float:
            text = str(value)
            if "e" not in text and "n" not in text:  # not 1e-05, nan or inf: those go the long way
                return text
        return localize(value)

    return number


def timeliness_markup(row, number) -> str:
    """`oversight_tags.timeliness_cells(row)` (a row of `timeliness_summary`, a dict), with `number`
    from `number_writer`."""
    if not row:
        return _NO_TIMELINESS

    def cell(key: str) -> str:  # `format_html` escapes what `localize` gives
        return html.escape(str(number(row.get(key))))

    def judged(limit: str) -> str:
        if not row.get(f"judged_{limit}"):
            return NUMBER_CELL.format("–")
        return _JUDGED_CELL.format(cell(f"met_{limit}"), cell(f"judged_{limit}"), cell(f"pct_{limit}"))

    return "\n".join(
        (NUMBER_CELL.format(cell("run")), judged("expected"), judged("maximum"), NUMBER_CELL.format(cell("open")))
    )


def team_rows(rows: list[dict], *, rule_id: str, list_query: str) -> None:
    """Each team's table row (`row`) built here, as the template's loop drew it, rather than by a loop
    of tags and filters per team: the page shows 20 teams where a small service has 3 (ADR 80)."""
    board, breaches = reverse("oversight:team_board"), reverse("oversight:dashboard_breaches")
    suffix = (f"&amp;rule={html.escape(urlencode(rule_id))}" if rule_id else "") + (
        f"&amp;{conditional_escape(list_query)}" if list_query else ""
    )
    number = number_writer()
    for r in rows:
        pk, name = int(r["team"].pk), html.escape(str(r["team"].name))
        load = r["caseload"]
        if load:
            caseload = f"{number(load['caseload'])} of {number(load['capacity'])}"
            if load["pct"] is not None:
                caseload += f" ({number(load['pct'])}%)"
            if load["over"]:
                caseload += f"; {number(load['over'])} over"
        else:
            caseload = "–"
        r["row"] = mark_safe(  # noqa: S308 - every value escaped or a number
            f'<tr class="govuk-table__row" id="team-{pk}">\n    <th scope="row" class="govuk-table__header">'
            f'<a class="govuk-link" href="{board}?team={pk}">{name}</a><br><a class="govuk-link govuk-body-s" '
            f'href="{breaches}?team={pk}{suffix}">Breaches<span class="govuk-visually-hidden"> of {name}</span></a>'
            f"</th>\n    {NUMBER_CELL.format(number(r['breached']))}\n"
            f"    {NUMBER_CELL.format(number(r['unacknowledged']))}\n"
            f"    {timeliness_markup(r['timeliness'], number)}\n"
            f"    {NUMBER_CELL.format(caseload)}\n  </tr>"
        )


def caseload_rows(practitioners, *, now) -> None:
    """Each practitioner's row of the caseloads page (`row`), as the template's loop drew it (ADR 85): a
    page of 20 practitioners at a council's size, where a small service has a few."""
    board = html.escape(reverse("oversight:team_board"))
    number = number_writer()
    for p in practitioners:
        name = p.get_full_name() or p.username
        if p.band == "over":
            band = '<strong class="govuk-tag govuk-tag--red">Over capacity</strong>'
        elif p.band == "at":
            band = '<strong class="govuk-tag govuk-tag--orange">At capacity</strong>'
        else:
            band = html.escape(str(p.band_label))
        supervised = html.escape(day_text(p.last_supervised_on, now)) if p.last_supervised_on else "Never"
        team = p.team.name if p.team is not None else ""
        pk = number(p.pk)
        p.row = mark_safe(  # noqa: S308 - every value escaped or a number
            f'<tr class="govuk-table__row" id="practitioner-{pk}"><th scope="row" class="govuk-table__header">'
            f'<a class="govuk-link" href="{board}?team={number(p.team_id)}&amp;practitioner={pk}">'
            f'{html.escape(str(name))}</a></th><td class="govuk-table__cell">{html.escape(str(team))}</td>'
            f"{NUMBER_CELL.format(number(p.caseload))}{NUMBER_CELL.format(number(p.capacity))}"
            f'<td class="govuk-table__cell">{band}</td><td class="govuk-table__cell">{supervised}</td></tr>\n  '
        )
