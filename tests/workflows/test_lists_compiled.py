"""The triage queue, the pre-allocation list and the home page's team and service clock counts read with
SQL compiled once (ADR 81): each page equals the ORM's (`page_then_rows`, `open_totals`), row for row and
cell for cell, for every reach shape, every choice of filters, every page number (garbage, past the end,
below one), and two users of one shape each get their own; a second read compiles no SQL; a later page
still computes only its own rows."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from accounts.models import Team
from cases.models import Contact, Episode, Family
from cases.selectors import triage_queue
from oversight import home_selectors as hs
from tests.cases.test_scope_compiled import world  # noqa: F401  (the fixture: every reach shape)
from tests.conftest import make_user
from tests.factories import NOW, ContactFactory, DeadlineFactory, EpisodeFactory, children_of
from tests.workflows.test_slow_tails import loops_of, queue
from workflows import list_rows

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
PAGES = (None, "1", "2", "3", "4", "99", "0", "-1", "x", "")
SOME_PAGES = (None, "2", "99")  # every page number with no filter; with a filter, the first, a middle and past the end
ROUTES = ("email", "phone", "portal")


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def lists(world, team, other_team, pinned):  # noqa: F811
    """In every family of the world (each reached one way): contacts awaiting a decision by three routes,
    some allocated to a team, received over two days, some with clocks; and more families waiting for
    allocation in the two teams."""
    for i, family in enumerate(Family.objects.order_by("pk")):
        for j in range(2):
            n = 2 * i + j
            contact = ContactFactory(
                family=family,
                route=ROUTES[n % 3],
                received_at=NOW - n * 3 * H,
                allocated_team=(team, other_team, None)[n % 3],
                state=(Contact.State.RECEIVED, Contact.State.SCREENING)[j],
                subjects=children_of(family)[:1],
            )
            if n % 4:
                DeadlineFactory(contact=contact, rule_id="A1", title="Decide", due_at=NOW + (n % 5 - 1) * H)
        for where in (team, other_team):
            EpisodeFactory(family=family, team=where, opened_at=NOW - (i + 1) * H, children=0)
    people = dict(world)
    people["second mash"] = make_user("mash-two", roles.MASH_OFFICER, world["mash"].team)
    people["second leader"] = make_user("lead-two", roles.TEAM_LEADER, other_team)
    for user in people.values():
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
    return people


def same_page(orm, compiled) -> None:
    assert compiled.number == orm.number
    assert compiled.paginator.count == orm.paginator.count
    assert compiled.paginator.num_pages == orm.paginator.num_pages
    assert compiled.object_list == orm.object_list


def test_the_triage_queue_is_the_orm_s_for_every_shape_filter_and_page(lists, team, other_team):
    filters = [
        {},
        {"route": "phone"},
        {"team_id": team.pk},
        {"team_id": other_team.pk},
        {"received_before": NOW - 20 * H},
        {"route": "email", "team_id": team.pk, "received_before": NOW - 5 * H},
    ]
    seen = set()
    with mock.patch.object(list_rows, "PER_PAGE", 3):
        for name, user in lists.items():
            for chosen in filters:
                for number in PAGES if not chosen else SOME_PAGES:
                    orm = list_rows.triage_queue(triage_queue(user, **chosen), page_number=number, now=NOW)
                    compiled = list_rows.triage_page(user, **chosen, page_number=number, now=NOW)
                    same_page(orm, compiled)
                    seen.add((name, compiled.paginator.count > 0))
    # Users who see some of the queue and users who see none of it.
    assert {has for _, has in seen} == {True, False}
    assert sum(has for _, has in seen) >= 5


def test_the_pre_allocation_list_is_the_orm_s_for_every_shape_team_and_page(lists, team, other_team):
    seen = set()
    with mock.patch.object(list_rows, "PER_PAGE", 3):
        for name, user in lists.items():
            for team_id in (None, team.pk, other_team.pk):
                for number in PAGES if team_id is None else SOME_PAGES:
                    orm = list_rows.pre_allocation_orm(user, team_id=team_id, page_number=number, now=NOW)
                    compiled = list_rows.pre_allocation(user, team_id=team_id, page_number=number, now=NOW)
                    same_page(orm, compiled)
                    seen.add((name, compiled.paginator.count > 0))
    assert {has for _, has in seen} == {True, False}


def test_two_users_of_one_shape_get_their_own_lists(lists, team, other_team):
    one, two = lists["teamlead"], lists["second leader"]
    for user, team_id in ((one, team.pk), (two, other_team.pk)):
        page = list_rows.pre_allocation(user, team_id=team_id, page_number=None, now=NOW)
        expected = list_rows.pre_allocation_orm(user, team_id=team_id, page_number=None, now=NOW)
        same_page(expected, page)
        assert {Episode.objects.get(pk=row.pk).team_id for row in page.object_list} == {team_id}
    mash, other = lists["mash"], lists["second mash"]
    for user in (mash, other, mash):
        same_page(
            list_rows.triage_queue(triage_queue(user), page_number=None, now=NOW),
            list_rows.triage_page(user, page_number=None, now=NOW),
        )


def test_a_second_read_compiles_no_sql_and_costs_two_queries(lists, team):
    mash, leader = lists["mash"], lists["teamlead"]

    def read():
        return (
            list_rows.triage_page(mash, route="phone", page_number="2", now=NOW),
            list_rows.pre_allocation(leader, team_id=team.pk, page_number=None, now=NOW),
            list_rows.team_options(),
            hs.summary_clock_counts(now=NOW, team_id=team.pk),
            hs.summary_clock_counts(now=NOW, service_id=team.service_id),
        )

    with mock.patch.object(list_rows, "PER_PAGE", 3):
        first = read()
        calls = []
        original = SQLCompiler.as_sql

        def counted(self, *args, **kwargs):
            calls.append(self.query.model)
            return original(self, *args, **kwargs)

        with CaptureQueriesContext(connection) as captured, mock.patch.object(SQLCompiler, "as_sql", counted):
            again = read()
    assert calls == []
    for before, after in zip(first[:2], again[:2], strict=True):
        same_page(before, after)
        assert after.object_list
    assert again[2:] == first[2:]
    # Each list: its count and its page; the team options one; each clock count its rows, and its
    # correction only when the summary is older than `now` (time stands still here: it may not be).
    assert 2 + 2 + 1 + 1 + 1 <= len(captured.captured_queries) <= 2 + 2 + 1 + 2 + 2


def test_the_team_options_are_every_team_by_name(lists):
    assert list_rows.team_options() == [(t.pk, str(t)) for t in Team.objects.order_by("name")]


def test_a_later_compiled_page_computes_only_its_own_rows(users, team, pinned):
    queue(70, team)
    user = users["mash"]
    loops, shown = {}, []
    for number in (1, 2):
        with CaptureQueriesContext(connection) as captured:
            page = list_rows.triage_page(user, page_number=number, now=NOW)
        assert page.number == number and page.paginator.count == 70
        assert all(row.children for row in page.object_list)
        shown += [row.pk for row in page.object_list]
        loops[number] = loops_of(captured.captured_queries, "cases_contact_subjects")
    assert loops == {1: 50, 2: 20}
    assert shown == list(triage_queue(user).order_by("-received_at", "-pk").values_list("pk", flat=True))
    for i in range(60):
        EpisodeFactory(team=team, opened_at=NOW - (i + 1) * H)
    with CaptureQueriesContext(connection) as captured:
        page = list_rows.pre_allocation(users["teamlead"], team_id=team.pk, page_number=2, now=NOW)
    assert len(page.object_list) == 10 and page.paginator.count == 60
    assert loops_of(captured.captured_queries, "deadlines_deadline") == 10


def test_an_empty_list_is_one_query(users, pinned):
    users["mash"].role_names  # noqa: B018  (read once: the signed-in user comes with them)
    with CaptureQueriesContext(connection) as captured:
        page = list_rows.triage_page(users["mash"], page_number="3", now=NOW)
    assert page.number == 1 and page.object_list == [] and page.paginator.count == 0
    assert len(captured.captured_queries) == 1


def test_the_triage_page_shows_the_filters_and_the_teams(client, lists, team):
    client.force_login(lists["mash"])
    html = client.get(reverse("cases:triage_queue"), {"team": team.pk, "route": "phone", "older_than": 4}).content
    html = html.decode()
    for t in Team.objects.all():
        selected = " selected" if t.pk == team.pk else ""
        assert f'<option value="{t.pk}"{selected}>{t.name}</option>' in html
    expected = list_rows.triage_page(
        lists["mash"], route="phone", team_id=team.pk, received_before=NOW - 4 * H, page_number=None, now=NOW
    )
    assert f"{expected.paginator.count} contact" in html
    for row in expected.object_list:
        assert row.href in html


# The rows' loops as the templates had them before the rows were written as markup (ADR 81).
TRIAGE_LOOP = '  {% for c in page %}\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell"><a class="govuk-link" href="{{ c.href }}">{{ c.reference }}</a><br><span class="govuk-body-s">{{ c.route }} · {{ c.state }}</span>{% if c.with_duty_manager %}<br><strong class="govuk-tag govuk-tag--red">Re-referral after a step-up: with the duty manager</strong>{% endif %}</td>\n      <td class="govuk-table__cell">{{ c.family_name }}</td>\n      <td class="govuk-table__cell">{{ c.children }}</td>\n      <td class="govuk-table__cell">{{ c.referrer_name|default:"–" }}{% if c.referrer_agency %}<br><span class="govuk-body-s">{{ c.referrer_agency }}</span>{% endif %}</td>\n      <td class="govuk-table__cell">{{ c.received_at }}</td>\n      <td class="govuk-table__cell">{% if c.time_left %}{{ c.time_left }}<br><span class="govuk-body-s">{{ c.next_due_rule }}</span>{% else %}–{% endif %}</td>\n    </tr>\n  {% empty %}\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="6">No contacts are waiting.</td></tr>\n  {% endfor %}\n'  # noqa: E501
WAITING_LOOP = '  {% for e in page %}\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell"><a class="govuk-link" href="{{ e.href }}">{{ e.family_name }}</a><br><span class="govuk-body-s">{{ e.reference }} · {{ e.origin }} · {{ e.team }}</span></td>\n      <td class="govuk-table__cell">{{ e.opened_at }}</td>\n      <td class="govuk-table__cell">{{ e.last_duty_contact }}</td>\n      <td class="govuk-table__cell">{{ e.next_task }}</td>\n      <td class="govuk-table__cell">\n        {% if can_allocate %}<a class="govuk-link" href="{{ e.allocate_href }}">Allocate<span class="govuk-visually-hidden"> {{ e.family_name }}</span></a>{% endif %}\n        {% if can_duty %}<br><a class="govuk-link" href="{{ e.duty_contact_href }}">Record duty contact<span class="govuk-visually-hidden"> with {{ e.family_name }}</span></a>{% endif %}\n      </td>\n    </tr>\n  {% empty %}\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">No families are waiting for allocation.</td></tr>\n  {% endfor %}\n'  # noqa: E501


def test_the_rows_markup_is_what_the_template_loops_wrote():
    from django.template import engines
    from django.utils.safestring import SafeString

    engine = engines["django"]
    contacts = [
        list_rows.ContactRow(
            pk=pk,
            family_id=1,
            family_name=f"The <b>{pk}</b> household",
            href=f"/contacts/{pk}/",
            route="Email",
            state="Screening & more",
            with_duty_manager=bool(pk % 2),
            children='Amy "A", Bo' if pk % 3 else "",
            referrer_name="" if pk % 4 == 0 else "Ann O'Neil",
            referrer_agency="" if pk % 5 == 0 else "School & Co",
            received_at="1 December 2026, 09:00",
            time_left=SafeString('<strong class="govuk-tag">2 hours</strong>') if pk % 2 else "",
            next_due_rule="A1" if pk % 2 else "",
        )
        for pk in range(1, 13)
    ]
    for rows in (contacts, []):
        loop = engine.from_string(TRIAGE_LOOP).render({"page": rows})
        assert loop == "  " + list_rows.triage_rows_markup(rows) + "\n"
    waiting = [
        list_rows.WaitingRow(
            pk=pk,
            family_id=1,
            family_name=f"The <i>{pk}</i> household",
            href=f"/episodes/{pk}/",
            origin="Step-down",
            team="North & South",
            opened_at="1 December 2026, 09:00",
            last_duty_contact="None yet",
            next_task=SafeString('<a href="/x">B1: Visit</a>') if pk % 2 else "–",
            allocate_href=f"/episodes/{pk}/allocate/",
            duty_contact_href=f"/episodes/{pk}/notes/new/?kind=duty_contact",
        )
        for pk in range(1, 5)
    ]
    for rows in (waiting, []):
        for can_allocate in (False, True):
            for can_duty in (False, True):
                context = {"page": rows, "can_allocate": can_allocate, "can_duty": can_duty}
                loop = engine.from_string(WAITING_LOOP).render(context)
                markup = list_rows.waiting_rows_markup(rows, can_allocate=can_allocate, can_duty=can_duty)
                assert loop == "  " + markup + "\n"


PERSON_LOOP = '    {% for person in results %}\n      <tr class="govuk-table__row">\n        <td class="govuk-table__cell">{{ person.name }}</td>\n        <td class="govuk-table__cell">{{ person.born }}</td>\n        <td class="govuk-table__cell">{{ person.families }}</td>\n      </tr>\n    {% endfor %}\n'  # noqa: E501


def test_the_search_rows_markup_is_what_the_template_loop_wrote():
    """ADR 86: the results' rows (and each person's families' links) written once, as the loop and
    `format_html_join` wrote them, names needing escaping included."""
    from django.template import engines
    from django.utils.html import format_html_join

    people = [
        (pk, f"Amy<{pk}>", 'O\'Neil & "Co"', NOW.date() if pk % 2 else None, NOW.date() if pk % 3 == 0 else None)
        for pk in range(1, 8)
    ]
    memberships = [(pk, 100 + k, f"The <i>{k}</i> & co") for pk in range(1, 8) for k in range(pk % 3)]
    rows = list_rows.person_rows(people, memberships)
    for row in rows:
        theirs = [(f, name) for p, f, name in memberships if p == row.pk]
        links = ((reverse("cases:family_detail", args=[f]), name) for f, name in theirs)
        assert row.families == format_html_join(", ", '<a class="govuk-link" href="{}">{}</a>', links)
    loop = engines["django"].from_string(PERSON_LOOP).render({"results": rows})
    assert loop == "    " + list_rows.person_rows_markup(rows) + "\n"


def test_a_search_s_values_are_search_people_s_for_every_shape_and_kind(world):  # noqa: F811
    from cases.models import Membership, Person
    from cases.selectors import search_people, search_person_values
    from tests.factories import PersonFactory

    born = NOW.date() - timedelta(days=3000)
    families = list(Family.objects.order_by("pk"))
    Family.objects.filter(pk__in=[f.pk for f in families[::2]]).update(postcode="ZZ1 1ZZ")
    for i, family in enumerate(families):
        for j in range(2):
            child = PersonFactory(last_name="Searchwood", first_name=f"Kim{i}{j}", date_of_birth=born if j else None)
            Membership.objects.create(family=family, person=child, relationship="child")
    person = PersonFactory(last_name="Searchwood", first_name="Alex", date_of_birth=born, expected_date_of_birth=None)
    Person.objects.filter(pk=person.pk).update(nhs_number="9434765919", upn="A12345678901B")
    for family in families[::3]:  # in several families
        Membership.objects.create(family=family, person=person, relationship="child")
    queries = [
        born.strftime("%d/%m/%Y"),
        born.strftime("%d.%m.%Y"),
        "943 476 5919",
        "a12345678901b",
        "ZZ1 1ZZ",
        "zz11ab",
        person.last_name,
        f"{person.first_name} {person.last_name}",
        "31/02/2015",
        "",
        "nobody at all",
    ]
    found = 0
    for name, user in world.items():
        for query in queries:
            people, memberships = search_person_values(user, query)
            orm = search_people(user, query)
            assert [row[0] for row in people] == [p.pk for p in orm], (name, query)
            assert people == [(p.pk, p.first_name, p.last_name, p.date_of_birth, p.expected_date_of_birth) for p in orm]
            assert sorted(memberships) == sorted(
                (p.pk, m.family_id, m.family.name) for p in orm for m in p.memberships.all()
            )
            rows = list_rows.person_rows(people, memberships)
            assert [r.name for r in rows] == [str(p) for p in orm]
            assert [sorted(r.family_ids) for r in rows] == [
                sorted(m.family_id for m in p.memberships.all()) for p in orm
            ]
            found += len(people)
    assert found > 20
    # Searched again, no search compiles any SQL: the names' (one word or two) and the memberships'
    # are compiled once too (ADR 86); at most two queries each, as before.
    again = (person.last_name, f"{person.first_name} {person.last_name}", f"kim {person.last_name}", "943 476 5919")
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with CaptureQueriesContext(connection) as captured, mock.patch.object(SQLCompiler, "as_sql", counted):
        for user in world.values():
            for query in again:
                search_person_values(user, query)
    assert calls == []
    assert len(captured.captured_queries) <= 2 * len(world) * len(again)


def test_the_search_page_shows_and_logs_what_it_found(client, users, team):
    from cases.models import AccessLog, Membership
    from tests.factories import FamilyFactory, children_of

    family = FamilyFactory(children=2, team=team)
    other = FamilyFactory(children=1, team=team)
    child = children_of(family)[0]
    Membership.objects.create(family=other, person=child, relationship="child")
    born = child.date_of_birth
    client.force_login(users["teamlead"])
    for query, expect_found in ((born.strftime("%d/%m/%Y"), True), ("01/01/1801", False)):
        response = client.post(reverse("cases:search"), {"q": query})
        before = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        html = client.get(response["Location"]).content.decode()
        logged = set(
            AccessLog.objects.filter(pk__gt=before).values_list("action", "family_id_logged", "person_id_logged")
        )
        if expect_found:
            assert f'<a class="govuk-link" href="{reverse("cases:family_detail", args=[family.pk])}">' in html
            assert f"{child.first_name} {child.last_name}" in html
            assert ("search", family.pk, child.pk) in logged and ("search", other.pk, child.pk) in logged
        else:
            assert "0 results" in html
            assert logged == {("search", None, None)}


WORK_LOOP = '  {% for item in items %}\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell">{% if item.case_href %}<a class="govuk-link" href="{{ item.case_href }}">{{ item.family_name }}</a><br><span class="govuk-body-s">{{ item.reference }}</span>{% else %}Not about one case{% endif %}</td>\n    {% if item.kind == "case" %}\n      <td class="govuk-table__cell">{{ item.what }}</td>\n      <td class="govuk-table__cell">{{ item.due }}</td>\n      <td class="govuk-table__cell"></td>\n    {% else %}\n      <td class="govuk-table__cell">Supervision task: {{ item.what }}<br><span class="govuk-body-s">Set by {{ item.set_by }} on {{ item.held_on }}</span></td>\n      <td class="govuk-table__cell">{{ item.due }}</td>\n      <td class="govuk-table__cell"><form method="post" action="{{ item.done_href }}" class="eh-inline-form">{% csrf_token %}<button type="submit" class="govuk-button govuk-button--secondary eh-button--small" data-module="govuk-button">Mark done<span class="govuk-visually-hidden">: {{ item.short_text }}</span></button></form></td>\n    {% endif %}\n    </tr>\n  {% empty %}\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">You have no open cases or tasks.</td></tr>\n  {% endfor %}\n'  # noqa: E501


def test_my_work_rows_markup_is_what_the_template_loop_wrote():
    from django.template import engines
    from django.utils.safestring import SafeString

    from oversight.my_work import WorkLine, work_rows_markup

    lines = [
        WorkLine(
            kind="case" if n % 2 else "task",
            family_id=n,
            family_name=f"The <b>{n}</b> household",
            reference=f"E{n:07d}",
            case_href=f"/episodes/{n}/" if n % 3 else "",
            what=SafeString('<a href="/clock">B1: Visit</a>') if n % 2 else "Ring the school & <nurse>",
            due=SafeString("1 December 2026 <strong>Overdue</strong>"),
            set_by="Sam O'Neil",
            held_on="16 November 2026",
            short_text="Ring the school &…",
            done_href=f"/tasks/{n}/done/",
        )
        for n in range(1, 9)
    ]
    engine = engines["django"]
    for rows in (lines, lines[1:2], []):
        loop = engine.from_string(WORK_LOOP).render({"items": rows, "csrf_token": "tok<en>"})
        assert loop == "  " + work_rows_markup(rows, csrf_token=lambda: "tok<en>") + "\n"
