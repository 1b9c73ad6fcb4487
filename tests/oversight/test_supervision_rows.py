"""The supervision list's rows are written in Python (`oversight.my_work.supervised_rows_markup`): the same
characters as the template loop they replace, for names and teams that need escaping, a clock's linked markup,
no clock, and nobody supervised."""

from __future__ import annotations

from django.template import engines
from django.utils.safestring import SafeString

from oversight.my_work import SupervisedLine, supervised_rows_markup

LOOP = """{% for p in people %}
    <tr class="govuk-table__row">
      <th scope="row" class="govuk-table__header">{{ p.name }}</th>
      <td class="govuk-table__cell">{{ p.team }}</td>
      <td class="govuk-table__cell">{{ p.last_supervised }}</td>
      <td class="govuk-table__cell">{{ p.next_due }}</td>
      <td class="govuk-table__cell"><a class="govuk-link" href="{{ p.record_href }}">Record supervision<span class="govuk-visually-hidden"> of {{ p.name }}</span></a></td>
    </tr>
  {% empty %}
    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">You supervise no practitioners.</td></tr>
  {% endfor %}"""  # noqa: E501 - the template's own lines


def test_the_rows_are_what_the_loop_wrote():
    lines = [
        SupervisedLine(
            pk=1,
            name="Zoë O'Hara <admin>",
            team="Northfield & Southbank",
            last_supervised="2 November 2026",
            next_due=SafeString('<a class="govuk-link" href="/clocks/1/">28 November</a> <strong>Overdue</strong>'),
            record_href="/oversight/supervision/new/1/?a=1&b=2",
        ),
        SupervisedLine(pk=2, name="Sam", team="", last_supervised="Not recorded", next_due="–", record_href="/x/2/"),
    ]
    engine = engines["django"]
    for people in (lines, lines[:1], []):
        assert supervised_rows_markup(people) == engine.from_string(LOOP).render({"people": people})
