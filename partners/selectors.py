"""What the partner portal reads: the agency's requests and what became of them, and the families a
partner user works with (through cases.selectors, which answers who may see a family)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, QuerySet

from cases import selectors as case_selectors
from cases.models import Contact, Episode, Family, Message, PlanAction, PlanOutcome, Review
from partners.models import SupportRequest

OUTCOME_KINDS = ("screening_outcome", "meeting_outcome")


def partner_family_or_none(user, pk: int, *, today: date) -> Family | None:
    return case_selectors.partner_family_or_none(user, pk, today)


def families_of(user, *, today: date) -> QuerySet[Family]:
    return case_selectors.families_visible_to_partner(user, today).order_by("name", "pk")


def requests_of(user) -> QuerySet[SupportRequest]:
    """The requests the user's agency made (drafts too), newest first, with the contact each became and
    the outcome letters sent about it: three queries whatever their number."""
    if user.partner_organisation_id is None:
        return SupportRequest.objects.none()
    outcomes = Message.objects.filter(kind__in=OUTCOME_KINDS, status=Message.Status.SENT).order_by("-sent_at")
    return (
        SupportRequest.objects.filter(organisation_id=user.partner_organisation_id)
        .select_related("contact", "created_by")
        .prefetch_related(Prefetch("contact__messages", queryset=outcomes, to_attr="outcome_letters"))
    )


def request_of_or_none(user, pk: int) -> SupportRequest | None:
    return requests_of(user).filter(pk=pk).first()


@dataclass(frozen=True)
class Status:
    label: str
    colour: str


def status_of(support_request: SupportRequest) -> Status:
    """Where the request is, in the words a partner is told (never the front door's internal notes)."""
    contact: Contact | None = support_request.contact
    if contact is None:
        return Status("Draft", "grey")
    if contact.state == Contact.State.RECEIVED:
        return Status("Received", "blue")
    if contact.is_open:
        return Status("Being screened", "light-blue")
    return Status("Decided", "green")


def outcome_letter(support_request: SupportRequest) -> Message | None:
    contact = support_request.contact
    letters = getattr(contact, "outcome_letters", None) if contact is not None else None
    return letters[0] if letters else None


@dataclass(frozen=True)
class FamilyPlan:
    episode: Episode | None
    outcomes: list
    my_actions: list
    next_review_on: date | None


def family_plan(family: Family, user) -> FamilyPlan:
    """The open episode's plan as a partner in the team sees it: the outcomes, the actions they hold and
    the next review date (no case notes, no assessment)."""
    episode = (
        Episode.objects.filter(family=family)
        .exclude(state=Episode.State.CLOSED)
        .select_related("lead_professional")
        .order_by("-opened_at")
        .first()
    )
    if episode is None:
        return FamilyPlan(None, [], [], None)
    outcomes = list(PlanOutcome.objects.filter(plan__episode=episode).order_by("number"))
    actions = list(
        PlanAction.objects.filter(outcome__plan__episode=episode, partner_assignee=user).select_related("outcome")
    )
    review = Review.objects.filter(episode=episode).order_by("-recorded_at").first()
    return FamilyPlan(episode, outcomes, actions, review.next_review_on if review else None)


def updates_of(family: Family, user) -> list:
    """The updates the user's agency added about the family, newest first, with whether acknowledged."""
    return list(case_selectors.partner_updates_of(family).filter(organisation_id=user.partner_organisation_id)[:50])


def people_of(organisation) -> list:
    """The agency's partner users, each with their latest invitation (two queries)."""
    from accounts.models import PartnerInvitation, User

    invitations = PartnerInvitation.objects.order_by("-invited_at")
    return list(
        User.objects.filter(partner_organisation=organisation)
        .prefetch_related(Prefetch("partner_invitations", queryset=invitations, to_attr="invitations"))
        .order_by("first_name", "last_name")
    )


# --- Episodes a partner agency's lead professional holds (ADR 52) -----------------------------------


def episodes_led_by(user, *, today: date) -> QuerySet[Episode]:
    """The single-agency episodes the user holds (while their agency is active and the family's consent
    to share with it is in force), open ones first, with the family and the team keeping oversight."""
    return (
        case_selectors.episodes_led_by_partner(user, today)
        .select_related("family", "team")
        .order_by("closed_at", "-opened_at", "pk")
    )


def led_episode_or_none(user, pk: int, *, today: date) -> Episode | None:
    return episodes_led_by(user, today=today).filter(pk=pk).first()


@dataclass(frozen=True)
class Clock:
    title: str
    due_at: object
    words: dict


def open_clocks(episode: Episode, *, now) -> list[Clock]:
    """The episode's open clocks, soonest first, each with its due time and how soon or late it is, in the
    words every internal page uses."""
    from deadlines.selectors import deadlines_for_subject
    from workflows.presenters import deadline_words

    rows = [d for d in deadlines_for_subject(now=now, episode=episode) if d.stopped_at is None]
    return [
        Clock(
            d.title,
            d.expected_at or d.due_at,
            deadline_words(d.status, expected_at=d.expected_at, due_at=d.due_at, now=now),
        )
        for d in rows
    ]


@dataclass(frozen=True)
class EpisodeRecords:
    notes: list
    assessment: object
    plan: object
    outcomes: list
    reviews: list
    closure: object
    invitations: list


def episode_records(episode: Episode) -> EpisodeRecords:
    """What the partner lead professional has recorded on the episode (a fixed number of queries)."""
    from cases.models import Assessment, CaseNote, ClosureRequest, Plan

    notes = list(CaseNote.objects.filter(episode=episode).order_by("-happened_at", "-pk")[:50])
    assessment = Assessment.objects.filter(episode=episode).first()
    plan = Plan.objects.filter(episode=episode).first()
    outcomes = list(PlanOutcome.objects.filter(plan__episode=episode).prefetch_related("actions").order_by("number"))
    reviews = list(Review.objects.filter(episode=episode).select_related("meeting").order_by("-recorded_at"))
    closure = ClosureRequest.objects.filter(episode=episode).order_by("-requested_at").first()
    return EpisodeRecords(notes, assessment, plan, outcomes, reviews, closure, invitations_sent(episode))


# --- Review invitations (ADR 52) ------------------------------------------------------------------


def invitations_of(user, *, today: date):
    """The reviews the user is invited to, for families they may still see (in the team, consent to share
    in force): removal or withdrawal hides them at once."""
    from partners.models import ReviewInvitation

    if user.partner_organisation_id is None:
        return ReviewInvitation.objects.none()
    visible = case_selectors.families_visible_to_partner(user, today)
    return (
        ReviewInvitation.objects.filter(invitee=user, episode__family__in=visible.values("pk"))
        .select_related("episode", "episode__family", "invited_by")
        .order_by("-review_at", "-pk")
    )


def invitation_of_or_none(user, pk: int, *, today: date):
    return invitations_of(user, today=today).filter(pk=pk).first()


def invitable_people(episode: Episode, *, today: date) -> list:
    """Who the lead professional may invite to a review: the partner users named for agencies in the
    family's team now, whose agency the family agreed to share with (others would not see the invitation)."""
    people = list(case_selectors.partner_people_of(episode.family))
    names = {p.partner_organisation.name for p in people}
    consented = {
        name
        for name in names
        if case_selectors.share_consents_in_force(name, today).filter(family_id=episode.family_id).exists()
    }
    return [p for p in people if p.partner_organisation.name in consented and p.pk != episode.lead_professional_id]


def invitations_sent(episode: Episode) -> list:
    """The episode's review invitations with each answer, latest review first (one query)."""
    from partners.models import ReviewInvitation

    return list(
        ReviewInvitation.objects.filter(episode=episode)
        .select_related("invitee", "organisation")
        .order_by("-review_at", "pk")[:100]
    )
