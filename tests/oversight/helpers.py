"""Build cases, clocks and records with known outcomes at pinned times, straight through the ORM
(episodes, contacts and clocks by the factories of tests/factories.py).

The boards and reports only read: building their inputs directly keeps each figure in a test
exact and the suite fast. Writes that oversight itself performs go through its services.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cases import board
from cases.models import (
    Assessment,
    AssessmentChild,
    AssessmentNeed,
    AssessmentRisk,
    CaseNote,
    Contact,
    Episode,
    Plan,
    PlanOutcome,
    Review,
    ReviewProgress,
    TeamMeeting,
)
from deadlines.models import Deadline
from kit.time import LONDON
from tests.factories import ContactFactory, DeadlineFactory, EpisodeFactory, PersonFactory

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # a Monday
S = Episode.State


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def make_episode(
    team,
    *,
    lead=None,
    state: str = S.PLAN_ACTIVE,
    opened_at: datetime = NOW - timedelta(days=30),
    closed_at: datetime | None = None,
    closure_reason: str = "",
    contact: Contact | None = None,
    family=None,
    children: int = 2,
) -> Episode:
    fields = {"family": family} if family is not None else {"children": children}
    return EpisodeFactory(
        team=team,
        lead_professional=lead,
        state=S.CLOSED if closed_at is not None else state,
        opened_at=opened_at,
        closed_at=closed_at,
        closure_reason=closure_reason,
        contact=contact,
        **fields,
    )


def make_contact(family, *, received_at: datetime, source: str = "2A", decision: str = "", subjects=(), risks=None):
    return ContactFactory(
        family=family,
        received_at=received_at,
        source=source,
        decision=decision,
        decided_at=received_at + timedelta(hours=3) if decision else None,
        subjects=subjects,
        risks=risks,
    )


def make_deadline(
    rule_id: str,
    *,
    team,
    started_at: datetime,
    due_at: datetime | None,
    expected_at: datetime | None = None,
    stopped_at: datetime | None = None,
    withdrawn: bool = False,
    episode: Episode | None = None,
    contact: Contact | None = None,
    worker=None,
    assignee=None,
    flag_only: bool = False,
    rulebook: str = "family-solutions",
    title: str = "",
) -> Deadline:
    if episode is None and contact is None and worker is None:
        raise ValueError("a deadline needs a subject")
    extra = {"assignee": assignee} if assignee is not None else {}
    return DeadlineFactory(
        rulebook=rulebook,
        rule_id=rule_id,
        **({"title": title} if title else {}),
        episode=episode,
        contact=contact,
        worker=worker,
        started_at=started_at,
        expected_at=expected_at,
        due_at=due_at,
        stopped_at=stopped_at,
        withdrawn=withdrawn,
        flag_only=flag_only,
        team=team,
        **extra,
    )


def make_assessment(
    episode: Episode,
    *,
    by,
    started_at: datetime,
    completed_at: datetime | None = None,
    needs: dict[str, int] | None = None,
    risks: dict[str, int] | None = None,
    children=None,
) -> Assessment:
    assessment = Assessment.objects.create(
        episode=episode, started_at=started_at, started_by=by, completed_at=completed_at, completed_by=by
    )
    for area, level in (needs or {}).items():
        AssessmentNeed.objects.create(assessment=assessment, area=area, level=level)
    for indicator, level in (risks or {}).items():
        AssessmentRisk.objects.create(assessment=assessment, indicator=indicator, level=level)
    board.refresh(episode_ids=[episode.pk])  # as recording the assessment does (ADR 56)
    for child in children or ():
        AssessmentChild.objects.create(assessment=assessment, child=child)
    return assessment


def make_plan_outcome(episode: Episode, *, by, area: str, number: int = 1, ratings: list[int] = ()) -> PlanOutcome:
    """A plan outcome in an area, rated at successive reviews (the last rating is the latest)."""
    plan, _ = Plan.objects.get_or_create(episode=episode, defaults={"created_at": episode.opened_at, "created_by": by})
    outcome = PlanOutcome.objects.create(plan=plan, number=number, area=area, description="x", how_measured="y")
    for i, rating in enumerate(ratings):
        held = episode.opened_at + timedelta(days=40 * (i + 1), hours=number)
        meeting = TeamMeeting.objects.create(
            episode=episode, kind="review", held_at=held, attendees="Mum", recorded_at=held, recorded_by=by
        )
        review = Review.objects.create(
            episode=episode,
            meeting=meeting,
            summary="s",
            child_voice="c",
            next_review_on=held.date() + timedelta(days=42),
            recorded_at=held,
            recorded_by=by,
        )
        ReviewProgress.objects.create(review=review, outcome=outcome, rating=rating)
    return outcome


def duty_note(episode: Episode, *, at: datetime, by, details: str = "Spoke to mum; no change.") -> CaseNote:
    return CaseNote.objects.create(
        episode=episode,
        family=episode.family,
        kind=CaseNote.Kind.DUTY_CONTACT,
        happened_at=at,
        recorded_at=at,
        recorded_by=by,
        details=details,
    )


def unborn_child(family):
    from cases.models import Membership

    person = PersonFactory(first_name="Baby", date_of_birth=None, expected_date_of_birth=date(2027, 1, 10), sex="U")
    Membership.objects.create(family=family, person=person, relationship="child")
    return person
