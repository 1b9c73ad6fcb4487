"""The workflow events that start and stop timescale clocks: the one list of their names.

Rulebooks refer to these names and are validated against `EVENTS`, so a typo in a TOML file
fails at load time instead of leaving a clock that never stops. Workflow services fire them
(with the time the thing happened) and nothing else may invent event names.

Front-door decisions: every decision on a contact fires `DECISION_MADE` together with exactly
one of the `CONTACT_DECIDED_*` events, so a rule can stop on "any decision" (A1) or start on
one route (A2, A3, B4) and a clock that only one route needs can end on the others (B1).

Events fired on an episode also count for the contact it was opened from, so a clock kept on a
contact can stop on `ALLOCATED` (B4, B6).
"""

from __future__ import annotations

# Front door: contacts (MASH, Family Centre mailbox, Early Help Hub).
CONTACT_RECEIVED = "contact_received"  # a request for support or contact reached the front door
SCREENING_HELD = "screening_held"  # the contact was screened (Family Solutions screens daily)
DECISION_MADE = "decision_made"  # any front-door decision recorded; fired with one CONTACT_DECIDED_*
CONTACT_DECIDED_MEETING = "contact_decided_meeting"  # routed to a NAM, MAAM or ICDM (any kind)
# The same, kind by kind: each council's procedure has its own meeting, and a rule of one must
# not start on another's (a MAAM decision must not start A2, the Families First NAM clock).
CONTACT_DECIDED_NAM = "contact_decided_nam"  # routed to a Neighbourhood Action Meeting (Families First)
CONTACT_DECIDED_MAAM = "contact_decided_maam"  # routed to a Multi Agency Action Meeting (Family Solutions)
CONTACT_DECIDED_ICDM = "contact_decided_icdm"  # routed to an Integrated Case Discussion Meeting
CONTACT_DECIDED_ALLOCATE = "contact_decided_allocate"  # accepted straight to an EH team (step-down to EH)
CONTACT_DECIDED_STEP_UP = "contact_decided_step_up"  # routed to children's social care
CONTACT_DECIDED_CLOSE = "contact_decided_close"  # signposted, single-agency response or no further action
ACKNOWLEDGEMENT_SENT = "acknowledgement_sent"  # receipt acknowledged to the original referrer
SCREENING_OUTCOME_SENT = "screening_outcome_sent"  # referrer told the screening outcome
MEETING_HELD = "meeting_held"  # the family was discussed at a NAM, MAAM or ICDM (any kind), when it was held
NAM_HELD = "nam_held"  # ... at a Neighbourhood Action Meeting
MAAM_HELD = "maam_held"  # ... at a Multi Agency Action Meeting
ICDM_HELD = "icdm_held"  # ... at an Integrated Case Discussion Meeting
MEETING_OUTCOME_SENT = "meeting_outcome_sent"  # referrer told the meeting's outcome
MEETING_DECIDED_ALLOCATE = "meeting_decided_allocate"  # the meeting decided to allocate (timed when it was held)
MAAM_DECIDED_ALLOCATE = "maam_decided_allocate"  # a MAAM decided to allocate to a Family Solutions Practitioner
# The path's own event for the same outcome: the front door itself (triage or daily screening) decided to
# allocate, without a meeting (B4: "stepped down to Early Help ... within 24 hours of being screened").
SCREENING_DECIDED_ALLOCATE = "screening_decided_allocate"
# A step of its own, recorded on the contact page after the decision to allocate (A3).
REFERRAL_SENT_TO_TEAM = "referral_sent_to_team"  # referral passed to the (neighbourhood) EH team

# Episodes: the period of Early Help work with a family.
EPISODE_OPENED = "episode_opened"  # episode opened, awaiting allocation (on the pre-allocation list)
STEP_DOWN_RECEIVED = "step_down_received"  # case stepped down from children's social care received
WRAPAROUND_REQUESTED = "wraparound_requested"  # social care asked for EH wraparound support
ALLOCATED = "allocated"  # a lead practitioner / family coach was allocated
REALLOCATED = "reallocated"  # another lead professional took over an open episode (clocks follow the case)
INITIAL_CONTACT_MADE = "initial_contact_made"  # the allocated worker first contacted the family
FIRST_VISIT_MADE = "first_visit_made"  # first (introductory) visit: child seen and spoken to
VISIT_RECORDED = "visit_recorded"  # a visit or contact with the family took place (timed when it happened)
FAMILY_VISITED = "family_visited"  # an in-person visit at which the family was seen (not a phone call)
VISIT_PLANNED = "visit_planned"  # a planned visit's time came (timed at the planned time; keyed by the visit)
PLANNED_VISIT_CANCELLED = "planned_visit_cancelled"  # a planned visit was cancelled, or recorded before its time
PLAN_STARTED = "plan_started"  # the support plan was commenced (first written on the system)
CASE_RECORDED = "case_recorded"  # the case note for a visit or contact was written on the system
DUTY_CONTACT_RECORDED = "duty_contact_recorded"  # duty worker's contact with a waiting family recorded
ASSESSMENT_COMPLETED = "assessment_completed"  # Early Help Assessment completed
PLANNING_MEETING_HELD = "planning_meeting_held"  # initial EH planning meeting held; the plan is in place
PLAN_COMPLETED = "plan_completed"  # support plan completed
PLAN_COPY_SENT = "plan_copy_sent"  # family given a copy of the assessment and plan
REVIEW_HELD = "review_held"  # plan review meeting held
CLOSURE_REQUESTED = "closure_requested"  # worker asked the manager to close the case
CLOSURE_SIGNED_OFF = "closure_signed_off"  # manager signed the closure off
CLOSURE_RETURNED = "closure_returned"  # manager sent the closure request back as not ready
EPISODE_CLOSED = "episode_closed"  # episode ended (goals met, family declined, or stepped up)

# Step-up to children's social care from an open episode.
STEP_UP_REQUESTED = "step_up_requested"  # EH manager received the step-up case from the Early Help Hub
STEP_UP_SENT_TO_DUTY_MANAGER = "step_up_sent_to_duty_manager"  # request for review sent to the duty manager
STEP_UP_DECIDED = "step_up_decided"  # duty manager's oversight recorded with the decision
# A step-up accepted with wraparound is a request for wraparound support from social care
# (WRAPAROUND_REQUESTED, fired by the decision); Early Help then confirms its wraparound worker.
WRAPAROUND_WORKER_CONFIRMED = "wraparound_worker_confirmed"  # EH manager confirmed the wraparound worker

# Disagreements escalated to operational leads (rulebook D, seed 004; ADR 0038), each keyed by its escalation.
CONTACT_ESCALATION_RAISED = "contact_escalation_raised"  # a disagreement over a contact's routing was escalated
CONTACT_ESCALATION_RESOLVED = "contact_escalation_resolved"  # the operational leads' outcome was recorded
EPISODE_ESCALATION_RAISED = "episode_escalation_raised"  # a step-up or step-down disagreement was escalated
EPISODE_ESCALATION_RESOLVED = "episode_escalation_resolved"  # the operational leads' outcome was recorded
# Rulebook C as a routing rule: a contact within 3 months of a step-up decision goes to the duty manager.
RE_REFERRAL_AFTER_STEP_UP = "re_referral_after_step_up"  # such a contact was received
RE_REFERRAL_REVIEWED = "re_referral_reviewed"  # the duty manager recorded whether a C&F Assessment is triggered

# Management oversight and supervision.
OVERSIGHT_RECORDED = "oversight_recorded"  # "Managers Decision" management oversight note recorded
CASE_DISCUSSION_HELD = "case_discussion_held"  # supervisor discussed the case with the worker
SUPERVISION_RECORDED = "supervision_recorded"  # a worker's supervision held and recorded
TEAM_JOINED = "team_joined"  # a practitioner joined a team (their account was given the team)

EVENTS: frozenset[str] = frozenset(
    {
        CONTACT_RECEIVED,
        SCREENING_HELD,
        DECISION_MADE,
        CONTACT_DECIDED_MEETING,
        CONTACT_DECIDED_NAM,
        CONTACT_DECIDED_MAAM,
        CONTACT_DECIDED_ICDM,
        CONTACT_DECIDED_ALLOCATE,
        CONTACT_DECIDED_STEP_UP,
        CONTACT_DECIDED_CLOSE,
        ACKNOWLEDGEMENT_SENT,
        SCREENING_OUTCOME_SENT,
        MEETING_HELD,
        NAM_HELD,
        MAAM_HELD,
        ICDM_HELD,
        MEETING_OUTCOME_SENT,
        MEETING_DECIDED_ALLOCATE,
        MAAM_DECIDED_ALLOCATE,
        SCREENING_DECIDED_ALLOCATE,
        REFERRAL_SENT_TO_TEAM,
        EPISODE_OPENED,
        STEP_DOWN_RECEIVED,
        WRAPAROUND_REQUESTED,
        ALLOCATED,
        REALLOCATED,
        INITIAL_CONTACT_MADE,
        FIRST_VISIT_MADE,
        VISIT_RECORDED,
        FAMILY_VISITED,
        VISIT_PLANNED,
        PLANNED_VISIT_CANCELLED,
        PLAN_STARTED,
        CASE_RECORDED,
        DUTY_CONTACT_RECORDED,
        ASSESSMENT_COMPLETED,
        PLANNING_MEETING_HELD,
        PLAN_COMPLETED,
        PLAN_COPY_SENT,
        REVIEW_HELD,
        CLOSURE_REQUESTED,
        CLOSURE_SIGNED_OFF,
        CLOSURE_RETURNED,
        EPISODE_CLOSED,
        STEP_UP_REQUESTED,
        STEP_UP_SENT_TO_DUTY_MANAGER,
        STEP_UP_DECIDED,
        WRAPAROUND_WORKER_CONFIRMED,
        OVERSIGHT_RECORDED,
        CASE_DISCUSSION_HELD,
        SUPERVISION_RECORDED,
        TEAM_JOINED,
        CONTACT_ESCALATION_RAISED,
        CONTACT_ESCALATION_RESOLVED,
        EPISODE_ESCALATION_RAISED,
        EPISODE_ESCALATION_RESOLVED,
        RE_REFERRAL_AFTER_STEP_UP,
        RE_REFERRAL_REVIEWED,
    }
)

# What each event means, in the words shown on "Why is this due?" (workflows.clock_views.clock_explain).
EVENT_LABELS: dict[str, str] = {
    CONTACT_RECEIVED: "a contact or request for support reached the front door",
    SCREENING_HELD: "the contact was screened",
    DECISION_MADE: "a front-door decision was recorded on the contact",
    CONTACT_DECIDED_MEETING: "the front door sent the contact to a multi-agency meeting (NAM, MAAM or ICDM)",
    CONTACT_DECIDED_ALLOCATE: "the front door decided to allocate the contact to an Early Help team",
    CONTACT_DECIDED_STEP_UP: "the front door stepped the contact up to children's social care",
    CONTACT_DECIDED_CLOSE: "the front door closed the contact (signposted, single agency or no further action)",
    ACKNOWLEDGEMENT_SENT: "the referrer was sent an acknowledgement",
    SCREENING_OUTCOME_SENT: "the referrer was told the outcome of screening",
    MEETING_HELD: "the family was discussed at the multi-agency meeting",
    MEETING_OUTCOME_SENT: "the referrer was told the meeting's outcome",
    MEETING_DECIDED_ALLOCATE: "the multi-agency meeting decided to allocate to an Early Help worker",
    REFERRAL_SENT_TO_TEAM: "the referral was sent to the Early Help team",
    EPISODE_OPENED: "an Early Help episode was opened, awaiting allocation",
    STEP_DOWN_RECEIVED: "a step-down from children's social care was received",
    WRAPAROUND_REQUESTED: "social care asked for Early Help wraparound support",
    ALLOCATED: "a lead professional was allocated",
    REALLOCATED: "the case was reallocated to another lead professional",
    INITIAL_CONTACT_MADE: "the allocated worker made initial contact with the family",
    FIRST_VISIT_MADE: "the first visit was made (child seen and spoken to)",
    VISIT_RECORDED: "a visit or contact with the family took place",
    CASE_RECORDED: "the case note was written on the system",
    DUTY_CONTACT_RECORDED: "a duty worker's contact with the waiting family was recorded",
    ASSESSMENT_COMPLETED: "the Early Help Assessment was completed",
    PLANNING_MEETING_HELD: "the initial Early Help planning meeting was held",
    PLAN_COMPLETED: "the support plan was completed",
    PLAN_COPY_SENT: "the family were given a copy of the assessment and plan",
    REVIEW_HELD: "a plan review meeting was held",
    CLOSURE_REQUESTED: "the worker asked the manager to close the case",
    CLOSURE_SIGNED_OFF: "the manager signed the closure off",
    CLOSURE_RETURNED: "the manager sent the closure request back as not ready",
    EPISODE_CLOSED: "the episode was closed",
    STEP_UP_REQUESTED: "the EH manager received a step-up request from the Early Help Hub",
    STEP_UP_SENT_TO_DUTY_MANAGER: "the step-up request was sent to the duty manager",
    STEP_UP_DECIDED: "the duty manager recorded their oversight and decision on the step-up",
    WRAPAROUND_WORKER_CONFIRMED: "Early Help confirmed the wraparound worker for the case",
    OVERSIGHT_RECORDED: "a manager recorded management oversight (a Managers Decision)",
    CASE_DISCUSSION_HELD: "the supervisor discussed the case with the worker",
    SUPERVISION_RECORDED: "the worker's supervision was held and recorded",
    FAMILY_VISITED: "a visit or direct work took place at which the family was seen (not a phone call)",
    VISIT_PLANNED: "the time of a planned visit came",
    PLANNED_VISIT_CANCELLED: "a planned visit was cancelled, or recorded before its planned time",
    PLAN_STARTED: "the support plan was commenced",
    TEAM_JOINED: "the practitioner joined a team",
    CONTACT_DECIDED_NAM: "the front door sent the contact to a Neighbourhood Action Meeting (NAM)",
    CONTACT_DECIDED_MAAM: "the front door sent the contact to a Multi Agency Action Meeting (MAAM)",
    CONTACT_DECIDED_ICDM: "the front door sent the contact to an Integrated Case Discussion Meeting (ICDM)",
    NAM_HELD: "the family was discussed at the Neighbourhood Action Meeting",
    MAAM_HELD: "the family was discussed at the Multi Agency Action Meeting",
    ICDM_HELD: "the family was discussed at the Integrated Case Discussion Meeting",
    MAAM_DECIDED_ALLOCATE: "the MAAM decided to allocate to a Family Solutions practitioner",
    SCREENING_DECIDED_ALLOCATE: "the front door's screening decided to allocate to an Early Help team (no meeting)",
    CONTACT_ESCALATION_RAISED: "a disagreement over the contact's routing was escalated to the operational leads",
    CONTACT_ESCALATION_RESOLVED: "the operational leads' outcome on the contact's escalation was recorded",
    EPISODE_ESCALATION_RAISED: "a step-up or step-down disagreement was escalated to the operational leads",
    EPISODE_ESCALATION_RESOLVED: "the operational leads' outcome on the escalation was recorded",
    RE_REFERRAL_AFTER_STEP_UP: "a contact arrived within 3 months of a step-up decision (routed to the duty manager)",
    RE_REFERRAL_REVIEWED: "the duty manager decided whether a Child and Family Assessment is triggered",
}


# The outcomes of a front-door decision (cases.Contact.Decision values) and the event each sends.
_OUTCOME_EVENTS = {
    "step_up": CONTACT_DECIDED_STEP_UP,
    "meeting": CONTACT_DECIDED_MEETING,
    "allocate": CONTACT_DECIDED_ALLOCATE,
    "single_agency": CONTACT_DECIDED_CLOSE,
    "signpost": CONTACT_DECIDED_CLOSE,
    "no_further_action": CONTACT_DECIDED_CLOSE,
}
_MEETING_DECIDED = {"NAM": CONTACT_DECIDED_NAM, "MAAM": CONTACT_DECIDED_MAAM, "ICDM": CONTACT_DECIDED_ICDM}


def decision_events(decision: str, *, meeting_kind: str = "", at_meeting: str = "") -> tuple[str, ...]:
    """The events of one front-door decision, whichever path made it: the one list every path sends.

    The outcome's events are the same on every path (triage on the contact page, the daily screening,
    a NAM, MAAM or ICDM's outcome, the import of a decided contact): `DECISION_MADE` and the outcome's
    `CONTACT_DECIDED_*` ("awaiting consent" is not final and sends `DECISION_MADE` alone). Only the
    path's own events differ: a decision to go to a meeting names its kind (`meeting_kind`); a
    decision to allocate taken at a meeting (`at_meeting`, its kind) is the meeting's (B6), one taken
    by the front door itself is screening's (B4). A rule that ends on an outcome (B1) therefore ends
    whichever path decided it.
    """
    found = [DECISION_MADE]
    if decision in _OUTCOME_EVENTS:
        found.append(_OUTCOME_EVENTS[decision])
    if decision == "meeting":
        found.append(_MEETING_DECIDED[meeting_kind])
    if decision == "allocate":
        if at_meeting:
            found.append(MEETING_DECIDED_ALLOCATE)
            if at_meeting == "MAAM":
                found.append(MAAM_DECIDED_ALLOCATE)
        else:
            found.append(SCREENING_DECIDED_ALLOCATE)
    return tuple(found)


def event_label(name: str) -> str:
    """The plain words for an event; its name with spaces if it has no label yet."""
    return EVENT_LABELS.get(name) or name.replace("_", " ")


# --- Which user action emits which event --------------------------------------------------------
#
# The code's own map, read by `manage.py timescale --coverage` to print, per rule, the user
# actions that start, stop and end it, and to fail when a rule waits on an event nothing emits.
# It is kept true by tests/deadlines/test_event_map.py, which reads the services' source: every
# action listed must reach the event (directly, through a table of events or a service it
# calls), and every event the services fire must be listed here.

# The services the pages call (dotted path) and where a user does it.
ACTIONS: dict[str, str] = {
    "workflows.services.contact_receive": "Record a contact (front door: new contact page)",
    "workflows.services.contact_start_screening": "Start screening (front door queue)",
    "workflows.services.screening_record_outcome": "Record the outcome of screening (daily screening page)",
    "workflows.services.contact_escalation_raise": "Escalate a disagreement (contact page)",
    "workflows.services.contact_escalation_resolve": "Record the operational leads' outcome (escalations queue)",
    "workflows.episode_services.escalation_record": "Escalate a disagreement (episode page)",
    "workflows.episode_services.escalation_resolve": "Record the escalation's outcome (escalations queue / episode)",
    "workflows.services.re_referral_review": "Duty manager's review of a re-referral (contact page)",
    "workflows.services.contact_decide": "Record decision (contact page)",
    "workflows.services.contact_referral_sent": "Referral sent to the team (contact page)",
    "workflows.services.communication_record": "Record what was sent (contact page)",
    "workflows.services.meeting_record_outcome": "Record the outcome (multi-agency meeting page)",
    "workflows.episode_services.step_down_receive": "Receive a step-down (step-down page)",
    "workflows.episode_services.episode_allocate": "Allocate (pre-allocation list / episode page)",
    "workflows.episode_services.episode_record_visit": "Record a visit or contact (episode: new case note)",
    "workflows.episode_services.assessment_save": "Complete the assessment (episode: assessment page)",
    "workflows.episode_services.assessment_not_needed": "Assessment not needed (episode: recent step-down)",
    "workflows.episode_services.planning_meeting_record": "Record a planning meeting (episode: meetings)",
    "workflows.episode_services.plan_activate": "Make the plan active (episode: plan page)",
    "workflows.episode_services.plan_copy_sent": "Copy sent to the family (episode: family copy page)",
    "workflows.episode_services.review_record": "Record a review (episode: reviews)",
    "workflows.episode_services.closure_request": "Ask to close (episode: closure request)",
    "workflows.episode_services.closure_sign_off": "Sign off the closure (sign-off page)",
    "workflows.episode_services.closure_return": "Return the closure request (sign-off page)",
    "workflows.episode_services.family_declines": "Family declines (episode page)",
    "workflows.episode_services.step_up_propose": "Propose a step-up (episode: step-up page)",
    "workflows.episode_services.step_up_send_to_duty_manager": "Send to the duty manager (step-up page)",
    "workflows.episode_services.step_up_decide": "Duty manager's decision (step-up page)",
    "workflows.episode_services.wraparound_worker_confirm": "Confirm the wraparound worker (episode: wraparound page)",
    "oversight.services.managers_decision_record": "Record a Managers Decision (episode: oversight)",
    "oversight.services.supervision_record": "Record a supervision (oversight: supervision page)",
    "workflows.episode_services.planned_visit_schedule": "Plan a visit (episode: planned visits)",
    "workflows.episode_services.planned_visit_cancel": "Cancel a planned visit (episode: planned visits)",
    "workflows.episode_services.plan_save": "Write the plan (episode: plan page)",
    "workflows.episode_services.plan_outcome_save": "Add an outcome to the plan (episode: plan page)",
    "workflows.episode_services.plan_action_save": "Add an action to the plan (episode: plan page)",
    "workflows.services.team_joined_record": "Give a practitioner a team (users page; accounts signals it)",
    "workflows.transfer_services.transfer_accept": "Accept a transfer from another team (transfer page)",
    "workflows.transfer_services.caseload_reallocate": "Reallocate a practitioner's cases (bulk reallocation page)",
    "workflows.transfer_services.before_allocation_close": "Close from the pre-allocation list (episode page)",
    "workflows.transfer_services.before_allocation_step_down": "Step down from the pre-allocation list (episode page)",
}

_F = "workflows.services."
_E = "workflows.episode_services."
_O = "oversight.services."
_T = "workflows.transfer_services."

EMITTED_BY: dict[str, tuple[str, ...]] = {
    CONTACT_RECEIVED: (_F + "contact_receive",),
    SCREENING_HELD: (_F + "contact_start_screening", _F + "contact_decide", _F + "screening_record_outcome"),
    CONTACT_ESCALATION_RAISED: (_F + "contact_escalation_raise",),
    CONTACT_ESCALATION_RESOLVED: (_F + "contact_escalation_resolve",),
    EPISODE_ESCALATION_RAISED: (_E + "escalation_record",),
    EPISODE_ESCALATION_RESOLVED: (_E + "escalation_resolve",),
    RE_REFERRAL_AFTER_STEP_UP: (_F + "contact_receive",),
    RE_REFERRAL_REVIEWED: (_F + "re_referral_review",),
    DECISION_MADE: (_F + "contact_decide", _F + "meeting_record_outcome"),
    CONTACT_DECIDED_MEETING: (_F + "contact_decide",),
    CONTACT_DECIDED_NAM: (_F + "contact_decide",),
    CONTACT_DECIDED_MAAM: (_F + "contact_decide",),
    CONTACT_DECIDED_ICDM: (_F + "contact_decide",),
    CONTACT_DECIDED_ALLOCATE: (_F + "contact_decide", _F + "meeting_record_outcome"),
    CONTACT_DECIDED_STEP_UP: (_F + "contact_decide", _F + "meeting_record_outcome"),
    CONTACT_DECIDED_CLOSE: (_F + "contact_decide", _F + "meeting_record_outcome"),
    ACKNOWLEDGEMENT_SENT: (_F + "communication_record",),
    SCREENING_OUTCOME_SENT: (_F + "communication_record",),
    MEETING_HELD: (_F + "meeting_record_outcome",),
    NAM_HELD: (_F + "meeting_record_outcome",),
    MAAM_HELD: (_F + "meeting_record_outcome",),
    ICDM_HELD: (_F + "meeting_record_outcome",),
    MEETING_OUTCOME_SENT: (_F + "communication_record",),
    MEETING_DECIDED_ALLOCATE: (_F + "meeting_record_outcome",),
    MAAM_DECIDED_ALLOCATE: (_F + "meeting_record_outcome",),
    SCREENING_DECIDED_ALLOCATE: (_F + "contact_decide",),
    REFERRAL_SENT_TO_TEAM: (_F + "contact_referral_sent",),
    EPISODE_OPENED: (_F + "contact_decide", _F + "meeting_record_outcome", _E + "step_down_receive"),
    STEP_DOWN_RECEIVED: (_F + "contact_decide", _F + "meeting_record_outcome", _E + "step_down_receive"),
    WRAPAROUND_REQUESTED: (_F + "contact_decide", _F + "meeting_record_outcome", _E + "step_up_decide"),
    ALLOCATED: (
        _E + "episode_allocate",
        _T + "transfer_accept",
        _F + "contact_decide",
    ),
    REALLOCATED: (
        _E + "episode_allocate",
        _E + "wraparound_worker_confirm",
        _T + "transfer_accept",
        _T + "caseload_reallocate",
    ),
    INITIAL_CONTACT_MADE: (_E + "episode_record_visit",),
    FIRST_VISIT_MADE: (_E + "episode_record_visit",),
    VISIT_RECORDED: (_E + "episode_record_visit",),
    CASE_RECORDED: (_E + "episode_record_visit",),
    DUTY_CONTACT_RECORDED: (_E + "episode_record_visit",),
    ASSESSMENT_COMPLETED: (_E + "assessment_save", _E + "assessment_not_needed"),
    PLANNING_MEETING_HELD: (_E + "planning_meeting_record",),
    PLAN_COMPLETED: (_E + "plan_activate",),
    PLAN_COPY_SENT: (_E + "plan_copy_sent",),
    REVIEW_HELD: (_E + "review_record",),
    CLOSURE_REQUESTED: (_E + "closure_request",),
    CLOSURE_SIGNED_OFF: (_E + "closure_sign_off",),
    CLOSURE_RETURNED: (_E + "closure_return",),
    EPISODE_CLOSED: (
        _E + "closure_sign_off",
        _E + "family_declines",
        _E + "step_up_decide",
        _T + "before_allocation_close",
        _T + "before_allocation_step_down",
    ),
    STEP_UP_REQUESTED: (_E + "step_up_propose",),
    STEP_UP_SENT_TO_DUTY_MANAGER: (_E + "step_up_send_to_duty_manager",),
    STEP_UP_DECIDED: (_E + "step_up_decide",),
    WRAPAROUND_WORKER_CONFIRMED: (_E + "wraparound_worker_confirm",),
    OVERSIGHT_RECORDED: (_O + "managers_decision_record",),
    CASE_DISCUSSION_HELD: (_E + "episode_record_visit", _O + "supervision_record"),
    SUPERVISION_RECORDED: (_O + "supervision_record",),
    FAMILY_VISITED: (_E + "episode_record_visit",),
    VISIT_PLANNED: (_E + "planned_visit_schedule",),
    PLANNED_VISIT_CANCELLED: (_E + "planned_visit_cancel", _E + "episode_record_visit"),
    PLAN_STARTED: (_E + "plan_save", _E + "plan_outcome_save", _E + "plan_action_save"),
    TEAM_JOINED: (_F + "team_joined_record",),
}


def actions_emitting(event: str) -> tuple[str, ...]:
    """The user actions (service paths) that emit `event`; empty if none does."""
    return EMITTED_BY.get(event, ())
