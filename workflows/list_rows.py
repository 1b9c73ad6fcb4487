"""The rows of the practitioner's and the front door's lists, read as values and written once in Python.

My cases, the pre-allocation list and the triage queue (and My work, in `oversight/my_work.py`) read
their rows with `values_list()`: no model instance and no `select_related` object per row. Each row's
display values (the state's name, the due time with its tag, the next task's link, the time left) are
computed once here by plain functions, and the templates print them inline: no include, inclusion tag
or URL reversal per row (ADR 58). Every row carries its `family_id`, so the page logs one view of each
family it listed (`log_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db import router
from django.db.models import BooleanField, Count, F, Func, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.utils.safestring import SafeString

from accounts.models import Team
from cases.access import log_shown
from cases.models import CaseNote, Contact, Episode, Person
from cases.selectors import episodes_led_by, visible_per_row
from cases.selectors import triage_queue as triage_contacts
from deadlines.models import Deadline
from kit.compiled_sql import compiled_rows
from kit.dates import long_date, long_datetime
from kit.links import href_for
from kit.markup import escaped, format_html
from kit.templatetags.ui import deadline_link_markup, due_markup, govuk_tag
from workflows.compiled_reads import user_rows
from workflows.episode_selectors import with_next_task
from workflows.presenters import deadline_words, status_at

S = Episode.State
STATE_NAMES = dict(S.choices)
ORIGIN_NAMES = dict(Episode.Origin.choices)
CONTACT_STATE_NAMES = dict(Contact.State.choices)
ROUTE_NAMES = dict(Contact.Route.choices)
NO_TIMESCALE = "No timescale running"
PER_PAGE = 50


def choice_name(names: dict, value: str) -> str:
    """A choice's label as `get_FOO_display()` gives it: the stored value itself when it has none."""
    return str(names.get(value, value))


def log_rows(request, rows, *, what: str) -> None:
    """One access-log row per family the list showed (what `render_logged` finds in model instances)."""
    log_shown(request, [(family_id, None) for family_id in dict.fromkeys(r.family_id for r in rows)], what=what)


def page_then_rows(
    listed: QuerySet, read: Callable[[QuerySet], QuerySet], columns: tuple[str, ...], page_number
) -> Page:
    """A page of `listed` (the list's filter, scope and order) whose rows are `columns` of
    `read(model's rows)` (the columns' annotations and the same order) for that page's ids only.

    The ids are chosen by a subquery with the page's LIMIT and OFFSET that computes nothing but the
    order's own key; the row's other columns (the children's names, the next task, the last duty
    contact: subqueries each) are computed in the outer query for the page's rows alone. With the
    columns in the paginated query itself, PostgreSQL computes them above the sort for every row the
    OFFSET skips, so page 5 paid for 250 rows' subqueries (ADR 0069). Two queries, a count and the
    page, at any page number; the scope is checked in the first, as before."""
    page = Paginator(listed.values_list("pk", flat=True), PER_PAGE).get_page(page_number)
    rows = read(listed.model.objects.filter(pk__in=page.object_list))
    page.object_list = list(rows.values_list(*columns))
    return page


class _Counted:
    """What `Paginator` asks of a list whose length is known already: its count, and a page's bounds
    (slicing it gives the slice itself, which `compiled_page` turns into a LIMIT and an OFFSET)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def count(self) -> int:
        return self.n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, bounds: slice) -> slice:
        return bounds


class _PkInPage(Func):
    """`pk IN (<ids' statement> LIMIT %s OFFSET %s)`: the SQL of `pk__in=ids[offset:offset + limit]`
    (the page's ids chosen by the list's own order, `page_then_rows`) with the limit and offset as
    parameters, so that one SQL text serves every page. The ids' queryset is compiled as a statement
    of its own, which keeps its ORDER BY (as a sliced subquery keeps it)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, ids: QuerySet, limit: int, offset: int) -> None:
        super().__init__(F("pk"))
        self.ids, self.limit, self.offset = ids, limit, offset

    def as_sql(self, compiler, connection, **extra_context):
        pk_sql, params = compiler.compile(self.source_expressions[0])
        ids_sql, ids_params = self.ids.query.get_compiler(connection=connection).as_sql()
        return f"({pk_sql} IN ({ids_sql} LIMIT %s OFFSET %s))", [*params, *ids_params, self.limit, self.offset]


# Two limits and offsets no page has, for compiling a page's read once (`compiled_page`).
_PAGE_STAND_INS = ((-2_105_993_901, -2_105_993_902), (-2_105_993_911, -2_105_993_912))


def compiled_page(
    key: str,
    user,
    listed: Callable[..., QuerySet],
    read: Callable[[QuerySet], QuerySet],
    columns: tuple[str, ...],
    page_number,
    extra: Sequence = (),
    extra_stand_ins: tuple[Sequence, Sequence] = ((), ()),
) -> Page:
    """`page_then_rows(listed(user, *extra), read, columns, page_number)` with both of its queries (the
    count, and the page's rows) compiled once per user shape and key (`workflows.compiled_reads`, ADR 75)
    and run with the user's ids, `extra` and the page's limit and offset (ADR 81): building and compiling
    the list's scope, order and columns was most of the triage queue's and the pre-allocation list's
    Python. The same two statements as `page_then_rows` but for where the limit and offset are written,
    the same pages (`Paginator.get_page`: a page number that is not a number is page 1, one past the end
    the last page), and no rows query for an empty list (as `page_then_rows`)."""

    def count(user, *values) -> QuerySet:
        return listed(user, *values).order_by().values(_all=Value(1)).annotate(n=Count("pk")).values_list("n")

    found = user_rows(f"{key}: count", user, count, extra, extra_stand_ins)
    page = Paginator(_Counted(found[0][0] if found else 0), PER_PAGE).get_page(page_number)
    bounds = page.object_list
    limit, offset = bounds.stop - bounds.start, bounds.start
    if limit <= 0:
        page.object_list = []
        return page

    def rows(user, *values) -> QuerySet:
        *values, limit, offset = values
        ids = listed(user, *values)
        return read(ids.model.objects.filter(_PkInPage(ids.values("pk"), limit, offset))).values_list(*columns)

    stand_ins = tuple((*extra_stand_ins[k], *_PAGE_STAND_INS[k]) for k in (0, 1))
    page.object_list = user_rows(f"{key}: page", user, rows, (*extra, limit, offset), stand_ins)
    return page


def due_cell(due: datetime | None, maximum: datetime | None, now: datetime) -> str:
    """`{% deadline_due due maximum now %}`: the due time, "Breached" or "Overdue" once late; – if none."""
    if not due:
        return "–"
    return due_markup(long_datetime(due), due, maximum, now)


# --- My cases ------------------------------------------------------------------------------------


@dataclass(slots=True)
class CaseRow:
    pk: int
    family_id: int
    family_name: str
    href: str
    state: str
    next_task: str  # markup: the next clock linked to why it is due, or the words for none
    due: str  # markup

    @property
    def reference(self) -> str:
        return Episode.reference_of(self.pk)


CASE_COLUMNS = (
    "pk",
    "family_id",
    "family__name",
    "state",
    "next_task",
    "next_task_rule",
    "next_task_pk",
    "next_task_due",
    "next_task_maximum",
)


def case_rows(values, *, now: datetime) -> list[CaseRow]:
    """Rows of `CASE_COLUMNS` (an episode and its most urgent open clock) as my cases and my work show them."""
    episode_href, clock_href = href_for("episodes:episode_detail"), href_for("deadlines:clock_explain")
    return [
        CaseRow(
            pk=pk,
            family_id=family_id,
            family_name=family_name,
            href=episode_href(pk),
            state=choice_name(STATE_NAMES, state),
            next_task=deadline_link_markup(clock_href(clock_pk), rule, title) if title else NO_TIMESCALE,
            due=due_cell(due, maximum, now),
        )
        for pk, family_id, family_name, state, title, rule, clock_pk, due, maximum in values
    ]


def my_cases(user, *, now: datetime) -> list[CaseRow]:
    """The practitioner's open episodes, the most urgent next task first (one query, compiled once per
    user shape: ADR 75)."""
    return case_rows(user_rows("my cases", user, my_case_values), now=now)


def my_case_values(user) -> QuerySet:
    qs = with_next_task(episodes_led_by(user).exclude(state=S.CLOSED))
    ordered = qs.order_by(Coalesce("next_task_due", "opened_at").asc(nulls_last=True), "pk")
    return ordered.values_list(*CASE_COLUMNS)


# --- The pre-allocation list ---------------------------------------------------------------------


@dataclass(slots=True)
class WaitingRow:
    pk: int
    family_id: int
    family_name: str
    href: str
    origin: str
    team: str
    opened_at: str
    last_duty_contact: str
    next_task: str  # markup
    allocate_href: str
    duty_contact_href: str

    @property
    def reference(self) -> str:
        return Episode.reference_of(self.pk)


def _last_duty_contact():
    notes = CaseNote.objects.filter(episode=OuterRef("pk"), kind=CaseNote.Kind.DUTY_CONTACT)
    return Subquery(notes.order_by("-happened_at").values("happened_at")[:1])


def _waiting_next_task(clock_pk, rule, title, due, *, now, clock_href) -> str:
    if not title:
        return "–"
    late = SafeString(' <strong class="govuk-tag govuk-tag--red">Late</strong>') if due < now else ""
    return format_html(
        '<a class="govuk-link" href="{}">{}: {}</a>, due {}{}',
        clock_href(clock_pk),
        rule,
        title,
        long_datetime(due),
        late,
    )


def _waiting(user, *team_id) -> QuerySet[Episode]:
    """The pre-allocation list's episodes in its order (of one team if `team_id` is given), scope checked per row."""
    qs = visible_per_row(Episode.objects.filter(state=S.AWAITING_ALLOCATION), user)
    if team_id:
        qs = qs.filter(team_id=team_id[0])
    return qs.order_by("opened_at", "pk")


def _waiting_read(rows: QuerySet[Episode]) -> QuerySet[Episode]:
    return with_next_task(rows.annotate(last_duty_contact=_last_duty_contact())).order_by("opened_at", "pk")


WAITING_COLUMNS = (
    "pk",
    "family_id",
    "family__name",
    "origin",
    "team__name",
    "opened_at",
    "last_duty_contact",
    "next_task",
    "next_task_rule",
    "next_task_pk",
    "next_task_due",
)


def pre_allocation(user, *, team_id: int | None, page_number, now: datetime) -> Page:
    """The families awaiting allocation, longest waiting first, with their last duty contact; a page of
    `PER_PAGE` rows (a count and a page: two queries whatever the length of the list, compiled once per
    user shape: `compiled_page`)."""
    extra = (team_id,) if team_id is not None else ()
    page = compiled_page(
        f"pre-allocation list {bool(extra)}",
        user,
        _waiting,
        _waiting_read,
        WAITING_COLUMNS,
        page_number,
        extra,
        tuple((s,) for s in _ID_STAND_INS) if extra else ((), ()),
    )
    page.object_list = waiting_rows(page.object_list, now=now)
    return page


def pre_allocation_orm(user, *, team_id: int | None, page_number, now: datetime) -> Page:
    """`pre_allocation` read with the ORM (`page_then_rows`): the reference its compiled reads are tested against."""
    listed = _waiting(user, *((team_id,) if team_id is not None else ()))
    page = page_then_rows(listed, _waiting_read, WAITING_COLUMNS, page_number)
    page.object_list = waiting_rows(page.object_list, now=now)
    return page


def waiting_rows(values, *, now: datetime) -> list[WaitingRow]:
    """Rows of `WAITING_COLUMNS` as the pre-allocation list shows them."""
    episode_href, clock_href = href_for("episodes:episode_detail"), href_for("deadlines:clock_explain")
    allocate_href, note_href = href_for("episodes:allocate"), href_for("episodes:note_new")
    return [
        WaitingRow(
            pk=pk,
            family_id=family_id,
            family_name=family_name,
            href=episode_href(pk),
            origin=choice_name(ORIGIN_NAMES, origin),
            team=team or "",
            opened_at=long_datetime(opened_at),
            last_duty_contact=long_date(last_contact) if last_contact else "None yet",
            next_task=_waiting_next_task(clock_pk, rule, title, due, now=now, clock_href=clock_href),
            allocate_href=allocate_href(pk),
            duty_contact_href=f"{note_href(pk)}?kind=duty_contact",
        )
        for pk, family_id, family_name, origin, team, opened_at, last_contact, title, rule, clock_pk, due in values
    ]


# Two ids no row has (a team chosen by a filter), for compiling a list's reads once.
_ID_STAND_INS = (-2_105_993_921, -2_105_993_931)


# --- The triage queue ----------------------------------------------------------------------------


@dataclass(slots=True)
class ContactRow:
    pk: int
    family_id: int
    family_name: str
    href: str
    route: str
    state: str
    with_duty_manager: bool  # a re-referral after a step-up, not yet reviewed
    children: str
    referrer_name: str
    referrer_agency: str
    received_at: str
    time_left: str  # markup
    next_due_rule: str

    @property
    def reference(self) -> str:
        return Contact.reference_of(self.pk)


def _subject_names() -> ArraySubquery:
    """The names of the children the contact is about, eldest first (by date of birth), in the row's query."""
    return ArraySubquery(
        Person.objects.filter(contacts=OuterRef("pk"))
        .order_by("date_of_birth", "pk")
        .values(name=Concat("first_name", Value(" "), "last_name"))
    )


def time_left(due_at: datetime | None, now: datetime) -> str:
    """`{% next_due_words due_at now %}`: how soon the contact's most urgent clock is due, as a tag."""
    if not due_at:
        return ""
    words = deadline_words(status_at(due_at=due_at, now=now), due_at=due_at, now=now)
    text, colour = words["text"], words["colour"]
    if not text or not colour:
        return govuk_tag(text, colour)
    # `govuk_tag`'s markup, each value escaped once (`escaped`) rather than through `format_html`.
    return SafeString(f'<strong class="govuk-tag govuk-tag--{escaped(colour)}">{escaped(text)}</strong>')


TRIAGE_COLUMNS = (
    "pk",
    "family_id",
    "family__name",
    "route",
    "state",
    "recent_step_up_flag",
    "duty_manager_reviewed_at",
    "referrer_name",
    "referrer_agency",
    "received_at",
    # The earliest open due time, kept on the contact by the clocks' triggers (ADR 86).
    "earliest_due_at",
    # The annotations, in the order they are made.
    "children",
    "next_due_rule",
)
# The queue's order: the most urgent clock first (none last), then the oldest, as `with_time_left`'s
# order over its computed "next due", read along the index `contact_triage_next_due`.
TRIAGE_ORDER = (F("earliest_due_at").asc(nulls_last=True), "received_at", "pk")


def _most_urgent_rule() -> Subquery:
    """The rule of the contact's most urgent open clock (`with_time_left`'s `next_due_rule`), for a page's rows."""
    open_clocks = Deadline.objects.filter(contact=OuterRef("pk"), stopped_at__isnull=True, due_at__isnull=False)
    return Subquery(open_clocks.order_by("due_at").values("rule_id")[:1])


def in_triage_order(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """The contacts in the triage queue's order. Each contact's most urgent clock was a subquery for every
    contact of the queue, all of them computed and sorted for a page of fifty (232 at 200,000 families);
    it is now a column kept by the clocks' triggers, and a page walks the index in that order."""
    return contacts.order_by(*TRIAGE_ORDER)


def _triage_read(rows: QuerySet[Contact], *, now: datetime) -> QuerySet[Contact]:
    return rows.annotate(children=_subject_names(), next_due_rule=_most_urgent_rule()).order_by(*TRIAGE_ORDER)


def triage_queue(contacts: QuerySet[Contact], *, page_number, now: datetime) -> Page:
    """A page of the triage queue (`cases.selectors.triage_queue`, filtered), the most urgent first: a
    count and a page of rows with their children's names, two queries whatever the queue's length.
    Read with the ORM; the page reads it compiled once (`triage_page`)."""
    page = page_then_rows(
        in_triage_order(contacts), lambda rows: _triage_read(rows, now=now), TRIAGE_COLUMNS, page_number
    )
    page.object_list = contact_rows(page.object_list, now=now)
    return page


def triage_page(
    user,
    *,
    route: str = "",
    team_id: int | None = None,
    received_before: datetime | None = None,
    page_number,
    now: datetime,
) -> Page:
    """`triage_queue(cases.selectors.triage_queue(user, route=..., team_id=..., received_before=...), ...)`
    with its two queries compiled once per user shape and choice of filters (`compiled_page`), run with
    the user's ids, the filters' values and the page's limit and offset. `now` does not reach the SQL
    (the order is by the open clocks whatever the time): it only words the time left."""
    chosen = (route or None, team_id or None, received_before)
    given = tuple(v for v in chosen if v is not None)
    stand_ins = tuple(
        tuple(
            v
            for v, wanted in zip(
                (f"stand-in route {k}", _ID_STAND_INS[k], datetime(1990, 1 + k, 1, tzinfo=UTC)), chosen, strict=True
            )
            if wanted is not None
        )
        for k in (0, 1)
    )

    def listed(user, *values) -> QuerySet[Contact]:
        values = list(values)
        picked = [values.pop(0) if v is not None else None for v in chosen]
        contacts = triage_contacts(user, route=picked[0] or "", team_id=picked[1], received_before=picked[2])
        return in_triage_order(contacts)

    page = compiled_page(
        f"triage queue {tuple(v is not None for v in chosen)}",
        user,
        listed,
        lambda rows: _triage_read(rows, now=now),
        TRIAGE_COLUMNS,
        page_number,
        given,
        stand_ins,
    )
    page.object_list = contact_rows(page.object_list, now=now)
    return page


def contact_rows(values, *, now: datetime) -> list[ContactRow]:
    """Rows of `TRIAGE_COLUMNS` as the triage queue shows them."""
    contact_href = href_for("cases:contact_detail")
    return [
        ContactRow(
            pk=pk,
            family_id=family_id,
            family_name=family_name,
            href=contact_href(pk),
            route=choice_name(ROUTE_NAMES, route),
            state=choice_name(CONTACT_STATE_NAMES, state),
            with_duty_manager=bool(flag and not reviewed_at),
            children=", ".join(children or ()),
            referrer_name=referrer_name,
            referrer_agency=referrer_agency,
            received_at=long_datetime(received_at),
            time_left=time_left(due_at, now),
            next_due_rule=rule or "",
        )
        for (
            pk,
            family_id,
            family_name,
            route,
            state,
            flag,
            reviewed_at,
            referrer_name,
            referrer_agency,
            received_at,
            due_at,
            children,
            rule,
        ) in values
    ]


def team_options() -> list[tuple[int, str]]:
    """Every team's id and name, by name: the triage queue's team filter (`str(team)` is its name). One
    query, compiled once (it takes no value)."""
    return compiled_rows(
        "team options",
        lambda: Team.objects.order_by("name").values_list("pk", "name"),
        ((), ()),
        (),
        using=router.db_for_read(Team),
    )


# --- The lists' rows as markup ---------------------------------------------------------------------
# Each row of the triage queue and the pre-allocation list written once here, as the template's loop
# wrote it (the same HTML, character for character): fifty rows of a dozen variables each were most
# of the template's time (ADR 81). Every value is escaped by `format_html`, as `{{ }}` escaped it.

_TRIAGE_ROW = (
    '\n    <tr class="govuk-table__row">\n'
    '      <td class="govuk-table__cell"><a class="govuk-link" href="{}">{}</a><br>'
    '<span class="govuk-body-s">{} · {}</span>{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    "    </tr>\n  "
)
_WITH_DUTY_MANAGER = SafeString(
    '<br><strong class="govuk-tag govuk-tag--red">Re-referral after a step-up: with the duty manager</strong>'
)
_NO_CONTACTS = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="6">'
    "No contacts are waiting.</td></tr>\n  "
)


_TRIAGE_ROW_FORMAT = _TRIAGE_ROW.format


def triage_rows_markup(rows: list[ContactRow]) -> SafeString:
    """The triage queue's table rows (the `<tr>`s of its body), or the row saying none are waiting: the
    same characters as `format_html(_TRIAGE_ROW, ...)` per row wrote (each value escaped as `{{ }}`
    escaped it), with each value escaped once by `escaped`."""
    if not rows:
        return _NO_CONTACTS
    e = escaped
    return SafeString(
        "".join(
            _TRIAGE_ROW_FORMAT(
                e(c.href),
                e(c.reference),
                e(c.route),
                e(c.state),
                _WITH_DUTY_MANAGER if c.with_duty_manager else "",
                e(c.family_name),
                e(c.children),
                e(c.referrer_name or "–"),
                f'<br><span class="govuk-body-s">{e(c.referrer_agency)}</span>' if c.referrer_agency else "",
                e(c.received_at),
                f'{e(c.time_left)}<br><span class="govuk-body-s">{e(c.next_due_rule)}</span>' if c.time_left else "–",
            )
            for c in rows
        )
    )


_WAITING_ROW = (
    '\n    <tr class="govuk-table__row">\n'
    '      <td class="govuk-table__cell"><a class="govuk-link" href="{}">{}</a><br>'
    '<span class="govuk-body-s">{} · {} · {}</span></td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">\n'
    "        {}\n"
    "        {}\n"
    "      </td>\n"
    "    </tr>\n  "
)
_NO_FAMILIES = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">'
    "No families are waiting for allocation.</td></tr>\n  "
)


def waiting_rows_markup(rows: list[WaitingRow], *, can_allocate: bool, can_duty: bool) -> SafeString:
    """The pre-allocation list's table rows, with the actions the user may take, or the row saying none wait."""
    if not rows:
        return _NO_FAMILIES
    return SafeString(
        "".join(
            format_html(
                _WAITING_ROW,
                e.href,
                e.family_name,
                e.reference,
                e.origin,
                e.team,
                e.opened_at,
                e.last_duty_contact,
                e.next_task,
                format_html(
                    '<a class="govuk-link" href="{}">Allocate<span class="govuk-visually-hidden"> {}</span></a>',
                    e.allocate_href,
                    e.family_name,
                )
                if can_allocate
                else "",
                format_html(
                    '<br><a class="govuk-link" href="{}">Record duty contact'
                    '<span class="govuk-visually-hidden"> with {}</span></a>',
                    e.duty_contact_href,
                    e.family_name,
                )
                if can_duty
                else "",
            )
            for e in rows
        )
    )


# --- Search results ------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonRow:
    pk: int
    name: str  # as `str(person)`
    born: str  # the date of birth, "Due" and the expected date, or –
    families: str  # markup: each family linked, in the order the person joined them
    family_ids: list[int]


def person_rows(people: list[tuple], memberships: list[tuple]) -> list[PersonRow]:
    """`cases.selectors.search_person_values`' people and memberships as the search page shows them."""
    family_href = href_for("cases:family_detail")
    families: dict[int, list[tuple[int, str]]] = {}
    for person_id, family_id, family_name in memberships:
        families.setdefault(person_id, []).append((family_id, family_name))
    rows = []
    for pk, first_name, last_name, born, due in people:
        theirs = families.get(pk, [])
        rows.append(
            PersonRow(
                pk=pk,
                name=f"{first_name} {last_name}",
                born=long_date(born) if born else f"Due {long_date(due)}" if due else "–",
                # `format_html_join(", ", '<a class="govuk-link" href="{}">{}</a>', ...)`, each value escaped once.
                families=SafeString(
                    ", ".join(
                        f'<a class="govuk-link" href="{escaped(family_href(f))}">{escaped(name)}</a>'
                        for f, name in theirs
                    )
                ),
                family_ids=[f for f, _ in theirs],
            )
        )
    return rows


_PERSON_ROW = (
    '\n      <tr class="govuk-table__row">\n'
    '        <td class="govuk-table__cell">{}</td>\n'
    '        <td class="govuk-table__cell">{}</td>\n'
    '        <td class="govuk-table__cell">{}</td>\n'
    "      </tr>\n    "
).format


def person_rows_markup(rows: list[PersonRow]) -> SafeString:
    """The search results' table rows, as the template's loop wrote them (the same characters), each
    value escaped once (`escaped`)."""
    e = escaped
    return SafeString("".join(_PERSON_ROW(e(p.name), e(p.born), e(p.families)) for p in rows))
