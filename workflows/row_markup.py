"""My cases' and My work's table rows written in one pass per row (ADR 83).

The lists' rows were already written in Python (ADRs 58, 81), but cell by cell through Django's
`format_html`: each call goes through `conditional_escape` and `escape`, both wrapped by `keep_lazy`
(a check of every argument for a lazy string), so a row of five cells cost about twenty such calls
and a practitioner's sixty cases more than the page's reads. Here each row is one `str.format`, each
value escaped by `text` (what `conditional_escape` gives: its markup for a value that has one, else
`html.escape` of its text, which is Django's `escape`), and the cells' markup is the kit's:
`deadline_link_markup`, `due_markup` and `workflows.list_rows.due_cell`, which the tests hold these to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from django.utils.safestring import SafeString

from cases.models import Episode
from kit.dates import long_datetime
from kit.links import href_for
from kit.markup import escaped
from workflows.compiled_reads import user_rows
from workflows.list_rows import NO_TIMESCALE, STATE_NAMES, choice_name, my_case_values

# `conditional_escape(value)` as text: a value with `__html__` (markup) as it is, any other escaped.
text = escaped


_LINK = '<a class="govuk-link" href="{}">{}: {}<span class="govuk-visually-hidden">, why is this due?</span></a>'
_BREACHED = ' <strong class="govuk-tag govuk-tag--red">Breached</strong>'
_OVERDUE = ' <strong class="govuk-tag govuk-tag--orange">Overdue</strong>'


def deadline_link_html(href: str, rule, title) -> str:
    """`kit.templatetags.ui.deadline_link_markup(href, rule, title)`, as text."""
    return _LINK.format(text(href), text(rule), text(title))


def due_html(due: datetime | None, maximum: datetime | None, now: datetime) -> str:
    """`workflows.list_rows.due_cell(due, maximum, now)`, as text: the due time, tagged "Breached" past its
    maximum or "Overdue" past itself; – if none."""
    if not due:
        return "–"
    shown = escape(long_datetime(due))
    if maximum and maximum < now:
        return shown + _BREACHED
    if due < now:
        return shown + _OVERDUE
    return shown


# An episode's state as a row shows it (its label, escaped), once per state.
_STATES: dict[str, str] = {}


def _state_text(state: str) -> str:
    shown = _STATES.get(state)
    if shown is None:
        shown = text(choice_name(STATE_NAMES, state))
        if state in STATE_NAMES:  # a value with no label is shown as itself, and not kept
            _STATES[state] = shown
    return shown


# The loop of `episodes/my_cases.html` as it was, one row (`{% for e in episodes %}` ... `{% empty %}`).
_CASE_ROW = (
    '\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell"><a class="govuk-link" href="{}">{}</a>'
    '<br><span class="govuk-body-s">{}</span></td>\n      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n      <td class="govuk-table__cell">{}</td>\n    </tr>\n  '
)
_NO_CASES = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">You have no open cases.</td></tr>\n  '
)


def my_cases_markup(values: Iterable[tuple], *, now: datetime) -> SafeString:
    """My cases' table rows from `workflows.list_rows.my_case_values`' rows (`CASE_COLUMNS`): what the
    template's loop over `list_rows.case_rows` wrote, character for character."""
    episode_href, clock_href = href_for("episodes:episode_detail"), href_for("deadlines:clock_explain")
    out = [
        _CASE_ROW.format(
            text(episode_href(pk)),
            text(family_name),
            Episode.reference_of(pk),
            _state_text(state),
            deadline_link_html(clock_href(clock_pk), rule, title) if title else NO_TIMESCALE,
            due_html(due, maximum, now),
        )
        for pk, _family_id, family_name, state, title, rule, clock_pk, due, maximum in values
    ]
    return SafeString("".join(out)) if out else _NO_CASES


def my_cases(user, *, now: datetime) -> tuple[list[tuple], SafeString]:
    """The practitioner's open episodes as `my_case_values` reads them (one query, compiled once per user
    shape: ADR 75), the most urgent next task first, and their table rows."""
    values = user_rows("my cases", user, my_case_values)
    return values, my_cases_markup(values, now=now)


def families_of(values: Iterable[tuple]) -> list[tuple[int, None]]:
    """The access log's subjects for rows whose second column is the family's id: each family once."""
    return [(family_id, None) for family_id in dict.fromkeys(row[1] for row in values)]


# --- The family page's chronology (session 12) ------------------------------------------------------

_CHRONOLOGY_ITEM = (
    '\n  <li class="govuk-!-margin-bottom-3"><span class="govuk-body-s govuk-!-font-weight-bold">{} · {}</span>'
    "{}<br>{}</li>\n"
)
_BY = ' <span class="govuk-body-s">by {}</span>'


def chronology_items_markup(entries: Iterable[dict]) -> SafeString:
    """The family page's chronology items, as its template's loop wrote them (`{{ entry.at|date:"j F Y,
    H:i" }} · {{ entry.kind }}`, `by {{ entry.by }}` when there is one, `{{ entry.text|truncatewords:60 }}`),
    in one pass: a family's hundred entries cost the page's template a loop, four lookups, two filters and
    an `if` each. `tests/workflows/test_row_markup.py` holds it to the template's output."""
    from django.utils import timezone
    from django.utils.text import Truncator

    from kit.templatetags.fast_date import date

    out = []
    for entry in entries:
        at = entry["at"]
        when = date(timezone.localtime(at), "j F Y, H:i") if at else ""
        by = entry["by"]
        words = Truncator(entry["text"]).words(60, truncate=" …")
        out.append(
            _CHRONOLOGY_ITEM.format(text(when), text(entry["kind"]), _BY.format(text(by)) if by else "", text(words))
        )
    return SafeString("".join(out))
