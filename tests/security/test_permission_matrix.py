"""Every URL requested as every role, an outsider, a practitioner of another team and anonymous.

The table says what each must get: 200 (or 405 for POST-only actions), 302 to sign-in for
anonymous, 403 for pages a role may not use, 404 for records outside the user's scope.
A URL missing from the table fails the test, so every new page has to be placed in it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.conftest import make_user
from tests.security.matrix import all_url_names, url_for
from tests.security.world import add_oversight_records, build_world

pytestmark = pytest.mark.django_db

ROLES = ["mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager", "admin", "outsider", "othercoach"]


@pytest.fixture
def world(users, team, other_team):
    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    return add_oversight_records(build_world(users, team), users)


def observed_matrix(client, users, world) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {}
    for name, kwarg_names in all_url_names():
        url = url_for(name, kwarg_names, world)
        row = {}
        client.logout()
        row["anonymous"] = client.get(url).status_code
        for role in ROLES:
            client.force_login(users[role])
            row[role] = client.get(url).status_code
        matrix[name] = row
    return matrix


EXPECTED = {
    "home": "302 200 200 200 200 200 200 200 200 200 200",
    # name: anonymous, mash, mashlead, duty, coach, teamlead, manager, dutymanager, admin, outsider, othercoach
    "accounts:two_factor": "302 200 200 200 200 200 200 200 200 200 200",
    "accounts:user_create": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_edit": "302 403 403 403 403 403 403 403 200 403 403",
    "accounts:user_list": "302 403 403 403 403 403 403 403 200 403 403",
    "cases:agency_add": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:break_glass": "302 200 200 200 200 200 200 200 403 403 200",
    "cases:contact_communicate": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_consent": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_create": "302 200 200 403 403 403 403 403 403 403 403",
    "cases:contact_decide": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:contact_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:contact_record": "302 200 200 403 403 403 403 403 403 403 403",
    "cases:family_access_log": "302 403 403 403 403 403 200 200 403 403 403",
    "cases:family_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:meeting_add": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:meeting_detail": "302 200 200 403 403 200 200 403 403 403 403",
    "cases:meeting_list": "302 200 200 403 403 200 200 403 403 403 403",
    "cases:meeting_outcome": "302 405 405 405 405 405 405 405 405 405 405",
    "cases:person_add": "302 200 200 200 200 200 200 200 404 404 404",
    "cases:search": "302 200 200 200 200 200 200 200 403 403 200",
    "cases:triage_queue": "302 200 200 403 403 403 200 403 403 403 403",
    "deadlines:alert_read": "405 405 405 405 405 405 405 405 405 405 405",
    "deadlines:alerts": "302 200 200 200 200 200 200 200 200 200 200",
    "deadlines:alerts_read_all": "405 405 405 405 405 405 405 405 405 405 405",
    "deadlines:closure_day_add": "302 403 403 403 403 403 403 403 200 403 403",
    "deadlines:closure_day_delete": "302 403 403 403 403 403 403 403 200 403 403",
    "deadlines:closure_days": "302 403 403 403 403 403 403 403 200 403 403",
    "episodes:action_edit": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:action_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:allocate": "302 403 403 403 403 200 200 403 404 404 404",
    "episodes:assessment": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:assessment_not_needed": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:closure_decide": "302 403 403 403 403 403 200 403 404 404 404",
    "episodes:closure_request": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:decline": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:document_download": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:document_new": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:draft_discard": "302 405 405 405 405 405 405 405 405 405 405",
    "episodes:draft_save": "405 405 405 405 405 405 405 405 405 405 405",
    "episodes:episode_detail": "302 200 200 200 200 200 200 200 404 404 404",
    "episodes:escalation_new": "302 403 403 403 200 200 200 200 404 404 404",
    "episodes:escalation_outcome": "302 403 403 403 200 200 200 200 404 404 404",
    "episodes:family_copy": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:family_copy_sent": "302 403 403 403 200 200 200 403 404 404 404",
    "episodes:meeting_new": "302 403 403 403 404 404 404 403 404 404 404",
    "episodes:my_cases": "302 403 403 403 200 403 403 403 403 403 200",
    "episodes:note_new": "302 403 403 403 200 200 200 403 404 404 404",
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
    "oversight:annex_a": "302 403 403 403 403 403 200 403 403 403 403",
    # 404 for a manager who has not asked for a workbook (none in the test world).
    "oversight:annex_a_download": "302 403 403 403 403 403 404 403 403 403 403",
    "oversight:breach_acknowledge": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:dashboard": "302 403 403 403 403 403 200 403 403 403 403",
    "oversight:decision_new": "302 403 403 403 403 403 200 403 404 404 404",
    "oversight:export": "302 403 403 403 403 403 200 403 403 403 403",
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
    "oversight:timeliness_report": "302 403 403 403 403 200 200 403 403 403 403",
}


def test_every_url_as_every_role_gets_the_expected_status(client, users, world):
    observed = observed_matrix(client, users, world)
    missing = sorted(set(observed) - set(EXPECTED))
    assert not missing, f"URLs not in the permission table: {missing}"
    columns = ["anonymous", *ROLES]
    wrong = []
    for name, row in observed.items():
        expected = dict(zip(columns, (int(code) for code in EXPECTED[name].split()), strict=True))
        for role in columns:
            if row[role] != expected[role]:
                wrong.append(f"{name} as {role}: got {row[role]}, expected {expected[role]}")
    assert not wrong, "\n".join(wrong)


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
