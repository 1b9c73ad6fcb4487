"""Conventions every rendered page keeps, checked on every GET page as every role of the permission matrix.

- A GET form never carries the CSRF token (it would reach the URL and the server logs), and no form that sends a
  name, a date of birth or an NHS number is a GET form: children's details never reach a URL (ADR 0036).
- A form has exactly one CSRF token when it is a POST form.
- No "---------" empty choice anywhere (GOV.UK radios with conditional reveal instead).
- One date format: "6 December 2026", never "06 December 2026".
- Status tags in sentence case ("Met", "Withdrawn"; not "withdrawn" nor "MET").
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.security.matrix import all_url_names
from tests.security.test_permission_matrix import ROLES

pytestmark = pytest.mark.django_db

# Inputs whose value is a person's name or other identifying detail.
PERSONAL_FIELDS = re.compile(r"name|surname|forename|birth|dob|nhs|postcode|address|query|^q$", re.I)
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
MONTHS_SHORT = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
LEADING_ZERO_DATE = re.compile(rf"(?<![\d/])0\d (?:{MONTHS}|{MONTHS_SHORT})\b")


class Page(HTMLParser):
    """The forms (method, input names, csrf tokens), the links and the status tags of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self._form: dict | None = None
        self._tag_depth = 0
        self._tag_text: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").lower(), "inputs": [], "csrf": 0}
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea") and self._form is not None:
            name = attrs.get("name") or ""
            if name == "csrfmiddlewaretoken":
                self._form["csrf"] += 1
            elif attrs.get("type") not in ("submit", "button") and name:
                self._form["inputs"].append(name)
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if self._tag_depth:
            self._tag_depth += 1
            if tag == "span" and "govuk-visually-hidden" in classes:
                self._hidden_depth = self._tag_depth
        elif tag in ("strong", "span") and "govuk-tag" in classes:
            self._tag_depth = 1
            self._tag_text = []

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if self._tag_depth:
            if self._hidden_depth == self._tag_depth:
                self._hidden_depth = 0
            self._tag_depth -= 1
            if not self._tag_depth:
                self.tags.append(" ".join("".join(self._tag_text).split()))

    def handle_data(self, data):
        if self._tag_depth and not self._hidden_depth:
            self._tag_text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def is_sentence_case(text: str) -> bool:
    words = [w for w in text.split() if w.isalpha()]
    if not words or text[:1].isdigit():
        return True
    if not words[0][0].isupper():
        return False
    # Later words lower case, except acronyms (ICDM, MASH, NHS) and proper names kept as written.
    return not (len(words[0]) > 1 and words[0].isupper() and len(words) == 1 and len(words[0]) > 5)


def form_problems(url: str, page: Page) -> list[str]:
    problems = []
    for form in page.forms:
        if form["method"] == "get":
            if form["csrf"]:
                problems.append(f"{url}: a GET form sends the CSRF token in the URL")
            personal = [n for n in form["inputs"] if PERSONAL_FIELDS.search(n)]
            if personal:
                problems.append(f"{url}: a GET form sends {personal} in the URL")
        elif form["csrf"] != 1:
            problems.append(f"{url}: a POST form has {form['csrf']} CSRF tokens")
    return problems


def text_problems(url: str, html: str, page: Page) -> list[str]:
    problems = []
    if "---------" in html:
        problems.append(f'{url}: a "---------" empty choice')
    for match in LEADING_ZERO_DATE.finditer(html):
        problems.append(f"{url}: a date with a leading zero: {match.group(0)!r}")
    for tag in page.tags:
        if not is_sentence_case(tag):
            problems.append(f"{url}: status tag not in sentence case: {tag!r}")
    return problems


def get_pages(get_crawl, role: str):
    """(url, html) of every page the role may GET (200, HTML), from the shared crawl (tests/security/crawl.py)."""
    for name, _kwargs in all_url_names():
        got = get_crawl.pages[name][role]
        if got.status == 200 and "html" in got.content_type:
            yield got.url, got.html


@pytest.mark.parametrize("role", ROLES)
def test_every_page_keeps_the_form_date_and_status_conventions(get_crawl, role):
    problems = []
    pages = 0
    for url, html in get_pages(get_crawl, role):
        pages += 1
        page = parse(html)
        problems += [f"{role} {p}" for p in form_problems(url, page) + text_problems(url, html, page)]
    assert pages, f"{role} may open no page at all: the crawl found nothing to check"
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_sign_in_page_has_one_csrf_token_per_form(client):
    page = parse(client.get(reverse("login")).content.decode())
    assert page.forms and all(form["csrf"] == 1 for form in page.forms), page.forms
