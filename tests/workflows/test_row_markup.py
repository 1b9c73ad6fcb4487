"""My cases' and My work's rows written in one pass (ADR 83) are what the kit's cells and the old loop wrote.

`workflows.row_markup` writes the cells `deadline_link_markup`, `due_cell` and `format_html` wrote, and My
cases' rows as `episodes/my_cases.html`'s loop over `list_rows.case_rows` wrote them: compared here
character for character, with names and titles that need escaping, every due state either side of a
clock change, and no rows. The pages themselves (their cells, the query counts, the access log) are
`test_list_rows.py`, `test_views.py` and the page below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from cases.models import AccessLog, Episode
from kit.templatetags.ui import deadline_link_markup
from oversight.my_work import work_lines
from oversight.selectors import WorkItem
from tests.factories import NOW, EpisodeFactory, FamilyFactory
from workflows import list_rows, row_markup

ODD = 'The O\'Neil & <Sons> "household"'
# Around the clocks' change to GMT (25 October 2026) and in summer time, each against three instants.
DUES = [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC), NOW, NOW + timedelta(3)]
NOWS = [datetime(2026, 10, 24, tzinfo=UTC), NOW, NOW + timedelta(days=10)]

# `episodes/my_cases.html`'s loop before ADR 83, with the lines around it.
CASES_LOOP = (
    '<tbody class="govuk-table__body">\n  {% for e in episodes %}\n    <tr class="govuk-table__row">\n'
    '      <td class="govuk-table__cell"><a class="govuk-link" href="{{ e.href }}">{{ e.family_name }}</a><br>'
    '<span class="govuk-body-s">{{ e.reference }}</span></td>\n'
    '      <td class="govuk-table__cell">{{ e.state }}</td>\n'
    '      <td class="govuk-table__cell">{{ e.next_task }}</td>\n'
    '      <td class="govuk-table__cell">{{ e.due }}</td>\n    </tr>\n  {% empty %}\n'
    '    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">You have no open cases.</td></tr>\n'
    "  {% endfor %}\n  </tbody>"
)


def test_the_cells_are_the_kit_s():
    for rule, title in [("B1", "Visit"), ("B<2>", ODD), ("B3", mark_safe("<i>safe</i>")), ("B4", "")]:
        assert row_markup.deadline_link_html("/clock/7/?a=1&b=2", rule, title) == deadline_link_markup(
            "/clock/7/?a=1&b=2", rule, title
        )
    for now in NOWS:
        assert row_markup.due_html(None, None, now) == list_rows.due_cell(None, None, now)
        for due in DUES:
            for maximum in (None, due, due + timedelta(days=2), now - timedelta(seconds=1)):
                assert row_markup.due_html(due, maximum, now) == list_rows.due_cell(due, maximum, now)
    assert row_markup.text(ODD) == "The O&#x27;Neil &amp; &lt;Sons&gt; &quot;household&quot;"
    assert row_markup.text(SafeString("<b>")) == "<b>" and row_markup.text(7) == "7"


def _case_values() -> list[tuple]:
    """Rows of `list_rows.CASE_COLUMNS`: every due state, no clock, a state with no label, names to escape."""
    rows = []
    for n, due in enumerate([*DUES, None]):
        for state in (Episode.State.PLAN_ACTIVE, "unknown-state"):
            clock = (f"Plan <review> & sign {n}", f"B{n}", 100 + n, due, due + timedelta(1)) if due else ("",) * 5
            rows.append((10 + n, 500 + n, f"{ODD} {n}", state, *clock))
    return rows


def test_my_cases_rows_are_what_the_loop_wrote():
    engine = engines["django"]
    values = _case_values()
    for now in NOWS:
        for rows in (values, values[3:4], []):
            loop = engine.from_string(CASES_LOOP).render({"episodes": list_rows.case_rows(rows, now=now)})
            written = row_markup.my_cases_markup(rows, now=now)
            assert isinstance(written, SafeString)
            assert loop == f'<tbody class="govuk-table__body">\n  {written}\n  </tbody>'
    assert row_markup.families_of([(1, 7), (2, 5), (3, 7)]) == [(7, None), (5, None)]


def test_my_work_lines_cells_are_the_kit_s():
    items = []
    for n, due in enumerate(DUES):
        items.append(
            WorkItem(due=due, kind="case", episode_pk=n + 1, family_id=n, family_name=ODD, rule=f"B{n}",
                     title=ODD, maximum=due + timedelta(1), deadline_pk=50 + n)
        )  # fmt: skip
        items.append(
            WorkItem(due=due, kind="task", episode_pk=None, task_pk=n, text=ODD, set_by=ODD,
                     held_on=date(2026, 10, 1), due_on=due.date())
        )  # fmt: skip
    items.append(WorkItem(due=None, kind="case", episode_pk=9, family_id=9, family_name="No clock"))
    clock = reverse("deadlines:clock_explain", args=[918])[: -len("918/")]
    for now in NOWS:
        for item, line in zip(items, work_lines(items, now=now), strict=True):
            if item.kind == "case":
                assert line.due == list_rows.due_cell(item.due, item.maximum, now)
                assert line.what == (
                    deadline_link_markup(f"{clock}{item.deadline_pk}/", item.rule, item.title)
                    if item.rule
                    else "No timescale running"
                )
            else:
                overdue = ' <strong class="govuk-tag govuk-tag--orange">Overdue</strong>' if item.due < now else ""
                assert line.due == f"{item.due_on.day} {item.due_on:%B %Y}{overdue}"
            assert isinstance(line.due, SafeString) or line.due == "–"


@pytest.mark.django_db
def test_the_my_cases_page_shows_its_rows_and_logs_each_family_once(client, users, team):
    coach = users["coach"]
    family = FamilyFactory(team=team, name=ODD)
    episodes = [EpisodeFactory(team=team, family=family, lead_professional=coach, allocated=True) for _ in range(2)]
    other = EpisodeFactory(team=team, lead_professional=coach, allocated=True)
    client.force_login(coach)
    before = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    html = client.get(reverse("episodes:my_cases")).content.decode()
    assert "3 open families" in html and html.count("The O&#x27;Neil &amp; &lt;Sons&gt;") == 2
    for episode in (*episodes, other):
        assert f'href="/episodes/{episode.pk}/"' in html and episode.reference in html
    logged = list(
        AccessLog.objects.filter(pk__gt=before).order_by("pk").values_list("user_id", "what", "family_id_logged")
    )
    assert logged == sorted([(coach.pk, "my cases", family.pk), (coach.pk, "my cases", other.family_id)])


# `oversight/my_work.html`'s loops over the planned visits and the alerts before ADR 83.
VISITS_LOOP = (
    "{% load oversight_tags %}"
    '  {% for v in planned_visits %}\n    <tr class="govuk-table__row">\n'
    '      <td class="govuk-table__cell">{% case_link v.episode %}</td>\n'
    '      <td class="govuk-table__cell">{{ v.get_kind_display }}{% if v.seeing %}: {{ v.seeing }}{% endif %}</td>\n'
    '      <td class="govuk-table__cell">{{ v.planned_at|date:"j F Y, H:i" }}{% if v.planned_at <= now %} '
    '<strong class="govuk-tag govuk-tag--orange">To record</strong>{% endif %}</td>\n'
    '      <td class="govuk-table__cell">{% if v.planned_at <= now %}<a class="govuk-link" '
    "href=\"{% url 'episodes:note_new' v.episode_id %}?planned={{ v.pk }}\">Record this visit"
    '<span class="govuk-visually-hidden"> of {{ v.planned_at|date:"j F Y, H:i" }}</span></a>{% endif %}</td>\n'
    '    </tr>\n  {% empty %}\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">'
    "You have no planned visits to record.</td></tr>\n  {% endfor %}\n"
)
ALERTS_LOOP = (
    '{% for a in alerts %}<li>{% if a.level == "message_failed" %}<strong class="govuk-tag govuk-tag--red">'
    'Not delivered</strong> <a class="govuk-link" href="{% url \'episodes:message_detail\' a.message_id %}">'
    'A letter or e-mail you sent could not be delivered</a>{% elif a.level == "new_contact" %}'
    '<strong class="govuk-tag govuk-tag--blue">New contact</strong> <a class="govuk-link" '
    "href=\"{% url 'cases:contact_detail' a.contact_id %}\">A new contact arrived on your family</a>{% else %}"
    '{% if a.level == "breached" or a.level == "escalated" %}<strong class="govuk-tag govuk-tag--red">'
    '{{ a.get_level_display }}</strong>{% else %}<strong class="govuk-tag govuk-tag--orange">Overdue</strong>'
    '{% endif %} <a class="govuk-link" href="{% url \'deadlines:clock_explain\' a.deadline_id %}">'
    "{{ a.deadline.rule_id }}: {{ a.deadline.title }}</a>{% endif %} "
    '<span class="govuk-body-s">({{ a.created_at|date:"j F Y, H:i" }})</span></li>{% endfor %}'
)


def test_my_work_visits_and_alerts_are_what_the_loops_wrote():
    from cases.models import Family, PlannedVisit
    from deadlines.models import Alert, Deadline
    from oversight.my_work import alert_items_markup, visit_rows_markup

    engine = engines["django"]
    visits = []
    for n, when in enumerate(DUES):
        episode = Episode(pk=4000 + n, family=Family(pk=7000 + n, name=f"{ODD} {n}"))
        kind = PlannedVisit.KIND_CHOICES[n % len(PlannedVisit.KIND_CHOICES)][0] if n < 3 else "not-a-kind"
        visits.append(
            PlannedVisit(pk=9000 + n, episode=episode, planned_at=when, kind=kind, seeing=ODD if n % 2 else "")
        )
    for now in NOWS:
        for rows in (visits, visits[2:3], []):
            loop = engine.from_string(VISITS_LOOP).render({"planned_visits": rows, "now": now})
            assert loop == "  " + visit_rows_markup(rows, now=now) + "\n"
    alerts = [
        Alert(pk=n, level=level, created_at=DUES[n % len(DUES)], message_id=300 + n, contact_id=400 + n,
              deadline=Deadline(pk=500 + n, rule_id=f"B<{n}>", title=ODD))
        for n, level in enumerate([*Alert.Level.values, "unknown"])
    ]  # fmt: skip
    for rows in (alerts, alerts[1:2], []):
        assert engine.from_string(ALERTS_LOOP).render({"alerts": rows}) == alert_items_markup(rows)


WAITING_LOOP = (
    '  {% for e in pre_allocation %}\n    <tr class="govuk-table__row"><td class="govuk-table__cell">'
    '<a class="govuk-link" href="{{ e.case_href }}">{{ e.family_name }}</a><br><span class="govuk-body-s">'
    '{{ e.reference }}</span></td><td class="govuk-table__cell">{{ e.opened_on }}</td>'
    '<td class="govuk-table__cell">{{ e.last_contact }}</td></tr>\n  {% empty %}\n'
    '    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="3">No families are waiting.</td></tr>\n'
    "  {% endfor %}\n"
)


def test_a_duty_worker_s_waiting_rows_are_what_the_loop_wrote():
    from django.utils.html import format_html

    from oversight.my_work import WEEKLY_CONTACT_DUE, WaitingLine, waiting_rows_markup

    lines = [
        WaitingLine(
            pk=3000 + n, family_id=n, family_name=f"{ODD} {n}", case_href=f"/episodes/{3000 + n}/",
            opened_on="2 November 2026", last_duty_contact_at=None, last_duty_contact_text=None,
            weekly_contact_due=bool(n % 2),
            last_contact=format_html("{}{}", "None yet" if n % 3 else "30 <Nov>", WEEKLY_CONTACT_DUE if n % 2 else ""),
        )
        for n in range(5)
    ]  # fmt: skip
    engine = engines["django"]
    for rows in (lines, lines[1:2], []):
        loop = engine.from_string(WAITING_LOOP).render({"pre_allocation": rows})
        assert loop == "  " + waiting_rows_markup(rows) + "\n"


# `cases/family_detail.html`'s chronology loop before session 12.
CHRONOLOGY_LOOP = (
    '{% for entry in chronology %}\n  <li class="govuk-!-margin-bottom-3"><span class="govuk-body-s '
    'govuk-!-font-weight-bold">{{ entry.at|date:"j F Y, H:i" }} · {{ entry.kind }}</span>{% if entry.by %} '
    '<span class="govuk-body-s">by {{ entry.by }}</span>{% endif %}<br>{{ entry.text|truncatewords:60 }}</li>\n'
    "{% endfor %}"
)


def test_the_chronology_items_are_what_the_family_page_s_loop_wrote():
    from tests.factories import UserFactory

    author = UserFactory.build(first_name="Ann", last_name="O'Hara <lead>", username="ann")
    long_text = " ".join(f"word{i}" for i in range(75)) + " & <b>end</b>"
    entries = [
        {"at": at, "kind": kind, "text": words, "by": by}
        for at, (kind, words, by) in zip(
            [*DUES, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)],
            [
                ("Home visit", "Saw the children & <mum>", author),
                ("Case note", long_text, None),
                (ODD, "", "MASH duty"),
                ("Step-up", "a\nb", author),
                ("Contact", "short", None),
                ("Assessment", "x " * 60, "A & B"),
            ],
            strict=True,
        )
    ]
    template = engines["django"].from_string(CHRONOLOGY_LOOP)
    assert str(row_markup.chronology_items_markup(entries)) == template.render({"chronology": entries})
    assert str(row_markup.chronology_items_markup([])) == ""
