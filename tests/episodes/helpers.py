"""Build episodes at a given point of the workflow, through the real services, at pinned times."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cases.models import Episode, OutcomeArea, RiskIndicator
from kit.time import LONDON
from tests.factories import family_with_children
from workflows import episode_services as es
from workflows import services

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # a Monday
S = Episode.State

ORDER = [
    S.AWAITING_ALLOCATION,
    S.ALLOCATED,
    S.INITIAL_CONTACT,
    S.FIRST_VISIT,
    S.ASSESSMENT_COMPLETED,
    S.PLANNING,
    S.PLAN_ACTIVE,
]


def full_assessment(children) -> dict:
    return {
        "sections": {
            "family_history": "Moved to the area last year.",
            "previous_interventions": "Health visiting.",
            "agency_views": "School worried about attendance.",
            "family_views": "Mum wants help with routines.",
            "child_voice": "The children want to stay at their school.",
            "recommendation": "Targeted family support with a focus on routines.",
        },
        "children": dict.fromkeys(children, ("Speech is behind for age.", "I like football.")),
        "needs": {area: (2 if area == OutcomeArea.EDUCATION else 1, "") for area in OutcomeArea.values},
        "risks": {RiskIndicator.Indicator.ATTENDANCE: (3, "Below 80%")},
    }


def write_plan(episode, by, at, *, complete: bool = True):
    outcome = es.plan_outcome_save(
        episode=episode,
        by=by,
        now=at,
        area=OutcomeArea.EDUCATION,
        description="Sam goes to school every day",
        how_measured="Attendance above 95% on the school register" if complete else "",
        by_when=date(2027, 3, 1),
    )
    es.plan_action_save(
        outcome=outcome, by=by, now=at, what="Walk Sam to school", who="Mum", by_when=date(2026, 12, 18)
    )
    es.plan_save(episode=episode, if_not_working="Team around the family meets again within 2 weeks.", by=by, now=at)
    return outcome


def make_episode(users, team, *, state=S.AWAITING_ALLOCATION, at=NOW, origin=Episode.Origin.FRONT_DOOR, **family):
    """An episode opened at `at`, walked forward an hour a step to `state`; returns (episode, children)."""
    fam, children = family_with_children(2, team=team, **family)
    episode = services.episode_open(contact=None, family=fam, team=team, now=at, by=users["teamlead"], origin=origin)
    coach = users["coach"]
    t = at
    for target in ORDER[1 : ORDER.index(state) + 1]:
        t += timedelta(hours=1)
        if target == S.ALLOCATED:
            es.episode_allocate(episode=episode, practitioner=coach, by=users["teamlead"], now=t)
        elif target == S.INITIAL_CONTACT:
            es.episode_record_visit(
                episode=episode, kind="phone_call", happened_at=t, details="Called mum.", by=coach, now=t
            )
        elif target == S.FIRST_VISIT:
            es.episode_record_visit(
                episode=episode,
                kind="home_visit",
                happened_at=t,
                details="Saw the family at home.",
                children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="It's fine.") for c in children],
                by=coach,
                now=t,
            )
        elif target == S.ASSESSMENT_COMPLETED:
            es.assessment_save(episode=episode, by=coach, now=t, complete=True, **full_assessment(children))
        elif target == S.PLANNING:
            es.planning_meeting_record(
                episode=episode, held_at=t, attendees="Mum\nCoach\nSchool", notes="Plan agreed.", by=coach, now=t
            )
        elif target == S.PLAN_ACTIVE:
            write_plan(episode, coach, t)
            es.plan_activate(episode=episode, by=coach, now=t)
        episode.refresh_from_db()
    assert episode.state == state
    return episode, children
