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

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import connections, router
from django.db.models import BooleanField, Count, F, Func, IntegerField, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from cases.models import ClosureRequest, Contact, Episode, PlannedVisit, StepUp
from cases.selectors import (
    InIds,
    episodes_led_by,
    family_visible_exists,
    reach_exists,
    reach_q,
    reach_shape,
    visible_per_row,
)
from deadlines.models import DUE_SOON, Deadline, Status
from kit.compiled_sql import compiled_instances, compiled_once
from oversight.selectors import board_pre_allocation, deadline_rows_in_scope, local_midnight, service_deadlines
from workflows.compiled_reads import user_rows

S = Episode.State
NEXT_ITEMS = 5
NO_CLOCKS = {"breached": 0, "overdue": 0, "due_today": 0}
# Contacts the front door has still to decide (the predicate of the triage queue).
AWAITING_DECISION = ("received", "screening", "awaiting_consent")


def end_of_today(now: datetime) -> datetime:
    """Local midnight at the end of `now`'s day (Europe/London)."""
    return local_midnight(timezone.localdate(now) + timedelta(days=1))


# --- Clocks: counts and the most urgent few --------------------------------------------------------


def clock_counts(clocks: QuerySet[Deadline], *, now: datetime) -> dict[str, int]:
    """Breached, overdue and due-today open clocks among `clocks`, in one aggregate query."""
    eod = end_of_today(now)
    return clocks.open().with_status(now).aggregate(**_counted(eod))


def _counted(eod: datetime) -> dict[str, Count]:
    on_time = Q(status__in=[Status.DUE_SOON, Status.ON_TIME])
    due_today = on_time & (Q(expected_at__lt=eod) | Q(due_at__lt=eod))
    return {
        "breached": Count("pk", filter=Q(status=Status.BREACHED)),
        "overdue": Count("pk", filter=Q(status=Status.OVERDUE)),
        "due_today": Count("pk", filter=due_today),
    }


def _clock_counts_query(clocks: QuerySet[Deadline], *, now: datetime, eod: datetime) -> QuerySet:
    """`clock_counts`' aggregate as a one-row queryset (grouped on a constant: no GROUP BY), to compile once."""
    return (
        clocks.open()
        .with_status(now)
        .order_by()
        .values(_all=Value(1))
        .annotate(**_counted(eod))
        .values("breached", "overdue", "due_today")
    )


def my_case_clock_counts(user, *, now: datetime) -> dict[str, int]:
    """`clock_counts(my_case_clocks(user), now=now)` with its SQL compiled once per reach shape and run
    with the user's id, the reach's values and the times (kit.compiled_sql, ADR 67): building the
    status expressions and the scope's EXISTS was a third of the practitioner's home page."""
    found = reach_shape(user)
    if found is None or not user.is_authenticated:
        return clock_counts(my_case_clocks(user), now=now)
    shape, reach_values = found

    def build(user_pk, *rest):
        *values, at, _soon, eod = rest  # `_soon` (at + DUE_SOON) is derived by `with_status` itself
        episodes = (
            Episode.objects.filter(lead_professional_id=user_pk)
            .filter(reach_exists(reach_q(shape, tuple(values))))
            .exclude(state=S.CLOSED)
        )
        return _clock_counts_query(Deadline.objects.filter(episode__in=episodes.values("pk")), now=at, eod=eod)

    stand_ins = tuple(
        (
            _COUNT_STAND_IN - 10 * k,
            *(_COUNT_STAND_IN - 10 * k - 1 - i for i in range(len(reach_values))),
            datetime(1990, 1 + k, 1, tzinfo=UTC),
            datetime(1990, 1 + k, 1, tzinfo=UTC) + DUE_SOON,
            datetime(1990, 1 + k, 5, tzinfo=UTC),
        )
        for k in (0, 1)
    )
    using = router.db_for_read(Deadline)
    compiled = compiled_once(("my case clock counts", shape), build, stand_ins, using=using)
    if compiled is None:
        return clock_counts(my_case_clocks(user), now=now)
    with connections[using].cursor() as cursor:
        cursor.execute(
            compiled.sql, compiled.params_for((user.pk, *reach_values, now, now + DUE_SOON, end_of_today(now)))
        )
        row = cursor.fetchone()
    return dict(zip(("breached", "overdue", "due_today"), row, strict=True))


# Ids no row has, for compiling `my_case_clock_counts` once.
_COUNT_STAND_IN = -7_105_993_600


def most_urgent_clocks(
    clocks: QuerySet[Deadline], *, now: datetime, counts: dict[str, int] | None, limit: int = NEXT_ITEMS
) -> list[Deadline]:
    """The first `limit` open clocks: breached (newest breach first), then overdue, then due soonest.

    One query whose rows are read along indexes whatever the number of clocks: a branch per urgency,
    each in its own order with its own LIMIT, and only the branches `counts` (the breached and overdue
    counts of the same clocks) say can reach the first `limit` (a service with five breaches never sorts
    its overdue or on-time clocks). The few rows found are ordered here."""
    found = list(_most_urgent_query(clocks, now=now, wanted=_wanted_branches(counts, limit), limit=limit))
    found.sort(key=lambda d: _urgency(d))
    return found[:limit]


def _wanted_branches(counts: dict[str, int] | None, limit: int) -> tuple[int, ...]:
    """Which of `most_urgent_clocks`' three branches (breached, overdue, the rest) can reach the first `limit`."""
    sizes = (None, None, None) if counts is None else (counts["breached"], counts["overdue"], limit)
    wanted, before = [], 0
    for index, size in enumerate(sizes):
        if size == 0:
            continue  # none of this urgency
        if before >= limit:
            break  # the branches before fill the list
        wanted.append(index)
        before += size or 0
    return tuple(wanted)


def _most_urgent_ids(clocks: QuerySet[Deadline], *, now: datetime, wanted: tuple[int, ...], limit: int, values=None):
    """The ids of `most_urgent_clocks`' rows: a branch per urgency wanted, each with its own order and LIMIT,
    as `values("pk")` subqueries (or `values_list("pk")`, `values=True`, to be read by themselves)."""
    first_limit = F("first_limit").asc(nulls_last=True)
    passed = Q(expected_at__lt=now) | Q(due_at__lt=now)
    breach = Q(flag_only=False, due_at__lt=now)
    base = clocks.open().annotate(first_limit=Coalesce("expected_at", "due_at"))
    branches = (
        base.filter(breach).order_by(F("due_at").desc(), first_limit, "pk"),
        base.filter(passed).exclude(breach).order_by(first_limit, "pk"),
        base.exclude(passed).order_by(first_limit, "pk"),
    )
    chosen = [(b.values_list("pk") if values else b.values("pk"))[:limit] for b in (branches[i] for i in wanted)]
    return chosen[0].union(*chosen[1:], all=True) if len(chosen) > 1 else chosen[0]


def _most_urgent_rows(ids, now: datetime) -> QuerySet:
    """The rows of `most_urgent_clocks` (with their status at `now`) for `ids`: a subquery or a list of ids.
    Still open: read apart from its ids (`most_urgent_clocks_of`), a clock stopped in between is left out."""
    found = (
        Deadline.objects.filter(pk__in=ids) if isinstance(ids, QuerySet) else Deadline.objects.filter(InIds("pk", ids))
    )
    return (
        found.open()
        .with_status(now)
        .annotate(first_limit=Coalesce("expected_at", "due_at"))
        .select_related("episode__family", "contact__family", "worker")
    )


def _most_urgent_query(clocks: QuerySet[Deadline], *, now: datetime, wanted: tuple[int, ...], limit: int) -> QuerySet:
    return _most_urgent_rows(_most_urgent_ids(clocks, now=now, wanted=wanted, limit=limit), now)


def most_urgent_clocks_of(
    key: str,
    user,
    clocks_of: Callable[..., QuerySet[Deadline]],
    *,
    now: datetime,
    counts: dict[str, int] | None,
    limit: int = NEXT_ITEMS,
) -> list[Deadline]:
    """`most_urgent_clocks(clocks_of(user), ...)` with its SQL compiled once per user shape, branches
    and limit, and run with the user's ids and `now` (ADR 75): building the three branches, the
    status and the scope's EXISTS was about 40 % of each home page's Python."""
    wanted = _wanted_branches(counts, limit)

    def ids(user, at):
        return _most_urgent_ids(clocks_of(user), now=at, wanted=wanted, limit=limit, values=True)

    # Two reads, not one with the ids as a subquery: the ids' plan depends on `now` (a range of times under a
    # LIMIT), so it is planned per run, but it is small; the rows' (six joins of select_related, the status)
    # does not, so it is a prepared read planned once (ADR 90). One statement planned per run cost 2.5 ms of
    # planning for a 1 ms read at 200,000 families.
    pks = [row[0] for row in user_rows(f"most urgent ids: {key} {wanted} {limit}", user, ids, (now,), _TIME_ONLY)]
    if not pks:
        return []
    found = compiled_instances(
        ("most urgent rows",), _most_urgent_rows_of, _ROWS_STAND_INS, (pks, now, now + DUE_SOON),
        using=router.db_for_read(Deadline), prepared=True,
    )  # fmt: skip
    found.sort(key=lambda d: _urgency(d))
    return found[:limit]


def _most_urgent_rows_of(pks: list[int], at: datetime, soon: datetime) -> QuerySet:
    # `soon` (at + DUE_SOON): `with_status` derives it, so it is a value too.
    return _most_urgent_rows(pks, at)


# Two instants (and each one's "due soon" limit) no read is run with, for compiling reads once.
_TIME_STAND_INS = tuple(
    (datetime(1990, 1 + k, 1, tzinfo=UTC), datetime(1990, 1 + k, 1, tzinfo=UTC) + DUE_SOON) for k in (0, 1)
)


_TIME_ONLY = tuple((at,) for at, _ in _TIME_STAND_INS)
_ROWS_STAND_INS = tuple(([-7_105_993_700 - 10 * k, -7_105_993_701 - 10 * k], *_TIME_STAND_INS[k]) for k in (0, 1))


def _urgency(d: Deadline) -> tuple:
    """The order of `most_urgent_clocks`, in Python, for the few rows it read."""
    rank = {Status.BREACHED: 0, Status.OVERDUE: 1}.get(d.status, 2)
    newest_breach = -d.due_at.timestamp() if rank == 0 else 0.0
    limit = d.first_limit
    return (rank, newest_breach, limit is None, limit.timestamp() if limit else 0.0, d.pk)


def summary_clock_counts(*, now: datetime, team_id: int | None = None, service_id: int | None = None) -> dict[str, int]:
    """`clock_counts` of the open clocks of one team, or of every team of a service, from the summary
    rows (deadlines.counts, ADR 0041/0060): a few rows whatever the number of clocks. Not filtered by
    reach, as the board and the dashboard are not: every open clock of a team is of a family in the
    reach of its team leader and of its service's managers (ADR 0056; tests/earlyhelp/test_home.py
    compares both). A service's clocks are read from its own rows (`ServiceClockCount`, ADR 68), and
    both reads are compiled once (`open_totals_compiled`, ADR 81): building them was a fifth of the
    team leader's and the manager's home page."""
    from deadlines.counts import CompiledFilters, open_totals_compiled

    zero = {"breached": 0, "overdue": 0, "due_today": 0}
    if team_id is None and service_id is None:
        return zero
    by_service = team_id is None
    today = timezone.localdate(now)
    on_time = (Status.DUE_SOON, Status.ON_TIME)

    def bucket(key) -> str | None:
        status, day = key[3], key[4]
        if status in (Status.BREACHED, Status.OVERDUE):
            return status
        # Due today: on time, and the first limit's local day is today (it cannot be earlier).
        return "due_today" if status in on_time and day is not None and day <= today else None

    def where(scope: list[int], day) -> Q:
        found = Q(_ids_in("service_id" if by_service else "team_id", scope))
        return found & (Q(status__in=[Status.BREACHED, Status.OVERDUE]) | Q(status__in=on_time, day__lte=day))

    def clock_where(scope: list[int]) -> Q:
        return Q(_ids_in("team__service_id" if by_service else "team_id", scope))

    # The team or the service as a one-id array: an integer field's value reaches the SQL wrapped in
    # the driver's integer type, which a compiled read cannot tell from its stand-in.
    scope = [service_id if by_service else team_id]
    filters = CompiledFilters(
        key=("home summary clock counts", by_service),
        where=where,
        values=(scope, today),
        stand_ins=tuple(([_SUMMARY_STAND_IN - k, _SUMMARY_STAND_IN - 50 - k], date(1990, 1 + k, 1)) for k in (0, 1)),
        clock_where=clock_where,
        clock_values=(scope,),
        clock_stand_ins=tuple(([_SUMMARY_STAND_IN - 10 - k, _SUMMARY_STAND_IN - 60 - k],) for k in (0, 1)),
    )
    (totals,) = open_totals_compiled(
        filters, now=now, by=(("status",),), keep=lambda key: bucket(key) is not None, service_rows=by_service
    )
    return {
        "breached": totals.get((Status.BREACHED,), 0),
        "overdue": totals.get((Status.OVERDUE,), 0),
        "due_today": sum(totals.get((status,), 0) for status in on_time),
    }


# Ids no row has, for compiling `summary_clock_counts` once.
_SUMMARY_STAND_IN = -7_105_993_650


def _ids_in(field: str, ids) -> Func:
    """`field = ANY(%s)` with the ids as one array parameter: the same SQL for any number of ids."""
    return Func(
        F(field),
        Value(list(ids), output_field=ArrayField(IntegerField())),
        template="(%(expressions)s))",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )


# --- The clocks each role calls "mine" -------------------------------------------------------------


def front_door_contacts(user) -> QuerySet[Contact]:
    """Contacts awaiting a front-door decision that the user may see."""
    return visible_per_row(Contact.objects.filter(state__in=AWAITING_DECISION), user)


def front_door_clocks(user) -> QuerySet[Deadline]:
    """Open clocks of the contacts awaiting a decision."""
    return Deadline.objects.filter(contact__in=front_door_contacts(user).values("pk"))


def my_case_episodes(user) -> QuerySet[Episode]:
    """The open episodes the user leads (within their scope)."""
    return episodes_led_by(user).exclude(state=S.CLOSED)


def my_case_clocks(user) -> QuerySet[Deadline]:
    return Deadline.objects.filter(episode__in=my_case_episodes(user).values("pk"))


def awaiting_allocation(user) -> QuerySet[Episode]:
    """The user's team's families waiting for allocation; none without a team."""
    if not user.team_id:
        return Episode.objects.none()
    return visible_per_row(Episode.objects.filter(team_id=user.team_id, state=S.AWAITING_ALLOCATION), user)


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
    return visible_per_row(
        StepUp.objects.filter(sent_at__isnull=False, decided_at__isnull=True), user, "episode__family_id"
    )


def step_up_clocks(user) -> QuerySet[Deadline]:
    """Open clocks of episodes whose step-up waits for a duty manager's decision."""
    return service_deadlines(user).filter(episode__in=step_ups_awaiting_decision(user).values("episode_id"))


# --- Counts that are not clocks --------------------------------------------------------------------


def unrecorded_visit_count(user, *, now: datetime) -> int:
    """The user's planned visits whose time has passed and that nobody has recorded or cancelled."""

    def build(user, at) -> QuerySet:
        visits = PlannedVisit.objects.filter(
            visitor=user, planned_at__lte=at, note__isnull=True, cancelled_at__isnull=True
        ).filter(episode__in=my_case_episodes(user).values("pk"))
        return _count_row(visits)

    # Compiled once per user shape (ADR 75).
    rows = user_rows("unrecorded visit count", user, build, (now,), tuple(t[:1] for t in _TIME_STAND_INS))
    return rows[0][0] if rows else 0


def awaiting_allocation_count(user) -> int:
    """`awaiting_allocation(user).count()`, compiled once per user shape (ADR 75)."""
    if not user.team_id:
        return 0
    rows = user_rows("awaiting allocation count", user, lambda user: _count_row(awaiting_allocation(user)))
    return rows[0][0] if rows else 0


def _count_row(qs: QuerySet) -> QuerySet:
    """`qs.count()` as a one-row `values_list` (an aggregate over a constant group: no GROUP BY)."""
    return qs.order_by().values(_all=Value(1)).annotate(n=Count("pk")).values_list("n")


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


def _count(qs: QuerySet) -> Subquery:
    """`qs.count()` as a scalar subquery, so several counts come back in one query."""
    return Subquery(qs.order_by().annotate(n=Func("pk", function="COUNT")).values("n"), output_field=IntegerField())


def _sign_off_counts(user, team_id: int | None, **wanted: QuerySet) -> dict[str, int]:
    """Counts of pending closures and undecided step-ups whose episode the user may see (of one team
    if `team_id`), in one query. Each count starts from its partial index (`closure_pending`,
    `step_up_undecided`: the few waiting for someone) and checks scope per row with a correlated
    EXISTS, instead of joining every episode of the user's scope (ADR 0064)."""
    if reach_shape(user) is None:
        return dict.fromkeys(wanted, 0)
    by_team = team_id is not None

    def build(user) -> QuerySet:
        visible = family_visible_exists(user, "episode__family_id")
        scoped = {}
        for name, qs in wanted.items():
            qs = qs.filter(visible)
            if by_team:
                qs = qs.filter(episode__team_id=user.team_id)
            scoped[name] = _count(qs)
        # Anchored on the user's own row: one row, whatever the counts.
        return User.objects.filter(pk=user.pk).annotate(**scoped).order_by("pk").values_list(*scoped)[:1]

    # Compiled once per user shape (ADR 75).
    rows = user_rows(f"sign-off counts: {by_team} {tuple(wanted)}", user, build)
    return {name: int(value or 0) for name, value in zip(wanted, rows[0] if rows else [0] * len(wanted), strict=True)}


def team_sign_off_counts(user) -> dict[str, int]:
    """The team's closures and step-ups waiting for a manager (one query)."""
    if not user.team_id:
        return {"closures": 0, "step_ups": 0}
    return _sign_off_counts(
        user,
        user.team_id,
        closures=ClosureRequest.objects.filter(status=ClosureRequest.Status.PENDING),
        step_ups=StepUp.objects.filter(decided_at__isnull=True),
    )


def service_sign_off_counts(user) -> dict[str, int]:
    """Closures awaiting sign-off, step-ups to send (manager) and to decide (duty manager), in one query."""
    undecided = StepUp.objects.filter(decided_at__isnull=True)
    return _sign_off_counts(
        user,
        None,
        closures=ClosureRequest.objects.filter(status=ClosureRequest.Status.PENDING),
        step_ups_to_send=undecided.filter(sent_at__isnull=True),
        step_ups_to_decide=undecided.filter(sent_at__isnull=False),
    )
