"""Every URL as partner users of two agencies (ADR 0044), GET and POST.

`teacher` works at a school that is in the world family's team around the family (named, with the
family's consent to share) and sent the world's request; `visitor` works for a health visiting team
with nothing shared. Both have passed two-factor. Every internal page answers them 404 (the home page
sends them to the portal); the portal's pages answer as the table says: a record of another agency,
or a family they are not in the team of, is 404, never a page. The world is made once for the module; what
each test posts is rolled back after it (tests/security/world_once.py).
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.urls import reverse

from tests.partners.conftest import sign_in_partner
from tests.security.matrix import all_url_names, url_for
from tests.security.world_once import world_made_once

pytestmark = pytest.mark.django_db

module_world_records, world_records, service, team, other_team, front_door_team, users, world = world_made_once()

PARTNERS = ("teacher", "visitor")

# name: GET as teacher, visitor | POST as teacher, visitor (+ allowed: not 403/404/405; - refused: 403/404)
PORTAL = {
    "partners:home": ("200 200", ""),
    "partners:two_factor": ("200 200", "+ +"),
    "partners:invitation": ("404 404", "- -"),
    "partners:request_list": ("200 200", ""),
    "partners:request_new": ("200 200", "+ +"),
    "partners:request_detail": ("200 404", ""),
    "partners:request_edit": ("302 404", "+ -"),
    "partners:request_discard": ("405 405", "+ -"),
    "partners:family_list": ("200 200", ""),
    "partners:family_detail": ("200 404", ""),
    "partners:update_new": ("200 404", "+ -"),
    # ADR 52: the teacher leads the world's partner-led episode and is invited to a review of the world's.
    "partners:episode_list": ("200 200", ""),
    "partners:episode_detail": ("200 404", ""),
    "partners:episode_visit_new": ("200 404", "+ -"),
    "partners:episode_assessment": ("200 404", "+ -"),
    "partners:episode_plan": ("200 404", "+ -"),
    "partners:episode_outcome_new": ("200 404", "+ -"),
    "partners:episode_planning_meeting": ("200 404", "+ -"),
    "partners:episode_plan_activate": ("405 405", "+ -"),
    "partners:episode_review_new": ("200 404", "+ -"),
    "partners:episode_review_invite": ("200 404", "+ -"),
    "partners:episode_closure": ("200 404", "+ -"),
    "partners:review_invitation_list": ("200 200", ""),
    "partners:review_invitation": ("200 404", "+ -"),
    "partners:staff_review_invite": ("404 404", "- -"),
    "partners:organisation_list": ("403 403", "- -"),
    "partners:organisation_new": ("403 403", "- -"),
    "partners:organisation_detail": ("403 403", "- -"),
    "partners:organisation_active": ("405 405", "- -"),
}


def _urls(world):
    return [(name, url_for(name, kwargs, world)) for name, kwargs in all_url_names()]


def test_every_portal_url_is_in_the_table():
    portal = {name for name, _ in all_url_names() if name.startswith("partners:")}
    assert portal == set(PORTAL)


def test_partner_users_get_404_on_every_internal_url_and_the_table_on_the_portal(client, users, world):
    client.raise_request_exception = False
    wrong = []
    for who in PARTNERS:
        sign_in_partner(client, users[who])
        column = PARTNERS.index(who)
        for name, url in _urls(world):
            got = client.get(url).status_code
            if name.startswith("partners:"):
                expected = int(PORTAL[name][0].split()[column])
            else:
                expected = 302 if name == "home" else 404
            if got != expected:
                wrong.append(f"GET {name} as {who}: got {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    sign_in_partner(client, users["teacher"])
    assert client.get("/")["Location"] == reverse("partners:home")


def test_partner_users_posting_anywhere_inside_get_404_and_the_table_on_the_portal(client, users, world):
    client.raise_request_exception = False
    wrong = []
    for who in PARTNERS:
        sign_in_partner(client, users[who])
        column = PARTNERS.index(who)
        for name, url in _urls(world):
            if name.startswith("partners:") and not PORTAL[name][1]:
                continue  # a page that only shows something
            with transaction.atomic():
                status = client.post(url, {}).status_code
                transaction.set_rollback(True)
            if status >= 500:
                wrong.append(f"POST {name} as {who}: {status}")
            elif name.startswith("partners:"):
                token = PORTAL[name][1].split()[column]
                if (token == "-") != (status in (403, 404)) or status == 405:
                    wrong.append(f"POST {name} as {who}: got {status}, expected {token}")
            elif status != (302 if name == "home" else 404):
                wrong.append(f"POST {name} as {who}: got {status}, expected 404")
    assert not wrong, "\n".join(wrong)


def test_every_portal_form_posted_with_bad_input_shows_one_error_summary(client, users, world):
    client.raise_request_exception = False
    sign_in_partner(client, users["teacher"])
    wrong = []
    for name in ("partners:request_new", "partners:update_new", "partners:two_factor"):
        kwargs = [k for n, k in all_url_names() if n == name][0]
        body = {"not-a-field": "x", "send": "1"} if name == "partners:request_new" else {"not-a-field": "x"}
        response = client.post(url_for(name, kwargs, world), body)
        summaries = len(re.findall(r'class="govuk-error-summary["\s]', response.content.decode()))
        if response.status_code not in (200, 400) or summaries != 1:
            wrong.append(f"{name}: status {response.status_code}, {summaries} error summaries")
    assert not wrong, "\n".join(wrong)


def test_every_portal_page_keeps_the_form_date_and_status_conventions(client, users, world):
    from tests.security.test_page_conventions import form_problems, parse, text_problems

    client.raise_request_exception = False
    problems = []
    for who in PARTNERS:
        sign_in_partner(client, users[who])
        for name, kwargs in all_url_names():
            if not name.startswith("partners:"):
                continue
            url = url_for(name, kwargs, world)
            response = client.get(url)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                html = response.content.decode()
                page = parse(html)
                problems += [f"{who} {p}" for p in form_problems(url, page) + text_problems(url, html, page)]
    assert not problems, "\n".join(sorted(set(problems)))
