"""The roles of an Early Help service. Each is a Django group; a user may hold several."""

from __future__ import annotations

MASH_OFFICER = "MASH officer"
EH_MASH_LEAD = "EH MASH lead"
DUTY_WORKER = "Duty worker"
PRACTITIONER = "Practitioner"
TEAM_LEADER = "Team leader"
MANAGER = "Manager"
DUTY_MANAGER = "Duty manager"
ADMINISTRATOR = "Administrator"

ALL_ROLES = (
    MASH_OFFICER,
    EH_MASH_LEAD,
    DUTY_WORKER,
    PRACTITIONER,
    TEAM_LEADER,
    MANAGER,
    DUTY_MANAGER,
    ADMINISTRATOR,
)

# What each role does, in the words shown to staff on their home page.
ROLE_DESCRIPTIONS = {
    MASH_OFFICER: "Front door: record contacts and triage them within the clock.",
    EH_MASH_LEAD: "Front door: check consent, decide the Early Help response and run multi-agency meetings.",
    DUTY_WORKER: "Keep in touch weekly with families waiting for allocation.",
    PRACTITIONER: "Family coach / lead professional: visits, assessment, plan, reviews and closure.",
    TEAM_LEADER: "Allocate work against caseload limits and chase overdue tasks.",
    MANAGER: "Management oversight, closure and step-up sign-off, supervision and timeliness.",
    DUTY_MANAGER: "Decide step-up requests to children's social care within 48 hours.",
    ADMINISTRATOR: "Manage users, teams, roles and settings.",
}

FRONT_DOOR_ROLES = frozenset({MASH_OFFICER, EH_MASH_LEAD})

# A partner agency's member of staff (a User with a partner organisation): not one of ALL_ROLES, so no
# internal page, form or check offers or accepts it; partner users see only the partner portal.
PARTNER = "Partner"
