"""What my cases, my work, the triage queue and the pre-allocation list show, cell by cell.

Written before those pages were read as plain rows (ADR 58) and run against the model-instance version
first: every cell below is what the pages showed then, so the rows are proved the same (order, words,
dates, tags, links and escaping). Line breaks between tags and the CSRF token's value are not compared.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from accounts import roles
from cases.models import Contact, Episode
from oversight.models import Supervision, SupervisionAction
from tests.conftest import make_user
from tests.factories import NOW, ContactFactory, DeadlineFactory, EpisodeFactory, FamilyFactory, children_of

pytestmark = pytest.mark.django_db
S = Episode.State
D = timedelta(days=1)
H = timedelta(hours=1)
ODD_NAME = "The O'Neil & <Sons> household"


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def rows_of(html: str, caption: str) -> list[list[str]]:
    """The cells (inner HTML) of each body row of the table with this caption."""
    html = re.sub(r">\s*\n\s*<", "><", html)  # the template's line breaks, not a space between words
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken" value="X"', html)
    table = html[html.index(caption) :]
    body = table[table.index("<tbody") : table.index("</tbody>")]
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', body)
    return [re.findall(r'<t[dh][^>]*class="govuk-table__(?:cell|header)"[^>]*>(.*?)</t[dh]>', row) for row in rows]


def case_cell(episode: Episode) -> str:
    return (
        f'<a class="govuk-link" href="/episodes/{episode.pk}/">{escape(episode.family.name)}</a><br>'
        f'<span class="govuk-body-s">{episode.reference}</span>'
    )


def clock_cell(deadline) -> str:
    href = reverse("deadlines:clock_explain", args=[deadline.pk])
    return (
        f'<a class="govuk-link" href="{href}">{deadline.rule_id}: {escape(deadline.title)}'
        '<span class="govuk-visually-hidden">, why is this due?</span></a>'
    )


RED = ' <strong class="govuk-tag govuk-tag--red">Breached</strong>'
TRUNCATED = "Ring the school about &lt;attendance&gt; &amp; lateness before …"
ORANGE = ' <strong class="govuk-tag govuk-tag--orange">Overdue</strong>'


@pytest.fixture
def caseload(users, team, pinned):
    """The coach's open cases: breached, overdue, on time, one with no clock, one with a maximum only;
    a closed case and another practitioner's case that must not show; a stopped clock that must not count."""
    coach = users["coach"]

    def case(name=None, opened=NOW - 30 * D, **state):
        family = FamilyFactory(team=team, name=name) if name else FamilyFactory(team=team)
        return EpisodeFactory(team=team, family=family, lead_professional=coach, opened_at=opened, **state)

    breached = case(ODD_NAME, plan_active=True)
    overdue = case(first_visit=True)
    on_time = case(assessment=True)
    no_clock = case(allocated=True, opened=NOW - 2 * D)
    maximum_only = case(planning=True)
    closed = case(closed=True)
    theirs = EpisodeFactory(team=team, lead_professional=users["teamlead"], allocated=True)
    clocks = {
        "breached": DeadlineFactory(episode=breached, breached=True, rule_id="B14", title="Plan <review> & sign"),
        "overdue": DeadlineFactory(episode=overdue, overdue=True, rule_id="B6", title="First visit"),
        "on_time": DeadlineFactory(episode=on_time, rule_id="B9", title="Assessment"),
        "maximum_only": DeadlineFactory(
            episode=maximum_only, rule_id="B11", title="Plan", expected_at=None, due_at=NOW + 40 * D
        ),
    }
    DeadlineFactory(episode=on_time, met=True, rule_id="B7", title="Stopped", expected_at=NOW - 29 * D)
    DeadlineFactory(episode=closed, overdue=True)
    DeadlineFactory(episode=theirs, overdue=True)
    return {
        "breached": breached,
        "overdue": overdue,
        "on_time": on_time,
        "no_clock": no_clock,
        "maximum_only": maximum_only,
        "clocks": clocks,
    }


def test_my_cases_rows(client, users, caseload):
    client.force_login(users["coach"])
    html = client.get(reverse("episodes:my_cases")).content.decode()
    c = caseload["clocks"]
    assert "5 open families, the most urgent next task first." in html
    assert rows_of(html, "My open cases and each one") == [
        [
            case_cell(caseload["breached"]),
            S.PLAN_ACTIVE.label,
            clock_cell(c["breached"]),
            f"13 November 2026, 10:00{RED}",
        ],
        [case_cell(caseload["no_clock"]), S.ALLOCATED.label, "No timescale running", "–"],
        [
            case_cell(caseload["overdue"]),
            S.FIRST_VISIT.label,
            clock_cell(c["overdue"]),
            f"22 November 2026, 10:00{ORANGE}",
        ],
        [case_cell(caseload["on_time"]), S.ASSESSMENT.label, clock_cell(c["on_time"]), "26 November 2026, 10:00"],
        [case_cell(caseload["maximum_only"]), S.PLANNING.label, clock_cell(c["maximum_only"]), "2 January 2027, 10:00"],
    ]


def test_my_work_rows(client, users, team, caseload):
    coach = users["coach"]
    supervision = Supervision.objects.create(
        practitioner=coach, supervisor=users["teamlead"], held_on=date(2026, 11, 16), notes="n", recorded_at=NOW
    )
    late = SupervisionAction.objects.create(
        supervision=supervision,
        episode=caseload["overdue"],
        text="Ring the school about <attendance> & lateness before the review",
        assignee=coach,
        due_on=date(2026, 11, 20),
    )
    later = SupervisionAction.objects.create(
        supervision=supervision, text="Book training", assignee=coach, due_on=date(2026, 12, 1)
    )
    SupervisionAction.objects.create(
        supervision=supervision, text="Done already", assignee=coach, due_on=date(2026, 11, 1), done_at=NOW - D
    )
    client.force_login(coach)
    html = client.get(reverse("oversight:my_work")).content.decode()
    c = caseload["clocks"]
    assert "5 open cases and 2 supervision tasks, what is due first at the top." in html

    def task(action, case, due, tag=""):
        return [
            case,
            f"Supervision task: {escape(action.text)}<br>"
            f'<span class="govuk-body-s">Set by {escape(str(users["teamlead"]))} on 16 November 2026</span>',
            f"{due}{tag}",
            f'<form method="post" action="/oversight/tasks/{action.pk}/done/" class="eh-inline-form">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="X">'
            '<button type="submit" class="govuk-button govuk-button--secondary eh-button--small" '
            'data-module="govuk-button">Mark done<span class="govuk-visually-hidden">: '
            f"{escape(action.text) if action is later else TRUNCATED}"
            "</span></button></form>",
        ]

    assert rows_of(html, "My cases and tasks in due order") == [
        [case_cell(caseload["breached"]), clock_cell(c["breached"]), f"13 November 2026, 10:00{RED}", ""],
        task(late, case_cell(caseload["overdue"]), "20 November 2026", ORANGE),
        [case_cell(caseload["overdue"]), clock_cell(c["overdue"]), f"22 November 2026, 10:00{ORANGE}", ""],
        [case_cell(caseload["on_time"]), clock_cell(c["on_time"]), "26 November 2026, 10:00", ""],
        task(later, "Not about one case", "1 December 2026"),
        [case_cell(caseload["maximum_only"]), clock_cell(c["maximum_only"]), "2 January 2027, 10:00", ""],
        [case_cell(caseload["no_clock"]), "No timescale running", "–", ""],
    ]


def test_my_work_pre_allocation_rows_for_a_duty_worker(client, users, team, pinned):
    waiting = EpisodeFactory(team=team, family=FamilyFactory(team=team, name=ODD_NAME), opened_at=NOW - 20 * D)
    fresh = EpisodeFactory(team=team, opened_at=NOW - 3 * D)
    client.force_login(users["duty"])
    html = client.get(reverse("oversight:my_work")).content.decode()
    assert rows_of(html, "Families on the pre-allocation list") == [
        [
            case_cell(waiting),
            "3 November 2026",
            'None yet <strong class="govuk-tag govuk-tag--red">Weekly contact due</strong>',
        ],
        [case_cell(fresh), "20 November 2026", "None yet"],
    ]


def test_triage_queue_rows(client, users, pinned):
    family = FamilyFactory(name=ODD_NAME, children=2)
    first, second = children_of(family)
    first.date_of_birth, second.date_of_birth = date(2018, 5, 1), date(2014, 2, 3)  # listed eldest first
    first.save()
    second.save()
    urgent = ContactFactory(
        family=family,
        subjects=[second, first],
        received_at=NOW - 2 * D,
        route="phone",
        referrer_name="Ms <Teacher>",
        referrer_agency="Exampleton & Co",
        recent_step_up_flag=True,
    )
    soon = ContactFactory(received_at=NOW - 3 * H, screening=True)
    later = ContactFactory(received_at=NOW - 5 * D, referrer_name="")
    none = ContactFactory(received_at=NOW - H)
    ContactFactory(received_at=NOW - 6 * D, allocated_to_team=True)  # decided: not in the queue
    DeadlineFactory(contact=urgent, rule_id="A1", title="Decide", due_at=NOW - 2 * H, expected_at=None)
    DeadlineFactory(contact=soon, rule_id="A2", title="Decide", due_at=NOW + 5 * H, expected_at=None)
    DeadlineFactory(contact=later, rule_id="A3", title="Decide", due_at=NOW + 3 * D + H, expected_at=None)
    client.force_login(users["mash"])
    response = client.get(reverse("cases:triage_queue"))
    html = response.content.decode()
    assert [c.pk for c in response.context["page"]] == [urgent.pk, soon.pk, later.pk, none.pk]
    assert "4 contacts awaiting a decision" in html

    def link(contact, words):
        return (
            f'<a class="govuk-link" href="/contacts/{contact.pk}/">{contact.reference}</a><br>'
            f'<span class="govuk-body-s">{words}</span>'
        )

    assert rows_of(html, "awaiting a decision</caption>") == [
        [
            link(urgent, "Phone · Received")
            + '<br><strong class="govuk-tag govuk-tag--red">'
            + "Re-referral after a step-up: with the duty manager</strong>",
            escape(ODD_NAME),
            f"{second.first_name} {second.last_name}, {first.first_name} {first.last_name}",
            'Ms &lt;Teacher&gt;<br><span class="govuk-body-s">Exampleton &amp; Co</span>',
            "21 November 2026, 10:00",
            '<strong class="govuk-tag govuk-tag--red">Breached</strong><br><span class="govuk-body-s">A1</span>',
        ],
        [
            link(soon, "Email · Screening"),
            escape(soon.family.name),
            "",
            "–",
            "23 November 2026, 07:00",
            '<strong class="govuk-tag govuk-tag--yellow">Due in 5 hours</strong>'
            '<br><span class="govuk-body-s">A2</span>',
        ],
        [
            link(later, "Email · Received"),
            escape(later.family.name),
            "",
            "–",
            "18 November 2026, 10:00",
            '<strong class="govuk-tag govuk-tag--blue">Due in 3 days</strong><br><span class="govuk-body-s">A3</span>',
        ],
        [link(none, "Email · Received"), escape(none.family.name), "", "–", "23 November 2026, 09:00", "–"],
    ]


def test_pre_allocation_rows(client, users, team, pinned):
    family = FamilyFactory(team=team, name=ODD_NAME)
    waiting = EpisodeFactory(team=team, family=family, opened_at=NOW - 20 * D)
    clock = DeadlineFactory(episode=waiting, overdue=True, rule_id="B3", title="Allocate <soon>")
    fresh = EpisodeFactory(team=team, opened_at=NOW - 3 * D, origin=Episode.Origin.STEP_DOWN)
    EpisodeFactory(team=team, allocated=True, lead_professional=users["coach"])  # allocated: not listed
    client.force_login(users["teamlead"])
    html = client.get(reverse("episodes:pre_allocation")).content.decode()

    def family_cell(episode, origin):
        return (
            f'<a class="govuk-link" href="/episodes/{episode.pk}/">{escape(episode.family.name)}</a><br>'
            f'<span class="govuk-body-s">{episode.reference} · {origin} · {team.name}</span>'
        )

    def actions(episode):
        return (
            f'<a class="govuk-link" href="/episodes/{episode.pk}/allocate/">Allocate'
            f'<span class="govuk-visually-hidden"> {escape(episode.family.name)}</span></a>'
            f'<br><a class="govuk-link" href="/episodes/{episode.pk}/notes/new/?kind=duty_contact">Record duty contact'
            f'<span class="govuk-visually-hidden"> with {escape(episode.family.name)}</span></a>'
        )

    assert rows_of(html, "awaiting allocation</caption>") == [
        [
            family_cell(waiting, waiting.get_origin_display()),
            "3 November 2026, 10:00",
            "None yet",
            f'<a class="govuk-link" href="{reverse("deadlines:clock_explain", args=[clock.pk])}">'
            "B3: Allocate &lt;soon&gt;"
            "</a>, due 22 November 2026, "
            '10:00 <strong class="govuk-tag govuk-tag--red">Late</strong>',
            actions(waiting),
        ],
        [family_cell(fresh, fresh.get_origin_display()), "20 November 2026, 10:00", "None yet", "–", actions(fresh)],
    ]


def test_a_contact_with_no_subjects_and_no_clock_is_still_listed(client, users, pinned):
    contact = ContactFactory(received_at=NOW - H, state=Contact.State.AWAITING_CONSENT)
    client.force_login(users["mash"])
    html = client.get(reverse("cases:triage_queue")).content.decode()
    assert f"/contacts/{contact.pk}/" in html and "Awaiting consent" in html


def test_my_work_export_rows(client, users, caseload):
    """The CSV of My work reads the same lines as the page."""
    coach = users["coach"]
    supervision = Supervision.objects.create(
        practitioner=coach, supervisor=users["teamlead"], held_on=date(2026, 11, 16), notes="n", recorded_at=NOW
    )
    SupervisionAction.objects.create(
        supervision=supervision,
        episode=caseload["overdue"],
        text="Ring school",
        assignee=coach,
        due_on=date(2026, 11, 20),
    )
    SupervisionAction.objects.create(
        supervision=supervision, text="Book training", assignee=coach, due_on=date(2026, 12, 1)
    )
    client.force_login(coach)
    response = client.get(reverse("oversight:export", args=["my-work"]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    lines = [line for line in body.decode("utf-8-sig").splitlines() if line]
    e = {name: caseload[name] for name in ("breached", "overdue", "on_time", "maximum_only", "no_clock")}

    def name(key):
        family = e[key].family.name
        return f'"{family}"' if "," in family or '"' in family else family

    assert lines[0] == "Kind,Case,Family,What,Due"
    assert lines[1:] == [
        f"Case,{e['breached'].reference},{name('breached')},B14: Plan <review> & sign,13/11/2026 10:00",
        f"Supervision task,{e['overdue'].reference},{name('overdue')},Ring school,20/11/2026",
        f"Case,{e['overdue'].reference},{name('overdue')},B6: First visit,22/11/2026 10:00",
        f"Case,{e['on_time'].reference},{name('on_time')},B9: Assessment,26/11/2026 10:00",
        "Supervision task,,,Book training,01/12/2026",
        f"Case,{e['maximum_only'].reference},{name('maximum_only')},B11: Plan,02/01/2027 10:00",
        f"Case,{e['no_clock'].reference},{name('no_clock')},,",
    ]


def test_supervision_list_rows(client, users, team, pinned):
    coach, other = users["coach"], make_user("coach2", roles.PRACTITIONER, team, first_name="Zoë", last_name="O'Hara")
    Supervision.objects.create(
        practitioner=coach, supervisor=users["teamlead"], held_on=date(2026, 11, 2), notes="n", recorded_at=NOW
    )
    clock = DeadlineFactory(worker=coach, rule_id="B20", title="Supervision", overdue=True)
    client.force_login(users["teamlead"])
    html = client.get(reverse("oversight:supervision_list")).content.decode()

    def action(user):
        return (
            f'<a class="govuk-link" href="/oversight/supervision/new/{user.pk}/">Record supervision'
            f'<span class="govuk-visually-hidden"> of {escape(str(user))}</span></a>'
        )

    assert rows_of(html, "Practitioners you supervise") == [
        [
            escape(str(coach)),
            team.name,
            "2 November 2026",
            f'<a class="govuk-link" href="{reverse("deadlines:clock_explain", args=[clock.pk])}">28 November 2026'
            '<span class="govuk-visually-hidden">, why is this due?</span></a> '
            '<strong class="govuk-tag govuk-tag--orange">Overdue</strong>',
            action(coach),
        ],
        [escape(str(other)), team.name, "Not recorded", "–", action(other)],
    ]
