"""The full case file for a transfer (ADR 0038): one PDF of the family, people, episodes, assessments, plans,
reviews, notes, consents; one DOWNLOAD row; no confidential address; the queries do not grow with history."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AccessLog, Consent
from tests.workflows.helpers import NOW, S, make_episode
from tests.workflows.test_chronology_print import pdf_text
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=30)


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def test_the_case_file_holds_the_whole_record_and_is_one_download_row(client, users, team, pinned):
    episode, children = make_episode(users, team, state=S.PLAN_ACTIVE, address_line_1="1 Elm Road", postcode="EX1 1AA")
    es.episode_record_visit(
        episode=episode,
        kind="phone_call",
        happened_at=LATER,
        details="Rang mum about mornings",
        by=users["coach"],
        now=LATER,
    )
    Consent.objects.create(family=episode.family, purpose="share", agency="Hillside School", status="given")
    client.force_login(users["teamlead"])
    family_page = client.get(reverse("cases:family_detail", args=[episode.family.pk])).content.decode()
    url = reverse("episodes:family_case_file_pdf", args=[episode.family.pk])
    assert url in family_page
    before = AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).count()
    text = pdf_text(client.get(url))
    assert AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).count() == before + 1
    for expected in (
        f"Case file: {episode.family}",
        str(children[0]),
        f"Episode {episode.reference}",
        "Assessments",
        "Plans",
        "Rang mum about mornings",
        "Hillside School",
        "1 Elm Road",
    ):
        assert expected in text, expected


def test_a_confidential_address_is_never_printed(client, users, team, pinned):
    episode, _ = make_episode(
        users, team, state=S.PLAN_ACTIVE, address_line_1="9 Refuge Lane", address_confidential=True
    )
    client.force_login(users["manager"])
    text = pdf_text(client.get(reverse("episodes:family_case_file_pdf", args=[episode.family.pk])))
    assert "9 Refuge Lane" not in text and "confidential, not printed" in text


def test_refused_for_other_roles(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    url = reverse("episodes:family_case_file_pdf", args=[episode.family.pk])
    for role in ("coach", "mash", "dutymanager"):
        client.force_login(users[role])
        assert client.get(url).status_code in (403, 404), role  # out of scope: 404
    assert not AccessLog.objects.filter(action=AccessLog.Action.DOWNLOAD).exists()


def test_queries_do_not_grow_with_the_history(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    client.force_login(users["teamlead"])
    url = reverse("episodes:family_case_file_pdf", args=[episode.family.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(8):
        at = LATER - timedelta(days=n + 1)
        es.episode_record_visit(
            episode=episode, kind="phone_call", happened_at=at, details=f"Call {n}", by=users["coach"], now=at
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) <= len(few.captured_queries)
