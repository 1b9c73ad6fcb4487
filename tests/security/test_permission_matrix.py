"""Every URL requested as every role, an outsider, a practitioner of another team and anonymous.

GET: the table says what each must get: 200 (or 405 for POST-only actions), 302 to sign-in for
anonymous, 403 for pages a role may not use, 404 for records outside the user's scope. The pages are
requested once per test worker (tests/security/crawl.py, shared with the page conventions) and checked
one column (role) per test.

POST: every URL that changes something is also posted to, as each of them, with a minimal body
(usually empty: an invalid form still proves the permission check ran first). Allowed roles get
anything but 403, 404 or 405 (a 400 or 409 for the empty form, a redirect for an action);
every other role gets 403 or 404; anonymous is sent to sign in. Nothing is ever a 500. Each
POST runs in a savepoint that is rolled back, so the world is the same for every request.

A URL missing from a table fails the test, so every new page has to be placed in both.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.security.crawl import COLUMNS, ROLES
from tests.security.matrix import all_url_names, url_for
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

__all__ = ["COLUMNS", "ROLES"]  # imported from here by the other URL-by-role tests


def _sign_in_as(client, users, role: str) -> None:
    if role == "anonymous":
        client.logout()
    else:
        client.force_login(users[role])


EXPECTED = {
    "home": "302 200 200 200 200 200 200 200 200 200 200",
    # A background job is seen only by the user who started it (the world's job is the manager's).
    "jobs:list": "302 200 200 200 200 200 200 200 200 200 200",
    "jobs:detail": "302 404 404 404 404 404 200 404 404 404 404",
    "jobs:status": "302 404 404 404 404 404 200 404 404 404 404",
    "jobs:download": "302 404 404 404 404 404 404 404 404 404 404",
    # The partner portal (ADR 0044): staff get 403 on partner pages (tests/security/test_partner_matrix.py
    # walks them as partner users of two agencies); the administrator registers agencies.
    "cases:partner_agency_add": "302 403 403 403 200 200 200 403 404 404 404",
    "cases:partner_agency_remove": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:partner_update_acknowledge": "302 405 405 405 405 405 405 405 405 405 405",
    "partners:family_detail": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:family_list": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:home": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:invitation": "404 404 404 404 404 404 404 404 404 404 404",
    "partners:organisation_detail": "302 403 403 403 403 403 403 403 200 403 403",
    "partners:organisation_active": "302 405 405 405 405 405 405 405 405 405 405",
    "partners:organisation_list": "302 403 403 403 403 403 403 403 200 403 403",
    "partners:organisation_new": "302 403 403 403 403 403 403 403 200 403 403",
    "partners:request_detail": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:request_discard": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:request_edit": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:request_list": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:request_new": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:two_factor": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:update_new": "302 403 403 403 403 403 403 403 403 403 403",
    # ADR 52: the partner lead professional's pages and review invitations refuse staff like the others.
    "partners:episode_list": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_detail": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_visit_new": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_assessment": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_plan": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_outcome_new": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_planning_meeting": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_review_new": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_review_invite": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_closure": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:review_invitation_list": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:review_invitation": "302 403 403 403 403 403 403 403 403 403 403",
    "partners:episode_plan_activate": "302 403 403 403 403 403 403 403 403 403 403",
    # The internal lead professional (and their team leader, the service's managers) invites partners to a review.
    "partners:staff_review_invite": "302 403 403 403 200 200 200 403 404 404 404",
    # The import (administrators): the world's job is the manager's export, not an import, so 404 to the admin.
    "imports:start": "302 403 403 403 403 403 403 403 200 403 403",
    "imports:template": "302 403 403 403 403 403 403 403 200 403 403",
    "imports:detail": "302 403 403 403 403 403 403 403 404 403 403",
    "imports:run": "302 405 405 405 405 405 405 405 405 405 405",
    # name: anonymous, mash, mashlead, duty, coach, teamlead, manager, dutymanager, admin, outsider, othercoach
    "accounts:two_factor": "302 200 200 200 200 200 200 200 200 200 200",
    "accounts:service_list": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:service_procedure": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_create": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_edit": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_list": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_two_factor": "302 403 403 403 403 403 403 403 200 403 403",
    "cases:agency_add": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:break_glass": "302 200 200 200 200 200 200 200 403 403 200",
    "cases:contact_communicate": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_consent": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_create": "302 200 200 403 403 403 403 403 403 403 403",
    # Withdrawing a consent (ADR 0038): the front door, the family's team and the service's managers.
    "cases:consent_withdraw": "302 200 200 200 200 200 200 403 404 404 404",
    # Daily screening (ADR 0038): the front door holds it; the service's managers read it.
    "cases:screening_list": "302 200 200 403 403 403 200 403 403 403 403",
    "cases:screening_detail": "302 200 200 403 403 403 200 403 403 403 403",
    "cases:screening_start": "302 200 200 403 403 403 403 403 403 403 403",
    "cases:screening_outcome": "302 200 200 403 403 403 403 403 403 403 403",
    # Escalations (ADR 0038): raised on a contact by the front door, team leaders and managers; the queue
    # and the outcome are the operational leads' (the service's managers; duty managers read the queue).
    "cases:contact_escalation_new": "302 200 200 403 403 200 200 403 404 404 404",
    "cases:escalation_queue": "302 403 403 403 403 403 200 200 403 403 403",
    "cases:escalation_resolve": "302 403 403 403 403 403 200 403 404 404 404",
    # Re-referrals within 3 months of a step-up: the duty manager's (the world's contact is not one: the
    # page says so with the form refused on submit).
    "cases:re_referral_queue": "302 403 403 403 403 403 403 200 403 403 403",
    "cases:re_referral_review": "302 403 403 403 403 403 403 200 403 403 403",
    "cases:contact_decide": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_letter": "302 200 200 403 403 403 403 403 404 404 404",
    "cases:contact_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:contact_referral_sent": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_record": "302 200 200 403 403 403 403 403 403 403 403",
    "cases:family_access_log": "302 403 403 403 403 403 200 200 403 403 403",
    "cases:family_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:meeting_add": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:meeting_detail": "302 200 200 403 403 200 200 403 403 403 403",
    "cases:meeting_list": "302 200 200 403 403 200 200 403 403 403 403",
    "cases:meeting_outcome": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:person_add": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:person_address": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:search": "302 200 200 200 200 200 200 200 403 403 200",
    "cases:triage_queue": "302 200 200 403 403 403 200 403 403 403 403",
    "deadlines:alert_read": "405 405 405 405 405 405 405 405 405 405 405",
    "deadlines:alerts": "302 200 200 200 200 200 200 200 200 200 200",
    "deadlines:alerts_read_all": "405 405 405 405 405 405 405 405 405 405 405",
    # Scoped like the record the clock is on (the world's clock is on the episode).
    "deadlines:clock_explain": "302 200 200 200 200 200 200 200 404 404 404",
    "deadlines:closure_day_add": "302 403 403 403 403 403 403 403 200 403 403",
    "deadlines:closure_day_delete": "302 403 403 403 403 403 403 403 200 403 403",
    "deadlines:closure_days": "302 403 403 403 403 403 403 403 200 403 403",
    # The rulebook editor (ADR 0034): administrators and EH managers.
    "deadlines:editor_draft": "302 403 403 403 403 403 302 403 302 403 403",
    "deadlines:editor_draft_discard": "302 405 405 405 405 405 405 405 405 405 405",
    "deadlines:editor_draft_start": "302 405 405 405 405 405 405 405 405 405 405",
    "deadlines:editor_export": "302 403 403 403 403 403 404 403 404 403 403",
    "deadlines:editor_import": "302 403 403 403 403 403 200 403 200 403 403",
    "deadlines:editor_preview": "302 403 403 403 403 403 302 403 302 403 403",
    "deadlines:editor_rule_add": "302 403 403 403 403 403 302 403 302 403 403",
    "deadlines:editor_rule_edit": "302 403 403 403 403 403 302 403 302 403 403",
    "deadlines:editor_rule_retire": "302 405 405 405 405 405 405 405 405 405 405",
    "deadlines:editor_rulebook": "302 403 403 403 403 403 200 403 200 403 403",
    "deadlines:editor_rulebooks": "302 403 403 403 403 403 200 403 200 403 403",
    "deadlines:editor_version_retire": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:action_edit": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:action_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:allocate": "302 403 403 403 403 200 200 403 404 404 404",
    # Amending (ADR 37): the record's author (the world's note is the coach's) and their team leader;
    # what changed, and the printable chronology: whoever sees the family.
    "episodes:amend_changes": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:family_chronology": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:family_chronology_pdf": "302 200 200 200 200 200 200 200 404 404 404",
    # The full case file for a transfer (ADR 0038): the family's team leader and the service's managers.
    "episodes:family_case_file_pdf": "302 403 403 403 403 200 200 403 404 404 404",
    "episodes:amend_record": "302 403 403 403 200 200 403 403 404 404 404",
    "episodes:assessment": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:assessment_not_needed": "302 405 405 405 405 405 405 405 405 405 405",
    # The world's episode is not awaiting allocation: the page says why (200) to those who may act.
    "episodes:before_allocation": "302 403 403 403 403 200 200 403 404 404 404",
    # The team leader of the coach's team and the service's manager; other roles are refused.
    "episodes:caseload_reallocate": "302 403 403 403 403 200 200 403 403 403 403",
    "episodes:closure_decide": "302 403 403 403 403 403 200 403 404 404 404",
    "episodes:closure_request": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:decline": "302 403 403 403 200 200 200 403 404 404 404",
    # Development only (DEBUG): the local SMTP server's mail; tests run without DEBUG.
    "episodes:dev_mail": "302 404 404 404 404 404 404 404 404 404 404",
    "episodes:document_download": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:document_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:episode_letter": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:draft_discard": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:draft_save": "405 405 405 405 405 405 405 405 405 405 405",
    "episodes:episode_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:episode_documents": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:episode_history": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:episode_notes": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:episode_timescales": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:escalation_new": "302 403 403 403 200 200 200 200 404 404 404",
    "episodes:escalation_outcome": "302 403 403 403 200 200 200 200 404 404 404",
    "episodes:family_copy": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:family_copy_sent": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:letter_template_edit": "302 403 403 403 403 403 200 403 200 403 403",
    "episodes:letter_templates": "302 403 403 403 403 403 200 403 200 403 403",
    "episodes:message_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:message_pdf": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:message_retry": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:meeting_new": "302 403 403 403 404 404 404 403 404 404 404",
    "episodes:my_cases": "302 403 403 403 200 403 403 403 403 403 200",
    "episodes:note_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:planned_visit_cancel": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:planned_visit_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:outcome_edit": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:outcome_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:plan": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:plan_activate": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:pre_allocation": "302 403 403 200 403 200 200 403 403 403 403",
    "episodes:review_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:sign_off": "302 403 403 403 403 403 200 200 403 403 403",
    "episodes:step_down": "302 200 200 403 403 200 200 403 403 403 403",
    "episodes:step_down_find": "302 200 200 403 403 200 200 403 403 403 403",
    "episodes:step_up_decide": "302 403 403 403 403 403 403 200 404 404 404",
    "episodes:step_up_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:step_up_send": "302 403 403 403 403 403 200 403 404 404 404",
    "episodes:transfer_request": "302 403 403 403 403 200 200 403 404 404 404",
    # No transfer of the world's episode is waiting: the page says so (200) to who may decide one.
    "episodes:transfer_decide": "302 403 403 403 403 200 200 403 404 404 404",
    "episodes:transfers": "302 403 403 403 403 200 200 403 403 403 403",
    # The world's episode has no wraparound worker to confirm: the page says why (200).
    "episodes:wraparound_confirm": "302 403 403 403 403 200 200 403 404 404 404",
    "oversight:annex_a": "302 403 403 403 403 403 200 403 403 403 403",
    # 404 for a manager who has not asked for a workbook (none in the test world).
    "oversight:annex_a_download": "302 403 403 403 403 403 404 403 403 403 403",
    "oversight:breach_acknowledge": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard_breaches": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard_months": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard_rules": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard_teams": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard_caseloads": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:decision_new": "302 403 403 403 403 403 200 403 404 404 404",
    "oversight:export": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:export_prepare": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:legal_hold": "302 405 405 405 405 405 405 405 405 405 405",
    "oversight:my_work": "302 403 403 200 200 200 403 403 403 403 200",
    "oversight:outcomes_report": "302 403 403 403 403 200 200 403 403 403 403",
    "oversight:retention_family": "302 403 403 403 403 403 302 403 403 403 403",
    "oversight:retention_report": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:subject_access": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:supervision_detail": "302 404 404 404 200 200 200 404 404 404 404",
    "oversight:supervision_list": "302 403 403 403 403 200 200 403 403 403 403",
    "oversight:supervision_new": "302 403 403 403 403 200 200 403 403 403 403",
    "oversight:task_done": "405 405 405 405 405 405 405 405 405 405 405",
    "oversight:team_board": "302 403 403 403 403 200 200 403 403 403 403",
    "oversight:team_board_list": "302 403 403 403 403 200 200 403 403 403 403",
    "oversight:timeliness_report": "302 403 403 403 403 200 200 403 403 403 403",
    # The read API (ADR 46): a token only, never a signed-in session (401); its schema and docs also
    # open for an administrator signed in to the product.
    "api:annex_a_list_1": "401 401 401 401 401 401 401 401 401 401 401",
    "api:annex_a_list_2": "401 401 401 401 401 401 401 401 401 401 401",
    "api:contact_detail": "401 401 401 401 401 401 401 401 401 401 401",
    "api:contact_list": "401 401 401 401 401 401 401 401 401 401 401",
    "api:deadline_detail": "401 401 401 401 401 401 401 401 401 401 401",
    "api:deadline_list": "401 401 401 401 401 401 401 401 401 401 401",
    "api:episode_detail": "401 401 401 401 401 401 401 401 401 401 401",
    "api:episode_list": "401 401 401 401 401 401 401 401 401 401 401",
    "api:family_detail": "401 401 401 401 401 401 401 401 401 401 401",
    "api:family_list": "401 401 401 401 401 401 401 401 401 401 401",
    "api:timeliness": "401 401 401 401 401 401 401 401 401 401 401",
    "api:docs": "401 403 403 403 403 403 403 403 200 403 403",
    "api:schema": "401 403 403 403 403 403 403 403 200 403 403",
    # OAuth client credentials (ADR 54): the token endpoint takes a POST of the client's id and secret only.
    "api:oauth_token": "405 405 405 405 405 405 405 405 405 405 405",
    "api_clients:client_create": "302 403 403 403 403 403 403 403 200 403 403",
    "api_clients:client_list": "302 403 403 403 403 403 403 403 200 403 403",
    "api_clients:client_revoke": "302 405 405 405 405 405 405 405 405 405 405",
    "api_clients:client_secret": "302 405 405 405 405 405 405 405 405 405 405",
    "api_clients:client_token": "302 405 405 405 405 405 405 405 405 405 405",
    # Single sign-on (ADR 47): off (404) unless configured; the refusal page is for anyone.
    "sso_callback": "404 404 404 404 404 404 404 404 404 404 404",
    "sso_refused": "200 200 200 200 200 200 200 200 200 200 200",
    "sso_start": "404 404 404 404 404 404 404 404 404 404 404",
}


def test_every_url_is_placed_in_the_get_table():
    missing = sorted({name for name, _kwargs in all_url_names()} - set(EXPECTED))
    assert not missing, f"URLs not in the permission table: {missing}"


@pytest.mark.parametrize("role", COLUMNS)
def test_every_url_as_every_role_gets_the_expected_status(get_crawl, role):
    """One column of the table per test: every URL (in the table) as this role."""
    wrong = []
    for name, row in get_crawl.pages.items():
        if name not in EXPECTED:
            continue  # test_every_url_is_placed_in_the_get_table says so
        expected = dict(zip(COLUMNS, (int(code) for code in EXPECTED[name].split()), strict=True))
        if row[role].status != expected[role]:
            wrong.append(f"{name} as {role}: got {row[role].status}, expected {expected[role]}")
    assert len(get_crawl.pages) == len(all_url_names())
    assert not wrong, "\n".join(wrong)


# --- POST ---------------------------------------------------------------------------------------

# Pages that only show something: a POST to them changes nothing, so they have no POST row.
READ_ONLY = {
    "home",
    "jobs:list",
    "jobs:detail",
    "jobs:status",
    "jobs:download",
    "imports:template",
    "imports:detail",
    "episodes:amend_changes",
    "episodes:family_chronology",
    "episodes:family_chronology_pdf",
    "episodes:family_case_file_pdf",
    "accounts:service_list",
    "accounts:user_list",
    "cases:contact_detail",
    "cases:family_access_log",
    "cases:family_detail",
    "cases:meeting_detail",
    "cases:triage_queue",
    "cases:screening_list",
    "cases:screening_detail",
    "cases:escalation_queue",
    "cases:re_referral_queue",
    "deadlines:alerts",
    "deadlines:clock_explain",
    "deadlines:closure_days",
    "episodes:dev_mail",
    "deadlines:editor_draft",
    "deadlines:editor_export",
    "deadlines:editor_rulebook",
    "deadlines:editor_rulebooks",
    "episodes:document_download",
    "episodes:episode_detail",
    "episodes:episode_documents",
    "episodes:episode_history",
    "episodes:episode_notes",
    "episodes:episode_timescales",
    "episodes:family_copy",
    "episodes:letter_templates",
    "episodes:message_detail",
    "episodes:message_pdf",
    "episodes:my_cases",
    "episodes:pre_allocation",
    "episodes:sign_off",
    "episodes:transfers",
    "oversight:annex_a",
    "oversight:annex_a_download",
    "oversight:dashboard",
    "oversight:dashboard_breaches",
    "oversight:dashboard_months",
    "oversight:dashboard_rules",
    "oversight:dashboard_teams",
    "oversight:dashboard_caseloads",
    "oversight:export",
    "oversight:my_work",
    "oversight:outcomes_report",
    "oversight:retention_report",
    "oversight:subject_access",
    "oversight:supervision_detail",
    "oversight:supervision_list",
    "oversight:team_board",
    "oversight:team_board_list",
    "oversight:timeliness_report",
    "partners:home",
    "partners:request_list",
    "partners:request_detail",
    "partners:family_list",
    "partners:family_detail",
    "partners:organisation_list",
    "partners:episode_list",
    "partners:episode_detail",
    "partners:review_invitation_list",
    "api:annex_a_list_1",
    "api:annex_a_list_2",
    "api:contact_detail",
    "api:contact_list",
    "api:deadline_detail",
    "api:deadline_list",
    "api:docs",
    "api:episode_detail",
    "api:episode_list",
    "api:family_detail",
    "api:family_list",
    "api:schema",
    "api:timeliness",
    "api_clients:client_list",
    "sso_callback",
    "sso_refused",
    "sso_start",
}

# + allowed (anything but 403/404/405), - refused (403 or 404), L sent to sign in (302, or 401 for JSON).
EXPECTED_POST = {
    # name: anonymous, mash, mashlead, duty, coach, teamlead, manager, dutymanager, admin, outsider, othercoach
    # The partner portal (ADR 0044): partner pages refuse staff; the administrator registers agencies.
    "cases:partner_agency_add": "L - - - + + + - - - -",
    "cases:partner_agency_remove": "L - - - + + + - - - -",
    "cases:partner_update_acknowledge": "L - - - + + + - - - -",
    "partners:invitation": "- - - - - - - - - - -",
    "partners:organisation_detail": "L - - - - - - - + - -",
    "partners:organisation_active": "L - - - - - - - + - -",
    "partners:organisation_new": "L - - - - - - - + - -",
    "partners:request_discard": "L - - - - - - - - - -",
    "partners:request_edit": "L - - - - - - - - - -",
    "partners:request_new": "L - - - - - - - - - -",
    "partners:two_factor": "L - - - - - - - - - -",
    "partners:update_new": "L - - - - - - - - - -",
    "partners:episode_visit_new": "L - - - - - - - - - -",
    "partners:episode_assessment": "L - - - - - - - - - -",
    "partners:episode_plan": "L - - - - - - - - - -",
    "partners:episode_outcome_new": "L - - - - - - - - - -",
    "partners:episode_planning_meeting": "L - - - - - - - - - -",
    "partners:episode_plan_activate": "L - - - - - - - - - -",
    "partners:episode_review_new": "L - - - - - - - - - -",
    "partners:episode_review_invite": "L - - - - - - - - - -",
    "partners:episode_closure": "L - - - - - - - - - -",
    "partners:review_invitation": "L - - - - - - - - - -",
    "partners:staff_review_invite": "L - - - + + + - - - -",
    "accounts:two_factor": "L + + + + + + + + + +",
    "accounts:service_procedure": "L - - - - - - - + - -",
    "accounts:user_create": "L - - - - - - - + - -",
    "imports:start": "L - - - - - - - + - -",
    "imports:run": "L - - - - - - - + - -",
    "accounts:user_edit": "L - - - - - - - + - -",
    "accounts:user_two_factor": "L - - - - - - - + - -",
    "cases:agency_add": "L + + + + + + + - - -",
    "cases:break_glass": "L + + + + + + + - - +",
    "cases:contact_communicate": "L + + - - - - - - - -",
    "cases:contact_consent": "L + + - - - - - - - -",
    "cases:contact_create": "L + + - - - - - - - -",
    "cases:consent_withdraw": "L + + + + + + - - - -",
    "cases:screening_start": "L + + - - - - - - - -",
    "cases:screening_outcome": "L + + - - - - - - - -",
    "cases:contact_escalation_new": "L + + - - + + - - - -",
    "cases:escalation_resolve": "L - - - - - + - - - -",
    "cases:re_referral_review": "L - - - - - - + - - -",
    # Searches are POSTed (kept on the server, never in the URL: ADR 0036).
    "cases:search": "L + + + + + + + - - +",
    "cases:contact_decide": "L + + - - - - - - - -",
    "cases:contact_letter": "L + + - - - - - - - -",
    "cases:contact_record": "L + + - - - - - - - -",
    "cases:contact_referral_sent": "L + + - - - - - - - -",
    # Meetings are run by the front door and the meeting's invited teams: in the world, the team of
    # duty/coach/teamlead, whose leader and service manager may run it (test_scope_meetings has the
    # uninvited team leader and the other service's manager).
    "cases:meeting_add": "L - + - - + + - - - -",
    "cases:meeting_list": "L - + - - + + - - - -",
    "cases:meeting_outcome": "L - + - - + + - - - -",
    "cases:person_add": "L + + + + + + + - - -",
    "cases:person_address": "L + + + + + + + - - -",
    "deadlines:alert_read": "L - - - + - - - - - -",
    "deadlines:alerts_read_all": "L + + + + + + + + + +",
    "deadlines:closure_day_add": "L - - - - - - - + - -",
    "deadlines:closure_day_delete": "L - - - - - - - + - -",
    "deadlines:editor_draft_discard": "L - - - - - + - + - -",
    "deadlines:editor_draft_start": "L - - - - - + - + - -",
    "deadlines:editor_import": "L - - - - - + - + - -",
    "deadlines:editor_preview": "L - - - - - + - + - -",
    "deadlines:editor_rule_add": "L - - - - - + - + - -",
    "deadlines:editor_rule_edit": "L - - - - - + - + - -",
    "deadlines:editor_rule_retire": "L - - - - - + - + - -",
    "deadlines:editor_version_retire": "L - - - - - + - + - -",
    "episodes:action_edit": "L - - - + + + - - - -",
    "episodes:action_new": "L - - - + + + - - - -",
    "episodes:allocate": "L - - - - + + - - - -",
    "episodes:amend_record": "L - - - + + - - - - -",
    "episodes:assessment": "L - - - + + + - - - -",
    "episodes:assessment_not_needed": "L - - - + + + - - - -",
    "episodes:before_allocation": "L - - - - + + - - - -",
    "episodes:caseload_reallocate": "L - - - - + + - - - -",
    "episodes:closure_decide": "L - - - - - + - - - -",
    "episodes:closure_request": "L - - - + + + - - - -",
    "episodes:decline": "L - - - + + + - - - -",
    "episodes:document_new": "L - - - + + + - - - -",
    "episodes:episode_letter": "L - - - + + + - - - -",
    "episodes:letter_template_edit": "L - - - - - + - + - -",
    "episodes:message_retry": "L - - - + + + - - - -",
    "episodes:draft_discard": "L - - - + + + - - - -",
    "episodes:draft_save": "L - - - + + + - - - -",
    "episodes:escalation_new": "L - - - + + + + - - -",
    "episodes:escalation_outcome": "L - - - + + + + - - -",
    "episodes:family_copy_sent": "L - - - + + + - - - -",
    "episodes:meeting_new": "L - - - + + + - - - -",
    "episodes:note_new": "L - - - + + + - - - -",
    "episodes:planned_visit_cancel": "L - - - + + + - - - -",
    "episodes:planned_visit_new": "L - - - + + + - - - -",
    "episodes:outcome_edit": "L - - - + + + - - - -",
    "episodes:outcome_new": "L - - - + + + - - - -",
    "episodes:plan": "L - - - + + + - - - -",
    "episodes:plan_activate": "L - - - + + + - - - -",
    "episodes:review_new": "L - - - + + + - - - -",
    "episodes:step_down": "L + + - - + + - - - -",
    "episodes:step_down_find": "L + + - - + + - - - -",
    "episodes:step_up_decide": "L - - - - - - + - - -",
    "episodes:step_up_new": "L - - - + + + - - - -",
    "episodes:step_up_send": "L - - - - - + - - - -",
    "episodes:transfer_decide": "L - - - - + + - - - -",
    "episodes:transfer_request": "L - - - - + + - - - -",
    "episodes:wraparound_confirm": "L - - - - + + - - - -",
    "oversight:breach_acknowledge": "L - - - - - + - - - -",
    "oversight:decision_new": "L - - - - - + - - - -",
    "oversight:export_prepare": "L - - - - - + - - - -",
    "oversight:legal_hold": "L - - - - - + - - - -",
    "oversight:retention_family": "L - - - - - + - - - -",
    "oversight:supervision_new": "L - - - - + + - - - -",
    "oversight:task_done": "L - - - + + + - - - -",
    "api_clients:client_create": "L - - - - - - - + - -",
    "api_clients:client_revoke": "L - - - - - - - + - -",
    "api_clients:client_secret": "L - - - - - - - + - -",
    "api_clients:client_token": "L - - - - - - - + - -",
    # A signed-in session is not client authentication: invalid_client (401) for everyone without credentials.
    "api:oauth_token": "L L L L L L L L L L L",
}

# What is posted: nothing, unless the view needs a field to know which form it is.
POST_BODIES = {"episodes:meeting_new": {"kind_key": "ending"}}

_observed_posts: dict[str, dict[str, tuple[int, str]]] = {}


def observed_posts(client, users, world) -> dict[str, dict[str, tuple[int, str]]]:
    """(status, redirect target) of every state-changing URL posted as every role, each rolled back."""
    client.raise_request_exception = False  # a 500 is reported in the row, with the others
    urls = [(name, url_for(name, kwarg_names, world)) for name, kwarg_names in all_url_names() if name not in READ_ONLY]
    matrix: dict[str, dict[str, tuple[int, str]]] = {}
    for role in COLUMNS:
        _sign_in_as(client, users, role)
        for name, url in urls:
            with transaction.atomic():
                response = client.post(url, POST_BODIES.get(name, {}))
                transaction.set_rollback(True)
            matrix.setdefault(name, {})[role] = (response.status_code, response.get("Location", ""))
    return matrix


def _meets(token: str, status: int, location: str) -> bool:
    if status >= 500:
        return False
    if token == "L":
        return status == 401 or (status == 302 and "/sign-in/" in location)
    if token == "-":
        return status in (403, 404)
    return status not in (403, 404, 405)


def _post_row_params():
    for name, _kwargs in all_url_names():
        if name in READ_ONLY:
            continue
        yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", list(_post_row_params()))
def test_post_of_every_state_changing_url_as_every_role(request, name):
    """One test per row; the matrix is posted once (the first row to run) and shared by the rest."""
    assert name in EXPECTED_POST, f"{name} changes something: add its POST row to EXPECTED_POST (or READ_ONLY)"
    if not _observed_posts:
        client, users, world = (request.getfixturevalue(f) for f in ("client", "users", "world"))
        _observed_posts.update(observed_posts(client, users, world))
    row = _observed_posts[name]
    tokens = dict(zip(COLUMNS, EXPECTED_POST[name].split(), strict=True))
    wrong = [
        f"as {role}: got {row[role][0]}, expected {tokens[role]}"
        for role in COLUMNS
        if not _meets(tokens[role], *row[role])
    ]
    assert not wrong, f"POST {name}\n" + "\n".join(wrong)


def test_every_url_is_placed_in_the_post_table():
    names = {name for name, _kwargs in all_url_names()}
    assert not (set(EXPECTED_POST) & READ_ONLY)
    assert not sorted(set(EXPECTED_POST) - names), "POST rows for URLs that no longer exist"
    assert not sorted(READ_ONLY - names), "read-only entries for URLs that no longer exist"


def test_changing_the_id_never_reveals_another_teams_family(client, users, world, other_team):
    """The same pages, with ids of a family in another team: a practitioner gets 404, never the name."""
    other = build_world(users, other_team, lead=users["othercoach"])
    client.force_login(users["coach"])
    for name, kwarg_names in all_url_names():
        if not kwarg_names:
            continue
        try:
            url = url_for(name, kwarg_names, {**world, **other})
        except KeyError:
            continue
        response = client.get(url)
        if response.status_code == 200:
            assert other["family"].name.encode() not in response.content, name
