"""The team board's rows written in Python (ADR 79) are the markup the template loops wrote, and the
board's counts, compiled once per filter, compile nothing on a second read and equal the clocks' own.

The template loops below are the ones the board's templates held before (kept here as the reference):
each is rendered with the same rows and compared with `oversight.board_rows` character for character,
with names that need escaping, every bucket, a contact's clock, a worker's own clock, a clock of the
team with no one assigned, people over, at and under capacity, supervised or not, and a person
holding clocks who is not a practitioner of the team.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import User
from cases.models import Family
from deadlines.counts import counts_rebuild
from deadlines.models import ClockCountsState, Deadline
from oversight import board_rows, selectors
from tests.conftest import make_user
from tests.factories import ContactFactory, FamilyFactory
from tests.oversight.helpers import NOW, make_deadline, make_episode

pytestmark = pytest.mark.django_db

OLD_TIMESCALE_LOOP = """{% load oversight_tags ui %}{% for d in rows %}
    <tr class="govuk-table__row">
      <td class="govuk-table__cell">{% if d.episode_id %}<a class="govuk-link" href="{% url 'episodes:episode_detail' d.episode_id %}">{{ d.family.name }}</a><br><span class="govuk-body-s">{{ d.episode.reference }}</span>{% elif d.contact_id %}<a class="govuk-link" href="{% url 'cases:contact_detail' d.contact_id %}">{{ d.family.name }}</a><br><span class="govuk-body-s">{{ d.contact.reference }}</span>{% else %}{{ d.worker.get_full_name|default:d.worker.username }}<br><span class="govuk-body-s">Supervision</span>{% endif %}</td>
      <td class="govuk-table__cell">{% deadline_link d.pk d.rule_id d.title %}</td>
      <td class="govuk-table__cell">{% if d.assignee %}{{ d.assignee.get_full_name|default:d.assignee.username }}{% else %}Not allocated (team){% endif %}</td>
      <td class="govuk-table__cell">{{ d.expected_at|when_text:now }}</td>
      <td class="govuk-table__cell">{{ d.due_at|when_text:now }}</td>
      <td class="govuk-table__cell">{% if d.bucket == "today" %}<strong class="govuk-tag govuk-tag--yellow">Due today</strong>{% elif d.bucket == "week" %}<strong class="govuk-tag govuk-tag--blue">Due this week</strong>{% else %}{% status_tag d.status %}{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501

OLD_PEOPLE_LOOP = """{% load oversight_tags %}{% for r in people %}
    <tr class="govuk-table__row">
      <th scope="row" class="govuk-table__header">{% if r.assignee_id or r.person %}<a class="govuk-link" href="{{ list_url }}?list=timescales&amp;{% if is_manager %}team={{ team.pk }}&amp;{% endif %}practitioner={% if r.person %}{{ r.person.pk }}{% else %}{{ r.assignee_id }}{% endif %}">{{ r.name }}</a>{% else %}{{ r.name }}{% endif %}</th>
      <td class="govuk-table__cell govuk-table__cell--numeric">{% if r.person %}{{ r.person.caseload }} of {{ r.person.capacity }}{% if r.person.band == "over" %} <strong class="govuk-tag govuk-tag--red">Over</strong>{% elif r.person.band == "at" %} <strong class="govuk-tag govuk-tag--orange">Full</strong>{% endif %}{% else %}–{% endif %}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.breached }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.overdue }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.today }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.week }}</td>
      <td class="govuk-table__cell">{% if r.person %}{{ r.person.last_supervised_on|day_text:now|default:"Not recorded" }}{% else %}–{% endif %}</td>
    </tr>
  {% endfor %}"""  # noqa: E501

OLD_MEMBER_OPTIONS = (
    '{% for u in members %}<option value="{{ u.pk }}"{% if u.pk == chosen %} selected{% endif %}>'
    "{{ u.get_full_name|default:u.username }}</option>{% endfor %}"
)


OLD_RULE_LOOP = """{% for r in by_rule|slice:rule_rows %}
    <tr class="govuk-table__row">
      <th scope="row" class="govuk-table__header"><a class="govuk-link" href="{{ list_url }}?list=timescales&amp;rule={{ r.rule_id|urlencode }}{% if is_manager %}&amp;team={{ team.pk }}{% endif %}{% if filters.practitioner_id %}&amp;practitioner={{ filters.practitioner_id }}{% endif %}{% if filters.status %}&amp;status={{ filters.status }}{% endif %}" title="{{ r.title }}">{{ r.rule_id }}<span class="govuk-visually-hidden">: {{ r.title }}</span></a></th>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.breached }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.overdue }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.due }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


def _new_loop(rows) -> str:
    return "".join(f"\n    {row}\n  " for row in rows)


@pytest.fixture
def board(users, team, coach2):
    """A team's clocks in every bucket and out of them, on cases, a contact and a worker's own."""
    coach = users["coach"]
    coach.first_name, coach.last_name = "Ann <b>", "O'Hara & Co"
    coach.save(update_fields=["first_name", "last_name"])
    family = FamilyFactory(team=team, name='The <i>"Quote"</i> & Ampersand household')
    episode = make_episode(team, lead=coach, family=family)
    contact = ContactFactory(family=FamilyFactory(team=team), received_at=NOW - timedelta(days=1))
    start = NOW - timedelta(days=60)
    for k, (expected, due, flag_only) in enumerate(
        [
            (NOW - timedelta(days=9), NOW - timedelta(days=2), False),  # breached
            (NOW - timedelta(hours=3), NOW + timedelta(days=3), False),  # overdue
            (NOW + timedelta(hours=2), NOW + timedelta(days=20), False),  # today
            (NOW + timedelta(days=2), None, False),  # later this week
            (None, NOW - timedelta(hours=1), True),  # an aim past its limit
            (NOW + timedelta(days=12), NOW + timedelta(days=30), False),  # next week
            (NOW - timedelta(days=400), NOW - timedelta(days=300), False),  # breached in another year
        ]
    ):
        make_deadline(
            f"R{k}",
            team=team,
            episode=episode,
            started_at=start,
            expected_at=expected,
            due_at=due,
            flag_only=flag_only,
            assignee=(coach, None, coach2)[k % 3],
            title=f"Step <{k}> & more",
        )
    make_deadline("C1", team=team, contact=contact, started_at=start, due_at=NOW + timedelta(hours=5))
    make_deadline("W1", team=team, worker=coach2, started_at=start, due_at=NOW - timedelta(hours=4))
    counts_rebuild(now=NOW)
    return SimpleNamespace(team=team, coach=coach, coach2=coach2, manager=users["manager"])


def test_the_timescale_rows_are_the_template_s(board):
    rows = list(selectors.board_deadlines(board.manager, team=board.team, now=NOW))
    assert {d.bucket for d in rows} == {"breached", "overdue", "today", "week"}
    assert any(d.contact_id for d in rows) and any(d.worker_id for d in rows)
    assert any(d.assignee_id is None for d in rows)
    old = Template(OLD_TIMESCALE_LOOP).render(Context({"rows": rows, "now": NOW}))
    assert _new_loop(board_rows.timescale_rows_markup(rows, NOW)) == old
    assert "&lt;i&gt;" in old and "Step &lt;0&gt; &amp; more" in old


def test_the_timescale_rows_of_the_compiled_read_are_the_template_s(board):
    totals = selectors.board_counts(team=board.team, now=NOW)["totals"]
    rows = selectors.board_timescales(board.manager, team=board.team, now=NOW, totals=totals)[0:50]
    assert len(rows) >= 6
    old = Template(OLD_TIMESCALE_LOOP).render(Context({"rows": rows, "now": NOW}))
    assert _new_loop(board_rows.timescale_rows_markup(rows, NOW)) == old


@pytest.mark.parametrize("is_manager", [False, True])
def test_the_people_rows_are_the_template_s(board, is_manager):
    people = []
    for n, band in enumerate(("over", "at", "under")):
        person = make_user(f"person-{n}", roles.PRACTITIONER, board.team, first_name=f"P<{n}>")
        person.caseload, person.capacity, person.band = 10 + n, 12, band
        person.last_supervised_on = (None, date(2026, 11, 2), date(2025, 3, 4))[n]
        people.append({"person": person, "name": person.get_full_name(), "breached": n, "overdue": 0, "today": 1,
                       "week": 2000 + n, "total": 3, **({"assignee_id": person.pk} if n else {})})  # fmt: skip
    people.append({"person": None, "assignee_id": board.coach2.pk, "name": "Duty & <worker>", "breached": 1,
                   "overdue": 2, "today": 3, "week": 4, "total": 10})  # fmt: skip
    people.append({"person": None, "assignee_id": None, "name": "Not allocated (team)", "breached": 0,
                   "overdue": 0, "today": 0, "week": 5, "total": 5})  # fmt: skip
    context = {
        "people": people,
        "now": NOW,
        "team": board.team,
        "is_manager": is_manager,
        "list_url": reverse("oversight:team_board_list"),
    }
    old = Template(OLD_PEOPLE_LOOP).render(Context(context))
    new = board_rows.people_rows_markup(people, now=NOW, team_pk=board.team.pk, is_manager=is_manager)
    assert _new_loop(new) == old
    assert ("team=" in old) == is_manager and "Not recorded" not in old and "–" in old


def test_the_member_options_are_the_template_s(board):
    members = [board.coach, board.coach2, make_user("no-name", roles.PRACTITIONER, board.team)]
    for chosen in (None, board.coach2.pk, 999_999):
        old = Template(OLD_MEMBER_OPTIONS).render(Context({"members": members, "chosen": chosen}))
        assert board_rows.member_options(members, chosen) == old
        assert old.count(" selected") == (1 if chosen == board.coach2.pk else 0)


FILTERS = [
    {"status": status, "practitioner_id": practitioner, "rule_id": rule}
    for status in ("", "breached", "overdue", "today", "week", "nonsense")
    for practitioner in (None, "coach")
    for rule in ("", "R1")
]


def test_the_board_counts_are_the_clocks_and_compile_once(board):
    """Each filter's counts equal the board's clocks counted on read (`board_deadlines`), at instants
    that move clocks between buckets and away from the summary rows' own instant (the correction);
    a second read of each filter compiles no SQL."""

    def who(filters):
        return {**filters, "practitioner_id": board.coach.pk if filters["practitioner_id"] else None}

    for now in (NOW, NOW + timedelta(hours=4), NOW + timedelta(days=2, hours=1)):
        for filters in FILTERS:
            f = who(filters)
            got = selectors.board_counts(team=board.team, now=now, **f)
            clocks = selectors.board_deadlines(board.manager, team=board.team, now=now, **f)
            summary = selectors.board_deadline_summary(clocks)
            assert got["totals"] == summary["totals"], (now, f)
            people = {r["assignee_id"]: {k: r[k] for k in ("breached", "overdue", "today", "week", "total")}
                      for r in got["by_practitioner"]}  # fmt: skip
            expected = {r["assignee_id"]: {k: r[k] for k in ("breached", "overdue", "today", "week", "total")}
                        for r in summary["by_practitioner"]}  # fmt: skip
            assert people == expected, (now, f)
            by_rule = {r["rule_id"]: r["total"] for r in got["by_rule"]}
            assert by_rule == {r["rule_id"]: r["total"] for r in selectors.board_rule_summary(clocks)}, (now, f)
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        for filters in FILTERS:
            selectors.board_counts(team=board.team, now=NOW + timedelta(hours=4), **who(filters))
    # Left to the ORM: `_names` (anyone holding clocks who is not a member passed in) and, when a filter
    # finds no summary row, `counts_as_of` (the rows' instant, read on its own): no read of the rows.
    assert set(compiled) <= {User, ClockCountsState}, compiled
    assert Family.objects.exists()


@pytest.mark.parametrize("hours", [0, 4, 26, 50, -30 * 24])
def test_the_board_order_said_in_python_is_the_sql_s(board, hours):
    """`in_board_order` gives each row the bucket, rank and breach instant `_with_bucket` computes in
    SQL, and sorts them in its ORDER BY's order (ties on the limits broken by id)."""
    now = NOW + timedelta(hours=hours)
    today = timezone.localdate(now)
    eod = selectors.local_midnight(today + timedelta(days=1))
    sql = list(selectors.board_deadlines(board.manager, team=board.team, now=now))
    assert sql
    fresh = list(Deadline.objects.filter(pk__in=[d.pk for d in sql]).with_status(now).annotate(
        first_limit=Coalesce("expected_at", "due_at")).order_by("?"))  # fmt: skip
    ordered = selectors.in_board_order(fresh, end_of_today=eod)
    assert [d.pk for d in ordered] == [d.pk for d in sql]
    for a, b in zip(ordered, sql, strict=True):
        assert (a.bucket, a.bucket_rank, a.breached_at, a.status) == (b.bucket, b.bucket_rank, b.breached_at, b.status)


@pytest.mark.parametrize("is_manager", [False, True])
@pytest.mark.parametrize("filters", [{}, {"practitioner_id": 7, "status": "week"}, {"status": "breached"}])
def test_the_rule_rows_are_the_template_s(board, is_manager, filters):
    by_rule = selectors.board_counts(team=board.team, now=NOW)["by_rule"]
    by_rule.append({"rule_id": "R/9 & <x>", "title": 'A "quoted" <title>', "breached": 1234, "overdue": 0, "due": 2})
    chosen = SimpleNamespace(practitioner_id=filters.get("practitioner_id"), status=filters.get("status", ""))
    context = {"by_rule": by_rule, "rule_rows": 10, "list_url": reverse("oversight:team_board_list"),
               "is_manager": is_manager, "team": board.team, "filters": chosen}  # fmt: skip
    old = Template(OLD_RULE_LOOP).render(Context(context))
    new = board_rows.rule_rows_markup(
        by_rule[:10],
        team_pk=board.team.pk,
        is_manager=is_manager,
        practitioner_id=chosen.practitioner_id,
        status=chosen.status,
    )
    assert len(by_rule) > 5 and _new_loop(new) == old


def test_writing_the_compiled_timescales_reads_nothing_more(board, django_assert_num_queries):
    """The narrow read (`TIMESCALE_COLUMNS`) holds every field a row's markup and the access log read:
    writing the rows and finding their families asks the database nothing (a deferred field would)."""
    from cases.access import families_in

    totals = selectors.board_counts(team=board.team, now=NOW)["totals"]
    rows = selectors.board_timescales(board.manager, team=board.team, now=NOW, totals=totals)[0:50]
    assert any(d.get_deferred_fields() for d in rows)
    with django_assert_num_queries(0):
        board_rows.timescale_rows_markup(rows, NOW)
        found = families_in({"deadlines": rows})
    assert found == {d.family_id for d in rows if d.family_id}
