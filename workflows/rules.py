"""Who may perform which action: role rules, with the `rules` package for object checks."""

from __future__ import annotations

import rules

from accounts import roles
from cases import selectors as case_selectors
from kit.time import acting_now, london_date

is_front_door = rules.predicate(
    lambda user: user.is_authenticated and user.has_role(roles.MASH_OFFICER, roles.EH_MASH_LEAD)
)
is_mash_lead = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.EH_MASH_LEAD))
is_team_leader = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.TEAM_LEADER))
is_manager = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.MANAGER))

rules.add_perm("cases.record_contact", is_front_door)
rules.add_perm("cases.decide_contact", is_front_door)
rules.add_perm("cases.run_meeting", is_mash_lead | is_team_leader | is_manager)
# Who may open the meetings pages: whoever runs meetings or decides contacts (run_meeting | decide_contact).
rules.add_perm("cases.see_meetings", is_front_door | is_mash_lead | is_team_leader | is_manager)


def can(user, perm: str, obj=None) -> bool:
    return user.has_perm(perm, obj)


# --- Episodes -----------------------------------------------------------------------
# Object checks take the episode; without one (a list page) only the role is checked, and the
# list itself is scoped by cases.selectors.episodes_visible_to.
is_practitioner = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.PRACTITIONER))
is_duty_worker = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.DUTY_WORKER))
is_duty_manager = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.DUTY_MANAGER))


@rules.predicate
def is_lead_professional(user, episode) -> bool:
    """The episode's lead professional; a partner agency's lead (ADR 52) only while their agency is
    active and the family's consent to share with it is in force on the day of the action: the `now` the
    service or view acting gave (`require_perm(..., now=now)`, kit.time.acting_at)."""
    if episode is None or episode.lead_professional_id != user.pk:
        return False
    if getattr(user, "partner_organisation_id", None) is None:
        return True
    return case_selectors.partner_may_lead(user, episode, london_date(acting_now()))


@rules.predicate
def in_episode_team(user, episode) -> bool:
    return episode is None or (user.team_id is not None and episode.team_id == user.team_id)


@rules.predicate
def in_episode_service(user, episode) -> bool:
    return episode is None or episode.team.service_id == user.service_id_in_scope


rules.add_perm("cases.allocate_episode", (is_team_leader & in_episode_team) | (is_manager & in_episode_service))
# The lead professional does the work; their team leader and the service's managers may step in.
rules.add_perm(
    "cases.work_on_episode",
    is_lead_professional | (is_team_leader & in_episode_team) | (is_manager & in_episode_service),
)
rules.add_perm("cases.record_duty_contact", (is_duty_worker | is_team_leader) & in_episode_team)
rules.add_perm("cases.sign_off_closure", is_manager & in_episode_service)
rules.add_perm("cases.send_step_up", is_manager & in_episode_service)
rules.add_perm("cases.decide_step_up", is_duty_manager & in_episode_service)
rules.add_perm(
    "cases.record_escalation",
    ((is_team_leader | is_practitioner) & in_episode_team) | ((is_manager | is_duty_manager) & in_episode_service),
)
rules.add_perm("cases.receive_step_down", is_front_door | is_team_leader | is_manager)


# --- Moving work: transfers between teams, bulk reallocation, leaving the pre-allocation list ------
# (ADR 0032). A transfer is asked for by the sending team and decided by the receiving one.


@rules.predicate
def leads_receiving_team(user, transfer) -> bool:
    return transfer is None or (user.team_id is not None and transfer.to_team_id == user.team_id)


@rules.predicate
def manages_receiving_service(user, transfer) -> bool:
    return transfer is None or transfer.to_team.service_id == user.service_id_in_scope


@rules.predicate
def in_practitioner_team(user, practitioner) -> bool:
    return practitioner is None or (user.team_id is not None and practitioner.team_id == user.team_id)


@rules.predicate
def in_practitioner_service(user, practitioner) -> bool:
    return practitioner is None or (
        practitioner.team_id is not None and practitioner.team.service_id == user.service_id_in_scope
    )


rules.add_perm("cases.request_transfer", (is_team_leader & in_episode_team) | (is_manager & in_episode_service))
rules.add_perm(
    "cases.decide_transfer", (is_team_leader & leads_receiving_team) | (is_manager & manages_receiving_service)
)
rules.add_perm(
    "cases.reallocate_caseload", (is_team_leader & in_practitioner_team) | (is_manager & in_practitioner_service)
)
rules.add_perm("cases.end_before_allocation", (is_team_leader & in_episode_team) | (is_manager & in_episode_service))


# --- Amending a saved record (ADR 37) --------------------------------------------------------------
# The object is the record (a visit, an assessment, a plan), whose `episode` is its episode.
RECORD_AUTHORS = ("recorded_by_id", "started_by_id", "completed_by_id", "created_by_id", "activated_by_id")


@rules.predicate
def is_record_author(user, record) -> bool:
    return record is not None and any(getattr(record, name, None) == user.pk for name in RECORD_AUTHORS)


@rules.predicate
def in_record_team(user, record) -> bool:
    return record is not None and user.team_id is not None and record.episode.team_id == user.team_id


rules.add_perm("cases.amend_record", is_record_author | (is_team_leader & in_record_team))


# --- Consent withdrawal, screening, escalations, re-referrals (ADR 0038) ---------------------------


@rules.predicate
def works_with_family(user, family) -> bool:
    """The family's team: its practitioners, duty workers and team leaders."""
    return family is None or (user.team_id is not None and family.team_id == user.team_id)


@rules.predicate
def manages_family_service(user, family) -> bool:
    return family is None or (family.team_id is not None and family.team.service_id == user.service_id_in_scope)


# Whoever the family would tell: the front door, the family's team, the service's managers.
rules.add_perm(
    "cases.withdraw_consent",
    is_front_door
    | ((is_practitioner | is_duty_worker | is_team_leader) & works_with_family)
    | (is_manager & manages_family_service),
)


@rules.predicate
def is_named_lead(user, escalation) -> bool:
    return escalation is not None and escalation.escalated_to_user_id == user.pk


@rules.predicate
def leads_escalation_service(user, escalation) -> bool:
    """An EH manager of the service the escalated record belongs to: the operational leads (seed 004)."""
    if escalation is None:
        return True
    if escalation.episode_id:
        return escalation.episode.team.service_id == user.service_id_in_scope
    team = escalation.contact.family.team
    return team is None or team.service_id == user.service_id_in_scope


# Escalations (seed 004): raised on a contact by the front door, a team leader or a manager who disagrees
# with its routing; resolved by the operational leads (the service's EH managers) or the lead named.
rules.add_perm("cases.escalate_contact", is_front_door | is_team_leader | is_manager)
rules.add_perm("cases.resolve_escalation", is_named_lead | (is_manager & leads_escalation_service))
rules.add_perm("cases.see_escalations", is_manager | is_duty_manager)
# Rulebook C: a re-referral within 3 months of a step-up is the duty manager's.
rules.add_perm("cases.review_re_referral", is_duty_manager)
# The full case file for a transfer: the family's team leader, the service's managers.
rules.add_perm("cases.export_case_file", (is_team_leader & works_with_family) | (is_manager & manages_family_service))
