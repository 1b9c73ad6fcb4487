"""The one action view (ADR 22): every action is built on it, and its steps hold for each of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import get_resolver, reverse

from cases.models import AccessLog, Episode
from tests.workflows.helpers import NOW, S, make_episode
from workflows.actions import ActionView

pytestmark = pytest.mark.django_db

# Pages of workflows' view modules that are not actions (lists, read-only pages, exports, JSON endpoints).
NOT_ACTIONS = {
    "my_cases",
    "pre_allocation",
    "sign_off",
    "step_down_find",
    "episode_detail",
    "episode_notes",
    "episode_timescales",
    "episode_documents",
    "episode_history",
    "family_copy",
    "document_download",
    "draft_save",
    "draft_discard",
    "contact_detail",
    "triage_queue",
    "meeting_list",
    "meeting_detail",
    # family_views: the family page, search and the access log are read-only pages; intake is a two-step
    # search-then-record page (matches first, ADR 11) and break-glass a grant, not an action on a record.
    "family_detail",
    "search",
    "family_access_log",
    "contact_create",
    "contact_record",
    "break_glass",
    # transfer_views: "Moving cases" lists transfers and caseloads.
    "transfers",
    # clock_views: the explanation page is read-only.
    "clock_explain",
    # amend_views and chronology_views (ADR 37): what an amendment changed, and the printable chronology, are read.
    "amend_changes",
    "family_chronology",
    "family_chronology_pdf",
    # ADR 0038: the case-file PDF is read; the screening, escalation and re-referral lists are lists.
    "family_case_file_pdf",
    "screening_list",
    "screening_detail",
    "escalation_queue",
    "re_referral_queue",
    # correspondence_views: the template list, one message, its printed PDF and the development mailbox are read.
    "letter_templates",
    "message_detail",
    "message_pdf",
    "dev_mail",
    # GOV.UK Notify's delivery receipts: a JSON endpoint for Notify (bearer token), not a page of the product.
    "notify_receipts",
}


def _workflow_routes():
    """(url name, view) for every route served by a view module of workflows."""
    found = []

    def walk(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns)
                continue
            view = p.callback
            cls = getattr(view, "view_class", None)
            module = (cls or view).__module__
            if module.startswith("workflows.") and module.endswith("views"):
                found.append((p.name, view))

    walk(get_resolver().url_patterns)
    return found


def test_every_action_is_the_one_action_view():
    routes = _workflow_routes()
    assert len(routes) > 30
    others = sorted(name for name, view in routes if not issubclass(getattr(view, "view_class", object), ActionView))
    assert set(others) <= NOT_ACTIONS, f"build these on workflows.actions.ActionView: {set(others) - NOT_ACTIONS}"


def test_signed_out_goes_to_sign_in_before_anything_is_looked_up(client):
    for name in ("episodes:decline", "episodes:plan_activate", "cases:contact_decide"):
        response = client.post(reverse(name, args=[999999]))
        assert response.status_code == 302
        assert "next=" in response["Location"]


def test_a_button_action_refuses_get_and_a_form_action_answers_head(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLANNING)
    client.force_login(users["coach"])
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert client.get(reverse("episodes:plan_activate", args=[episode.pk])).status_code == 405
        assert client.get(reverse("cases:contact_decide", args=[1])).status_code == 405
        assert client.head(reverse("episodes:decline", args=[episode.pk])).status_code == 200


def test_scope_before_permission_and_one_log_row_per_form_page(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLANNING)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        client.force_login(users["outsider"])
        assert client.get(reverse("episodes:decline", args=[episode.pk])).status_code == 404
        client.force_login(users["coach"])
        before = AccessLog.objects.count()
        assert client.get(reverse("episodes:decline", args=[episode.pk])).status_code == 200
        assert AccessLog.objects.count() == before + 1
        assert AccessLog.objects.latest("at").what == f"episode {episode.reference}: decline"
        # A POST is not a page view: no row, whatever its answer.
        before = AccessLog.objects.count()
        assert client.post(reverse("episodes:decline", args=[episode.pk]), {"reason": ""}).status_code == 400
        assert AccessLog.objects.count() == before
        assert Episode.objects.get(pk=episode.pk).state == S.PLANNING
