"""What the dashboard's pages write in Python since ADR 85 is what they wrote before: the caseload page's
rows are its template loop's markup, numbers are written as `localize` writes them in any language, and
the list of breaches reads its page along the index of open breaches in its order, `(due_at, id)`, not
the whole group of clocks that share one maximum."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.formats import localize

from accounts import roles
from oversight import selectors
from oversight.dashboard_rows import number_writer
from oversight.models import BreachAcknowledgement, Supervision
from oversight.selectors import Period
from tests.conftest import make_user
from tests.oversight.helpers import NOW, make_deadline, make_episode
from tests.oversight.test_dashboard import clocks  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

# The caseload page's loop before its rows were written in Python (ADR 85).
OLD_CASELOAD_ROWS = (
    "{% load layout oversight_tags %}{% for p in page.object_list %}"
    '<tr class="govuk-table__row" id="practitioner-{{ p.pk }}"><th scope="row" class="govuk-table__header"><a class="govuk-link" href="{% fixed_url \'oversight:team_board\' %}?team={{ p.team_id }}&amp;practitioner={{ p.pk }}">{{ p.get_full_name|default:p.username }}</a></th><td class="govuk-table__cell">{{ p.team.name }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ p.caseload }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ p.capacity }}</td><td class="govuk-table__cell">{% if p.band == "over" %}<strong class="govuk-tag govuk-tag--red">Over capacity</strong>{% elif p.band == "at" %}<strong class="govuk-tag govuk-tag--orange">At capacity</strong>{% else %}{{ p.band_label }}{% endif %}</td><td class="govuk-table__cell">{% if p.last_supervised_on %}{{ p.last_supervised_on|day_text:now }}{% else %}Never{% endif %}</td></tr>\n  '  # noqa: E501
    "{% endfor %}"
)


def test_the_caseload_rows_are_the_templates_markup(client, users, team, other_team, service, pinned):
    team.name = 'Tom & "Jerry" <b>'
    team.save()
    zero = make_user("zero", roles.PRACTITIONER, team, first_name="<Zoë>", caseload_capacity_override=0)
    make_episode(team, lead=zero)  # over a capacity of none
    make_user("parttime", roles.PRACTITIONER, other_team, working_pattern="part_time")
    lead = make_user("busy", roles.PRACTITIONER, team, caseload_capacity_override=2)
    for _ in range(2):
        make_episode(team, lead=lead)  # at capacity
    make_episode(team, lead=users["coach"])
    Supervision.objects.create(
        practitioner=users["coach"], supervisor=users["teamlead"], held_on=date(2025, 11, 3), notes="n", recorded_at=NOW
    )
    Supervision.objects.create(
        practitioner=lead, supervisor=users["teamlead"], held_on=date(2026, 11, 16), notes="n", recorded_at=NOW
    )
    client.force_login(users["manager"])
    old = engines["django"].from_string(OLD_CASELOAD_ROWS)
    bands = set()
    for query in ({}, {"team": str(team.pk)}, {"team": str(other_team.pk)}):
        response = client.get(reverse("oversight:dashboard_caseloads"), query)
        context = {k: v for c in response.context for k, v in c.flatten().items()}
        expected = old.render(context)
        assert expected.count("<tr") == len(context["page"].object_list) >= 1
        assert expected in response.content.decode()
        bands |= {p.band for p in context["page"].object_list}
    assert {"over", "at", "under_half"} <= bands


@pytest.mark.parametrize("language", ["en-gb", "de", "fr"])
def test_numbers_are_written_as_localize_writes_them(language, settings):
    values = [0, 7, -3, 1234567, 12.5, 66.7, 100.0, -0.1, 1e-05, 1.5e20, float("inf"), Decimal("12.50"), True, None]
    for grouping in (False, True):
        settings.USE_THOUSAND_SEPARATOR = grouping
        with translation.override(language):
            number = number_writer()
            assert [number(v) for v in values] == [localize(v) for v in values], (language, grouping)


def test_the_list_of_breaches_reads_its_page_along_the_index_in_order(client, users, team, other_team, pinned):
    """Forty breaches share one maximum (a day's 23:59:59, as the rulebooks set most): the page's ids are
    read in `(-due_at, -id)` order along the index, 20 entries and the few acknowledged, not all forty
    sorted; the page is the newest 20 by due time then id, acknowledged ones left out."""
    due = NOW.replace(hour=23, minute=59, second=59) - timedelta(days=3)
    episode = make_episode(team)
    made = [
        make_deadline(
            f"T{n}", team=team if n % 3 else other_team, episode=episode, started_at=due - timedelta(days=9), due_at=due
        )  # fmt: skip
        for n in range(40)
    ]
    make_deadline(
        "OLD", team=team, episode=episode, started_at=due - timedelta(days=30), due_at=due - timedelta(days=5)
    )
    for d in made[-3:]:  # the highest ids: acknowledged, so not on the default page
        BreachAcknowledgement.objects.create(deadline=d, by=users["manager"], at=NOW, comment="seen")
    client.force_login(users["manager"])
    url = reverse("oversight:dashboard_breaches")
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    shown = [d.pk for d in response.context["page"].object_list]
    assert shown == sorted((d.pk for d in made[:-3]), reverse=True)[:20]
    # The page's ids (read first, then their rows by id: ADR 90), newest first, a page's LIMIT.
    (page_sql,) = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "deadlines_deadline"."id" AS "pk" FROM')
        and 'ORDER BY "deadlines_deadline"."due_at" DESC' in q["sql"]
        and q["sql"].endswith("LIMIT 20")
    ]
    with connection.cursor() as cursor:
        # As on a full-size dataset: forty rows give the planner no reason to prefer any plan (with the
        # statistics of the moment it sometimes sorted a bitmap scan of another index, or read another
        # index on the maximum alone and sorted each tie group by id, an incremental sort, which
        # `enable_sort` leaves on: session 14, a whole run), so the alternatives a big table makes dear
        # are turned off, and the test asks whether this index serves the page in its order.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        # The statistics of these rows in every table the query reads, not whatever autovacuum last saw of
        # rows other tests committed (with those, the planner read the ids along another index, or sorted
        # a hash join of the scope's tables: sessions 12 and 13, in runs of the whole directory).
        tables = sorted(set(re.findall(r'(?:FROM|JOIN) "([a-z_0-9]+)"', page_sql)))
        cursor.execute("ANALYZE " + ", ".join(tables))
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
        plan = cursor.fetchone()[0][0]["Plan"]
    scans = list(_scans(plan, "deadline_open_breach_order"))
    assert len(scans) == 1, json.dumps(plan)
    assert "Backward" in scans[0]["Node Type"] or scans[0].get("Scan Direction") == "Backward"
    assert scans[0]["Actual Rows"] <= 20 + 3, scans[0]  # the page and the acknowledged, not the tie group


def _scans(node: dict, index: str):
    if node.get("Index Name") == index:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child, index)


def test_the_by_team_pages_narrow_reads_are_the_full_reads_by_team(users, team, other_team, clocks, pinned):  # noqa: F811
    """The by-team page reads only its teams' breaches in the period and their timeliness by team (ADR
    85): the same figures per team as the full reads, for every filter, at the rows' instant and later
    (the correction from the rows' instant to now), an acknowledged breach among them."""
    BreachAcknowledgement.objects.create(deadline=clocks["breached"], by=users["manager"], at=NOW, comment="seen")
    manager = users["manager"]
    teams = [team, other_team]
    periods = (None, Period(date(2026, 8, 1), date(2026, 11, 23)), Period(date(2026, 11, 1), date(2026, 11, 30)))
    seen = {"breached": 0, "unacknowledged": 0, "timeliness": 0}
    for now in (NOW, NOW + timedelta(days=3)):
        for period in periods:
            for rule_id in ("", "B6", "B9"):
                scope = {"now": now, "period": period, "teams": teams, "rule_id": rule_id}
                full = selectors.breach_summaries(manager, **scope)["period"]
                narrow = selectors.breach_summaries(manager, **scope, teams_in_period=True)["period"]
                assert narrow["by_team"] == full["by_team"], (now, period, rule_id)
                assert (narrow["breached"], narrow["unacknowledged"]) == (full["breached"], full["unacknowledged"])
                seen["breached"] += full["breached"]
                seen["unacknowledged"] += full["unacknowledged"]
                if period is None:
                    continue
                scope.pop("rule_id")
                full = selectors.timeliness_summary(manager, **scope, rule_id=rule_id)["by_team"]
                narrow = selectors.timeliness_summary(manager, **scope, rule_id=rule_id, by_team_only=True)["by_team"]
                assert narrow == full, (now, period, rule_id)
                seen["timeliness"] += len(full)
    assert seen["breached"] > seen["unacknowledged"] > 0 and seen["timeliness"] > 0, seen
