"""Reads for the boards, the dashboard and the reports. Every figure is an aggregate in SQL.

Nothing here loops over cases in Python: counts, percentages and medians come from `COUNT(...)
FILTER (WHERE ...)`, `CASE`, `date_trunc` (TruncWeek / TruncMonth in Europe/London) and
`PERCENTILE_CONT`, and the lists are bounded. Python only shapes a bounded number of result rows
(one per rule, team, month, week or member of staff).

Scope: lists that name families start from `cases.selectors` (`episodes_visible_to`,
`contacts_visible_to`, `families_visible_to`), so a record outside the user's scope is never in
them. Aggregate timeliness figures (counts of clocks, no family data) are scoped to the teams of
the user's service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.db import connections, router
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Concat, TruncMonth, TruncWeek
from django.db.models.lookups import LessThan
from django.utils import timezone

from accounts import roles
from accounts.models import Team, User
from cases.models import (
    Assessment,
    AssessmentNeed,
    Caseload,
    CaseloadBand,
    CaseNote,
    ClosureReason,
    ClosureRequest,
    Contact,
    Episode,
    Escalation,
    Family,
    FamilyReach,
    NeedLevel,
    OutcomeArea,
    Plan,
    PlannedVisit,
    PlanOutcome,
    Review,
    ReviewProgress,
    RiskIndicator,
    StepUp,
    add_months,
)
from cases.selectors import (
    chronology_rows,
    contacts_visible_to,
    episodes_led_by,
    episodes_visible_to,
    family_visible_exists,
    reach_exists,
    reach_q,
    reach_shape,
    register_chronology_source,
    visible_per_row,
)
from deadlines.models import DUE_SOON, Alert, Deadline, Status
from kit.compiled_sql import compiled_instances, compiled_once
from kit.time import LONDON
from oversight.models import BreachAcknowledgement, ManagersDecision, Supervision, SupervisionAction
from workflows.compiled_reads import user_instances, user_rows
from workflows.episode_selectors import with_next_task
from workflows.list_rows import CASE_COLUMNS

S = Episode.State
LIST_LIMIT = 50


# --- Time ----------------------------------------------------------------------------------------


def local_midnight(day: date) -> datetime:
    """The start of a local day in Europe/London, as an aware datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)


@dataclass(frozen=True)
class Period:
    """Whole local days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (midnight at the end of `end`)."""
        return local_midnight(self.end + timedelta(days=1))

    def months(self) -> list[date]:
        first = self.start.replace(day=1)
        out = []
        while first <= self.end:
            out.append(first)
            first = add_months(first, 1)
        return out

    def __str__(self) -> str:
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


def default_period(today: date) -> Period:
    """The current month and the five before it."""
    return Period(add_months(today.replace(day=1), -5), today)


# --- Scope ---------------------------------------------------------------------------------------


def service_id_of(user) -> int | None:
    return user.service_id_in_scope if user.is_authenticated else None


def teams_for_board(user) -> QuerySet[Team]:
    """Teams whose board the user may see: a team leader their own; a manager every team in the service."""
    if user.has_role(roles.MANAGER) and service_id_of(user):
        return Team.objects.filter(service_id=service_id_of(user)).order_by("name")
    if user.has_role(roles.TEAM_LEADER) and user.team_id:
        return Team.objects.filter(pk=user.team_id)
    return Team.objects.none()


def deadline_rows_in_scope(user) -> Q:
    """Deadline rows the user may see listed: those of visible families, and worker (supervision) clocks.

    Said as a correlated EXISTS on the reach rows (`deadline_in_scope_probe`), never as
    `family_id IN (reach rows)`: under the OR with the worker clocks that IN cannot become a join, and once
    the scope's reach rows outgrow `work_mem` (a manager at 200,000 families has 400,000) PostgreSQL scans
    them all again for every clock (`tests/oversight/test_scope_plans.py`)."""
    return deadline_in_scope_probe(user)


def service_deadlines(user) -> QuerySet[Deadline]:
    """Clocks of the user's service that the user may see listed; none for someone without a service."""
    service_id = service_id_of(user)
    if not service_id:
        return Deadline.objects.none()
    return Deadline.objects.filter(team__service_id=service_id).filter(deadline_rows_in_scope(user))


@dataclass(frozen=True)
class _RuleLabels:
    books: tuple  # the rulebooks they were read from (held, so the identity check stays sound)
    titles: dict[str, str]
    choices: tuple[tuple[str, str], ...]


_rule_labels: list[_RuleLabels] = []


def _labels() -> _RuleLabels:
    """Rule titles and choices of the rulebooks in force, computed once per set of rulebooks.

    `active_rulebooks` returns the same tuple for the same choice of versions (a publication in the
    rulebook editor makes a new one), so the labels are kept per process and recomputed when it
    changes: a published edit shows on the next request."""
    from deadlines.services import active_rulebooks

    books = active_rulebooks()
    cached = _rule_labels[0] if _rule_labels else None
    if cached is not None and cached.books is books:
        return cached
    titles: dict[str, str] = {}
    seen: dict[str, str] = {}
    for book in books:
        for rule in book.rules.values():
            titles.setdefault(rule.id, rule.title)
            seen.setdefault(rule.id, f"{rule.id}: {rule.title}")
    choices = sorted(seen.items(), key=lambda kv: (kv[0][0], int("".join(c for c in kv[0] if c.isdigit()) or 0), kv[0]))
    found = _RuleLabels(books=books, titles=titles, choices=tuple(choices))
    _rule_labels[:] = [found]
    return found


def rule_choices() -> list[tuple[str, str]]:
    """Every rule of the deployment's rulebooks, for the "rule" filters."""
    return list(_labels().choices)


# --- Aggregates PostgreSQL has and Django does not -----------------------------------------------


class Median(Aggregate):
    """PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY expression): the continuous median."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, **extra):
        extra.setdefault("output_field", DurationField())
        super().__init__(expression, **extra)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- Team board ----------------------------------------------------------------------------------

BUCKETS = (
    ("breached", "Breached"),
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due later this week"),
)
BUCKET_LABELS = dict(BUCKETS)


def week_end(today: date) -> datetime:
    """Midnight at the end of this local week (Monday to Sunday)."""
    return local_midnight(today + timedelta(days=7 - today.weekday()))


def _board_clocks(user, *, team: Team, now: datetime, practitioner_id: int | None, rule_id: str) -> QuerySet[Deadline]:
    end_of_week = week_end(timezone.localdate(now))
    qs = (
        Deadline.objects.open()
        .filter(team=team)
        .filter(Q(expected_at__lt=end_of_week) | Q(due_at__lt=end_of_week))
        .filter(deadline_rows_in_scope(user))
    )
    if practitioner_id:
        qs = qs.filter(assignee_id=practitioner_id)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return qs


def _with_bucket(qs: QuerySet[Deadline], *, now: datetime, end_of_today: datetime | None = None) -> QuerySet[Deadline]:
    if end_of_today is None:
        end_of_today = local_midnight(timezone.localdate(now) + timedelta(days=1))
    today = Q(expected_at__lt=end_of_today) | Q(due_at__lt=end_of_today)
    return (
        qs.with_status(now)
        .annotate(
            first_limit=Coalesce("expected_at", "due_at"),
            bucket=Case(
                When(status=Status.BREACHED, then=Value("breached")),
                When(status=Status.OVERDUE, then=Value("overdue")),
                When(today, then=Value("today")),
                default=Value("week"),
                output_field=CharField(),
            ),
            bucket_rank=Case(
                When(status=Status.BREACHED, then=Value(0)),
                When(status=Status.OVERDUE, then=Value(1)),
                When(today, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            ),
        )
        .annotate(
            # Newest breach first: a breach of this week comes before one of four years ago.
            breached_at=Case(When(status=Status.BREACHED, then=F("due_at")), default=None, output_field=DateTimeField())
        )
        .order_by("bucket_rank", F("breached_at").desc(nulls_last=True), "first_limit", "pk")
    )


RELATED = ("family", "assignee", "worker", "episode", "contact")


def _in_bucket(qs: QuerySet[Deadline], status: str) -> QuerySet[Deadline]:
    return qs.filter(bucket=status) if status in BUCKET_LABELS else qs


def board_deadlines(
    user, *, team: Team, now: datetime, practitioner_id: int | None = None, rule_id: str = "", status: str = ""
) -> QuerySet[Deadline]:
    """The team's open clocks that are breached, overdue, or due by the end of this week, most urgent first:
    breaches newest first, then overdue, due today and due later this week, each soonest first.
    `status` keeps one of those buckets only."""
    qs = _board_clocks(user, team=team, now=now, practitioner_id=practitioner_id, rule_id=rule_id)
    return _in_bucket(_with_bucket(qs, now=now), status).select_related(*RELATED)


def deadline_in_scope_probe(user) -> Q:
    """`deadline_rows_in_scope` said as a correlated EXISTS on the reach rows: for a bounded set of
    clocks (a page), PostgreSQL probes the reach index once per clock instead of reading every reach
    row of the user's scope into a hash (which is what `family_id IN (...)` does, and which grows
    with the council: 200,000 rows for a manager at 200,000 families)."""
    return _in_scope_or_own(family_visible_exists(user))


def _in_scope_or_own(visible: Exists | None) -> Q:
    """`deadline_in_scope_probe` given the scope's EXISTS (None: the user can see no family)."""
    own = Q(family__isnull=True, worker__isnull=False)
    return own if visible is None else own | Q(visible)


def _first_limit():
    return Coalesce("expected_at", "due_at")


def _bucket_branch(
    team: Team,
    bucket: str,
    *,
    now: datetime,
    practitioner_id: int | None,
    rule_id: str,
    end_of_today: datetime | None = None,
    end_of_week: datetime | None = None,
) -> QuerySet[Deadline]:
    """The team's open clocks of one board bucket in the board's order, read along an index: breaches
    newest first (the open-clock index on team and maximum, read backwards), the others soonest
    first (ranges of the same index: a maximum still ahead, or none). Not scoped: the caller checks
    scope on the page's rows only."""
    today = timezone.localdate(now)
    if end_of_today is None:
        end_of_today = local_midnight(today + timedelta(days=1))
    if end_of_week is None:
        end_of_week = week_end(today)
    qs = Deadline.objects.open().filter(team=team)
    if practitioner_id:
        qs = qs.filter(assignee_id=practitioner_id)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    qs = qs.annotate(first_limit=_first_limit())
    if bucket == "breached":
        return qs.filter(flag_only=False, due_at__lt=now).order_by("-due_at", "first_limit", "pk")
    passed = Q(expected_at__lt=now) | Q(due_at__lt=now)
    if bucket == "overdue":
        # Past a limit but not breached, said as ranges of the team-and-maximum index: a maximum still
        # ahead with the expected time passed, no maximum, or an aim (flag only) past either limit.
        overdue = (
            Q(due_at__gte=now, expected_at__lt=now)
            | Q(due_at__isnull=True, expected_at__lt=now)
            | Q(flag_only=True, due_at__lt=now)
            | Q(flag_only=True, expected_at__lt=now)
        )
        return qs.filter(overdue).order_by("first_limit", "pk")
    # Not breached: an aim (flag only), no maximum, or a maximum still ahead.
    qs = qs.filter(Q(flag_only=True) | Q(due_at__isnull=True) | Q(due_at__gte=now))
    qs = qs.exclude(passed)
    by_today = Q(expected_at__lt=end_of_today) | Q(due_at__lt=end_of_today)
    if bucket == "today":
        return qs.filter(by_today).order_by("first_limit", "pk")
    return (
        qs.exclude(by_today)
        .filter(Q(expected_at__lt=end_of_week) | Q(due_at__lt=end_of_week))
        .order_by("first_limit", "pk")
    )


class BoardTimescales:
    """The team's clocks needing attention (breached, overdue, due today, due later this week), most
    urgent first, as a sequence the Paginator slices: its length comes from the summary rows
    (`board_counts`, the same figures as the board), and a slice reads only the rows it needs from
    each bucket along an index, in one query. So a page costs the same whatever the number of
    clocks (deeper pages read more index entries, never the whole team).

    Rows are numbered among all the team's clocks (like the board's counts, ADR 0041); a clock of a
    family outside the user's reach is left out of its page, never shown (ADR 0050)."""

    def __init__(
        self,
        user,
        *,
        team: Team,
        now: datetime,
        totals: dict,
        practitioner_id: int | None = None,
        rule_id: str = "",
        status: str = "",
    ) -> None:
        self.user, self.team, self.now = user, team, now
        self.practitioner_id, self.rule_id = practitioner_id, rule_id
        keys = [status] if status in BUCKET_LABELS else [key for key, _ in BUCKETS]
        self.sizes = [(key, max(0, int(totals.get(key, 0)))) for key in keys]

    def __len__(self) -> int:
        return sum(n for _, n in self.sizes)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return _item_by_slice(self, index)
        start, stop, _ = index.indices(len(self))
        # Each bucket's rows of this slice: a LIMIT and an OFFSET of its branch (LIMIT 0: none).
        pages = dict.fromkeys(TIMESCALE_BUCKETS, (0, 0))
        offset = 0
        for key, n in self.sizes:
            lo, hi = max(start - offset, 0), min(stop - offset, n)
            if lo < hi:
                pages[key] = (hi - lo, lo)
            offset += n
        if not any(limit for limit, _ in pages.values()):
            return []
        rows = timescale_rows(
            self.user,
            team_id=self.team.pk,
            now=self.now,
            practitioner_id=self.practitioner_id,
            rule_id=self.rule_id,
            pages=[pages[key] for key in TIMESCALE_BUCKETS],
        )
        return [row for row in rows if row.in_scope]


# The buckets in the board's order, each a branch of `timescale_rows`' query.
TIMESCALE_BUCKETS = ("breached", "overdue", "today", "week")


class _PkInPages(Func):
    """`id = ANY(ARRAY(<branch> LIMIT %s OFFSET %s) || ...)`: the ids of each branch's page, its limit
    and offset being parameters (so the SQL is the same for every page and every team), each branch
    read along its index and stopped at its limit (an InitPlan each: `LIMIT 0` reads nothing), then
    one primary-key probe per id. A branch is compiled as a statement of its own, so its ordering is
    kept (Django drops the ordering of an unsliced subquery)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, branches: list[QuerySet], pages: list[tuple[int, int]]) -> None:
        super().__init__(F("pk"))
        self.branches, self.pages = branches, pages

    def as_sql(self, compiler, connection, **extra_context):
        pk_sql, params = compiler.compile(self.source_expressions[0])
        params = list(params)
        arrays = []
        for branch, (limit, offset) in zip(self.branches, self.pages, strict=True):
            sql, branch_params = branch.query.get_compiler(connection=connection).as_sql()
            arrays.append(f"ARRAY({sql} LIMIT %s OFFSET %s)")
            params += [*branch_params, limit, offset]
        return f"({pk_sql} = ANY({' || '.join(arrays)}))", params


def timescale_query(
    team_id: int,
    *,
    now: datetime,
    soon: datetime,
    end_of_today: datetime,
    end_of_week: datetime,
    practitioner_id: int | None,
    rule_id: str,
    visible: Exists | None,
    pages: list[tuple[int, int]],
    buckets: tuple[str, ...] = TIMESCALE_BUCKETS,
) -> QuerySet[Deadline]:
    """The rows of one slice of `BoardTimescales`: each branch's page (`pages`, one for each of
    `buckets`, by default all four), with the board's bucket, order, related rows and whether the
    user may see the clock (`in_scope`). `soon` is `now + DUE_SOON` (`with_status` adds it itself
    from `now`; it is passed so that a compiled read knows its place)."""
    team = Team(pk=team_id)
    branches = [
        _bucket_branch(
            team,
            key,
            now=now,
            practitioner_id=practitioner_id,
            rule_id=rule_id,
            end_of_today=end_of_today,
            end_of_week=end_of_week,
        ).values("pk")
        for key in buckets
    ]
    in_scope = Case(When(_in_scope_or_own(visible), then=Value(True)), default=Value(False))
    return (
        Deadline.objects.filter(_PkInPages(branches, pages))
        .with_status(now)
        .annotate(first_limit=_first_limit(), in_scope=in_scope, **_related_columns())
        .only(*TIMESCALE_COLUMNS)
    )


# What a timescales row shows (`oversight.board_rows`) and what the access log reads of it (each
# record's family): the clock's own columns and, of its related rows (`RELATED_COLUMNS`), the names
# and ids only. The other columns of five joined tables (a user's password hash among them) were read
# and made into instances for nothing (ADR 79).
TIMESCALE_COLUMNS = (
    "id", "rule_id", "title", "family_id", "episode_id", "contact_id", "worker_id", "assignee_id", "team_id",
    "started_at", "expected_at", "due_at", "stopped_at", "stop_reason", "flag_only",
)  # fmt: skip
# Each related row's columns, read by a scalar subquery on its primary key rather than a LEFT JOIN
# (ADR 84): with five joins PostgreSQL planned the statement in about 1.2 ms of its 1.5 (5,000
# families), the join orders being most of it; five primary-key subqueries plan in a fraction.
RELATED_COLUMNS = {
    "family": ("family_id", Family, ("name",)),
    "worker": ("worker_id", User, ("username", "first_name", "last_name")),
    "assignee": ("assignee_id", User, ("username", "first_name", "last_name")),
    "episode": ("episode_id", Episode, ("family_id",)),
    "contact": ("contact_id", Contact, ("family_id",)),
}


def _related_columns() -> dict:
    """`timescale_query`'s annotations: each related row's columns as one value (an array of text for
    several), `<relation>_row_`."""
    out = {}
    for name, (key, model, columns) in RELATED_COLUMNS.items():
        if len(columns) == 1:
            value = F(columns[0])
            field = model._meta.get_field(columns[0])
            output = field.target_field if field.is_relation else field
            output = output.__class__()
        else:
            value = Func(*map(F, columns), template="ARRAY[%(expressions)s]", output_field=ArrayField(TextField()))
            output = ArrayField(TextField())
        rows = model.objects.filter(pk=OuterRef(key)).order_by().values(v=value)[:1]
        out[f"{name}_row_"] = Subquery(rows, output_field=output)
    return out


def with_related_rows(rows: list[Deadline]) -> list[Deadline]:
    """Each row of `timescale_query` given its related rows as `select_related(...).only(...)` gave
    them (the same loaded fields, the others deferred), from the subqueries' columns: a row's markup
    and the access log's walk read them without a query. None where the clock has none. A row read
    otherwise (without the subqueries' columns) is left as it is."""
    for d in rows:
        if not hasattr(d, "family_row_"):
            continue
        for name, (key, model, columns) in RELATED_COLUMNS.items():
            pk = getattr(d, key)
            found = None
            if pk is not None:
                value = getattr(d, f"{name}_row_")
                values = dict(zip(columns, value if len(columns) > 1 else (value,), strict=True))
                values[model._meta.pk.attname] = pk
                names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
                found = model.from_db(d._state.db, names, [values[n] for n in names])
            Deadline._meta.get_field(name).set_cached_value(d, found)
    return rows


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def in_board_order(rows: list[Deadline], *, end_of_today: datetime) -> list[Deadline]:
    """The rows of `timescale_query` with the board's `bucket`, `bucket_rank` and `breached_at`, in the
    board's order (`_with_bucket`'s, said in Python for a page's rows: its `Case`s and ORDER BY were
    a fifth of the query's planning): breaches newest first, then overdue, due today and due later
    this week, each soonest first (a clock with no limit last), then by id. Each row is given its
    related rows (`with_related_rows`)."""
    ranks = {"breached": 0, "overdue": 1, "today": 2, "week": 3}
    with_related_rows(rows)
    for d in rows:
        if d.status == Status.BREACHED:
            d.bucket = "breached"
        elif d.status == Status.OVERDUE:
            d.bucket = "overdue"
        elif (d.expected_at is not None and d.expected_at < end_of_today) or (
            d.due_at is not None and d.due_at < end_of_today
        ):
            d.bucket = "today"
        else:
            d.bucket = "week"
        d.bucket_rank = ranks[d.bucket]
        d.breached_at = d.due_at if d.status == Status.BREACHED else None

    def order(d: Deadline) -> tuple:
        # Exact instants (timedeltas from a fixed one), newest first by negating.
        newest = _EPOCH - d.breached_at if d.breached_at is not None else timedelta(0)
        first = d.first_limit - _EPOCH if d.first_limit is not None else timedelta(0)
        return (d.bucket_rank, d.breached_at is None, newest, d.first_limit is None, first, d.pk)

    return sorted(rows, key=order)


def timescale_rows(
    user, *, team_id: int, now: datetime, practitioner_id: int | None, rule_id: str, pages: list[tuple[int, int]]
) -> list[Deadline]:
    """`list(timescale_query(...))` for the user, its SQL compiled once per reach shape and filter
    (a practitioner or not, a rule or not) and run with the team, the instants, the filters, the
    reach's values and the pages' limits and offsets (`kit.compiled_sql`, ADR 73): building and
    compiling it was a quarter of the board's Python.

    Only the buckets the slice reaches are in the SQL (ADR 84): a branch with `LIMIT 0` read nothing
    but was still parsed and planned, and planning was most of the query's time (the board's first
    five rows are usually breaches alone). So the SQL is also kept per set of buckets reached, and
    the end of today and of the week are passed only when a branch needing them is there."""
    today = timezone.localdate(now)
    reached = tuple(key for key, (limit, _) in zip(TIMESCALE_BUCKETS, pages, strict=True) if limit > 0)
    if not reached:
        return []  # every branch at LIMIT 0: no row
    pages = [page for page in pages if page[0] > 0]
    # The end of today is in the "today" and "week" branches, the end of the week in "week" alone.
    needs = ("today" in reached or "week" in reached, "week" in reached)
    end_of_today, end_of_week = local_midnight(today + timedelta(days=1)), week_end(today)
    times = (now, now + DUE_SOON, *((end_of_today,) if needs[0] else ()), *((end_of_week,) if needs[1] else ()))
    found = reach_shape(user)
    shape, reach_values = found if found is not None else (None, ())
    filters = (practitioner_id or None, rule_id or "")
    given = tuple(v for v in filters if v)
    flat_pages = tuple(n for page in pages for n in page)

    def build(team_id, at, soon, *rest):
        rest = list(rest)
        eod = rest.pop(0) if needs[0] else None
        eow = rest.pop(0) if needs[1] else None
        practitioner = rest.pop(0) if filters[0] else None
        rule = rest.pop(0) if filters[1] else ""
        reach = tuple(rest[: len(reach_values)])
        numbers = rest[len(reach_values) :]
        visible = None if shape is None else reach_exists(reach_q(shape, reach))
        return timescale_query(
            team_id,
            now=at,
            soon=soon,
            end_of_today=eod,
            end_of_week=eow,
            practitioner_id=practitioner,
            rule_id=rule,
            visible=visible,
            pages=[(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)],
            buckets=reached,
        )

    def stand_ins(k: int) -> tuple:
        at = datetime(1990, 1 + k, 1, tzinfo=UTC)
        ints = iter(range(_TIMESCALE_STAND_IN - 100 * k, _TIMESCALE_STAND_IN - 100 * k - 100, -1))
        return (
            next(ints),
            at,
            at + DUE_SOON,
            *((datetime(1990, 1 + k, 5, tzinfo=UTC),) if needs[0] else ()),
            *((datetime(1990, 1 + k, 9, tzinfo=UTC),) if needs[1] else ()),
            *((next(ints),) if filters[0] else ()),
            *((f"stand-in rule {k}",) if filters[1] else ()),
            *(next(ints) for _ in reach_values),
            *(next(ints) for _ in flat_pages),
        )

    key = ("board timescales", shape, bool(filters[0]), bool(filters[1]), reached)
    values = (team_id, *times, *given, *reach_values, *flat_pages)
    rows = compiled_instances(key, build, (stand_ins(0), stand_ins(1)), values, using=router.db_for_read(Deadline))
    return in_board_order(rows, end_of_today=end_of_today)


# Ids no row has, for compiling the board's reads once.
_TIMESCALE_STAND_IN = -7_105_993_700


def board_timescales(
    user,
    *,
    team: Team,
    now: datetime,
    totals: dict,
    practitioner_id: int | None = None,
    rule_id: str = "",
    status: str = "",
) -> BoardTimescales:
    """`board_deadlines` at constant cost: see `BoardTimescales`. `totals`: `board_counts(...)["totals"]`
    for the same team, filters and instant."""
    return BoardTimescales(
        user, team=team, now=now, totals=totals, practitioner_id=practitioner_id, rule_id=rule_id, status=status
    )


def board_rule_summary(deadlines: QuerySet[Deadline]) -> list[dict]:
    """Counts by rule and bucket (one GROUP BY), most breaches first."""
    rows = (
        deadlines.order_by()
        .values("rule_id")
        .annotate(
            title=Max("title"), **{key: Count("pk", filter=Q(bucket=key)) for key, _ in BUCKETS}, total=Count("pk")
        )
    )
    out = [{**r, "due": r["today"] + r["week"]} for r in rows]
    return sorted(out, key=lambda r: (-r["breached"], -r["overdue"], -r["total"], r["rule_id"]))


def _counted(qs: QuerySet) -> Coalesce:
    """`qs.count()` as a scalar subquery, built from a bare queryset (no ordering, joins or annotations
    it does not filter on): the board's list counts were a third of its CPU compiling full list querysets."""
    counted = qs.order_by().annotate(_one=Value(1)).values("_one").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")[:1], output_field=IntegerField()), 0)


def board_list_counts(
    user, *, team: Team, now: datetime, practitioner_id: int | None = None, episode_counts: dict | None = None
) -> dict:
    """How many rows each of the board's lists holds, in one statement (a scalar subquery each): the
    board shows the counts and links to the lists. `episode_counts`: `board_episode_counts` for the
    same team and practitioner, which already counts the highest-risk cases.

    The rows of `board_pre_allocation`, `board_unrecorded_visits`, `board_deactivated`,
    `board_partner_led` and `open_escalations`, each said as a bare count along its index with the
    scope checked per row (a correlated EXISTS, ADR 50, 62): the pre-allocation queue, the visits due,
    the deactivated staff's cases and the open escalations, never every case of the team or the scope.

    Its SQL is compiled once per reach shape and filter (`kit.compiled_sql`, ADR 73) and run with the
    team, the instants, the practitioner and the reach's values: building and compiling its six
    subqueries was a third of the board's Python."""
    keys = ("pre_allocation", "weekly_contact_due", "unrecorded_visits", "deactivated", "partner_led", "escalations")
    found = reach_shape(user)
    if found is None:
        out = dict.fromkeys(keys, 0)
        out["high_risk"] = 0 if episode_counts is None else episode_counts["high_risk"]
        return out
    shape, reach_values = found
    with_high_risk = episode_counts is None
    names = (*keys, "high_risk") if with_high_risk else keys

    def build(team_id, at, week_ago, *rest):
        practitioner = rest[0] if practitioner_id else None
        reach = tuple(rest[1:] if practitioner_id else rest)
        return list_counts_query(
            team_id,
            now=at,
            week_ago=week_ago,
            practitioner_id=practitioner,
            visible=lambda family: reach_exists(reach_q(shape, reach), family),
            with_high_risk=with_high_risk,
        )

    def stand_ins(k: int) -> tuple:
        at = datetime(1990, 1 + k, 10, tzinfo=UTC)
        ints = iter(range(_LIST_COUNTS_STAND_IN - 100 * k, _LIST_COUNTS_STAND_IN - 100 * k - 100, -1))
        return (
            next(ints),
            at,
            at - timedelta(days=1),
            *((next(ints),) if practitioner_id else ()),
            *(next(ints) for _ in reach_values),
        )

    key = ("board list counts", shape, bool(practitioner_id), with_high_risk)
    values = (team.pk, now, now - timedelta(days=7), *((practitioner_id,) if practitioner_id else ()), *reach_values)
    row = compiled_row(key, build, (stand_ins(0), stand_ins(1)), values, using=router.db_for_read(Team))
    if row is None:  # the SQL could not be shared: the ORM, as before
        row = build(*values).first() or {}
    row = list_counts_of(row)
    out = {name: row.get(name, 0) for name in names}
    if episode_counts is not None:
        out["high_risk"] = episode_counts["high_risk"]
    return out


def list_counts_query(
    team_id: int,
    *,
    now: datetime,
    week_ago: datetime,
    practitioner_id: int | None,
    visible,
    with_high_risk: bool,
) -> QuerySet:
    """`board_list_counts`' statement: one row of the team with a count of each list. `visible(path)`:
    the scope's EXISTS for the family at that path of the outer row."""
    team = Team(pk=team_id)
    queue = Episode.objects.filter(team=team, state=S.AWAITING_ALLOCATION).filter(visible("family_id"))
    # The queue read once for both of its counts (its length and the weekly contacts due), each case's
    # scope probed once and its last duty contact read once: `board_pre_allocation`'s "due" (the last
    # duty contact a week ago or more, or none and opened a week ago or more) is
    # `COALESCE(last duty contact, opened_at) < week_ago`. The pair is one array column (`queue`).
    last_duty = Subquery(_last_duty_note().values("happened_at")[:1], output_field=DateTimeField())
    waited = LessThan(Coalesce(last_duty, F("opened_at"), output_field=DateTimeField()), week_ago)
    queue_counts = (
        queue.order_by()
        .values(_all=Value(1))
        .annotate(n=Count("pk"), due=Count("pk", filter=waited))
        .values(pair=Func(F("n"), F("due"), template="ARRAY[%(expressions)s]", output_field=_INT_ARRAY))
    )
    visits = PlannedVisit.objects.filter(
        note__isnull=True, cancelled_at__isnull=True, episode__team=team, planned_at__lte=now
    ).exclude(episode__state=S.CLOSED)
    visits = visits.filter(visible("episode__family_id"))
    if practitioner_id:
        visits = visits.filter(visitor_id=practitioner_id)
    escalations = Escalation.objects.filter(resolved_at__isnull=True, episode__team=team)
    if practitioner_id:
        escalations = escalations.filter(episode__lead_professional_id=practitioner_id)
    escalations = escalations.filter(visible("episode__family_id"))
    partner_led = team_open_cases(team=team, practitioner_id=practitioner_id).filter(partner_organisation__isnull=False)
    counts = {
        "queue": Subquery(queue_counts.values("pair")[:1], output_field=_INT_ARRAY),
        "unrecorded_visits": _counted(visits),
        "deactivated": _counted(_deactivated(team).filter(visible("family_id"))),
        "partner_led": _counted(partner_led.filter(visible("family_id"))),
        "escalations": _counted(escalations),
    }
    if with_high_risk:
        high_risk = _high_risk_rows(team=team, practitioner_id=practitioner_id).filter(visible("family_id"))
        counts["high_risk"] = _counted(high_risk)
    return Team.objects.filter(pk=team_id).annotate(**counts).order_by("pk").values(*counts)[:1]


# Ids no row has, for compiling `board_list_counts` once.
_LIST_COUNTS_STAND_IN = -7_105_993_800
_INT_ARRAY = ArrayField(IntegerField())


def list_counts_of(row: dict) -> dict:
    """A row of `list_counts_query` by list: the queue's pair said as its two counts."""
    out = {k: v for k, v in row.items() if k != "queue"}
    out["pre_allocation"], out["weekly_contact_due"] = row.get("queue") or (0, 0)
    return out


def compiled_row(key, build, stand_ins, values, *, using: str) -> dict | None:
    """The first row of the `values()` queryset `build(*values)`, by column name, read with its SQL
    compiled once (`kit.compiled_sql.compiled_once`); None when the SQL cannot be shared (the caller
    reads it with the ORM); `{}` when the query finds no row."""
    compiled = compiled_once(key, build, stand_ins, using=using)
    if compiled is None:
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(values))
        row = cursor.fetchone()
        names = [column.name for column in cursor.description]
    return {} if row is None else dict(zip(names, row, strict=True))


def board_deadline_summary(deadlines: QuerySet[Deadline]) -> dict:
    """Counts by practitioner and bucket (one GROUP BY), and the totals."""
    rows = list(
        deadlines.order_by()
        .values("assignee_id", "assignee__first_name", "assignee__last_name", "assignee__username")
        .annotate(**{key: Count("pk", filter=Q(bucket=key)) for key, _ in BUCKETS}, total=Count("pk"))
        .order_by("assignee__first_name", "assignee__last_name", "assignee_id")
    )
    by_practitioner = []
    totals = dict.fromkeys([*BUCKET_LABELS, "total"], 0)
    for row in rows:
        name = " ".join(filter(None, [row["assignee__first_name"], row["assignee__last_name"]]))
        by_practitioner.append(
            {
                "assignee_id": row["assignee_id"],
                "name": name or row["assignee__username"] or "Not allocated (team)",
                **{key: row[key] for key in totals},
            }
        )
        for key in totals:
            totals[key] += row[key]
    return {"by_practitioner": by_practitioner, "totals": totals}


# --- Counts read from the summary rows (deadlines.counts, ADR 0041) ---------------------------------
#
# The board's and the dashboard's figures: a few hundred summary rows whatever the number of clocks,
# no cache. Counts of clocks, no family data: scoped to the team (board) or the service's teams
# (dashboard), like the timeliness figures always were. The lists stay on the clocks, scoped.


def rule_titles() -> dict[str, str]:
    """Each rule's title in the deployment's rulebooks (the summary rows carry only the rule id).
    Kept per process for the rulebooks in force (see `_labels`): read it, do not change it."""
    return _labels().titles


def _names(user_ids) -> dict[int, str]:
    ids = [i for i in user_ids if i]
    if not ids:
        return {}
    rows = User.objects.filter(pk__in=ids).values_list("pk", "first_name", "last_name", "username")
    return {pk: " ".join(filter(None, [first, last])) or username for pk, first, last, username in rows}


def _board_bucket(status: str, day: date | None, *, today: date, sunday: date) -> str | None:
    if status not in (Status.BREACHED, Status.OVERDUE, Status.DUE_SOON, Status.ON_TIME):
        return None
    if status == Status.BREACHED:
        return "breached"
    if status == Status.OVERDUE:
        return "overdue"
    if day is None or day > sunday:
        return None
    return "today" if day <= today else "week"


def board_counts(
    *,
    team: Team,
    now: datetime,
    practitioner_id: int | None = None,
    rule_id: str = "",
    status: str = "",
    members: list[User] | None = None,
) -> dict:
    """The board's counts of the team's open clocks by practitioner and by rule, from the summary rows.

    The same figures as `board_deadline_summary` and `board_rule_summary` over `board_deadlines`:
    breached, overdue, due today and due later this week (to Sunday), filtered by practitioner,
    rule and status.
    """
    from deadlines.counts import open_totals_compiled

    today = timezone.localdate(now)
    sunday = today + timedelta(days=6 - today.weekday())

    def keep(key) -> bool:
        b = _board_bucket(key[3], key[4], today=today, sunday=sunday)
        if b is None or (practitioner_id and key[1] != practitioner_id) or (rule_id and key[2] != rule_id):
            return False
        return status not in BUCKET_LABELS or b == status

    # Summed in SQL by practitioner and by rule, each by status and day (tens of rows), corrected to
    # `now`, its two queries compiled once per filter (ADR 79); each row's bucket said in Python.
    filters = _board_count_filters(
        team_id=team.pk, today=today, sunday=sunday, practitioner_id=practitioner_id, rule_id=rule_id, status=status
    )
    by_person, by_rule_day = open_totals_compiled(
        filters, now=now, by=(("assignee_id", "status", "day"), ("rule_id", "status", "day")), keep=keep
    )
    person_counts: dict[tuple, int] = {}
    rule_counts: dict[tuple, int] = {}
    for found, into in ((by_person, person_counts), (by_rule_day, rule_counts)):
        for (who, clock_status, day), n in found.items():
            b = _board_bucket(clock_status, day, today=today, sunday=sunday)
            if b is not None:
                into[(who, b)] = into.get((who, b), 0) + n
    person_counts = {k: n for k, n in person_counts.items() if n}
    rule_counts = {k: n for k, n in rule_counts.items() if n}
    people: dict[int, dict] = {}
    rules: dict[str, dict] = {}
    zero = dict.fromkeys([*BUCKET_LABELS, "total"], 0)
    for (assignee_id, b), n in person_counts.items():
        row = people.setdefault(assignee_id, dict(zero))
        row[b] += n
        row["total"] += n
    for (rule, b), n in rule_counts.items():
        row = rules.setdefault(rule, dict(zero))
        row[b] += n
        row["total"] += n
    # The team's members are already read by the page: only anyone else holding clocks is looked up.
    names = {u.pk: u.get_full_name() or u.username for u in members or ()}
    names.update(_names([pk for pk in people if pk not in names]))
    by_practitioner = [
        {"assignee_id": pk or None, "name": names.get(pk) or "Not allocated (team)", **row}
        for pk, row in people.items()
    ]
    by_practitioner.sort(key=lambda r: (r["assignee_id"] is None, r["name"], r["assignee_id"] or 0))
    totals = dict(zero)
    for row in people.values():
        for key in totals:
            totals[key] += row[key]
    titles = rule_titles()
    by_rule = sorted(
        (
            {"rule_id": r, "title": titles.get(r, r), **row, "due": row["today"] + row["week"]}
            for r, row in rules.items()
        ),
        key=lambda r: (-r["breached"], -r["overdue"], -r["total"], r["rule_id"]),
    )
    return {"by_practitioner": by_practitioner, "totals": totals, "by_rule": by_rule}


def _board_count_filters(
    *, team_id: int, today: date, sunday: date, practitioner_id: int | None, rule_id: str, status: str
):
    """`board_counts`' filters of the summary rows and of the clocks, for `open_totals_compiled`: the
    team's rows of an open status, breached or overdue whatever their day, the others up to Sunday
    (a clock due after Sunday, or with no limit, is in no bucket), of one practitioner, one rule and
    one bucket when chosen. Each value passed is a parameter of the SQL, so every request with the
    same filters shares it."""
    from deadlines.counts import CompiledFilters

    waiting = [Status.DUE_SOON, Status.ON_TIME]
    # The team (and the practitioner) as one-id arrays: an integer field's value reaches the SQL
    # wrapped in the driver's integer type, which a compiled read cannot tell from its stand-in.
    chosen = status if status in BUCKET_LABELS else ""
    values: list = [[team_id]]
    if chosen in ("", "week"):
        values.append(sunday)
    if chosen in ("today", "week"):
        values.append(today)
    if practitioner_id:
        values.append([practitioner_id])
    if rule_id:
        values.append(rule_id)

    def where(team, *rest):
        rest = list(rest)
        found = Q(_int_in("team_id", team))
        if chosen == "breached":
            found &= Q(status=Status.BREACHED)
        elif chosen == "overdue":
            found &= Q(status=Status.OVERDUE)
        elif chosen == "today":  # today is never after Sunday
            found &= Q(status__in=waiting, day__lte=rest.pop(0))
        elif chosen == "week":
            last = rest.pop(0)
            found &= Q(status__in=waiting, day__gt=rest.pop(0), day__lte=last)
        else:
            found &= Q(status__in=[Status.BREACHED, Status.OVERDUE]) | Q(status__in=waiting, day__lte=rest.pop(0))
        if practitioner_id:
            found &= Q(_int_in("assignee_id", rest.pop(0)))
        return found & Q(rule_id=rest.pop(0)) if rule_id else found

    return CompiledFilters(
        key=("board counts", chosen, bool(practitioner_id), bool(rule_id)),
        where=where,
        values=tuple(values),
        stand_ins=_breach_stand_ins(values),
        clock_where=_teams_clock_where,
        clock_values=([team_id],),
        clock_stand_ins=_breach_stand_ins([[team_id]], start=50),
    )


# For oversight.board_totals (the timescales list's totals alone).
board_bucket = _board_bucket
board_count_filters = _board_count_filters


def _service_teams(user) -> list[Team]:
    service_id = service_id_of(user)
    return list(Team.objects.filter(service_id=service_id)) if service_id else []


def breach_summaries(
    user,
    *,
    now: datetime,
    period: Period | None,
    teams: list[Team] | None = None,
    team_id: int | None = None,
    rule_id: str = "",
    service_rows: bool = False,
    teams_in_period: bool = False,
) -> dict[str, dict]:
    """Open breaches of the service by team and by rule with how many are not yet acknowledged, for
    those breached in `period` ("period") and whenever breached ("whenever"): the figures of
    `_breach_counts`, from the summary rows (one read) plus one count of acknowledgements (a
    manager's act, so few). `teams`: the service's teams, if the caller has them.

    With `service_rows` (the caller's `teams` are every team of the service) and no team chosen, the
    totals and "by rule" are read from the service's rows (ADR 68: O(rules x days) rows whatever the
    number of teams) and "by team" is empty: a page of teams asks for its teams (`teams`).

    With `teams_in_period` (the by-team page: its teams' breaches in the period, nothing else), only
    the rows of the days in the period are read and summed by team: not the rows of every breached
    clock by team, practitioner and rule ("whenever"), which that page does not show and which grow with
    the staff of its 20 teams (ADR 85). "whenever" and "by rule" are then empty."""
    from deadlines.counts import BREACH_DAY, open_totals_compiled

    empty = {"by_team": [], "by_rule": [], "breached": 0, "unacknowledged": 0}
    if not service_id_of(user):
        return {"period": empty, "whenever": empty}
    teams = _service_teams(user) if teams is None else teams
    names = {t.pk: t.name for t in teams if not team_id or t.pk == team_id}
    if not names:
        return {"period": empty, "whenever": empty}

    def in_period(day) -> bool:
        return period is None or period.start <= day <= period.end

    def keep(key) -> bool:
        if rule_id and key[2] != rule_id:
            return False
        return key[3] == Status.BREACHED or (key[3] == BREACH_DAY and in_period(key[4]))

    def keep_in_period(key) -> bool:
        return keep(key) and key[3] == BREACH_DAY

    service_id = service_id_of(user)
    # A manager's whole service (the pages that pass `service_rows` are managers' only).
    whole_service = service_rows and not team_id and user.has_role(roles.MANAGER)
    # The reads' SQL compiled once per shape (ADR 74): the rows of breached clocks (whenever, or by the
    # day they breached in the period) of the teams, or the service's own rows, said of the values.
    compiled = _breach_filters(
        service_id=service_id if whole_service else None,
        team_ids=list(names),
        period=period,
        rule_id=rule_id,
        whenever=not teams_in_period,
    )
    if teams_in_period and not whole_service:
        # The period's rows by team only (the by-team page).
        (team_counts,) = open_totals_compiled(compiled, now=now, by=(("team_id", "status"),), keep=keep_in_period)
        rule_counts = {}
    elif whole_service:
        # The service's rows by rule, none of the teams'.
        (rule_counts,) = open_totals_compiled(
            compiled, now=now, by=(("rule_id", "status"),), keep=keep, service_rows=True
        )
        team_counts = {}
    else:
        # Summed in SQL by team and by rule (a few rows each), with the correction to `now` on top.
        team_counts, rule_counts = open_totals_compiled(
            compiled, now=now, by=(("team_id", "status"), ("rule_id", "status")), keep=keep
        )
    acked_rows = _acknowledged_counts(now=now, team_ids=list(names), rule_id=rule_id, period=period)
    titles = rule_titles()
    out = {}
    for name, only_period in (("period", True), ("whenever", False)):
        wanted = BREACH_DAY if only_period else Status.BREACHED
        by_team = {t: {"breached": n, "unacknowledged": n} for (t, s), n in team_counts.items() if s == wanted}
        by_rule = {r: {"breached": n, "unacknowledged": n} for (r, s), n in rule_counts.items() if s == wanted}
        for team, rule, is_within, n in acked_rows:
            if only_period and not is_within:
                continue
            for row in (by_team.get(team), by_rule.get(rule)):
                if row is not None:
                    row["unacknowledged"] = max(0, row["unacknowledged"] - n)
        shown_rows = sorted(
            ({"team_id": t, "team__name": names.get(t, ""), **row} for t, row in by_team.items()),
            key=lambda r: (r["team__name"], r["team_id"]),
        )
        rule_rows = sorted(
            ({"rule_id": r, "title": titles.get(r, r), **row} for r, row in by_rule.items()),
            key=lambda r: (-r["breached"], r["rule_id"]),
        )
        # Every clock counts in one rule (and one team): the totals of either grouping are the same.
        whole = rule_rows if whole_service else shown_rows
        out[name] = {
            "by_team": shown_rows,
            "by_rule": rule_rows,
            "breached": sum(r["breached"] for r in whole),
            "unacknowledged": sum(r["unacknowledged"] for r in whole),
        }
    return out


def _breach_filters(
    *, service_id: int | None, team_ids: list[int], period: Period | None, rule_id: str, whenever: bool = True
):
    """`breach_summaries`' filters of the summary rows and of the clocks, for `open_totals_compiled`:
    whenever breached, the status rows of breached clocks (unless not `whenever`); in the period, their
    rows by the day they breached; of the service's rows (`service_id`) or of the teams'; of one rule or all."""
    from deadlines.counts import BREACH_DAY, CompiledFilters

    # The service as a one-id array, like the teams: an integer field's value reaches the SQL wrapped
    # in the driver's integer type, which a compiled read cannot tell from its stand-in.
    values = [[service_id] if service_id is not None else team_ids]
    if period is not None:
        values += [period.start, period.end]
    if rule_id:
        values.append(rule_id)

    def where(*given):
        given = list(given)
        scope = Q(_int_in("service_id" if service_id is not None else "team_id", given.pop(0)))
        by_day = Q(status=BREACH_DAY)
        if period is not None:
            by_day &= Q(day__gte=given.pop(0), day__lte=given.pop(0))
        found = scope & ((Q(status=Status.BREACHED) | by_day) if whenever else by_day)
        return found & Q(rule_id=given.pop(0)) if rule_id else found

    return CompiledFilters(
        key=("breaches", service_id is not None, period is not None, bool(rule_id), whenever),
        where=where,
        values=tuple(values),
        stand_ins=_breach_stand_ins(values),
        clock_where=_teams_clock_where,
        clock_values=(team_ids,),
        clock_stand_ins=_breach_stand_ins([team_ids], start=50),
    )


def _teams_clock_where(team_ids) -> Q:
    return Q(_int_in("team_id", team_ids))


def _acknowledged_query(now, team_ids, *rest, period: bool, rule: bool) -> QuerySet:
    """The acknowledged open breaches of the teams by (team, rule, breached in the period or not)."""
    rest = list(rest)
    within = Q(due_at__gte=rest.pop(0), due_at__lt=rest.pop(0)) if period else Q(pk__isnull=False)
    acked = Deadline.objects.breached(now).filter(_int_in("team_id", team_ids), acknowledgements__isnull=False)
    if rule:
        acked = acked.filter(rule_id=rest.pop(0))
    return (
        acked.order_by()
        .annotate(in_period=Case(When(within, then=Value(True)), default=Value(False)))
        .values_list("team_id", "rule_id", "in_period")
        .annotate(n=Count("pk", distinct=True))
    )


def _acknowledged_counts(*, now: datetime, team_ids: list[int], rule_id: str, period: Period | None) -> list:
    """`_acknowledged_query`'s rows (team id, rule id, in the period, how many), its SQL compiled once
    per shape (a period or not, a rule or not) and run with the request's values (ADR 74)."""
    from kit.compiled_sql import compiled_once

    values = [now, team_ids]
    if period is not None:
        values += [period.start_at, period.end_at]
    if rule_id:
        values.append(rule_id)
    shape = {"period": period is not None, "rule": bool(rule_id)}

    def build(*given):
        return _acknowledged_query(*given, **shape)

    using = router.db_for_read(Deadline)
    key = ("acknowledged breaches", *shape.values())
    compiled = compiled_once(key, build, _breach_stand_ins(values), using=using)
    if compiled is None:
        return list(build(*values).using(using))
    with connections[using].cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(values))
        return [tuple(row) for row in cursor.fetchall()]


def breach_counts_summary(
    user, *, now: datetime, period: Period | None = None, team_id: int | None = None, rule_id: str = ""
) -> dict:
    """`breach_summaries` for one period (None: whenever breached)."""
    return breach_summaries(user, now=now, period=period, team_id=team_id, rule_id=rule_id)["period"]


def timeliness_months(period: Period) -> tuple[date, date]:
    """The whole local months a period touches: the summary rows hold timeliness by month."""
    return period.start.replace(day=1), period.end.replace(day=1)


def timeliness_summary(
    user,
    *,
    period: Period,
    now: datetime,
    team_id: int | None = None,
    rule_id: str = "",
    teams: list[Team] | None = None,
    service_rows: bool = False,
    by_team_only: bool = False,
) -> dict:
    """Timeliness by rule, team and month of the clocks started in the months of `period`, from the
    summary rows: the figures of `timeliness_by_rule`, `_by_team` and `_by_month` for whole months
    (no median: the timeliness report has it). Scoped like `timeliness_clocks`.

    With `service_rows` (a manager, `teams` every team of the service) and no team chosen, "by rule"
    and "by month" are read from the service's rows (ADR 68) and "by team" is empty. With
    `by_team_only` (the by-team page), the rows are summed by team only: "by rule" is empty and "by
    month" all zeros."""
    from deadlines.counts import timeliness_totals_compiled

    out = {"by_rule": [], "by_team": [], "by_month": [], "computed_at": now}
    found = _service_teams(user) if teams is None else teams
    if user.has_role(roles.TEAM_LEADER) and not user.has_role(roles.MANAGER):
        found = [t for t in found if t.pk == user.team_id]
    names = {t.pk: t.name for t in found if not team_id or t.pk == team_id}
    teams = list(names)
    first, last = timeliness_months(period)
    end = local_midnight(add_months(last, 1))

    def keep(key) -> bool:
        team, rule, month = key
        return team in names and first <= month <= last and not (rule_id and rule != rule_id)

    whole_service = service_rows and not team_id and user.has_role(roles.MANAGER)
    # The reads' SQL compiled once per shape (ADR 74): `where` and `clock_where` said of the values.
    compiled = _timeliness_filters(
        service_id=service_id_of(user) if whole_service else None,
        team_ids=teams,
        months=(first, last),
        started=(local_midnight(first), end),
        rule_id=rule_id,
    )
    if not teams:  # no team (a service without teams): no rows, and no query (as `team_id__in=[]` was)
        rule_rows, found_teams, month_rows = {}, {}, {}
    elif by_team_only and not whole_service:
        (found_teams,) = timeliness_totals_compiled(compiled, now=now, by=(("team_id",),), keep=keep)
        rule_rows, month_rows = {}, {}
    elif whole_service:
        rule_rows, month_rows = timeliness_totals_compiled(
            compiled, now=now, by=(("rule_id",), ("month",)), keep=keep, service_rows=True
        )
        found_teams = {}
    else:
        # Summed in SQL by rule, by team and by month (tens of rows), with the correction to `now` on top.
        rule_rows, found_teams, month_rows = timeliness_totals_compiled(
            compiled, now=now, by=(("rule_id",), ("team_id",), ("month",)), keep=keep
        )
    team_rows = found_teams
    by_rule = {k[0]: row for k, row in rule_rows.items()}
    by_team = {k[0]: row for k, row in team_rows.items()}
    by_month = {k[0]: row for k, row in month_rows.items()}

    def shaped(row: dict, **extra) -> dict:
        return _with_percentages({**row, **extra, "median": None})

    titles = rule_titles()
    order = {r: i for i, (r, _) in enumerate(rule_choices())}
    out["by_rule"] = sorted(
        (shaped(row, rule_id=r, title=titles.get(r, r)) for r, row in by_rule.items()),
        key=lambda r: (order.get(r["rule_id"], 999), r["rule_id"]),
    )
    out["by_team"] = sorted(
        (shaped(row, team_id=t, team__name=names.get(t, "")) for t, row in by_team.items()),
        key=lambda r: (r["team__name"], r["team_id"]),
    )
    zero = dict.fromkeys(("run", "with_expected", "with_maximum", "stopped", "met_expected", "missed_expected",
                          "met_maximum", "missed_maximum"), 0)  # fmt: skip
    out["by_month"] = [shaped(dict(by_month.get(m, zero)), month=m) for m in Period(first, period.end).months()]
    return out


def _timeliness_filters(
    *,
    service_id: int | None,
    team_ids: list[int],
    months: tuple[date, date],
    started: tuple[datetime, datetime],
    rule_id: str,
):
    """`timeliness_summary`'s filters for `timeliness_totals_compiled`: the rows of the months (of the
    service's rows, or the teams'), of one rule or all; the clocks of the teams started in the months."""
    from deadlines.counts import CompiledFilters

    values = [[service_id] if service_id is not None else team_ids, *months]  # one array: see `_breach_filters`
    if rule_id:
        values.append(rule_id)

    def where(scope, first, last, *rule):
        found = Q(_int_in("service_id" if service_id is not None else "team_id", scope))
        found &= Q(month__gte=first, month__lte=last)
        return found & Q(rule_id=rule[0]) if rule else found

    def clock_where(team_ids, start, end):
        return Q(_int_in("team_id", team_ids)) & Q(started_at__gte=start, started_at__lt=end)

    clock_values = [team_ids, *started]
    return CompiledFilters(
        key=("timeliness", service_id is not None, bool(rule_id)),
        where=where,
        values=tuple(values),
        stand_ins=_breach_stand_ins(values),
        clock_where=clock_where,
        clock_values=tuple(clock_values),
        clock_stand_ins=_breach_stand_ins(clock_values, start=50),
    )


def _last_duty_note() -> QuerySet[CaseNote]:
    return CaseNote.objects.filter(episode=OuterRef("pk"), kind=CaseNote.Kind.DUTY_CONTACT).order_by(
        "-happened_at", "-pk"
    )


def board_pre_allocation(user, *, team: Team, now: datetime) -> QuerySet[Episode]:
    """Families on the pre-allocation list, longest waiting first, with their last weekly duty contact."""
    week_ago = now - timedelta(days=7)
    last = _last_duty_note()
    return (
        visible_per_row(Episode.objects.filter(team=team, state=S.AWAITING_ALLOCATION), user)
        .select_related("family")
        .annotate(
            last_duty_contact_at=Subquery(last.values("happened_at")[:1]),
            last_duty_contact_text=Subquery(last.values("details")[:1]),
        )
        .annotate(
            weekly_contact_due=Case(
                When(last_duty_contact_at__lt=week_ago, then=Value(True)),
                When(last_duty_contact_at__isnull=True, opened_at__lt=week_ago, then=Value(True)),
                default=Value(False),
            )
        )
        .order_by("opened_at", "pk")
    )


def capacity_expression():
    """A user's caseload capacity in SQL: the agreed override, else the working pattern's default."""
    return Coalesce(
        "caseload_capacity_override",
        Case(
            *[When(working_pattern=k, then=Value(v)) for k, v in User.DEFAULT_CAPACITY.items()],
            default=Value(User.DEFAULT_CAPACITY[User.WorkingPattern.FULL_TIME]),
            output_field=IntegerField(),
        ),
    )


def caseloads(*, team_ids, practitioner_id: int | None = None) -> QuerySet[User]:
    """Active practitioners of the teams with their open caseload, capacity and last supervision (one query).

    The caseload is read from its maintained row (`cases.Caseload`, kept by a trigger on the episodes,
    ADR 62): one primary-key probe per practitioner, however many cases they hold."""
    open_cases = Caseload.objects.filter(lead_professional_id=OuterRef("pk")).values("open_cases")[:1]
    last_supervision = Supervision.objects.filter(practitioner=OuterRef("pk")).order_by("-held_on")
    qs = User.objects.filter(
        team_id__in=team_ids, is_active=True, groups__name=roles.PRACTITIONER, partner_organisation__isnull=True
    )
    if practitioner_id:
        qs = qs.filter(pk=practitioner_id)
    return (
        qs.select_related("team")
        .annotate(
            caseload=Coalesce(Subquery(open_cases, output_field=IntegerField()), 0),
            capacity=capacity_expression(),
            last_supervised_on=Subquery(last_supervision.values("held_on")[:1]),
        )
        .order_by("team__name", "first_name", "last_name", "username")
    )


def month_cutoffs(today: date) -> dict[int, datetime]:
    """Opened before these instants = open for at least 3, 6, 9 or 12 months (by local date)."""
    return {n: local_midnight(add_months(today, -n) + timedelta(days=1)) for n in (3, 6, 9, 12)}


def _months_band(cutoffs: dict[int, datetime]):
    return Case(
        *[When(opened_at__lt=cutoffs[n], then=Value(n)) for n in (12, 9, 6, 3)],
        default=Value(0),
        output_field=IntegerField(),
    )


def month_start(now: datetime) -> datetime:
    return local_midnight(timezone.localdate(now).replace(day=1))


def team_open_cases(*, team: Team, practitioner_id: int | None = None) -> QuerySet[Episode]:
    """The team's open cases (of one lead professional), read from the partial indexes on open
    episodes (ADR 56). Not scoped: a team's cases are its work, and every one reaches the board's
    users (an episode gives its family a reach row for its team and its team's service: the team
    leader of the team and the service's managers, the only people `teams_for_board` shows it to).
    Lists that name families check scope on their page's rows (`_in_reach`)."""
    qs = Episode.objects.filter(team=team).exclude(state=S.CLOSED)
    if practitioner_id:
        qs = qs.filter(lead_professional_id=practitioner_id)
    return qs


def _in_reach(user, qs: QuerySet[Episode]) -> QuerySet[Episode]:
    """The rows of `qs` whose family the user may see, checked row by row (a correlated EXISTS on the
    reach rows, ADR 50): for a page read along an index, one probe per row shown."""
    visible = family_visible_exists(user)
    return qs.none() if visible is None else qs.filter(visible)


def _no_decision_since(at: datetime) -> Q:
    return Q(last_decision_at__isnull=True) | Q(last_decision_at__lt=at)


def board_episode_counts(user, *, team: Team, now: datetime, practitioner_id: int | None = None) -> dict:
    """Open cases, open over 3/6/9/12 months (bands), without a Managers Decision this month, and at
    medium or high risk (the count of `board_high_risk`): one query, an index-only scan of the
    team's open cases (`episode_open_team_opened`), the risk and the latest decision being kept on
    each episode as the work happens (`cases.board`, ADR 56). Its SQL is compiled once (with or
    without a practitioner) and run with the team, the practitioner and the instants (ADR 73)."""
    cutoffs = month_cutoffs(timezone.localdate(now))
    values = (team.pk, *(cutoffs[n] for n in (3, 6, 9, 12)), month_start(now))
    values += (practitioner_id,) if practitioner_id else ()

    def build(team_id, c3, c6, c9, c12, since, *practitioner):
        return episode_counts_query(
            team_id,
            cutoffs={3: c3, 6: c6, 9: c9, 12: c12},
            since=since,
            practitioner_id=practitioner[0] if practitioner else None,
        )

    def stand_ins(k: int) -> tuple:
        return (
            _EPISODE_COUNTS_STAND_IN - 10 * k,
            *(datetime(1990, 1 + k, day, tzinfo=UTC) for day in (1, 2, 3, 4, 5)),
            *((_EPISODE_COUNTS_STAND_IN - 10 * k - 1,) if practitioner_id else ()),
        )

    key = ("board episode counts", bool(practitioner_id))
    row = compiled_row(key, build, (stand_ins(0), stand_ins(1)), values, using=router.db_for_read(Episode))
    if row is None:  # the SQL could not be shared: the ORM, as before
        row = next(iter(build(*values)), None) or {}
    return {name: row.get(name) or 0 for name in EPISODE_COUNTS}


EPISODE_COUNTS = ("open", "band_3", "band_6", "band_9", "band_12", "no_oversight", "high_risk")


def episode_counts_query(team_id: int, *, cutoffs: dict, since: datetime, practitioner_id: int | None) -> QuerySet:
    """`board_episode_counts`' aggregate as a one-row `values()` queryset (grouped on a constant: no
    GROUP BY, one row even for a team without cases)."""
    bands = {
        3: Q(opened_at__lt=cutoffs[3], opened_at__gte=cutoffs[6]),
        6: Q(opened_at__lt=cutoffs[6], opened_at__gte=cutoffs[9]),
        9: Q(opened_at__lt=cutoffs[9], opened_at__gte=cutoffs[12]),
        12: Q(opened_at__lt=cutoffs[12]),
    }
    return (
        team_open_cases(team=Team(pk=team_id), practitioner_id=practitioner_id)
        .order_by()
        .values(_all=Value(1))
        .annotate(
            open=Count("pk"),
            **{f"band_{n}": Count("pk", filter=q) for n, q in bands.items()},
            no_oversight=Count("pk", filter=_no_decision_since(since)),
            high_risk=Count("pk", filter=Q(risk_level__gte=RiskIndicator.Level.MEDIUM)),
        )
        .values(*EPISODE_COUNTS)
    )


# Ids no row has, for compiling `board_episode_counts` once.
_EPISODE_COUNTS_STAND_IN = -7_105_993_900


MONTH_BANDS = ((3, "3 to 6 months"), (6, "6 to 9 months"), (9, "9 to 12 months"), (12, "Over 12 months"))


class CountedRows:
    """A list the Paginator slices whose length is already known (a figure of `board_episode_counts`),
    so no `COUNT(*)`; a slice reads only its rows, along the index that holds the list's order."""

    def __init__(self, rows: QuerySet, count: int) -> None:
        self.rows, self.count_ = rows, max(0, int(count))

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self.rows[index])
        return self.rows[index]


def board_case_list_count(key: str, counts: dict, *, band: int | None = None) -> int:
    """How many rows one of the board's case lists holds, from `board_episode_counts`."""
    if key == "long-open":
        if band in (3, 6, 9, 12):
            return counts[f"band_{band}"]
        return sum(counts[f"band_{n}"] for n in (3, 6, 9, 12))
    return counts["no_oversight" if key == "no-oversight" else "high_risk"]


def _long_open_rows(
    *,
    team: Team,
    now: datetime | None,
    practitioner_id: int | None = None,
    band: int | None = None,
    cutoffs: dict | None = None,
):
    """`cutoffs`: `month_cutoffs` of `now`'s date, when the caller has them (a compiled read passes them)."""
    if cutoffs is None:
        cutoffs = month_cutoffs(timezone.localdate(now))
    qs = (
        team_open_cases(team=team, practitioner_id=practitioner_id)
        .filter(opened_at__lt=cutoffs[3])
        .annotate(band=_months_band(cutoffs))
    )
    if band in cutoffs:
        qs = qs.filter(band=band)
    return qs.order_by("opened_at", "pk")


def _no_oversight_rows(
    *, team: Team, now: datetime | None, practitioner_id: int | None = None, since: datetime | None = None
):
    """`since`: `month_start(now)`, when the caller has it (a compiled read passes it)."""
    since = month_start(now) if since is None else since
    qs = team_open_cases(team=team, practitioner_id=practitioner_id).filter(_no_decision_since(since))
    return qs.order_by(F("last_decision_at").asc(nulls_first=True), "opened_at", "pk")


def _high_risk_rows(*, team: Team, practitioner_id: int | None = None):
    qs = team_open_cases(team=team, practitioner_id=practitioner_id).filter(risk_level__gte=RiskIndicator.Level.MEDIUM)
    return qs.order_by("-risk_level", "opened_at", "pk")


def board_long_open(
    user, *, team: Team, now: datetime, practitioner_id: int | None = None, band: int | None = None
) -> QuerySet[Episode]:
    """Open cases open for 3 months or more, longest first, with their band."""
    qs = _long_open_rows(team=team, now=now, practitioner_id=practitioner_id, band=band)
    return _in_reach(user, qs).select_related("family", "lead_professional")


def board_partner_led(user, *, team: Team, practitioner_id: int | None = None) -> QuerySet[Episode]:
    """Open single-agency support led by a partner agency's lead professional, that the team oversees
    (ADR 52): oldest first."""
    qs = team_open_cases(team=team, practitioner_id=practitioner_id).filter(partner_organisation__isnull=False)
    return (
        _in_reach(user, qs)
        .select_related("family", "lead_professional", "partner_organisation")
        .order_by("opened_at", "pk")
    )


def board_no_oversight(user, *, team: Team, now: datetime, practitioner_id: int | None = None) -> QuerySet[Episode]:
    """Open cases with no Managers Decision since the start of this calendar month (B14): never
    decided first, then the oldest latest decision (`episode_open_team_decided` holds that order)."""
    qs = _no_oversight_rows(team=team, now=now, practitioner_id=practitioner_id)
    return _in_reach(user, qs).select_related("family", "lead_professional")


def board_high_risk(user, *, team: Team, practitioner_id: int | None = None) -> QuerySet[Episode]:
    """The team's open cases at medium or high risk, highest first (`episode_open_team_risk`)."""
    qs = _high_risk_rows(team=team, practitioner_id=practitioner_id)
    return _in_reach(user, qs).select_related("family", "lead_professional")


class BoardCaseRows(CountedRows):
    """One of the board's case lists (long-open, no-oversight, high-risk) as a sequence the Paginator
    slices at a cost that does not grow with the team (ADR 62). A slice is one query in two steps:
    the page's ids read along the partial index that holds the list's order (`LIMIT`/`OFFSET` in a
    subquery, with nothing else in it, so PostgreSQL walks the index and stops), then those rows with
    their family and lead professional, scope checked per row (the correlated EXISTS of ADR 50) and
    put in the list's order again (a sort of one page). Said as one query with the scope check inside,
    PostgreSQL read and sorted every open case of the team for a page of 20.

    Rows are numbered among the team's cases, like the count (`board_episode_counts`); a case of a
    family outside the user's reach would be left out of its page, never shown (ADR 50, 56: every
    open case of a team reaches the only people `teams_for_board` shows the board to)."""

    def __init__(self, user, rows: QuerySet, count: int, *, read=None) -> None:
        super().__init__(rows, count)
        self.user = user
        # `read(limit, offset)`: the page read with SQL compiled once (`case_list_rows`), or None.
        self.read = read

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return _item_by_slice(self, index)
        if self.read is not None and index.step is None and (index.start or 0) >= 0 and (index.stop or 0) >= 0:
            start = index.start or 0
            stop = len(self) if index.stop is None else index.stop
            return self.read(stop - start, start) if stop > start else []
        page = self.rows.filter(_pk_in_array(self.rows.values("pk")[index]))
        return list(_in_reach(self.user, page).select_related("family", "lead_professional"))


def case_list_query(
    key: str,
    team_id: int,
    *,
    times: tuple,
    practitioner_id: int | None,
    visible: Exists | None,
    limit: int,
    offset: int,
) -> QuerySet[Episode]:
    """One page of a board case list (`BoardCaseRows`), its limit and offset parameters: the page's ids
    read along the list's index (`_PkInPages`, one branch), then those rows with their family and
    lead professional, scope checked per row, in the list's order. `times`: the long-open list's four
    month cut-offs (3, 6, 9, 12), the no-oversight list's month start, nothing for the high-risk list."""
    team = Team(pk=team_id)
    if key == "long-open":
        cutoffs = dict(zip((3, 6, 9, 12), times, strict=True))
        rows = _long_open_rows(team=team, now=None, practitioner_id=practitioner_id, cutoffs=cutoffs)
    elif key == "no-oversight":
        rows = _no_oversight_rows(team=team, now=None, practitioner_id=practitioner_id, since=times[0])
    elif key == "high-risk":
        rows = _high_risk_rows(team=team, practitioner_id=practitioner_id)
    else:
        raise ValueError(key)
    page = rows.filter(_PkInPages([rows.values("pk")], [(limit, offset)]))
    page = page.none() if visible is None else page.filter(visible)
    return page.select_related("family", "lead_professional")


def case_list_rows(
    user, key: str, *, team_id: int, now: datetime, practitioner_id: int | None, limit: int, offset: int
) -> list[Episode]:
    """`list(case_list_query(...))` for the user, compiled once per list, reach shape and practitioner
    or not (`kit.compiled_sql`, ADR 79), run with the team, the list's instants, the practitioner,
    the reach's values, the limit and the offset: building and compiling the page's queryset was
    most of the lists' own Python."""
    if key == "long-open":
        cutoffs = month_cutoffs(timezone.localdate(now))
        times = tuple(cutoffs[n] for n in (3, 6, 9, 12))
    elif key == "no-oversight":
        times = (month_start(now),)
    else:
        times = ()
    found = reach_shape(user)
    if found is None:
        return []
    shape, reach_values = found
    given = (practitioner_id,) if practitioner_id else ()

    def build(team_id, *rest):
        rest = list(rest)
        at = tuple(rest[: len(times)])
        rest = rest[len(times) :]
        practitioner = rest.pop(0) if given else None
        reach = tuple(rest[: len(reach_values)])
        limit, offset = rest[len(reach_values) :]
        return case_list_query(
            key,
            team_id,
            times=at,
            practitioner_id=practitioner,
            visible=reach_exists(reach_q(shape, reach)),
            limit=limit,
            offset=offset,
        )

    def stand_ins(k: int) -> tuple:
        ints = iter(range(_CASE_LIST_STAND_IN - 100 * k, _CASE_LIST_STAND_IN - 100 * k - 100, -1))
        return (
            next(ints),
            *(datetime(1990, 1 + k, 1 + i, tzinfo=UTC) for i in range(len(times))),
            *((next(ints),) if given else ()),
            *(next(ints) for _ in reach_values),
            next(ints),
            next(ints),
        )

    compiled_key = ("board case list", key, shape, bool(given))
    values = (team_id, *times, *given, *reach_values, limit, offset)
    return compiled_instances(
        compiled_key, build, (stand_ins(0), stand_ins(1)), values, using=router.db_for_read(Episode)
    )


# Ids no row has, for compiling the board's case lists once.
_CASE_LIST_STAND_IN = -7_105_994_100


def _item_by_slice(rows, index: int):
    """`rows[index]` for a sequence that reads its rows a slice at a time (one query for one row)."""
    found = rows[index : index + 1]
    if not found:
        raise IndexError(index)
    return found[0]


def _pk_in_array(ids: QuerySet) -> Func:
    """`id = ANY(ARRAY(<ids>))`: the ids are computed first (an InitPlan: the subquery's index scan and
    LIMIT, on its own), then each is one primary-key probe. Said as `id IN (<ids>)` the planner may
    join the subquery to a scan of the same rows it would have had to sort (ADR 62)."""
    return _equals_any("pk", ids)


def _equals_any(field: str, ids: QuerySet) -> Func:
    """`field = ANY(ARRAY(<ids>))` as a filter: the subquery runs once, first, and is never flattened
    into a join whose order the planner guesses."""
    return Func(
        F(field),
        ArraySubquery(ids),
        template="(%(expressions)s))",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )


def board_case_rows(
    user, key: str, *, team: Team, now: datetime, counts: dict, practitioner_id: int | None = None
) -> BoardCaseRows:
    """The rows of the board's long-open, no-oversight or high-risk list for the Paginator (see
    `BoardCaseRows`). `counts`: `board_episode_counts` for the same team, practitioner and instant."""
    if key == "long-open":
        rows = _long_open_rows(team=team, now=now, practitioner_id=practitioner_id)
    elif key == "no-oversight":
        rows = _no_oversight_rows(team=team, now=now, practitioner_id=practitioner_id)
    elif key == "high-risk":
        rows = _high_risk_rows(team=team, practitioner_id=practitioner_id)
    else:
        raise ValueError(key)

    def read(limit: int, offset: int) -> list[Episode]:
        return case_list_rows(
            user, key, team_id=team.pk, now=now, practitioner_id=practitioner_id, limit=limit, offset=offset
        )

    return BoardCaseRows(user, rows, board_case_list_count(key, counts), read=read)


def risk_names(episode: Episode) -> str:
    """The names of the indicators at high level (kept on the episode: `cases.board`)."""
    labels = dict(RiskIndicator.Indicator.choices)
    codes = set(filter(None, (episode.high_risks or "").split(",")))
    return ", ".join(str(labels.get(c, c)) for c in sorted(codes))


def _deactivated(team: Team) -> QuerySet[Episode]:
    # `= ANY(ARRAY(...))`, not `IN (...)`: an IN would be flattened into a join whose side PostgreSQL
    # guesses, and it then hashed every reach row of the scope; the array is computed first and each
    # of its accounts is one range of the index.
    held_by_deactivated = _equals_any("lead_professional_id", User.objects.filter(is_active=False).values("pk"))
    return (
        Episode.objects.exclude(state=S.CLOSED)
        .filter(held_by_deactivated)
        .filter(Q(team=team) | Q(lead_professional__team=team))
    )


def board_deactivated(user, *, team: Team) -> QuerySet[Episode]:
    """Open cases still held by staff whose accounts are deactivated: the team leader must reallocate them.

    Read from the deactivated staff (a few accounts) along the open cases' lead professional index
    (`episode_open_lead`), scope checked per case (ADR 62): the cost is the cases to reallocate, not
    every open case in the user's scope."""
    return _in_reach(user, _deactivated(team)).select_related("family", "lead_professional").order_by("opened_at", "pk")


def open_escalations(user, *, team_ids, practitioner_id: int | None = None) -> QuerySet[Escalation]:
    """Rulebook D disagreements over a step-up or step-down still waiting for an outcome."""
    episodes = episodes_visible_to(user).filter(team_id__in=team_ids)
    if practitioner_id:
        episodes = episodes.filter(lead_professional_id=practitioner_id)
    return (
        Escalation.objects.filter(episode__in=episodes.values("pk"), resolved_at__isnull=True)
        .select_related("episode__family", "episode__team", "raised_by")
        .order_by("raised_at", "pk")
    )


ESCALATION_ROW_FIELDS = (
    "episode_id", "about", "escalated_to", "raised_at", "raised_by_id", "episode__family_id", "episode__family__name"
)  # fmt: skip


def escalations_first(user, *, team_ids, limit: int) -> dict:
    """The first `limit` open escalations and how many there are, in one query (a window count): the
    dashboard's, its SQL compiled once per reach shape and run with the reach's values and the teams
    (kit.compiled_sql, ADR 74); `open_escalations` built with the ORM for a user with no reach."""
    from cases.selectors import reach_q, reach_shape
    from kit.compiled_sql import compiled_instances

    found = reach_shape(user)
    if not team_ids:  # no team: none, and no query (as `team_id__in=[]` was)
        return {"escalations": [], "escalation_count": 0}
    if found is None:
        rows = list(open_escalations(user, team_ids=team_ids).annotate(in_all=Window(Count("pk")))[:limit])
        return {"escalations": rows, "escalation_count": rows[0].in_all if rows else 0}
    shape, reach_values = found

    def build(team_ids, *values):
        visible = FamilyReach.objects.filter(reach_q(shape, values)).values("family_id")
        episodes = Episode.objects.filter(family__in=visible).filter(_int_in("team_id", team_ids))
        # What the dashboard shows of each (the case link, what about, to whom, when): two joins of a
        # few columns, not four of every column, which the planner took milliseconds over (ADR 80).
        return (
            Escalation.objects.filter(episode__in=episodes.values("pk"), resolved_at__isnull=True)
            .select_related("episode__family")
            .only(*ESCALATION_ROW_FIELDS)
            .order_by("raised_at", "pk")
            .annotate(in_all=Window(Count("pk")))[:limit]
        )

    values = (list(team_ids), *reach_values)
    stand_ins = _breach_stand_ins(list(values))
    using = router.db_for_read(Escalation)
    rows = compiled_instances(("first escalations", shape, limit), build, stand_ins, values, using=using)
    return {"escalations": rows, "escalation_count": rows[0].in_all if rows else 0}


# --- Manager dashboard ---------------------------------------------------------------------------


def _acknowledged(qs: QuerySet[Deadline], acknowledged: str) -> QuerySet[Deadline]:
    ack = Exists(BreachAcknowledgement.objects.filter(deadline=OuterRef("pk")))
    if acknowledged == "no":
        return qs.filter(~ack)
    if acknowledged == "yes":
        return qs.filter(ack)
    return qs


def _breached_in(qs: QuerySet[Deadline], *, period: Period | None, team_id: int | None, rule_id: str):
    if period is not None:
        qs = qs.filter(due_at__gte=period.start_at, due_at__lt=period.end_at)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return qs


def service_breaches(
    user,
    *,
    now: datetime,
    team_id: int | None = None,
    rule_id: str = "",
    acknowledged: str = "no",
    period: Period | None = None,
) -> QuerySet[Deadline]:
    """Open clocks past their maximum across the service, newest breach first, with any acknowledgement.

    `period` keeps the clocks that breached (passed their maximum) in it; without one, every open breach.
    """
    ack = Exists(BreachAcknowledgement.objects.filter(deadline=OuterRef("pk")))
    qs = _breached_in(service_deadlines(user).breached(now), period=period, team_id=team_id, rule_id=rule_id)
    return (
        _acknowledged(qs, acknowledged)
        .annotate(is_acknowledged=ack)
        .select_related("family", "team", "assignee", "worker", "episode", "contact")
        .prefetch_related(Prefetch("acknowledgements", queryset=BreachAcknowledgement.objects.select_related("by")))
        .order_by("-due_at", "-pk")
    )


class ServiceBreaches:
    """`service_breaches` at constant cost, as a sequence the Paginator slices: its length is the
    dashboard's own count from the summary rows (`breach_summaries`: breached in the period, less
    those acknowledged, as the filter says), and a slice reads the open-clock index on the maximum
    backwards from the period's end, keeping the service's teams, so the newest breaches cost the same
    whatever the number of clocks. Rows are numbered among the service's breaches (like the counts);
    one of a family outside the user's reach is left out of its page, never shown (ADR 0050)."""

    def __init__(
        self,
        user,
        *,
        now: datetime,
        count: int,
        teams: list[Team],
        period: Period | None,
        team_id: int | None = None,
        rule_id: str = "",
        acknowledged: str = "no",
    ) -> None:
        self.user, self.now, self.count = user, now, max(0, int(count))
        self.team_ids = [t.pk for t in teams if not team_id or t.pk == team_id]
        self.period, self.rule_id, self.acknowledged = period, rule_id, acknowledged

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return _item_by_slice(self, index)
        start, stop, _ = index.indices(len(self))
        if start >= stop:
            return []
        rows = [row for row in self._read(start, stop) if row.in_scope]
        # Only acknowledged breaches have acknowledgements to show: read theirs (none, no query, for a
        # page of breaches not yet acknowledged, the dashboard's default).
        acknowledged = [row for row in rows if row.is_acknowledged]
        for row in rows:
            if not row.is_acknowledged:
                row._prefetched_objects_cache = {"acknowledgements": BreachAcknowledgement.objects.none()}
        prefetch_related_objects(
            acknowledged, Prefetch("acknowledgements", queryset=BreachAcknowledgement.objects.select_related("by"))
        )
        return rows

    def _read(self, start: int, stop: int) -> list[Deadline]:
        """The slice's rows, with `is_acknowledged` and `in_scope`, in two reads compiled once per shape
        (kit.compiled_sql, ADR 74): the slice's ids along the index of maxima (`breach_page_ids`: period or
        not, rule or not, the acknowledgement filter and the slice; planned per run, as its plan depends on
        the times), then their rows (`breach_page_rows`: the user's reach shape; a prepared read planned
        once, ADR 90: its four joins and two subqueries planned on every run were 2 ms of a 2.3 ms read at
        200,000 families). An unusual slice is read with the ORM in one query (`breach_page`)."""
        from cases.selectors import reach_shape
        from kit.compiled_sql import compiled_instances, compiled_rows

        found = reach_shape(self.user)
        shape, reach_values = found if found is not None else (None, ())
        period, rule_id = self.period, self.rule_id
        # The values in the order `ids` takes them; the shape says which are there.
        values = [self.now, self.team_ids]
        if period is not None:
            values += [period.start_at, period.end_at]
        if rule_id:
            values.append(rule_id)

        def ids(*given):
            given = list(given)
            now, team_ids = given.pop(0), given.pop(0)
            within = (given.pop(0), given.pop(0)) if period is not None else None
            rule = given.pop(0) if rule_id else ""
            return breach_page_ids(
                now=now, team_ids=team_ids, within=within, rule_id=rule, acknowledged=self.acknowledged
            )[start:stop]

        def rows(pks, *given):
            return breach_page_rows(pks, reach=(shape, tuple(given)) if shape is not None else None)

        using = router.db_for_read(Deadline)
        if stop - start > PAGE_SLICE_MAX or start >= COMPILED_SLICES_FROM_MAX:
            reach = (shape, tuple(reach_values)) if shape is not None else None
            return list(breach_page(ids(*values), reach=reach).using(using))  # an unusual slice: not worth an entry
        key = ("service breaches", period is not None, bool(rule_id), self.acknowledged, start, stop)
        pks = [row[0] for row in compiled_rows(key, ids, _breach_stand_ins(values), values, using=using)]
        if not pks:
            return []
        row_values = [pks, *reach_values]
        stand_ins = tuple(
            ([_BREACH_STAND_IN - 5000 * (k + 1), _BREACH_STAND_IN - 5000 * (k + 1) - 1], *more)
            for k, more in enumerate(_breach_stand_ins(list(reach_values), start=1))
        )
        return compiled_instances(
            ("service breach rows", shape), rows, stand_ins, row_values, using=using, prepared=True
        )


# `ServiceBreaches` compiles the slices pages ask for (a dashboard's 5 rows, a list page's 20, the
# first pages of the list); a slice beyond these is built with the ORM.
PAGE_SLICE_MAX = 50
COMPILED_SLICES_FROM_MAX = 200
_BREACH_STAND_IN = -1_710_599_370  # within a 32-bit integer field: a lookup past it matches nothing


def _breach_stand_ins(values: list, *, start: int = 0) -> tuple[tuple, tuple]:
    """Two sets of values unlike any real one (and each other), of the same kinds as `values`; sets
    made with different `start`s are unlike each other too."""
    out = []
    for k in (0, 1):
        row = []
        for i, value in enumerate(values, start=start):
            n = _BREACH_STAND_IN - 1000 * k - i
            if isinstance(value, datetime):
                row.append(datetime(1990 + i, 1 + k, 1, tzinfo=UTC))
            elif isinstance(value, date):
                row.append(date(1990 + i, 1 + k, 1))
            elif isinstance(value, list):
                row.append([n, n - 50])
            elif isinstance(value, str):
                row.append(f"stand-in rule {k} {i}")
            else:
                row.append(n)
        out.append(tuple(row))
    return out[0], out[1]


def _int_in(field: str, ids) -> Func:
    """`field = ANY(%s)` with the ids as one array parameter: the same SQL for any number of ids."""
    return Func(
        F(field),
        Value(list(ids), output_field=ArrayField(IntegerField())),
        template="(%(expressions)s))",
        arg_joiner=" = ANY(",
        output_field=BooleanField(),
    )


# For the other modules of the app (the filters' teams of a service).
int_in = _int_in


def breach_page_ids(
    *, now: datetime, team_ids: list[int], within: tuple[datetime, datetime] | None, rule_id: str, acknowledged: str
) -> QuerySet[Deadline]:
    """The teams' open breaches' ids, newest first (`ServiceBreaches`), read along the index of maxima:
    a `values_list("pk")` queryset the caller slices."""
    qs = Deadline.objects.breached(now).filter(_int_in("team_id", team_ids))
    if within is not None:
        qs = qs.filter(due_at__gte=within[0], due_at__lt=within[1])
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return _acknowledged(qs, acknowledged).order_by("-due_at", "-pk").values_list("pk")


def breach_page_rows(ids, *, reach: tuple[tuple[str, ...], tuple[int, ...]] | None) -> QuerySet[Deadline]:
    """The rows of the breaches `ids` (a list, or a subquery) newest first, with the related records,
    whether acknowledged, and whether in the reach `(shape, values)` (`cases.selectors.reach_shape`; None:
    no family). Still open: read apart from its ids (`ServiceBreaches._read`), a clock stopped in between
    is left out."""
    from cases.selectors import InIds, reach_exists, reach_q

    ack = Exists(BreachAcknowledgement.objects.filter(deadline=OuterRef("pk")))
    in_scope = Q(family__isnull=True, worker__isnull=False)
    if reach is not None:
        in_scope |= Q(reach_exists(reach_q(*reach)))
    found = (
        Deadline.objects.filter(pk__in=ids) if isinstance(ids, QuerySet) else Deadline.objects.filter(InIds("pk", ids))
    )
    return (
        found.filter(stopped_at__isnull=True)
        .annotate(is_acknowledged=ack, in_scope=Case(When(in_scope, then=Value(True)), default=Value(False)))
        .select_related("family", "team", "assignee", "worker")
        .only(*BREACH_ROW_FIELDS)
        .order_by("-due_at", "-pk")
    )


def breach_page(ids: QuerySet, *, reach: tuple[tuple[str, ...], tuple[int, ...]] | None) -> QuerySet[Deadline]:
    """One slice of the teams' open breaches in one query: `breach_page_rows` of the sliced
    `breach_page_ids` as a subquery."""
    return breach_page_rows(ids, reach=reach)


# What a breach row shows (oversight.breach_rows), and nothing else: the episode's and the contact's
# references are made from their ids, so neither is joined. Four joins of a few columns each instead of
# six of every column cut the query's planning (about 4 ms at 5,000 families) to under a millisecond (ADR 80).
_NAMES = ("first_name", "last_name", "username")
BREACH_ROW_FIELDS = (
    "rule_id", "title", "due_at", "family_id", "episode_id", "contact_id", "worker_id", "assignee_id", "team_id",
    "family__name", "team__name", *(f"assignee__{n}" for n in _NAMES), *(f"worker__{n}" for n in _NAMES),
)  # fmt: skip


def breach_count(summary: dict, acknowledged: str) -> int:
    """How many breaches `service_breaches` lists for an acknowledgement filter, from `breach_summaries`."""
    if acknowledged == "no":
        return summary["unacknowledged"]
    if acknowledged == "yes":
        return summary["breached"] - summary["unacknowledged"]
    return summary["breached"]


def _breach_counts(
    service_id: int, *, now: datetime, by: str, period: Period | None, team_id: int | None, rule_id: str
) -> list[dict]:
    ack = Exists(BreachAcknowledgement.objects.filter(deadline=OuterRef("pk")))
    qs = _breached_in(
        Deadline.objects.breached(now).filter(team__service_id=service_id),
        period=period,
        team_id=team_id,
        rule_id=rule_id,
    ).annotate(acked=ack)
    counts = {"breached": Count("pk"), "unacknowledged": Count("pk", filter=Q(acked=False))}
    if by == "rule":
        rows = qs.order_by().values("rule_id").annotate(title=Max("title"), **counts)
        return sorted(rows, key=lambda r: (-r["breached"], r["rule_id"]))
    return list(qs.order_by().values("team_id", "team__name").annotate(**counts).order_by("team__name"))


# Timeliness -------------------------------------------------------------------------------------

MET_EXPECTED = Q(stopped_at__isnull=False, expected_at__isnull=False, stopped_at__lte=F("expected_at"))
MET_MAXIMUM = Q(stopped_at__isnull=False, due_at__isnull=False, stopped_at__lte=F("due_at"))


def _missed(limit: str, now: datetime) -> Q:
    return Q(**{f"{limit}__isnull": False}) & (
        Q(stopped_at__gt=F(limit)) | Q(stopped_at__isnull=True, **{f"{limit}__lt": now})
    )


def timeliness_clocks(user, *, period: Period, team_id: int | None = None, rule_id: str = "") -> QuerySet[Deadline]:
    """Clocks started in the period in the user's service (withdrawn ones never ran to a judgement)."""
    service_id = service_id_of(user)
    if not service_id:
        return Deadline.objects.none()
    qs = Deadline.objects.filter(
        started_at__gte=period.start_at, started_at__lt=period.end_at, team__service_id=service_id
    ).exclude(stop_reason=Deadline.StopReason.WITHDRAWN)
    if user.has_role(roles.TEAM_LEADER) and not user.has_role(roles.MANAGER):
        qs = qs.filter(team_id=user.team_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    return qs


def _timeliness_aggregates(now: datetime) -> dict:
    return {
        "run": Count("pk"),
        "with_expected": Count("pk", filter=Q(expected_at__isnull=False)),
        "with_maximum": Count("pk", filter=Q(due_at__isnull=False)),
        "met_expected": Count("pk", filter=MET_EXPECTED),
        "missed_expected": Count("pk", filter=_missed("expected_at", now)),
        "met_maximum": Count("pk", filter=MET_MAXIMUM),
        "missed_maximum": Count("pk", filter=_missed("due_at", now)),
        "stopped": Count("pk", filter=Q(stopped_at__isnull=False)),
        "median": Median(F("stopped_at") - F("started_at"), filter=Q(stopped_at__isnull=False)),
    }


def _with_percentages(row: dict) -> dict:
    judged_expected = row["met_expected"] + row["missed_expected"]
    judged_maximum = row["met_maximum"] + row["missed_maximum"]
    row["judged_expected"] = judged_expected
    row["judged_maximum"] = judged_maximum
    row["pct_expected"] = percent(row["met_expected"], judged_expected)
    row["pct_maximum"] = percent(row["met_maximum"], judged_maximum)
    row["open"] = row["run"] - row["stopped"]
    return row


def timeliness_by_rule(clocks: QuerySet[Deadline], *, now: datetime) -> list[dict]:
    """For each rule: clocks run, met within the expected time and the maximum, and the median time taken.

    A clock counts towards a percentage once its outcome is known: met (stopped) or missed (stopped
    late, or still open past the limit). Clocks still running inside their limits count as run but
    are not judged yet.
    """
    rows = (
        clocks.order_by()
        .values("rule_id")
        .annotate(title=Max("title"), **_timeliness_aggregates(now))
        .order_by("rule_id")
    )
    order = {rule_id: i for i, (rule_id, _) in enumerate(rule_choices())}
    return sorted(
        (_with_percentages(dict(r)) for r in rows), key=lambda r: (order.get(r["rule_id"], 999), r["rule_id"])
    )


def timeliness_by_team(clocks: QuerySet[Deadline], *, now: datetime) -> list[dict]:
    rows = (
        clocks.order_by().values("team_id", "team__name").annotate(**_timeliness_aggregates(now)).order_by("team__name")
    )
    return [_with_percentages(dict(r)) for r in rows]


def timeliness_by_month(clocks: QuerySet[Deadline], *, now: datetime, period: Period) -> list[dict]:
    """One row per local month of the period (months with no clocks included, as zeros)."""
    rows = {
        r["month"].date() if isinstance(r["month"], datetime) else r["month"]: _with_percentages(dict(r))
        for r in clocks.order_by()
        .annotate(month=TruncMonth("started_at", tzinfo=LONDON))
        .values("month")
        .annotate(**_timeliness_aggregates(now))
        .order_by("month")
    }
    out = []
    for month in period.months():
        row = rows.get(month)
        if row is None:
            row = _with_percentages(
                {k: 0 for k in _timeliness_aggregates(now) if k != "median"} | {"median": None, "month": month}
            )
        row["month"] = month
        out.append(row)
    return out


def trend(months: list[dict]) -> dict | None:
    """The change in percent met within the maximum from the first to the last judged month."""
    judged = [m for m in months if m["pct_maximum"] is not None]
    if len(judged) < 2:
        return None
    first, last = judged[0], judged[-1]
    change = round(last["pct_maximum"] - first["pct_maximum"], 1)
    return {
        "first": first,
        "last": last,
        "change": change,
        "direction": "up" if change > 0 else "down" if change < 0 else "level",
    }


# Caseloads and contacts -------------------------------------------------------------------------

CASELOAD_BANDS = (
    ("under_half", "Under half of capacity"),
    ("half", "Half to 79% of capacity"),
    ("near", "80% to 99% of capacity"),
    ("at", "At capacity"),
    ("over", "Over capacity"),
)


def caseload_band(caseload: int, capacity: int) -> str:
    if capacity <= 0:
        return "over" if caseload else "at"
    ratio = caseload / capacity
    if caseload > capacity:
        return "over"
    if caseload == capacity:
        return "at"
    if ratio >= 0.8:
        return "near"
    if ratio >= 0.5:
        return "half"
    return "under_half"


def caseload_distribution(practitioners: list[User]) -> dict:
    """How many practitioners sit in each band of caseload against capacity, overall and by team.

    The rows are staff (a few hundred at most), already aggregated in SQL by `caseloads`.
    """
    bands = dict.fromkeys(dict(CASELOAD_BANDS), 0)
    teams: dict[int, dict] = {}
    for p in practitioners:
        band = caseload_band(p.caseload, p.capacity)
        p.band = band
        bands[band] += 1
        t = teams.setdefault(p.team_id, {"team": p.team, "practitioners": 0, "caseload": 0, "capacity": 0, "over": 0})
        t["practitioners"] += 1
        t["caseload"] += p.caseload
        t["capacity"] += p.capacity
        t["over"] += band == "over"
    for t in teams.values():
        t["pct"] = percent(t["caseload"], t["capacity"])
    total = sum(bands.values())
    return {
        "bands": [
            {"key": k, "label": label, "count": bands[k], "pct": percent(bands[k], total)}
            for k, label in CASELOAD_BANDS
        ],
        "teams": list(teams.values()),
        "total": total,
    }


def team_caseloads(teams: list[Team]) -> dict[int, dict]:
    """`caseload_distribution(caseloads_of_teams(...))["teams"]` keyed by team id, summed in SQL: per
    team of `teams` with an active practitioner, its practitioners, their open cases and capacity, how
    many are over capacity (`caseload_band`'s "over") and the percentage. One row per team, whatever the
    number of staff (the by-team page, ADR 80): no instance per practitioner, no last supervision."""
    from kit.compiled_sql import compiled_rows

    if not teams:
        return {}
    capacity = capacity_expression()
    open_cases = Caseload.objects.filter(lead_professional_id=OuterRef("pk")).values("open_cases")[:1]
    caseload = Coalesce(Subquery(open_cases, output_field=IntegerField()), 0)
    over = Q(capacity__lte=0, caseload__gt=0) | Q(capacity__gt=0, caseload__gt=F("capacity"))

    def build(team_ids):
        return (
            User.objects.filter(
                _int_in("team_id", team_ids),
                is_active=True,
                groups__name=roles.PRACTITIONER,
                partner_organisation__isnull=True,
            )
            .annotate(caseload=caseload, capacity=capacity)
            .order_by()
            .values_list("team_id")
            .annotate(
                practitioners=Count("pk"),
                open_cases=Sum("caseload"),
                capacity_total=Sum("capacity"),
                over=Count("pk", filter=over),
            )
        )

    names = {t.pk: t for t in teams}
    values = ([t.pk for t in teams],)
    using = router.db_for_read(User)
    rows = compiled_rows(("team caseloads",), build, _breach_stand_ins(list(values)), values, using=using)
    out = {}
    for team_id, practitioners, cases, capacity_total, over_n in rows:
        out[team_id] = {
            "team": names[team_id],
            "practitioners": practitioners,
            "caseload": int(cases or 0),
            "capacity": int(capacity_total or 0),
            "over": over_n,
            "pct": percent(int(cases or 0), int(capacity_total or 0)),
        }
    return out


def caseload_band_counts(*, service_id: int | None, team_id: int | None = None) -> dict:
    """How many practitioners of the service (or of one team) sit in each band of caseload, from the
    maintained counts (`cases.CaseloadBand`, ADR 68): five rows at most, whatever the number of staff.
    The figures of `caseload_distribution` ("bands", "total"), without "teams"."""
    found = dict(
        CaseloadBand.objects.filter(service_id=service_id or 0, team_id=team_id or 0).values_list(
            "band", "practitioners"
        )
    )
    bands = {k: max(0, found.get(k, 0)) for k, _ in CASELOAD_BANDS}
    total = sum(bands.values())
    return {
        "bands": [
            {"key": k, "label": label, "count": bands[k], "pct": percent(bands[k], total)}
            for k, label in CASELOAD_BANDS
        ],
        "total": total,
    }


class CaseloadRows(CountedRows):
    """The practitioners of `caseloads` in its order, their number known (`caseload_band_counts`): a
    page's ids are read first (the practitioners and their teams, sorted, nothing per row), then the
    page's 20 rows with their caseload row and last supervision; one query, its SQL compiled once per
    number of teams and slice (kit.compiled_sql, ADR 74)."""

    def __init__(self, *, team_ids, count: int) -> None:
        self.team_ids, self.count_ = list(team_ids), max(0, int(count))

    @property
    def rows(self) -> QuerySet[User]:
        return caseloads(team_ids=self.team_ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return _item_by_slice(self, index)

        def build(*team_ids):
            ids = (
                User.objects.filter(
                    team_id__in=team_ids,
                    is_active=True,
                    groups__name=roles.PRACTITIONER,
                    partner_organisation__isnull=True,
                )
                .order_by("team__name", "first_name", "last_name", "username", "pk")
                .values("pk")[index]
            )
            return caseloads(team_ids=team_ids).filter(pk__in=ids)

        start, stop = index.start or 0, index.stop
        if stop is not None and index.step is None and 0 <= stop <= start:
            return []  # an empty slice (the first page of a team with no practitioners): nothing to read
        plain = index.step is None and stop is not None and stop - start <= PAGE_SLICE_MAX
        if not self.team_ids or not plain or start >= COMPILED_SLICES_FROM_MAX:
            return list(build(*self.team_ids))  # none (no query), or an unusual slice: the ORM
        return _teams_compiled(("caseload rows", start, stop), build, self.team_ids, using=router.db_for_read(User))


def caseloads_of_teams(team_ids: list[int]) -> list[User]:
    """`list(caseloads(team_ids=team_ids))`, its SQL compiled once per number of teams (ADR 74)."""
    if not team_ids:
        return []

    def build(*team_ids):
        return caseloads(team_ids=team_ids)

    return _teams_compiled(("caseloads",), build, list(team_ids), using=router.db_for_read(User))


def _teams_compiled(key: tuple, build, team_ids: list[int], *, using: str) -> list:
    """`list(build(*team_ids))` with `compiled_instances`: one parameter per team (`team_id__in`), so
    the SQL is kept per number of teams (a service's, a page's 20)."""
    from kit.compiled_sql import compiled_instances

    stand_ins = tuple(tuple(_BREACH_STAND_IN - 3000 - 1000 * k - i for i in range(len(team_ids))) for k in (0, 1))
    return compiled_instances((*key, len(team_ids)), build, stand_ins, tuple(team_ids), using=using)


DECISIONS = tuple(Contact.Decision.choices)


def contacts_by_week(user, *, period: Period) -> list[dict]:
    """Contacts received each local week (Monday start) and what was decided about them.

    An index range over the contacts received in the period (history, not work to act on): kept
    for OVERSIGHT_AGGREGATE_CACHE_SECONDS with stampede protection (`single_flight`), so when it
    expires under load one request recounts and the others wait for it, not all of them at once.
    """
    seconds = settings.OVERSIGHT_AGGREGATE_CACHE_SECONDS
    if not seconds:
        return _contacts_by_week(user, period=period)
    key = f"oversight:contacts-by-week:{user.pk}:{period.start_at:%Y%m%d}:{period.end_at:%Y%m%d}"
    return single_flight(key, seconds, lambda: _contacts_by_week(user, period=period))


def single_flight(key: str, seconds: int, compute, *, wait: float = 10.0, poll: float = 0.05):
    """`cache.get(key)`, else compute it once: the first caller takes a lock (`cache.add`) and
    computes; the others wait for its value (up to `wait` seconds, then compute it themselves)."""
    import time

    found = cache.get(key)
    if found is not None:
        return found
    lock = f"{key}:lock"
    if cache.add(lock, 1, timeout=int(wait) + 1):
        try:
            value = compute()
            cache.set(key, value, seconds)
            return value
        finally:
            cache.delete(lock)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(poll)
        found = cache.get(key)
        if found is not None:
            return found
    return compute()


def _contacts_by_week(user, *, period: Period) -> list[dict]:
    rows = (
        contacts_visible_to(user)
        .filter(received_at__gte=period.start_at, received_at__lt=period.end_at)
        .annotate(week=TruncWeek("received_at", tzinfo=LONDON))
        .order_by()
        .values("week")
        .annotate(
            received=Count("pk"),
            undecided=Count("pk", filter=Q(decision="")),
            **{f"d_{value}": Count("pk", filter=Q(decision=value)) for value, _ in DECISIONS},
        )
        .order_by("week")
    )
    out = []
    for r in rows:
        week = r["week"].date() if isinstance(r["week"], datetime) else r["week"]
        out.append(
            {
                "week": week,
                "received": r["received"],
                "undecided": r["undecided"],
                "decisions": [r[f"d_{value}"] for value, _ in DECISIONS],
            }
        )
    return out


# --- Outcomes ------------------------------------------------------------------------------------

NEED_LEVELS = tuple(NeedLevel.choices)
RATINGS = ReviewProgress.Rating


def _report_episodes(user, *, team_id: int | None) -> QuerySet[Episode]:
    qs = episodes_visible_to(user)
    if user.has_role(roles.TEAM_LEADER) and not user.has_role(roles.MANAGER):
        qs = qs.filter(team_id=user.team_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    return qs


def outcomes_at_assessment(user, *, period: Period, team_id: int | None = None) -> list[dict]:
    """Families by need level in each headline outcome area, for assessments completed in the period."""
    episodes = _report_episodes(user, team_id=team_id).filter(
        assessment__completed_at__gte=period.start_at, assessment__completed_at__lt=period.end_at
    )
    rows = {
        r["area"]: r
        for r in AssessmentNeed.objects.filter(assessment__episode__in=episodes.values("pk"))
        .order_by()
        .values("area")
        .annotate(
            families=Count("assessment__episode__family", distinct=True),
            **{
                f"level_{level}": Count("assessment__episode__family", distinct=True, filter=Q(level=level))
                for level, _ in NEED_LEVELS
            },
        )
    }
    out = []
    for area, label in OutcomeArea.choices:
        r = rows.get(area, {})
        out.append(
            {
                "area": area,
                "label": label,
                "levels": [r.get(f"level_{level}", 0) for level, _ in NEED_LEVELS],
                "with_need": r.get(f"level_{NeedLevel.SOME_NEED}", 0) + r.get(f"level_{NeedLevel.SIGNIFICANT_NEED}", 0),
                "families": r.get("families", 0),
            }
        )
    return out


def outcomes_at_closure(user, *, period: Period, team_id: int | None = None) -> dict:
    """For episodes closed in the period: in each outcome area, families with a need at assessment and
    how their plan's outcomes in that area ended (the rating at the latest review), and closure reasons.
    """
    closed = _report_episodes(user, team_id=team_id).filter(closed_at__gte=period.start_at, closed_at__lt=period.end_at)
    closed_ids = closed.values("pk")
    need_rows = {
        r["area"]: r["n"]
        for r in AssessmentNeed.objects.filter(
            assessment__episode__in=closed_ids, level__in=[NeedLevel.SOME_NEED, NeedLevel.SIGNIFICANT_NEED]
        )
        .order_by()
        .values("area")
        .annotate(n=Count("assessment__episode__family", distinct=True))
    }
    latest = ReviewProgress.objects.filter(outcome=OuterRef("pk")).order_by("-review__recorded_at", "-pk")
    family = "plan__episode__family"
    outcome_rows = {
        r["area"]: r
        for r in PlanOutcome.objects.filter(plan__episode__in=closed_ids)
        .exclude(area="")
        .annotate(latest_rating=Subquery(latest.values("rating")[:1]))
        .order_by()
        .values("area")
        .annotate(
            with_outcome=Count(family, distinct=True),
            achieved=Count(family, distinct=True, filter=Q(latest_rating=RATINGS.ACHIEVED)),
            progress=Count(family, distinct=True, filter=Q(latest_rating__in=[RATINGS.SOME, RATINGS.GOOD])),
            no_change=Count(family, distinct=True, filter=Q(latest_rating__in=[RATINGS.WORSE, RATINGS.NO_CHANGE])),
            not_reviewed=Count(family, distinct=True, filter=Q(latest_rating__isnull=True)),
        )
    }
    areas = []
    for area, label in OutcomeArea.choices:
        r = outcome_rows.get(area, {})
        areas.append(
            {
                "area": area,
                "label": label,
                "need_at_assessment": need_rows.get(area, 0),
                "with_outcome": r.get("with_outcome", 0),
                "achieved": r.get("achieved", 0),
                "progress": r.get("progress", 0),
                "no_change": r.get("no_change", 0),
                "not_reviewed": r.get("not_reviewed", 0),
                "pct_achieved": percent(r.get("achieved", 0), r.get("with_outcome", 0)),
            }
        )
    reasons = dict(closed.order_by().values_list("closure_reason").annotate(n=Count("pk")))
    return {
        "areas": areas,
        "reasons": [{"reason": v, "label": label, "count": reasons.get(v, 0)} for v, label in ClosureReason.choices],
        "closed": sum(reasons.values()),
    }


# --- My work -------------------------------------------------------------------------------------


@dataclass(slots=True)
class WorkItem:
    """A line of My work, read as values (ADR 58): a case with its most urgent open clock, or a supervision
    task (with its case, when it is about one)."""

    due: datetime | None
    kind: str  # "case" or "task"
    episode_pk: int | None = None
    family_id: int | None = None
    family_name: str = ""
    state: str = ""
    rule: str = ""
    title: str = ""
    maximum: datetime | None = None
    deadline_pk: int | None = None
    task_pk: int | None = None
    text: str = ""
    set_by: str = ""
    held_on: date | None = None
    due_on: date | None = None

    @property
    def reference(self) -> str:
        return Episode.reference_of(self.episode_pk) if self.episode_pk else ""


def my_open_cases(user) -> QuerySet[Episode]:
    """The user's open cases, each with its most urgent open clock (one query)."""
    return with_next_task(episodes_led_by(user).exclude(state=S.CLOSED)).order_by(
        F("next_task_due").asc(nulls_last=True), "opened_at", "pk"
    )


def my_tasks(user, *, include_done: bool = False) -> QuerySet[SupervisionAction]:
    visible = family_visible_exists(user, "episode__family_id")
    qs = SupervisionAction.objects.filter(assignee=user).filter(
        Q(episode__isnull=True) | (Q(visible) if visible is not None else Q(pk__in=[]))
    )
    if not include_done:
        qs = qs.filter(done_at__isnull=True)
    return qs.order_by("due_on", "pk")


def full_name(first: str, last: str, username: str) -> str:
    """`str(user)` from its columns: the full name, else the username."""
    return f"{first} {last}".strip() or username


def _my_task_values(user) -> QuerySet:
    return my_tasks(user).values_list(
        "pk",
        "text",
        "due_on",
        "episode_id",
        "episode__family_id",
        "episode__family__name",
        "supervision__held_on",
        "supervision__supervisor__first_name",
        "supervision__supervisor__last_name",
        "supervision__supervisor__username",
    )


def my_work_items(user, *, limit: int = 200) -> list[WorkItem]:
    """My cases (by their next timescale) and my supervision tasks (by due date), in one due-order list:
    two queries of values, no model instance."""
    # The columns my cases reads (workflows.list_rows); both reads compiled once per user shape (ADR 75).
    cases = user_rows(f"my work: cases {limit}", user, lambda u: my_open_cases(u).values_list(*CASE_COLUMNS)[:limit])
    items = [
        WorkItem(
            due=due,
            kind="case",
            episode_pk=pk,
            family_id=family_id,
            family_name=family_name,
            state=state,
            rule=rule or "",
            title=title or "",
            maximum=maximum,
            deadline_pk=deadline_pk,
        )
        for pk, family_id, family_name, state, title, rule, deadline_pk, due, maximum in cases
    ]
    tasks = user_rows(f"my work: tasks {limit}", user, lambda u: _my_task_values(u)[:limit])
    for pk, text, due_on, episode_pk, family_id, family_name, held_on, first, last, username in tasks:
        items.append(
            WorkItem(
                due=local_midnight(due_on + timedelta(days=1)) - timedelta(seconds=1),
                kind="task",
                episode_pk=episode_pk,
                family_id=family_id,
                family_name=family_name or "",
                task_pk=pk,
                text=text,
                set_by=full_name(first, last, username),
                held_on=held_on,
                due_on=due_on,
            )
        )
    far = datetime.max.replace(tzinfo=LONDON)
    items.sort(key=lambda i: (i.due or far, i.kind))
    return items


# How far ahead "My work" shows the visits a practitioner has planned.
PLANNED_VISITS_AHEAD = timedelta(days=7)


def _pending_visits(user) -> QuerySet[PlannedVisit]:
    return (
        PlannedVisit.objects.filter(note__isnull=True, cancelled_at__isnull=True)
        .filter(episode__in=episodes_visible_to(user).values("pk"))
        .exclude(episode__state=S.CLOSED)
        .select_related("episode__family", "visitor")
        .order_by("planned_at", "pk")
    )


def my_planned_visits(user, *, now: datetime, limit: int = 50) -> list[PlannedVisit]:
    """The user's planned visits still to be recorded: those whose time has passed, and the coming week's.
    Their own visits, so scope is checked per visit (`visible_per_row`), not by reading the team's reach."""

    def build(user, until) -> QuerySet[PlannedVisit]:
        mine = PlannedVisit.objects.filter(
            visitor=user, note__isnull=True, cancelled_at__isnull=True, planned_at__lte=until
        )
        return (
            visible_per_row(mine, user, "episode__family_id")
            .exclude(episode__state=S.CLOSED)
            .select_related("episode__family", "visitor")
            .order_by("planned_at", "pk")[:limit]
        )

    # Compiled once per user shape (ADR 75).
    return user_instances(f"my planned visits {limit}", user, build, (now + PLANNED_VISITS_AHEAD,), _TIME_STAND_INS)


# Two instants no read is run with, for compiling reads that take a time once (ADR 75).
_TIME_STAND_INS = ((datetime(1990, 1, 1, tzinfo=UTC),), (datetime(1990, 2, 1, tzinfo=UTC),))


def board_unrecorded_visits(
    user, *, team: Team, now: datetime, practitioner_id: int | None = None
) -> QuerySet[PlannedVisit]:
    """The team's planned visits whose time has passed and that nobody has recorded yet (B18)."""
    qs = _pending_visits(user).filter(episode__team=team, planned_at__lte=now)
    if practitioner_id:
        qs = qs.filter(visitor_id=practitioner_id)
    return qs


def my_alerts(user, *, limit: int = 5) -> list[Alert]:
    def build(user) -> QuerySet[Alert]:
        return (
            Alert.objects.filter(recipient=user, read_at__isnull=True)
            .select_related("deadline", "contact")
            .order_by("-created_at", "-id")[:limit]
        )

    return user_instances(f"my alerts {limit}", user, build)  # compiled once per user shape (ADR 75)


# --- Managers Decisions on a case ----------------------------------------------------------------


def decisions_for_episode(episode: Episode, *, limit: int = 20) -> list[ManagersDecision]:
    return list(
        ManagersDecision.objects.filter(episode=episode).select_related("recorded_by").order_by("-recorded_at")[:limit]
    )


def decision_choices(episode: Episode) -> list[tuple[str, str]]:
    """The records of an episode a decision can be linked to, as "kind:pk" choices (bounded)."""
    out: list[tuple[str, str]] = []
    for a in Assessment.objects.filter(episode=episode):
        state = f"completed {timezone.localtime(a.completed_at):%-d %b %Y}" if a.completed_at else "in progress"
        out.append((f"assessment:{a.pk}", f"Assessment ({state})"))
    for p in Plan.objects.filter(episode=episode):
        out.append((f"plan:{p.pk}", f"Plan (made {timezone.localtime(p.created_at):%-d %b %Y})"))
    for r in Review.objects.filter(episode=episode).order_by("-recorded_at")[:10]:
        out.append((f"review:{r.pk}", f"Review recorded {timezone.localtime(r.recorded_at):%-d %b %Y}"))
    for c in ClosureRequest.objects.filter(episode=episode).order_by("-requested_at")[:5]:
        out.append(
            (
                f"closure:{c.pk}",
                f"Closure request of {timezone.localtime(c.requested_at):%-d %b %Y} ({c.get_status_display().lower()})",
            )
        )
    for s in StepUp.objects.filter(episode=episode).order_by("-proposed_at")[:5]:
        out.append((f"step_up:{s.pk}", f"Step-up proposed {timezone.localtime(s.proposed_at):%-d %b %Y}"))
    for n in CaseNote.objects.filter(episode=episode, kind=CaseNote.Kind.CASE_DISCUSSION).order_by("-happened_at")[:10]:
        out.append((f"case_discussion:{n.pk}", f"Case discussion on {timezone.localtime(n.happened_at):%-d %b %Y}"))
    return out


def decision_chronology(family) -> QuerySet:
    """Managers Decisions as a branch of the family chronology (registered from OversightConfig.ready)."""
    label = Case(
        *[When(oversees=v, then=Value(str(lbl))) for v, lbl in ManagersDecision.Oversees.choices],
        default=F("oversees"),
        output_field=TextField(),
    )
    return chronology_rows(
        ManagersDecision.objects.filter(family=family),
        at="recorded_at",
        kind=Concat(Value("Managers Decision: "), label, output_field=TextField()),
        text=Concat(F("decision"), Value(" Rationale: "), F("rationale"), output_field=TextField()),
        by="recorded_by_id",
    )


# --- Ofsted Annex A ------------------------------------------------------------------------------


def annex_a_period(as_at: date) -> Period:
    """The six months before the chosen date: from the same day six months earlier, to the day before it."""
    return Period(add_months(as_at, -6), as_at - timedelta(days=1))


def child_id(person_id: int) -> str:
    return f"P{person_id:07d}"


def age_on(dob: date | None, expected: date | None, day: date) -> int | None:
    """Whole years on a day; -1 for an unborn child (the Annex A convention)."""
    if dob is None:
        return -1 if expected else None
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


_registered = False


def register() -> None:
    """Called once from OversightConfig.ready()."""
    global _registered
    if not _registered:
        register_chronology_source(decision_chronology)
        _registered = True
