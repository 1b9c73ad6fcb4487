"""Property-based: hostile input never causes a 500 or comes back unescaped.

Each form page is fetched, its field names read from the HTML, and hypothesis posts random and
hostile values (very long strings, control characters, HTML and SQL fragments, wrong types).
Every GET page gets hostile values for every query parameter its view reads (found by watching
the view read them), and the drafts endpoint gets hostile field names and values. The users and the
world are made once for the module; what each test posts is rolled back after it (tests/security/world_once.py).
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
from tests.security.world_once import world_made_once
from workflows import services

pytestmark = pytest.mark.django_db

module_world_records, world_records, service, team, other_team, front_door_team, users, world = world_made_once()

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


def fuzz_page(client, page_url: str | tuple[str, dict]):
    if isinstance(page_url, tuple):  # a search page: POST the search, fuzz the page of its results
        page_url = client.post(*page_url).url
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
            (reverse("cases:contact_create"), {"find-last_name": "Zzzyx"}),  # its search, then the page of matches
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
    response = client.post(
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


# --- Query strings of every GET page, and the drafts endpoint ------------------------------------

QUERY_VALUES = [
    "a\x00b",
    "999999999",
    "99999999999999999999",
    "9" * 5000,  # more digits than Python converts to a number
    "-1",
    "1e309",
    "١٢٣",  # digits, but not ASCII ones
    "☃" * 3000,
    PAYLOAD,
]


def _signed_in_role_for(name: str) -> str:
    """The first role that may open the page (from the permission table), else any signed-in role."""
    from tests.security.test_permission_matrix import COLUMNS, EXPECTED

    codes = dict(zip(COLUMNS, EXPECTED[name].split(), strict=True))
    return next((role for role in COLUMNS[1:] if codes[role] == "200"), "coach")


def _parameters_read(client, url: str) -> set[str]:
    """The names the view reads from its query string (and form data), by watching it read them.

    A probe parameter makes `request.GET` non-empty, so filter forms bound to it read every field.
    """
    from django.http import QueryDict
    from django.utils.datastructures import MultiValueDict

    seen: set[str] = set()

    def watching(method):
        def read(self, key, *args, **kwargs):
            seen.add(key)
            return method(self, key, *args, **kwargs)

        return read

    with pytest.MonkeyPatch.context() as patch:
        for method in ("get", "__getitem__", "getlist", "__contains__"):
            patch.setattr(QueryDict, method, watching(getattr(MultiValueDict, method)))
        _body(client.get(url, {"zz_probe": "1"}))
    return seen - {"zz_probe"}


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def _assert_survives(response, what) -> None:
    body = _body(response)
    assert response.status_code < 500, what
    assert PAYLOAD not in body, f"unescaped script reflected: {what}"


def _fuzz_query(client, name: str, url: str, params: list[str]) -> None:
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(query=st.fixed_dictionaries(dict.fromkeys(params, HOSTILE)))
    def run(query):
        _assert_survives(client.get(url, query), (name, query))

    run()


def test_hostile_query_strings_on_every_get_page_never_cause_a_500(client, users, world):
    """Every URL, as a role that may open it, with hostile values for every parameter its view reads."""
    from tests.security.matrix import all_url_names, url_for

    checked = 0
    for name, kwarg_names in all_url_names():
        url = url_for(name, kwarg_names, world)
        client.force_login(users[_signed_in_role_for(name)])
        params = sorted(_parameters_read(client, url))
        # `%00` as the tester sent it, raw in the query string, for each parameter (or a made-up one).
        raw = "&".join(f"{p}=%00" for p in params or ["q"])
        response = client.get(f"{url}?{raw}")
        assert response.status_code == 400, (name, response.status_code)
        if not params:
            continue
        checked += 1
        for value in QUERY_VALUES:
            _assert_survives(client.get(url, dict.fromkeys(params, value)), (name, value[:40]))
        _fuzz_query(client, name, url, params)
    assert checked >= 15, "the parameter discovery found too few pages with parameters"


def test_the_examples_the_tester_sent(client, users, world):
    client.force_login(users["mash"])
    assert client.get("/front-door/?older_than=999999999").status_code == 200
    assert client.get("/front-door/?older_than=99999999999999999999&team=99999999999999999999").status_code == 200
    response = client.get("/step-down/?q=%00")
    assert response.status_code == 400 and b"Sorry, that could not be read" in response.content
    client.force_login(users["coach"])
    draft = reverse("episodes:draft_save", args=["assessment", world["episode"].pk])
    assert client.post(draft, {"family_history\x00": "x"}).status_code == 400
    response = client.post(draft, {"family_history": "a\x00b"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json() == {"error": "invalid_characters"}
    from cases.models import Draft

    assert not Draft.objects.exists()


DRAFT_KEYS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["family_history", "version", "\x00", "a\x00", "☃" * 100, "x" * 2000, PAYLOAD]),
)


def test_hostile_draft_bodies_never_cause_a_500(client, users, world):
    from cases.models import Draft

    client.force_login(users["coach"])
    draft = reverse("episodes:draft_save", args=["assessment", world["episode"].pk])

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(body=st.dictionaries(DRAFT_KEYS, st.one_of(HOSTILE, st.lists(HOSTILE, max_size=3)), max_size=6))
    def run(body):
        response = client.post(draft, body, HTTP_ACCEPT="application/json")
        assert response.status_code in (200, 400, 413), (response.status_code, body)
        stored = Draft.objects.filter(user=users["coach"]).first()
        assert stored is None or "\x00" not in repr(stored.data)

    run()
    # What was saved comes back on the form's page, escaped.
    page = client.get(reverse("episodes:assessment", args=[world["episode"].pk]))
    _assert_survives(page, "assessment page with a hostile draft")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("12", 12),
        (" 12 ", 12),
        ("-5", 0),
        ("999999999", 1000),
        ("9" * 5000, None),
        ("1e309", None),
        ("١٢", None),
        ("12abc", None),
        ("-", None),
    ],
)
def test_int_param_ignores_what_is_not_a_number_and_clamps_what_is(raw, expected):
    from django.http import QueryDict

    from kit.params import int_param

    query = QueryDict(mutable=True)
    query["n"] = raw
    assert int_param(query, "n", minimum=0, maximum=1000) == expected
