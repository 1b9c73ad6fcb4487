"""The printable family chronology and its PDF (ADR 37): filtered by date and kind, scoped, logged, and
the confidential address never printed."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from cases.models import AccessLog
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=30)


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def add_call(episode, by, days_ago: int, details: str):
    at = LATER - timedelta(days=days_ago)
    es.episode_record_visit(episode=episode, kind="phone_call", happened_at=at, details=details, by=by, now=at)


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response) if response.streaming else response.content
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_print_page_filters_by_date_and_kind_and_is_logged(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT, address_line_1="1 Elm Road", postcode="EX1 1AA")
    add_call(episode, users["coach"], 20, "Rang mum about school mornings")
    add_call(episode, users["coach"], 2, "Rang mum about the review")
    client.force_login(users["coach"])
    url = reverse("episodes:family_chronology", args=[episode.family.pk])
    before = AccessLog.objects.filter(action=AccessLog.Action.VIEW).count()
    body = client.get(url).content.decode()
    assert AccessLog.objects.filter(action=AccessLog.Action.VIEW).count() == before + 1
    assert "Rang mum about school mornings" in body and "Rang mum about the review" in body
    assert "Episode opened" in body and "1 Elm Road" in body
    assert body.index("Rang mum about school mornings") < body.index("Rang mum about the review")  # oldest first

    recent = (LATER - timedelta(days=5)).date()
    query = {"date_from_0": recent.day, "date_from_1": recent.month, "date_from_2": recent.year}
    body = client.get(url, query).content.decode()
    assert "Rang mum about the review" in body and "Rang mum about school mornings" not in body

    body = client.get(url, {"kinds": "Episode opened"}).content.decode()
    assert "Episode opened" in body and "Rang mum" not in body


def test_a_bad_filter_says_so_and_keeps_what_was_typed(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    client.force_login(users["coach"])
    url = reverse("episodes:family_chronology", args=[episode.family.pk])
    query = {"date_from_0": "10", "date_from_1": "11", "date_from_2": "2026"}
    query.update({"date_to_0": "1", "date_to_1": "11", "date_to_2": "2026"})
    response = client.get(url, query)
    assert response.status_code == 400
    body = response.content.decode()
    assert "must be the same as or after" in body and 'value="10"' in body
    assert client.get(url, {"date_from_0": "31", "date_from_1": "2", "date_from_2": "2026"}).status_code == 400
    pdf = client.get(reverse("episodes:family_chronology_pdf", args=[episode.family.pk]), query)
    assert pdf.status_code == 400 and not AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).exists()


def test_the_pdf_holds_the_entries_and_is_one_download_row(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT, address_line_1="1 Elm Road", postcode="EX1 1AA")
    add_call(episode, users["coach"], 3, "Rang mum: “mornings” are calmer – Zoë agrees")
    client.force_login(users["duty"])
    response = client.get(reverse("episodes:family_chronology_pdf", args=[episode.family.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = pdf_text(response)
    assert "Family chronology" in text and episode.family.reference in text
    assert "mornings" in text and "Zo" in text and "1 Elm Road" in text
    assert str(users["duty"]) in text
    rows = AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD, family_id_logged=episode.family.pk)
    assert rows.count() == 1 and "chronology PDF" in rows.get().what


def test_a_confidential_address_is_never_printed(client, users, team, pinned):
    episode, _ = make_episode(
        users, team, state=S.ALLOCATED, address_line_1="9 Hidden Lane", postcode="EX9 9ZZ", address_confidential=True
    )
    client.force_login(users["coach"])
    page = client.get(reverse("episodes:family_chronology", args=[episode.family.pk])).content.decode()
    text = pdf_text(client.get(reverse("episodes:family_chronology_pdf", args=[episode.family.pk])))
    for printed in (page, text):
        assert "9 Hidden Lane" not in printed and "EX9 9ZZ" not in printed
        assert "confidential, not printed" in printed


def test_outside_the_users_scope_is_404(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    client.force_login(users["outsider"])
    for name in ("episodes:family_chronology", "episodes:family_chronology_pdf"):
        assert client.get(reverse(name, args=[episode.family.pk])).status_code == 404
    assert not AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).exists()


def test_constant_queries_whatever_the_history(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
    client.force_login(users["coach"])
    urls = [
        reverse(n, args=[episode.family.pk]) for n in ("episodes:family_chronology", "episodes:family_chronology_pdf")
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            found.append(len(ctx.captured_queries))
        return found

    add_call(episode, users["coach"], 4, "One")
    counts()
    few = counts()
    for day in range(5):
        add_call(episode, users["teamlead"], day + 1, f"Call {day}")
    assert counts() == few
