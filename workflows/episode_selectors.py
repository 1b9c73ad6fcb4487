"""Reads the episode pages share. Each page costs a fixed number of queries, whatever the data size.

Everything starts from `cases.selectors.episodes_visible_to(user)`, so a record outside the
user's scope is never in the queryset (the page answers 404).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db import router
from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Concat, JSONObject, Lower

from accounts import roles
from accounts.models import User
from cases.models import (
    Assessment,
    AssessmentChild,
    CaseNote,
    ChildView,
    ClosureRequest,
    Communication,
    Document,
    Episode,
    Escalation,
    Family,
    Membership,
    Plan,
    PlanAction,
    PlannedVisit,
    PlanOutcome,
    Review,
    ReviewProgress,
    StepUp,
    TeamMeeting,
)
from cases.selectors import (
    choice_label,
    chronology_rows,
    episodes_visible_to,
    of_family,
    reach_exists,
    register_chronology_source,
    scoped_first,
)
from deadlines.models import DUE_SOON, Deadline, Status
from kit.compiled_sql import compiled_instances, compiled_once, prepared_cursor
from kit.json_rows import instances_from_json, json_array, json_of

S = Episode.State


def with_next_task(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    """Annotate each episode with its most urgent open clock: what to do next and by when."""
    clocks = (
        Deadline.objects.filter(episode=OuterRef("pk"), stopped_at__isnull=True)
        .annotate(next_limit=Coalesce("expected_at", "due_at"))
        .filter(next_limit__isnull=False)
        .order_by("next_limit", "due_at")
    )
    return episodes.annotate(
        next_task=Subquery(clocks.values("title")[:1]),
        next_task_rule=Subquery(clocks.values("rule_id")[:1]),
        next_task_pk=Subquery(clocks.values("pk")[:1]),
        next_task_due=Subquery(clocks.values("next_limit")[:1]),
        next_task_maximum=Subquery(clocks.values("due_at")[:1]),
    )


def practitioners_with_caseload(team_id: int) -> list[User]:
    """The team's practitioners with their open caseload (one query); capacity comes from each user.
    Council staff only: a partner agency's user is never offered for internal work."""
    return list(
        User.objects.filter(team_id=team_id, is_active=True, groups__name=roles.PRACTITIONER)
        .filter(partner_organisation__isnull=True)  # a partner agency's lead holds no council caseload (ADR 52)
        .annotate(caseload=Count("lead_episodes", filter=~Q(lead_episodes__state=S.CLOSED), distinct=True))
        .order_by("first_name", "last_name", "username")
    )


def visible_episode(
    user, pk: int, *, with_planned_visits: bool = False, with_assessment_and_plan: bool = False
) -> Episode | None:
    """The episode if the user may see it; `with_planned_visits` brings its planned visits in the
    same query (`planned_visit_rows`), and `with_assessment_and_plan` its assessment (with who
    completed it) and plan (`assessment_of`, `plan_of`), so the episode page stays within its budget.
    Its family, team, contact, lead professional and who allocated it come with it, cached on their
    fields as `select_related` caches them."""
    related = ["family", "team", "contact"]
    if with_assessment_and_plan:
        related += ["assessment__completed_by", "plan"]

    def build(pk, reach: Q) -> QuerySet[Episode]:
        # `episodes_visible_to(user)` with the reach given: the SQL is compiled once per reach shape
        # and these options, and run with the episode's id and the reach's values (ADR 67). The reach is
        # a probed EXISTS (one index probe for the one episode), not `family__in=`, and the two users
        # are scalar subqueries, not joins: the planner searched the order of ten joins and planned this
        # query for far longer than it ran it (ADR 78).
        qs = Episode.objects.filter(reach_exists(reach)).select_related(*related)
        qs = qs.annotate(**{f"{name}_json": _user_json(f"{name}_id") for name in _EPISODE_USERS})
        if with_planned_visits:
            qs = qs.annotate(planned_visits_json=planned_visits_subquery())
        return qs.filter(pk=pk)

    key = (
        f"episode{' +visits' if with_planned_visits else ''}{' +assessment, plan' if with_assessment_and_plan else ''}"
    )
    using = router.db_for_read(Episode)
    episode = scoped_first(key, user, build, pk, using=using)
    if episode is not None:
        for name in _EPISODE_USERS:
            data = episode.__dict__.pop(f"{name}_json")
            data = json.loads(data) if isinstance(data, str) else data
            found = instances_from_json(User, [data] if data else [], using=using)
            Episode._meta.get_field(name).set_cached_value(episode, found[0] if found else None)
    return episode


# The users an episode's pages show beside it, read as JSON in the episode's own query.
_EPISODE_USERS = ("lead_professional", "allocated_by")


def _user_json(key: str) -> Subquery:
    """The user the outer row's column `key` names, every column of it as one JSON object (NULL: none)."""
    return Subquery(User.objects.filter(pk=OuterRef(key)).values(json=json_of(User)))


SUMMARY_RECORDS = 20


def _closure_requests(episode) -> QuerySet[ClosureRequest]:
    return ClosureRequest.objects.filter(episode=episode).order_by("-requested_at")[:SUMMARY_RECORDS]


def _step_ups(episode) -> QuerySet[StepUp]:
    return StepUp.objects.filter(episode=episode).order_by("-proposed_at")[:SUMMARY_RECORDS]


def _escalations(episode) -> QuerySet[Escalation]:
    return Escalation.objects.filter(episode=episode).order_by("-raised_at")[:SUMMARY_RECORDS]


# The summary's short lists of the episode's records: (model, the records of an episode, the users
# each row shows), read together by `summary_records`.
_SUMMARY_RECORDS = {
    "closure_requests": (ClosureRequest, _closure_requests, ("requested_by", "decided_by")),
    "step_ups": (StepUp, _step_ups, ("proposed_by", "sent_by", "decided_by")),
    "escalations": (Escalation, _escalations, ("raised_by", "resolved_by")),
}
# Two ids no episode has, for compiling `summary_records`' query once.
_EPISODE_STAND_INS = ((-7_105_993_471,), (-7_105_993_472,))


def _summary_records_query(episode_id) -> QuerySet:
    arrays = {
        f"{name}_json": json_array(build(OuterRef("pk")), related=rel)
        for name, (_, build, rel) in _SUMMARY_RECORDS.items()
    }
    return Episode.objects.filter(pk=episode_id).values(**arrays)


def summary_records(episode: Episode) -> dict[str, list]:
    """The episode's closure requests, step-ups and escalations (newest first, at most
    `SUMMARY_RECORDS` of each, with the users they name) in one query instead of three, its SQL
    compiled once per process (ADR 63); read back as the instances `select_related` would give."""
    using = router.db_for_read(Episode)
    compiled = compiled_once(("episode summary records",), _summary_records_query, _EPISODE_STAND_INS, using=using)
    if compiled is None:
        row = _summary_records_query(episode.pk).first() or {}
        values = [row.get(f"{name}_json") for name in _SUMMARY_RECORDS]
    else:
        with prepared_cursor(using) as cursor:  # one plan for every episode (ADR 82)
            cursor.execute(compiled.sql, compiled.params_for((episode.pk,)))
            values = list(cursor.fetchone() or [None] * len(_SUMMARY_RECORDS))
    out = {}
    for (name, (model, _, related)), objects in zip(_SUMMARY_RECORDS.items(), values, strict=True):
        objects = [json.loads(o) if isinstance(o, str) else o for o in objects or ()]
        out[name] = instances_from_json(model, objects, related=related, using=using)
    return out


def _loaded_one_to_one(episode: Episode, name: str):
    """The episode's assessment or plan as `visible_episode` loaded it (None: it has none), or
    `_NOT_LOADED` when the episode was read without it."""
    field = Episode._meta.get_field(name)
    if not field.is_cached(episode):
        return _NOT_LOADED
    return field.get_cached_value(episode)


_NOT_LOADED = object()


def planned_visits_subquery() -> ArraySubquery:
    return ArraySubquery(
        PlannedVisit.objects.filter(episode=OuterRef("pk"))
        .order_by("-planned_at", "-pk")
        .values(
            json=JSONObject(
                pk="pk",
                planned_at="planned_at",
                kind="kind",
                seeing="seeing",
                visitor_first="visitor__first_name",
                visitor_last="visitor__last_name",
                visitor_username="visitor__username",
                recorded_at="note__recorded_at",
                cancelled_at="cancelled_at",
                cancel_reason="cancel_reason",
                cancelled_first="cancelled_by__first_name",
                cancelled_last="cancelled_by__last_name",
            )
        )[:RECORD_LIMIT]
    )


@dataclass(frozen=True)
class PlannedVisitRow:
    """A planned visit as the episode page shows it (read from the episode's own query)."""

    pk: int
    planned_at: datetime
    kind_label: str
    seeing: str
    visitor: str
    recorded_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str
    cancel_reason: str

    @property
    def is_pending(self) -> bool:
        return self.recorded_at is None and self.cancelled_at is None


def planned_visit_rows(episode: Episode) -> list[PlannedVisitRow]:
    def when(value) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    def name(first, last, fallback="") -> str:
        return f"{first or ''} {last or ''}".strip() or fallback

    labels = dict(PlannedVisit.KIND_CHOICES)
    return [
        PlannedVisitRow(
            pk=row["pk"],
            planned_at=when(row["planned_at"]),
            kind_label=str(labels.get(row["kind"], row["kind"])),
            seeing=row["seeing"] or "",
            visitor=name(row["visitor_first"], row["visitor_last"], row["visitor_username"] or ""),
            recorded_at=when(row["recorded_at"]),
            cancelled_at=when(row["cancelled_at"]),
            cancelled_by=name(row["cancelled_first"], row["cancelled_last"]),
            cancel_reason=row["cancel_reason"] or "",
        )
        for row in getattr(episode, "planned_visits_json", None) or []
    ]


def children_of(family: Family) -> list:
    return [
        m.person
        for m in Membership.objects.filter(family=family, relationship=Membership.Relationship.CHILD)
        .select_related("person")
        .order_by("person__date_of_birth", "person__pk")
    ]


def _outcomes_with_actions() -> Prefetch:
    return Prefetch(
        "outcomes",
        queryset=PlanOutcome.objects.order_by("number").prefetch_related(
            Prefetch("actions", queryset=PlanAction.objects.order_by("by_when", "pk"))
        ),
    )


def plan_with_outcomes(episode: Episode) -> Plan | None:
    return Plan.objects.filter(episode=episode).prefetch_related(_outcomes_with_actions()).first()


def assessment_with_sections(episode: Episode) -> Assessment | None:
    return (
        Assessment.objects.filter(episode=episode)
        .prefetch_related(
            Prefetch("children", queryset=AssessmentChild.objects.select_related("child").order_by("child__pk")),
            "needs",
            "risks",
        )
        .first()
    )


RECORD_LIMIT = 100


def _notes_with_child_parts() -> QuerySet[CaseNote]:
    """Case notes with each child's part in the visit inside the note's own row (no extra query)."""
    child_parts = ArraySubquery(
        ChildView.objects.filter(note=OuterRef("pk"))
        .order_by("child__date_of_birth", "pk")
        .values(json=JSONObject(first_name="child__first_name", seen="seen", spoken_to="spoken_to", views="views"))
    )
    return CaseNote.objects.select_related("recorded_by").annotate(child_parts=child_parts)


# The episode page is a summary; the rest is on its sub-pages (ADR 35). The summary shows this many
# of the most urgent clocks, of the latest notes and of the visits still to happen or to record.
SUMMARY_CLOCKS = 3
SUMMARY_NOTES = 3
SUMMARY_VISITS = 5

# Urgency order of the timescales: breached, overdue, due soon, on time, then finished ones.
_URGENCY = {
    Status.BREACHED: 0,
    Status.OVERDUE: 1,
    Status.DUE_SOON: 2,
    Status.ON_TIME: 3,
    Status.MET_LATE: 4,
    Status.MET: 4,
    Status.WITHDRAWN: 5,
}


def clocks_by_urgency_queryset(episode_id: int, now: datetime, *, limit: int) -> QuerySet[Deadline]:
    """The episode's clocks in urgency order with their status at `now` and, on every row, the
    episode's number of clocks. Its parameters hold `now` and `now + DUE_SOON` (the due-soon limit)."""
    rank = Case(*(When(status=s, then=Value(n)) for s, n in _URGENCY.items()), default=Value(9))
    breached = Q(status=Status.BREACHED)
    return (
        Deadline.objects.with_status(now)
        .filter(episode_id=episode_id)
        .annotate(
            urgency=rank,
            # Newest breach first among breached clocks; soonest limit first among open ones.
            breach_order=Case(When(breached, then=F("due_at")), default=None),
            limit_at=Case(
                When(stopped_at__isnull=True, then=Coalesce("expected_at", "due_at")),
                default=None,
            ),
            # Counted before the LIMIT: every clock of the episode (the summary's "All 12 timescales").
            clock_total=Window(Count("pk")),
        )
        .order_by(
            "urgency",
            F("breach_order").desc(nulls_last=True),
            F("limit_at").asc(nulls_last=True),
            F("stopped_at").desc(nulls_last=True),
            "rule_id",
            "pk",
        )[:limit]
    )


# Two sets of values no request has (a negative episode id, times in 1990), for compiling once.
_CLOCK_STAND_INS = tuple(
    (-7_105_993_431 - n, datetime(1990, 1 + n, 1, tzinfo=UTC), datetime(1990, 1 + n, 1, tzinfo=UTC) + DUE_SOON)
    for n in (0, 1)
)


def _clocks_by_urgency_rows(episode: Episode, *, now: datetime, limit: int) -> list[Deadline]:
    """`clocks_by_urgency_queryset`'s rows, from SQL compiled once per process (kit.compiled_sql):
    building its expressions was most of the episode page's Python time."""
    using = router.db_for_read(Deadline)
    values = (episode.pk, now, now + DUE_SOON)

    def build(episode_id, at, _soon):  # `_soon` (at + DUE_SOON) is derived by `with_status` itself
        return clocks_by_urgency_queryset(episode_id, at, limit=limit)

    # Instances as the ORM makes them (not `raw()`, which matched its columns to fields on every request).
    return compiled_instances(("clocks_by_urgency", limit), build, _CLOCK_STAND_INS, values, using=using)


def clocks_by_urgency(episode: Episode, *, now: datetime, limit: int = RECORD_LIMIT) -> list[Deadline]:
    """The episode's clocks, most urgent first: breached (newest breach first), overdue, due soon and on
    time (soonest limit first), then met and withdrawn (latest first). One query. Each row also has
    `clock_total`, the episode's number of clocks (the same on every row)."""
    rows = _clocks_by_urgency_rows(episode, now=now, limit=limit)
    for row in rows:
        row.rule_title = row.title
    return rows


def _latest_notes(episode_id) -> QuerySet[CaseNote]:
    return _notes_with_child_parts().filter(episode_id=episode_id).order_by("-happened_at", "-pk")[:SUMMARY_NOTES]


def _plan_outcomes(plan_id) -> QuerySet[PlanOutcome]:
    return PlanOutcome.objects.filter(plan_id=plan_id).order_by("number")


def _plan_actions(plan_id) -> QuerySet[PlanAction]:
    # Every action of the plan's outcomes, in the order `_outcomes_with_actions` gives each outcome's.
    return PlanAction.objects.filter(outcome__plan_id=plan_id).order_by("by_when", "pk")


# Two ids no plan has, for compiling the plan's outcomes and actions once.
_PLAN_STAND_INS = ((-7_105_993_481,), (-7_105_993_482,))


def _prefetched(model, rows: list) -> QuerySet:
    """A queryset already read (`rows`), as `prefetch_related` leaves one in an instance's cache."""
    queryset = model._default_manager.all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _with_outcomes_and_actions(plan: Plan) -> None:
    """`prefetch_related_objects([plan], _outcomes_with_actions())`, read with SQL compiled once (two
    queries, as the prefetch's): `plan.outcomes.all()` and each outcome's `actions.all()` are then the
    rows read, each row's link back cached as the prefetch caches it (ADR 78)."""
    using = router.db_for_read(Plan)
    # A plan's rows by its id: one plan for every plan, prepared (ADR 82).
    outcomes = compiled_instances(
        ("plan outcomes",), _plan_outcomes, _PLAN_STAND_INS, (plan.pk,), using=using, prepared=True
    )
    actions = compiled_instances(
        ("plan actions",), _plan_actions, _PLAN_STAND_INS, (plan.pk,), using=using, prepared=True
    )
    by_outcome: dict[int, list[PlanAction]] = {}
    for action in actions:
        by_outcome.setdefault(action.outcome_id, []).append(action)
    plan_field = PlanOutcome._meta.get_field("plan")
    outcome_field = PlanAction._meta.get_field("outcome")
    for outcome in outcomes:
        plan_field.set_cached_value(outcome, plan)
        mine = by_outcome.get(outcome.pk, [])
        for action in mine:
            outcome_field.set_cached_value(action, outcome)
        outcome._prefetched_objects_cache = {outcome_field.remote_field.cache_name: _prefetched(PlanAction, mine)}
    if not hasattr(plan, "_prefetched_objects_cache"):
        plan._prefetched_objects_cache = {}
    plan._prefetched_objects_cache[plan_field.remote_field.cache_name] = _prefetched(PlanOutcome, outcomes)


def episode_summary(episode: Episode, *, now: datetime) -> dict:
    """What the episode's summary page shows; each part one query, bounded whatever the episode's size."""
    visits = planned_visit_rows(episode)
    urgent_clocks = clocks_by_urgency(episode, now=now, limit=SUMMARY_CLOCKS)
    # The assessment (with who completed it) and the plan came with the episode when `visible_episode`
    # was asked for them (`with_assessment_and_plan`): no query for either, only the plan's outcomes.
    assessment = _loaded_one_to_one(episode, "assessment")
    if assessment is _NOT_LOADED:
        assessment = Assessment.objects.filter(episode=episode).select_related("completed_by").first()
    plan = _loaded_one_to_one(episode, "plan")
    if plan is _NOT_LOADED:
        plan = plan_with_outcomes(episode)
    elif plan is not None:
        _with_outcomes_and_actions(plan)
    return {
        "urgent_clocks": urgent_clocks,
        "clock_count": urgent_clocks[0].clock_total if urgent_clocks else 0,
        "latest_notes": compiled_instances(
            ("episode summary notes",),
            _latest_notes,
            _EPISODE_STAND_INS,
            (episode.pk,),
            using=router.db_for_read(CaseNote),
            prepared=True,  # an episode's notes by its id: one plan for every episode (ADR 82)
        ),
        # The page shows the assessment's summary only; its sections are on the assessment page.
        "assessment": assessment,
        "plan": plan,
        "planned_visits": sorted((v for v in visits if v.is_pending), key=lambda v: v.planned_at)[:SUMMARY_VISITS],
        **summary_records(episode),
    }


def episode_notes(episode: Episode, *, kind: str = "", since=None, until=None) -> QuerySet[CaseNote]:
    """The episode's visits and case notes, newest first, of one kind and within local dates if asked."""
    notes = _notes_with_child_parts().filter(episode=episode)
    if kind:
        notes = notes.filter(kind=kind)
    if since:
        notes = notes.filter(happened_at__date__gte=since)
    if until:
        notes = notes.filter(happened_at__date__lte=until)
    return notes.order_by("-happened_at", "-pk")


def episode_documents(episode: Episode) -> QuerySet[Document]:
    return Document.objects.filter(episode=episode).select_related("uploaded_by").order_by("-uploaded_at", "-pk")


def episode_history(episode: Episode) -> dict:
    """The record of the episode: reviews, meetings, what was sent, and every change to it. Bounded."""
    reviews = list(
        Review.objects.filter(episode=episode)
        .select_related("meeting", "recorded_by")
        .prefetch_related(
            Prefetch("progress", queryset=ReviewProgress.objects.select_related("outcome").order_by("outcome__number"))
        )
        .order_by("-meeting__held_at")[:RECORD_LIMIT]
    )
    return {
        "reviews": reviews,
        "meetings": list(
            TeamMeeting.objects.filter(episode=episode)
            .select_related("recorded_by")
            .order_by("-held_at")[:RECORD_LIMIT]
        ),
        "communications": list(
            Communication.objects.filter(episode=episode).select_related("recorded_by").order_by("-sent_at")[:50]
        ),
        "history": list(episode.history.select_related("history_user").order_by("-history_date")[:RECORD_LIMIT]),
    }


def closure_queue(user) -> list[ClosureRequest]:
    return list(
        ClosureRequest.objects.filter(
            status=ClosureRequest.Status.PENDING, episode__in=episodes_visible_to(user).values("pk")
        )
        .select_related("episode__family", "episode__team", "requested_by")
        .order_by("requested_at")[:200]
    )


def step_up_queue(user, *, sent: bool) -> list[StepUp]:
    """Step-ups waiting for the EH manager (not yet sent) or for the duty manager (sent)."""
    return list(
        StepUp.objects.filter(
            decided_at__isnull=True, sent_at__isnull=not sent, episode__in=episodes_visible_to(user).values("pk")
        )
        .select_related("episode__family", "episode__team", "proposed_by", "sent_by")
        .order_by("proposed_at")[:200]
    )


# --- The family chronology ---------------------------------------------------------------------


def episode_chronology(family: Family) -> list[QuerySet]:
    """Visits, assessments, meetings, plans, reviews, closures, step-ups and documents as
    branches of the family chronology's one UNION ALL query (see cases.selectors.chronology)."""
    note_kind = Concat(
        choice_label("kind", CaseNote.Kind.choices),
        Case(
            When(is_first_visit=True, then=Value(" (first visit)")),
            When(is_initial_contact=True, then=Value(" (initial contact)")),
            default=Value(""),
        ),
        output_field=TextField(),
    )
    return [
        chronology_rows(
            CaseNote.objects.filter(family=family),
            at="happened_at",
            kind=note_kind,
            text="details",
            by="recorded_by_id",
        ),
        chronology_rows(
            Assessment.objects.filter(of_family(family, "episode"), completed_at__isnull=False),
            at="completed_at",
            kind="Early Help assessment completed",
            text="recommendation",
            by="completed_by_id",
        ),
        chronology_rows(
            TeamMeeting.objects.filter(of_family(family, "episode")),
            at="held_at",
            kind=choice_label("kind", TeamMeeting.Kind.choices),
            text=Case(
                When(notes="", then=Concat(Value("Attended by: "), F("attendees"), output_field=TextField())),
                default=F("notes"),
                output_field=TextField(),
            ),
            by="recorded_by_id",
        ),
        chronology_rows(
            Plan.objects.filter(of_family(family, "episode"), activated_at__isnull=False),
            at="activated_at",
            kind="Plan made active",
            text=Value(""),
            by="activated_by_id",
        ),
        chronology_rows(
            Review.objects.filter(of_family(family, "episode")),
            at=F("meeting__held_at"),
            kind="Plan review",
            text="summary",
            by="recorded_by_id",
        ),
        chronology_rows(
            ClosureRequest.objects.filter(of_family(family, "episode")),
            at="requested_at",
            kind="Closure requested",
            text="summary",
            by="requested_by_id",
        ),
        chronology_rows(
            ClosureRequest.objects.filter(of_family(family, "episode"), decided_at__isnull=False),
            at="decided_at",
            kind=Concat(
                Value("Closure "),
                Lower(choice_label("status", ClosureRequest.Status.choices)),
                output_field=TextField(),
            ),
            text="return_reason",
            by="decided_by_id",
        ),
        chronology_rows(
            StepUp.objects.filter(of_family(family, "episode")),
            at="proposed_at",
            kind="Step-up proposed",
            text="reason",
            by="proposed_by_id",
        ),
        chronology_rows(
            StepUp.objects.filter(of_family(family, "episode"), decided_at__isnull=False),
            at="decided_at",
            kind=Concat(
                Value("Step-up decision: "), choice_label("decision", StepUp.Decision.choices), output_field=TextField()
            ),
            text="decision_notes",
            by="decided_by_id",
        ),
        chronology_rows(
            Escalation.objects.filter(of_family(family, "episode")),
            at="raised_at",
            kind=Concat(
                Value("Escalation to "),
                F("escalated_to"),
                Value(": "),
                choice_label("about", Escalation.About.choices),
                output_field=TextField(),
            ),
            text="disagreement",
            by="raised_by_id",
        ),
        chronology_rows(
            Escalation.objects.filter(of_family(family, "episode"), resolved_at__isnull=False),
            at="resolved_at",
            kind="Escalation resolved",
            text="outcome",
            by="resolved_by_id",
        ),
        chronology_rows(
            Document.objects.filter(family=family),
            at="uploaded_at",
            kind=Concat(
                Value("Document uploaded: "), choice_label("kind", Document.Kind.choices), output_field=TextField()
            ),
            text="title",
            by="uploaded_by_id",
        ),
    ]


_registered = False


def register() -> None:
    """Called once from WorkflowsConfig.ready()."""
    global _registered
    if not _registered:
        register_chronology_source(episode_chronology)
        _registered = True


def pending_planned_visits(episode: Episode) -> list[PlannedVisit]:
    """The episode's planned visits not yet recorded or cancelled, soonest first."""
    return list(
        PlannedVisit.objects.filter(episode=episode, note__isnull=True, cancelled_at__isnull=True)
        .select_related("visitor")
        .order_by("planned_at", "pk")[:50]
    )
