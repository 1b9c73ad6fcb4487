"""Property-based: hostile values posted to every form never cause a 500 or come back unescaped.

Each form page is fetched, its field names read from the HTML, and hypothesis posts random and
hostile values (very long strings, control characters, HTML and SQL fragments, wrong types).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import family_with_children
from workflows import services

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(1)</script>"
HOSTILE = st.one_of(
    st.text(max_size=50),
    # Very long values, built cheaply (generating 10,000 random characters is slow).
    st.builds(lambda chunk, n: chunk * n, st.sampled_from(["a", "<b>", "\u202e", "☃ "]), st.integers(1000, 6000)),
    st.sampled_from(
        [
            PAYLOAD,
            "'; DROP TABLE cases_family; --",
            "\x00\x01\x02",
            "\u202e\u0000evil",
            "-1",
            "99999999999999999999",
            "1e309",
            "2026-13-45",
            "",
            " ",
            "☃" * 300,
            '"><img src=x onerror=alert(1)>',
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


class FormFields(HTMLParser):
    """Collect the names of the fields of each POST form on a page, with its action."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = []
            self.forms.append((attrs.get("action") or "", self._current))
        elif self._current is not None and tag in {"input", "select", "textarea"}:
            name = attrs.get("name")
            if name and name != "csrfmiddlewaretoken" and name not in self._current:
                self._current.append(name)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms_of(client, page_url: str) -> list[tuple[str, list[str]]]:
    response = client.get(page_url)
    assert response.status_code == 200, page_url
    parser = FormFields()
    parser.feed(response.content.decode())
    return [(action or page_url, fields) for action, fields in parser.forms if fields]


def fuzz_page(client, page_url: str):
    forms = post_forms_of(client, page_url)
    assert forms, f"no POST form found on {page_url}"

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def run(data):
        for action, fields in forms:
            payload = {name: data.draw(HOSTILE, label=name) for name in fields}
            response = client.post(action, payload)
            assert response.status_code < 500, (action, payload)
            body = response.content.decode(errors="replace")
            assert PAYLOAD not in body, f"unescaped script reflected by {action}"
            assert not re.search(r"<img src=x onerror", body), action

    run()


@pytest.fixture
def pages(users, team):
    family, children = family_with_children(1, team=team)
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=timezone.now(),
        route="email",
        source="2A",
        presenting_needs="Needs",
        by=users["mash"],
        now=timezone.now(),
    )
    waiting = services.contact_receive(
        family=family,
        subjects=children,
        received_at=timezone.now(),
        route="phone",
        source="6",
        presenting_needs="Police report",
        by=users["mash"],
        now=timezone.now(),
    )
    services.contact_decide(
        contact=waiting,
        decision="meeting",
        meeting_kind="MAAM",
        rationale="Needs MAAM",
        by=users["mash"],
        now=timezone.now(),
    )
    meeting = services.meeting_schedule(
        kind="MAAM",
        scheduled_for=contact.received_at,
        location="Hub",
        attendees="",
        by=users["mashlead"],
    )
    return {
        "mash": [
            reverse("cases:contact_create") + "?find-last_name=Zzzyx",
            reverse("cases:contact_detail", args=[contact.pk]),
            reverse("cases:person_add", args=[family.pk]),
            reverse("cases:agency_add", args=[family.pk]),
            reverse("cases:contact_record", args=[family.pk]),
            reverse("cases:break_glass"),
        ],
        "mashlead": [reverse("cases:meeting_list"), reverse("cases:meeting_detail", args=[meeting.pk])],
        "admin": [reverse("accounts:user_create")],
        "manager": [reverse("cases:family_detail", args=[family.pk])],
        "coach": [reverse("accounts:two_factor")],
    }


def test_hostile_values_never_cause_a_500_or_unescaped_script(client, users, pages):
    for username, urls in pages.items():
        client.force_login(users[username])
        for url in urls:
            fuzz_page(client, url)


def test_a_date_with_an_impossible_year_is_a_message_not_a_500(client, users):
    client.force_login(users["mash"])
    response = client.get(
        "/contacts/new/",
        {
            "find-last_name": "Oakhurst",
            "find-date_of_birth_0": "1",
            "find-date_of_birth_1": "1",
            "find-date_of_birth_2": "99999999999",
        },
    )
    assert response.status_code == 200
    assert b"Enter a real date" in response.content
