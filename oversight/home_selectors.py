"""What each role's home page counts and lists first: "my work", scoped, with time as an argument.

Every function takes the user and `now` and starts from the scoped selectors of `cases.selectors`
(and `oversight.selectors.service_deadlines` / `deadline_rows_in_scope` for clocks), so another team's work
is never counted or listed. Each count is one SQL aggregate and each list is bounded (`limit`), so the
home page runs the same number of queries whatever the caseload.

"Due today" is a clock still on time whose first limit (expected time, else maximum) falls before
local midnight at the end of `now`'s day in Europe/London: on a Saturday that is Saturday's clocks
only, whatever the working calendar says about Monday.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.models import ClosureRequest, Contact, Episode, PlannedVisit, StepUp
from cases.selectors import contacts_visible_to, episodes_visible_to
from deadlines.models import Deadline, Status
from oversight.selectors import board_pre_allocation, deadline_rows_in_scope, local_midnight, service_deadlines

S = Episode.State
NEXT_ITEMS = 5
# Contacts the front door has still to decide (the predicate of the triage queue).
AWAITING_DECISION = ("received", "screening", "awaiting_consent")


def end_of_today(now: datetime) -> datetime:
    """Local midnight at the end of `now`'s day (Europe/London)."""
    return local_midnight(timezone.localdate(now) + timedelta(days=1))


# --- Clocks: counts and the most urgent few --------------------------------------------------------


def clock_counts(clocks: QuerySet[Deadline], *, now: datetime) -> dict[str, int]:
    """Breached, overdue and due-today open clocks among `clocks`, in one aggregate query."""
    eod = end_of_today(now)
    on_time = Q(status__in=[Status.DUE_SOON, Status.ON_TIME])
    due_today = on_time & (Q(expected_at__lt=eod) | Q(due_at__lt=eod))
    return (
        clocks.open()
        .with_status(now)
        .aggregate(
            breached=Count("pk", filter=Q(status=Status.BREACHED)),
            overdue=Count("pk", filter=Q(status=Status.OVERDUE)),
            due_today=Count("pk", filter=due_today),
        )
    )


def most_urgent_clocks(clocks: QuerySet[Deadline], *, now: datetime, limit: int = NEXT_ITEMS) -> list[Deadline]:
    """The first `limit` open clocks: breached (newest breach first), then overdue, then due soonest."""
    ranked = (
        clocks.open()
        .with_status(now)
        .annotate(
            urgency=Case(
                When(status=Status.BREACHED, then=Value(0)),
                When(status=Status.OVERDUE, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            breached_at=Case(When(status=Status.BREACHED, then=F("due_at")), default=None),
            first_limit=Coalesce("expected_at", "due_at"),
        )
        .order_by("urgency", F("breached_at").desc(nulls_last=True), F("first_limit").asc(nulls_last=True), "pk")
    )
    return list(ranked.select_related("episode__family", "contact__family", "worker")[:limit])


# --- The clocks each role calls "mine" -------------------------------------------------------------


def front_door_contacts(user) -> QuerySet[Contact]:
    """Contacts awaiting a front-door decision that the user may see."""
    return contacts_visible_to(user).filter(state__in=AWAITING_DECISION)


def front_door_clocks(user) -> QuerySet[Deadline]:
    """Open clocks of the contacts awaiting a decision."""
    return Deadline.objects.filter(contact__in=front_door_contacts(user).values("pk"))


def my_case_episodes(user) -> QuerySet[Episode]:
    """The open episodes the user leads (within their scope)."""
    return episodes_visible_to(user).filter(lead_professional=user).exclude(state=S.CLOSED)


def my_case_clocks(user) -> QuerySet[Deadline]:
    return Deadline.objects.filter(episode__in=my_case_episodes(user).values("pk"))


def awaiting_allocation(user) -> QuerySet[Episode]:
    """The user's team's families waiting for allocation; none without a team."""
    if not user.team_id:
        return Episode.objects.none()
    return episodes_visible_to(user).filter(team_id=user.team_id, state=S.AWAITING_ALLOCATION)


def pre_allocation_clocks(user) -> QuerySet[Deadline]:
    return Deadline.objects.filter(episode__in=awaiting_allocation(user).values("pk"))


def team_clocks(user) -> QuerySet[Deadline]:
    """The open clocks on the user's team's board (the team board's scope); none without a team."""
    if not user.team_id:
        return Deadline.objects.none()
    return Deadline.objects.filter(team_id=user.team_id).filter(deadline_rows_in_scope(user))


def service_clocks(user) -> QuerySet[Deadline]:
    """The clocks of the user's service that they may see (managers and duty managers)."""
    return service_deadlines(user)


def step_ups_awaiting_decision(user) -> QuerySet[StepUp]:
    """Step-ups sent to the duty manager and not yet decided, within the user's scope."""
    return StepUp.objects.filter(
        sent_at__isnull=False, decided_at__isnull=True, episode__in=episodes_visible_to(user).values("pk")
    )


def step_up_clocks(user) -> QuerySet[Deadline]:
    """Open clocks of episodes whose step-up waits for a duty manager's decision."""
    return service_deadlines(user).filter(episode__in=step_ups_awaiting_decision(user).values("episode_id"))


# --- Counts that are not clocks --------------------------------------------------------------------


def unrecorded_visit_count(user, *, now: datetime) -> int:
    """The user's planned visits whose time has passed and that nobody has recorded or cancelled."""
    return (
        PlannedVisit.objects.filter(visitor=user, planned_at__lte=now, note__isnull=True, cancelled_at__isnull=True)
        .filter(episode__in=my_case_episodes(user).values("pk"))
        .count()
    )


def pre_allocation_counts(user, *, now: datetime) -> dict[str, int]:
    """Families waiting for allocation, and those whose weekly duty contact is due (one query)."""
    if not user.team_id:
        return {"waiting": 0, "weekly_due": 0}
    return board_pre_allocation(user, team=user.team_id, now=now).aggregate(
        waiting=Count("pk"), weekly_due=Count("pk", filter=Q(weekly_contact_due=True))
    )


def pre_allocation_next(user, *, now: datetime, limit: int = NEXT_ITEMS) -> list[Episode]:
    """Families whose weekly contact is due first, then the longest waiting."""
    if not user.team_id:
        return []
    return list(
        board_pre_allocation(user, team=user.team_id, now=now).order_by("-weekly_contact_due", "opened_at", "pk")[
            :limit
        ]
    )


def team_sign_off_counts(user) -> dict[str, int]:
    """The team's closures and step-ups waiting for a manager (one query)."""
    if not user.team_id:
        return {"closures": 0, "step_ups": 0}
    episodes = episodes_visible_to(user).filter(team_id=user.team_id).values("pk")
    return Episode.objects.filter(pk__in=episodes).aggregate(
        closures=Count(
            "closure_requests", filter=Q(closure_requests__status=ClosureRequest.Status.PENDING), distinct=True
        ),
        step_ups=Count("step_ups", filter=Q(step_ups__decided_at__isnull=True), distinct=True),
    )


def service_sign_off_counts(user) -> dict[str, int]:
    """Closures awaiting sign-off, step-ups to send (manager) and to decide (duty manager), in one query."""
    episodes = episodes_visible_to(user).values("pk")
    return Episode.objects.filter(pk__in=episodes).aggregate(
        closures=Count(
            "closure_requests", filter=Q(closure_requests__status=ClosureRequest.Status.PENDING), distinct=True
        ),
        step_ups_to_send=Count(
            "step_ups", filter=Q(step_ups__decided_at__isnull=True, step_ups__sent_at__isnull=True), distinct=True
        ),
        step_ups_to_decide=Count(
            "step_ups", filter=Q(step_ups__decided_at__isnull=True, step_ups__sent_at__isnull=False), distinct=True
        ),
    )
