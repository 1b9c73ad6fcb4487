"""Reads that pages share, and the one place that answers "what may this user see".

Every queryset a view shows about families goes through `families_visible_to` (or the
contact / episode equivalents built on it). A record outside the scope is simply not in
the queryset, so the view answers 404 and never says whose record it was.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import connections, router
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat, Lower
from django.utils import timezone

from accounts import roles
from cases.models import (
    AgencyInvolvement,
    Communication,
    Consent,
    Contact,
    Draft,
    Episode,
    Escalation,
    Family,
    FamilyReach,
    Meeting,
    MeetingItem,
    Membership,
    Message,
    PartnerUpdate,
    Person,
    PlanAction,
    PlanOutcome,
    Screening,
    ScreeningItem,
    StepUp,
)
from kit.compiled_sql import compiled_instances, compiled_rows, prepared_cursor
from kit.history import history_model
from kit.time import LONDON

FRONT_DOOR = frozenset({roles.MASH_OFFICER, roles.EH_MASH_LEAD})
TEAM_ROLES = frozenset({roles.PRACTITIONER, roles.TEAM_LEADER, roles.DUTY_WORKER})
SERVICE_ROLES = frozenset({roles.MANAGER, roles.DUTY_MANAGER})
# Teams a family can be allocated to: not the front door, not the duty and assessment team.
NOT_ALLOCATABLE_KINDS = ("front_door", "duty")


def _reach(user) -> Q | None:
    """A Q over FamilyReach: the rows that open a family to this user, or None when none can.

    The front door sees every family that has come through it; team roles their team's families
    (its team now, or the team of one of its episodes) and those they lead, team leaders also the
    families waiting on a meeting their team is invited to; managers and duty managers every family
    reached by their service (its team or an episode's team is one of the service's, or a contact
    was allocated to, received by or waits on a meeting inviting one of its teams). Someone whose
    role needs a team or a service and has none sees nothing from that role. Each clause is an
    indexed equality on cases_familyreach (ADR 43; cases/reach.py keeps the rows).
    """
    found = reach_shape(user)
    return None if found is None else reach_q(*found)


def reach_shape(user) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """Which clauses of the user's reach apply (its shape) and the value each takes (the user's id,
    team or service), or None when the user can see no family: `reach_q(*reach_shape(user))` is the
    user's reach. The shape is all that changes the SQL, so a scope check is compiled once per shape
    and run with the values (`family_in_scope`, ADR 67)."""
    if not user.is_authenticated or not user.is_active:
        return None
    names = user.role_names
    shape: list[str] = []
    values: list[int] = []
    if names & FRONT_DOOR:
        shape.append(_FRONT)
        values.append(user.pk)
    if names & TEAM_ROLES:
        if user.team_id:
            shape.append(_TEAM_AND_MEETINGS if roles.TEAM_LEADER in names else _TEAM)
            values.append(user.team_id)
        shape.append(_LEAD)
        values.append(user.pk)
    if names & SERVICE_ROLES:
        service_id = user.service_id_in_scope
        if service_id:
            shape.append(_SERVICE)
            values.append(service_id)
    if not shape:
        return None
    return tuple(shape), tuple(values)


_FRONT, _TEAM, _TEAM_AND_MEETINGS, _LEAD, _SERVICE = "front", "team", "team and meetings", "lead", "service"


def reach_q(shape: tuple[str, ...], values: tuple[int, ...]) -> Q:
    """The Q over FamilyReach of a shape and its values (see `reach_shape`)."""
    clauses: list[Q] = []
    for part, value in zip(shape, values, strict=True):
        if part == _FRONT:
            clauses.append(Q(kind=FamilyReach.Kind.FRONT))
            # Created at intake a moment ago: the contact itself is recorded on the next page.
            clauses.append(Q(user_id=value, kind=FamilyReach.Kind.CREATOR))
        elif part in (_TEAM, _TEAM_AND_MEETINGS):
            kinds = [FamilyReach.Kind.TEAM]
            if part == _TEAM_AND_MEETINGS:
                kinds.append(FamilyReach.Kind.MEETING)
            clauses.append(Q(team_id=value, kind__in=kinds))
        elif part == _LEAD:
            clauses.append(Q(user_id=value, kind=FamilyReach.Kind.LEAD))
        elif part == _SERVICE:
            # Only team, routed and meeting rows carry a service.
            clauses.append(Q(service_id=value))
        else:
            raise ValueError(f"no reach clause {part!r}")
    scope = clauses[0]
    for clause in clauses[1:]:
        scope |= clause
    return scope


def scoped_first(key: str, user, build, pk: int, *, using: str):
    """`build(pk, reach).first()` for the user's reach (`build` makes the queryset of a record `pk` in
    scope given the reach's Q), or None when the user can see nothing: its SQL compiled once per key
    and reach shape, and run with the record's id and the reach's values (`kit.compiled_sql`). A
    scope check is the same SQL on every request but for those values; building and compiling its
    subquery was a quarter of the episode page's Python (ADR 67)."""
    found = reach_shape(user)
    if found is None:
        return None
    shape, values = found

    def first(pk, *values):
        queryset = build(pk, reach_q(shape, values))
        return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]

    n = len(values) + 1
    stand_ins = (tuple(_SCOPE_STAND_IN - i for i in range(n)), tuple(_SCOPE_STAND_IN - 100 - i for i in range(n)))
    # A record found by its id: one plan for every record and user, prepared (ADR 82).
    rows = compiled_instances(("in scope", key, shape), first, stand_ins, (pk, *values), using=using, prepared=True)
    return rows[0] if rows else None


# Ids no row has, for compiling `scoped_first`'s queries once.
_SCOPE_STAND_IN = -7_105_993_500


def family_in_scope(user, pk: int) -> Family | None:
    """`families_visible_to(user).select_related("team").filter(pk=pk).first()`, compiled once."""

    def build(pk, reach: Q) -> QuerySet[Family]:
        # One family: its reach probed (one index probe), no semi-join for the planner (ADR 78).
        return Family.objects.filter(reach_exists(reach, "pk")).select_related("team").filter(pk=pk)

    return scoped_first("family", user, build, pk, using=router.db_for_read(Family))


def visible_family_ids(user) -> QuerySet:
    """The ids of the families a user may see, as a subquery (`family_id__in=`) that reads only the
    reach rows' indexes, never a family, contact or episode row."""
    reach = _reach(user)
    if reach is None:
        return FamilyReach.objects.none().values("family_id")
    return FamilyReach.objects.filter(reach).values("family_id")


class ProbedExists(Exists):
    """A correlated EXISTS that PostgreSQL evaluates once per outer row, as written: `OFFSET 0` keeps the
    planner from turning it into a semi-join (or a hashed subplan) over every row of the subquery.

    Without it the plan is the planner's guess: a practitioner with 48 cases has them probed, one with
    300 gets a hash of every reach row of the team (thousands of families; hundreds of thousands for a
    service), which is what makes some users' pages slow and not others' (ADR 0069)."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def family_visible_exists(user, family: str = "family_id") -> Exists | None:
    """Whether the family of the outer row (`OuterRef(family)`) is visible to the user, as a correlated
    EXISTS over the reach rows, or None when the user can see no family.

    For a bounded set of rows (a page) PostgreSQL probes the reach indexes once per row, always: the
    EXISTS is fenced (`ProbedExists`) so that a large set of rows, or statistics that misjudge it, cannot
    turn it into a hash of the user's whole scope. `family_id__in=visible_family_ids(user)` reads every
    reach row of the user's scope into a hash first, which is right for a whole list and costly for a
    page of a large one (ADR 0050, 0069)."""
    reach = _reach(user)
    if reach is None:
        return None
    return reach_exists(reach, family)


def reach_exists(reach: Q, family: str = "family_id") -> Exists:
    """`family_visible_exists` for a reach given as its Q (`reach_q`)."""
    return ProbedExists(FamilyReach.objects.filter(reach, family_id=OuterRef(family)))


def families_visible_to(user) -> QuerySet[Family]:
    if _reach(user) is None:
        return Family.objects.none()
    return Family.objects.filter(pk__in=visible_family_ids(user))


def contacts_visible_to(user) -> QuerySet[Contact]:
    return Contact.objects.filter(family__in=visible_family_ids(user))


def episodes_visible_to(user) -> QuerySet[Episode]:
    return Episode.objects.filter(family__in=visible_family_ids(user))


def visible_per_row(queryset: QuerySet, user, family: str = "family_id") -> QuerySet:
    """`queryset` kept to the rows whose family (the field path `family`) the user may see, checked per
    row with a correlated EXISTS on the reach rows (`family_visible_exists`). For a list already bounded
    by an index (a queue, someone's own cases, what waits for sign-off) this reads a reach entry per row,
    where `family__in=visible_family_ids(user)` reads every reach row of the user's scope (ADR 0064)."""
    visible = family_visible_exists(user, family)
    return queryset.none() if visible is None else queryset.filter(visible)


def episodes_led_by(user) -> QuerySet[Episode]:
    """`episodes_visible_to(user).filter(lead_professional=user)`, with scope checked per row (a correlated
    EXISTS on the reach rows): the cases someone leads are a few dozen, their team's reach thousands of
    families, which `family__in=` would read into a hash on every request (ADR 0064)."""
    return visible_per_row(Episode.objects.filter(lead_professional=user), user)


def meetings_visible_to(user) -> QuerySet[Meeting]:
    """The multi-agency meetings a user may see: the front door all of them; a team leader those
    their team is invited to; a manager those a team of their service is invited to; anyone the
    meetings they chair or scheduled. Seeing a meeting is not seeing its agenda: each item is
    shown only if its contact is in the user's scope (`meeting_items_visible_to`).
    """
    if not user.is_authenticated or not user.is_active:
        return Meeting.objects.none()
    names = user.role_names
    if names & FRONT_DOOR:
        return Meeting.objects.all()
    if not names & {roles.TEAM_LEADER, roles.MANAGER}:
        return Meeting.objects.none()
    invited = Meeting.invited_teams.through.objects.filter(meeting_id=OuterRef("pk"))
    clauses = [Q(chair_id=user.pk), Q(created_by_id=user.pk)]
    if roles.TEAM_LEADER in names and user.team_id:
        clauses.append(Q(Exists(invited.filter(team_id=user.team_id))))
    if roles.MANAGER in names and user.service_id_in_scope:
        clauses.append(Q(Exists(invited.filter(team__service_id=user.service_id_in_scope))))
    scope = clauses[0]
    for clause in clauses[1:]:
        scope |= clause
    return Meeting.objects.filter(scope)


def meeting_items_visible_to(user) -> QuerySet[MeetingItem]:
    """Agenda items of visible meetings whose contact is in the user's scope."""
    return MeetingItem.objects.filter(
        meeting__in=meetings_visible_to(user).values("pk"), contact__in=contacts_visible_to(user).values("pk")
    )


def may_run_meeting(user, meeting: Meeting) -> bool:
    return user.has_perm("cases.run_meeting") and meetings_visible_to(user).filter(pk=meeting.pk).exists()


def teams_allocatable_by(user):
    """Early Help teams a user may send a family to: the front door any; a manager their service's;
    a team leader their own. Allocating opens the family to the team, so it is never a free choice."""
    from accounts.models import Team

    if not user.is_authenticated or not user.is_active:
        return Team.objects.none()
    names = user.role_names
    teams = Team.objects.exclude(kind__in=NOT_ALLOCATABLE_KINDS)
    if names & FRONT_DOOR:
        return teams.order_by("name")
    scope = Q(pk__in=[])
    if roles.MANAGER in names and user.service_id_in_scope:
        scope |= Q(service_id=user.service_id_in_scope)
    if roles.TEAM_LEADER in names and user.team_id:
        scope |= Q(pk=user.team_id)
    return teams.filter(scope).order_by("name")


def people_visible_to(user) -> QuerySet[Person]:
    """People of a family the user may see, checked from each person outwards: their memberships (by
    person) and each membership's family's reach rows (by family), a few index probes a person. A search
    finds its people by name first and checks only those, never the whole scope (ADR 0061)."""
    reach = _reach(user)
    if reach is None:
        return Person.objects.none()
    return _people_in(reach)


def _people_in(reach: Q) -> QuerySet[Person]:
    """`people_visible_to` for a reach given as its Q (`reach_q`)."""
    in_scope = FamilyReach.objects.filter(reach, family_id=OuterRef("family_id"))
    return Person.objects.filter(Exists(Membership.objects.filter(Exists(in_scope), person_id=OuterRef("pk"))))


def triage_queue(
    user,
    *,
    route: str = "",
    team_id: int | None = None,
    older_than_hours: int | None = None,
    now=None,
    received_before=None,
):
    """Contacts awaiting a decision, filtered; the queue's rows are read from it by `workflows.list_rows`.
    `received_before` is `now - older_than_hours` given as the instant itself (a compiled read passes
    each value that reaches the SQL: `workflows.list_rows.triage_page`)."""
    # Exactly the predicate of the partial index `contact_in_triage`; scope checked per contact.
    in_triage = Contact.objects.filter(state__in=["received", "screening", "awaiting_consent"])
    qs = visible_per_row(in_triage, user).order_by("received_at", "pk")
    if route:
        qs = qs.filter(route=route)
    if team_id:
        qs = qs.filter(Q(allocated_team_id=team_id) | Q(family__team_id=team_id))
    if received_before is None and older_than_hours and now is not None:
        received_before = now - timedelta(hours=older_than_hours)
    if received_before is not None:
        qs = qs.filter(received_at__lt=received_before)
    return qs


# Two ids no family has, for compiling the family page's reads once (kit.compiled_sql, ADR 63).
_FAMILY_STAND_INS = ((-7_105_993_461,), (-7_105_993_462,))


def _family_memberships(family_id) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(family_id=family_id)
        .select_related("person")
        .order_by("relationship", "person__last_name")
    )


def _family_contacts(family_id) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(family_id=family_id)
        .select_related("decided_by", "allocated_team")
        .order_by("-received_at")
    )


def _family_episodes(family_id) -> QuerySet[Episode]:
    return (
        Episode.objects.filter(family_id=family_id).select_related("team", "lead_professional").order_by("-opened_at")
    )


def _family_agencies(family_id) -> QuerySet[AgencyInvolvement]:
    # Every agency, those still involved last (NULLS LAST), by name.
    return AgencyInvolvement.objects.filter(family_id=family_id).order_by("ended_on", "agency", "pk")


def _family_consents(family_id) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(family_id=family_id)
        .select_related("given_by", "withdrawn_told_by")
        .order_by("-recorded_on")
    )


def _family_history(family_id) -> QuerySet:
    """The family's last 20 changes, newest first: `family.history`'s rows, with who made each."""
    return (
        history_model(Family).objects.filter(id=family_id).select_related("history_user").order_by("-history_date")[:20]
    )


def _family_partner_updates(family_id) -> QuerySet[PartnerUpdate]:
    """`partner_updates_of(family)[:50]` (newest first, by the model's order)."""
    return PartnerUpdate.objects.filter(family_id=family_id).select_related(
        "organisation", "written_by", "acknowledged_by"
    )[:50]


def _family_rows(build, family: Family, *, id_type: str = "") -> list:
    """`list(build(family.pk))`, its SQL compiled once per process: the family page's reads are the
    same for every family but for its id, and building them cost more Python than running them.
    `id_type`: the family's id is compared with a column of that internal type (not a key), whose
    parameter the database backend adapts as it adapts it (psycopg's `Int8` for a big integer)."""
    using = router.db_for_read(Family)
    stand_ins, values = _FAMILY_STAND_INS, (family.pk,)
    if id_type:
        adapt = connections[using].ops.adapt_integerfield_value
        stand_ins = tuple(tuple(adapt(v, id_type) for v in values) for values in _FAMILY_STAND_INS)
        values = (adapt(family.pk, id_type),)
    # A family's rows by its id: one plan for every family, prepared (ADR 82).
    return compiled_instances(("family page", build.__name__), build, stand_ins, values, using=using, prepared=True)


def family_page(family: Family) -> dict:
    """Everything the family page shows but its chronology, each part in one query (the agencies and the
    registered partner agencies among them in one, with the partner agencies' named users in a second;
    the history of changes; the partner agencies' updates)."""
    memberships = _family_rows(_family_memberships, family)
    contacts = _family_rows(_family_contacts, family)
    episodes = _family_rows(_family_episodes, family)
    agencies = _family_rows(_family_agencies, family)
    # The registered partner agencies still involved are the tail of the agencies' rows, already in
    # the order `partner_agencies_of` gives.
    partner_agencies = [a for a in agencies if a.organisation_id is not None and a.ended_on is None]
    prefetch_related_objects(partner_agencies, "named_users")  # no query when there are none
    return {
        "memberships": memberships,
        "children": [m for m in memberships if m.is_child],
        "adults": [m for m in memberships if not m.is_child],
        "agencies": agencies,
        "partner_agencies": partner_agencies,
        "consents": _family_rows(_family_consents, family),
        "open_contacts": [c for c in contacts if c.is_open],
        "past_contacts": [c for c in contacts if not c.is_open],
        "episodes": episodes,
        "open_episode": next((e for e in episodes if e.is_open), None),
        # Compiled once too (ADR 78): building these two on every request cost more than running them.
        "history": _family_rows(
            _family_history, family, id_type=history_model(Family)._meta.get_field("id").get_internal_type()
        ),
        "partner_updates": _family_rows(_family_partner_updates, family),
    }


CHRONOLOGY_COLUMNS = ("c_at", "c_kind", "c_text", "c_by")


def choice_label(field: str, choices) -> Case:
    """A choice's display label computed in SQL, so a chronology row needs no Python lookup."""
    return Case(
        *[When(**{field: value}, then=Value(str(label))) for value, label in choices],
        default=Cast(F(field), TextField()),
        output_field=TextField(),
    )


def chronology_rows(queryset: QuerySet, *, at, kind, text, by=None) -> QuerySet:
    """Shape one source of the chronology: (when, what kind, text, by whom) as SQL expressions."""

    def expr(value, field):
        if value is None:
            return Cast(Value(None), field)
        if isinstance(value, str):
            return Cast(F(value), field)
        return value if hasattr(value, "resolve_expression") else Value(value, output_field=field)

    return queryset.annotate(
        c_at=expr(at, DateTimeField()),
        c_kind=Cast(Value(kind), TextField()) if isinstance(kind, str) else Cast(kind, TextField()),
        c_text=expr(text, TextField()),
        c_by=expr(by, BigIntegerField()),
    ).values_list(*CHRONOLOGY_COLUMNS)


UNACKNOWLEDGED = " (Not yet acknowledged by the lead professional.)"


def _core_chronology_sources(family: Family) -> list[QuerySet]:
    return [
        chronology_rows(
            Contact.objects.filter(family=family), at="received_at", kind="Contact received", text="presenting_needs"
        ),
        chronology_rows(
            Contact.objects.filter(family=family, decided_at__isnull=False),
            at="decided_at",
            kind=Concat(
                Value("Decision: "), choice_label("decision", Contact.Decision.choices), output_field=TextField()
            ),
            text="decision_rationale",
            by="decided_by_id",
        ),
        chronology_rows(
            Communication.objects.filter(family=family),
            at="sent_at",
            kind=choice_label("kind", Communication.Kind.choices),
            text=Concat(
                Value("To "),
                F("recipient"),
                Value(" by "),
                Lower(choice_label("method", Communication.Method.choices)),
                Value(". "),
                F("summary"),
                # A letter or e-mail the product sent: its text, as sent.
                Case(
                    When(message__isnull=True, then=Value("")),
                    default=Concat(Value("\n\n"), F("message__body")),
                    output_field=TextField(),
                ),
                output_field=TextField(),
            ),
            by="recorded_by_id",
        ),
        # A letter or e-mail written but never sent (it failed, or is still being sent): its text too.
        chronology_rows(
            Message.objects.filter(family=family, communication__isnull=True),
            at="created_at",
            kind=Concat(
                choice_label("kind", Message._meta.get_field("kind").choices),
                Value(" ("),
                Lower(choice_label("status", Message.Status.choices)),
                Value(")"),
                output_field=TextField(),
            ),
            text=Concat(
                Value("To "),
                F("recipient_name"),
                Value(". "),
                F("subject"),
                Value("\n\n"),
                F("body"),
                Case(
                    When(failure_reason="", then=Value("")),
                    default=Concat(Value("\n\nWhy it failed: "), F("failure_reason")),
                    output_field=TextField(),
                ),
                output_field=TextField(),
            ),
            by="created_by_id",
        ),
        chronology_rows(
            PartnerUpdate.objects.filter(family=family),
            at="written_at",
            kind=Concat(
                Value("Update from "),
                F("organisation__name"),
                Value(": "),
                Lower(choice_label("kind", PartnerUpdate.Kind.choices)),
                output_field=TextField(),
            ),
            text=Case(
                When(
                    acknowledged_at__isnull=True,
                    then=Concat(
                        F("details"),
                        Value(" (Not yet acknowledged by the lead professional.)"),
                        output_field=TextField(),
                    ),
                ),
                default=F("details"),
                output_field=TextField(),
            ),
            by="written_by_id",
        ),
        chronology_rows(
            MeetingItem.objects.filter(of_family(family, "contact"), decided_at__isnull=False),
            at="decided_at",
            kind=Concat(
                F("meeting__kind"),
                Value(" outcome: "),
                choice_label("outcome", MeetingItem.Outcome.choices),
                output_field=TextField(),
            ),
            text="reason",
            by="decided_by_id",
        ),
        chronology_rows(
            Episode.objects.filter(family=family),
            at="opened_at",
            kind="Episode opened",
            text=Concat(Value("Early Help with "), F("team__name"), output_field=TextField()),
        ),
        chronology_rows(
            Episode.objects.filter(family=family, closed_at__isnull=False),
            at="closed_at",
            kind="Episode closed",
            text="closure_reason",
        ),
    ]


def chronology_sources(family: Family) -> list[QuerySet]:
    """Every source of the family's chronology (the core records and those registered by later
    features), each a queryset shaped by `chronology_rows`."""
    branches = _core_chronology_sources(family)
    for source in _extra_chronology_sources():
        produced = source(family)
        branches.extend([produced] if isinstance(produced, QuerySet) else produced)
    return branches


def chronology_union(family: Family, *, limit: int) -> QuerySet:
    """The chronology's rows as one UNION ALL of its sources, newest first, at most `limit`; rows of
    the same moment by kind, then text, so every plan gives the same order."""
    first, *rest = [branch.order_by("-c_at")[:limit] for branch in chronology_sources(family)]
    return first.union(*rest, all=True).order_by("-c_at", "c_kind", "c_text")[:limit] if rest else first


# The chronology's SQL is the same for every family but for the family's id. Building the union of
# its two dozen annotated querysets and compiling it cost the family page most of its Python time
# (ADR 49), so it is compiled once per process (per database, limit and set of sources) with a
# stand-in id, and run with the family's id in the stand-in's places.
_STAND_IN_IDS = (-7_105_993_421, -7_105_993_422)  # no family has a negative id
# Stand-in ids of the family's episodes and contacts, for the form read with those ids given (ADR 78).
_STAND_IN_EPISODES = ([-7_105_993_423], [-7_105_993_424])
_STAND_IN_CONTACTS = ([-7_105_993_425], [-7_105_993_426])
_STAND_INS_BY_KIND = (("family", _STAND_IN_IDS), ("episode", _STAND_IN_EPISODES), ("contact", _STAND_IN_CONTACTS))
_compiled_chronologies: dict[tuple, CompiledChronology | None] = {}


class InIds(Func):
    """`field = ANY(ids)`, the ids an array parameter: a filter on one table, with no join."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, ids):
        super().__init__(F(field), Value(list(ids), output_field=ArrayField(BigIntegerField())))

    def as_sql(self, compiler, connection, **extra_context):
        (field_sql, field_params), (ids_sql, ids_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"{field_sql} = ANY(({ids_sql})::bigint[])", [*field_params, *ids_params]


def of_family(family: Family, through: str) -> Q | InIds:
    """A chronology source's filter for the family's records kept on its episodes (`through="episode"`)
    or its contacts (`"contact"`): `<through>__family=family`, a join to the episodes or contacts; or,
    where the family's episode and contact ids are known (the family page has just read them, ADR 78),
    `<through>_id = ANY(ids)`: nine joins fewer for the planner, which planned the union longer than
    it ran it."""
    known = getattr(family, "chronology_ids", None)
    if known is None:
        return Q(**{f"{through}__family": family})
    return InIds(f"{through}_id", known[through])


@dataclass(frozen=True)
class CompiledChronology:
    """The chronology's SQL with every constant written into its text (the labels of the choices,
    the kinds: nearly 300 values), so that only the family's values are parameters: psycopg binds
    a handful of values per request instead of splitting the whole text at each of 300 placeholders."""

    sql: str  # the union with its authors' names (`_with_authors_sql`)
    slots: tuple[tuple[int, str], ...]  # (parameter position, "family", "episode" or "contact")

    def params_for(self, family_id: int, ids: dict | None) -> list:
        out: list = [None] * len(self.slots)
        for position, kind in self.slots:
            out[position] = family_id if kind == "family" else list(ids[kind])
        return out


def _stand_in_family(n: int, *, with_ids: bool = False) -> Family:
    """A family that is no family: a negative id, and every other column different from the other
    stand-in's, so a source that reads more of the family than its id shows in the parameters."""
    stand_in = Family(pk=_STAND_IN_IDS[n])
    for field in Family._meta.concrete_fields:
        if field.primary_key:
            continue
        kind = field.get_internal_type()
        if field.is_relation or kind in ("IntegerField", "BigIntegerField", "PositiveIntegerField"):
            value = _STAND_IN_IDS[n] - 10
        elif kind in ("CharField", "TextField"):
            value = f"stand-in {n}"
        elif kind == "BooleanField":
            value = bool(n)
        elif kind == "DateTimeField":
            value = datetime(2000, 1, 1 + n, tzinfo=LONDON)
        elif kind == "DateField":
            value = date(2000, 1, 1 + n)
        else:
            continue
        setattr(stand_in, field.attname, value)
    if with_ids:
        stand_in.chronology_ids = {"episode": _STAND_IN_EPISODES[n], "contact": _STAND_IN_CONTACTS[n]}
    stand_in._state.adding = False  # a related filter refuses an unsaved instance
    return stand_in


def _compile_chronology(n: int, *, limit: int, using: str, with_ids: bool) -> tuple[str, list]:
    stand_in = _stand_in_family(n, with_ids=with_ids)
    sql, params = chronology_union(stand_in, limit=limit).query.get_compiler(using).as_sql()
    return sql, list(params)


def _slot_kind(a, b) -> str | None:
    """Which of the family's values a parameter is, from its values in the two stand-in builds."""
    for kind, stand_ins in _STAND_INS_BY_KIND:
        if a == stand_ins[0] and b == stand_ins[1]:
            return kind
    return None


def _constants_written_in(sql: str, params: list, keep: set[int], using: str) -> str | None:
    """`sql` with every parameter not in `keep` written into the text as the literal client-side
    binding sends (psycopg's own quoting, as `mogrify` gives it), or None when the placeholders do not
    match the parameters. The text stays a template: its `%` are doubled, the kept ones stay `%s`."""
    ops = connections[using].ops
    pieces = re.split(r"(%%|%s)", sql)
    out, n = [], 0
    for piece in pieces:
        if piece == "%s":
            if n >= len(params):
                return None
            out.append("%s" if n in keep else ops.compose_sql("%s", [params[n]]).replace("%", "%%"))
            n += 1
        else:
            if "%" in piece.replace("%%", ""):
                return None  # a placeholder of another kind
            out.append(piece)
    return "".join(out) if n == len(params) else None


def _compiled_chronology(*, limit: int, using: str, with_ids: bool = False) -> CompiledChronology | None:
    """The chronology's SQL with the places of the family's values in it (its id; with `with_ids`
    the arrays of its episodes' and contacts' ids); None when the SQL depends on more than those (a
    source that reads another column of the family, or the time), and then the ORM builds it on every
    call as before."""
    key = (using, limit, with_ids, tuple(_EXTRA_SOURCES))
    if key not in _compiled_chronologies:
        if len(_compiled_chronologies) >= 32:  # `?show=` picks the limit: keep the cache small
            _compiled_chronologies.clear()
        (sql, params), (sql_b, params_b) = (
            _compile_chronology(n, limit=limit, using=using, with_ids=with_ids) for n in (0, 1)
        )
        compiled = None
        if sql == sql_b and len(params) == len(params_b):
            slots = [(n, _slot_kind(a, b)) for n, (a, b) in enumerate(zip(params, params_b, strict=True))]
            found = tuple((n, kind) for n, kind in slots if kind is not None)
            same_elsewhere = all(kind is not None or params[n] == params_b[n] for n, kind in slots)
            kinds = {kind for _, kind in found}
            ok = (
                same_elsewhere
                and "family" in kinds
                and kinds <= ({"family", "episode", "contact"} if with_ids else {"family"})
                and not any(str(v) in sql for v in (*_STAND_IN_IDS, *_STAND_IN_EPISODES[0], *_STAND_IN_CONTACTS[0]))
            )
            text = _constants_written_in(sql, params, {n for n, _ in found}, using) if ok else None
            if text is not None:
                slots = tuple((i, kind) for i, (_, kind) in enumerate(found))
                compiled = CompiledChronology(_with_authors_sql(text, using), slots)
        _compiled_chronologies[key] = compiled
    return _compiled_chronologies[key]


# The author's name columns a chronology row carries (what str(user) reads), and the user built from them.
_AUTHOR_FIELDS = ("id", "first_name", "last_name", "username")


def _with_authors_sql(union_sql: str, using: str) -> str:
    """The compiled chronology with each row's author's name beside it, in the same query: a scalar
    subquery per row on the users' primary key, so the rows keep the union's order (no join, no sort)."""
    from accounts.models import User

    quote = connections[using].ops.quote_name
    columns = ", ".join(f"u.{quote(User._meta.get_field(name).column)}" for name in _AUTHOR_FIELDS[1:])
    pk = quote(User._meta.pk.column)
    # Only names from the model's metadata, quoted, and the ORM's own compiled SQL: no value is in the text.
    return (
        f"SELECT c.c_at, c.c_kind, c.c_text, c.c_by, "  # noqa: S608
        f"(SELECT ARRAY[{columns}] FROM {quote(User._meta.db_table)} u WHERE u.{pk} = c.c_by) "
        f"FROM ({union_sql}) AS c(c_at, c_kind, c_text, c_by)"
    )


def chronology(
    family: Family, *, limit: int = 200, episode_ids: list[int] | None = None, contact_ids: list[int] | None = None
) -> list[dict]:
    """One list, newest first, merging everything recorded about the family.

    Every source is a branch of one UNION ALL, each branch cut to `limit` rows by its own
    index, and each row's author's name comes in the same query, so the page costs one query
    whatever the history. The author is a User with its id and name loaded (what the pages and the
    printed chronology show; any other field is read from the database if asked for). Where the
    chronology cannot be compiled once (see `_compiled_chronology`), the ORM builds it and the
    authors are a second query, as before ADR 57.

    A page that has read every episode and contact of the family gives their ids (`episode_ids`,
    `contact_ids`, both or neither): the records kept on them are then read by those ids, with no join
    to the episodes or contacts (`of_family`, ADR 78). The rows are the same.
    """
    from accounts.models import User

    using = router.db_for_read(Family)
    with_ids = episode_ids is not None and contact_ids is not None
    compiled = _compiled_chronology(limit=limit, using=using, with_ids=with_ids)
    if compiled is None:
        rows = list(chronology_union(family, limit=limit))
        authors = User.objects.in_bulk({row[3] for row in rows if row[3]})
        return [{"at": at, "kind": kind, "text": text, "by": authors.get(by)} for at, kind, text, by in rows]
    ids = {"episode": episode_ids, "contact": contact_ids} if with_ids else None
    with prepared_cursor(using) as cursor:  # one plan for every family (ADR 82)
        cursor.execute(compiled.sql, compiled.params_for(family.pk, ids))
        rows = cursor.fetchall()
    # Model.from_db takes the loaded values in the model's field order.
    loaded = [f.attname for f in User._meta.concrete_fields if f.attname in _AUTHOR_FIELDS]
    authors: dict[int, User] = {}
    for row in rows:
        if row[3] and row[4] is not None and row[3] not in authors:
            values = dict(zip(_AUTHOR_FIELDS, (row[3], *row[4]), strict=True))
            authors[row[3]] = User.from_db(using, loaded, [values[name] for name in loaded])
    return [{"at": at, "kind": kind, "text": text, "by": authors.get(by)} for at, kind, text, by, _ in rows]


_EXTRA_SOURCES: list = []


def register_chronology_source(func) -> None:
    """Let records kept by later features (visits, assessments, decisions) join the chronology.

    `func(family)` returns one or more querysets shaped by `chronology_rows`.
    """
    _EXTRA_SOURCES.append(func)


def _extra_chronology_sources():
    return list(_EXTRA_SOURCES)


def three_months_before(now: datetime) -> datetime:
    """The same London wall-clock time three calendar months earlier (the last day of a shorter month when
    the day does not exist): "within 3 months" is counted on the calendar, across clock changes."""
    local = timezone.localtime(now, LONDON)
    month = local.month - 3
    year = local.year - 1 if month <= 0 else local.year
    month = month + 12 if month <= 0 else month
    day = min(local.day, calendar.monthrange(year, month)[1])
    return datetime(year, month, day, local.hour, local.minute, local.second, local.microsecond, tzinfo=LONDON)


def recent_step_up(family: Family, *, now: datetime) -> bool:
    """Rulebook C: a step-up decision within the last 3 calendar months (to the minute, London time) makes a
    new contact a re-referral, routed to the duty manager."""
    since = three_months_before(now)
    if Contact.objects.filter(family=family, decision=Contact.Decision.STEP_UP, decided_at__gte=since).exists():
        return True
    # A step-up from an open episode, accepted by the duty manager, counts the same.
    accepted = StepUp.objects.filter(episode__family=family, decision=StepUp.Decision.ACCEPTED)
    return accepted.filter(decided_at__gte=since).exists()


# --- Matching and search ---------------------------------------------------------

MATCH_LIMIT = 20


def find_matches(
    *, first_name: str = "", last_name: str = "", date_of_birth=None, postcode: str = "", nhs_number: str = ""
) -> list[dict]:
    """Likely existing people and their families, best first, so staff link instead of duplicating.

    Matching is deliberately across all families (not the user's scope): creating a
    duplicate record is worse than MASH staff seeing that a family exists. Only the
    name, date of birth and household name are shown for a match.
    """
    from cases.validators import normalise_postcode, soundex

    # Each branch is an index range of cases_person, or (the household's postcode) of the families and
    # their memberships; their people are united and the first MATCH_LIMIT in name order read (ADR 0061).
    branches: list[Q] = []
    if nhs_number:
        branches.append(Q(nhs_number=nhs_number))
    if last_name:
        also = Q(date_of_birth=date_of_birth) if date_of_birth else Q()
        if first_name and not date_of_birth:
            also = Q(first_name_key=soundex(first_name))
        branches += [Q(Q(last_name_key=soundex(last_name)), also), Q(Q(last_name__iexact=last_name.strip()), also)]
    elif date_of_birth:
        branches.append(Q(date_of_birth=date_of_birth))
    if postcode:
        at = Membership.objects.filter(person_id=OuterRef("pk"), family__postcode=normalise_postcode(postcode))
        branches.append(Q(Exists(at)))
    if not branches:
        return []
    people = list(
        Person.objects.filter(pk__in=_first_in_scope(None, branches, limit=MATCH_LIMIT))
        .prefetch_related(Prefetch("memberships", queryset=Membership.objects.select_related("family")))
        .order_by(*SEARCH_ORDER)[:MATCH_LIMIT]
    )

    def score(p: Person) -> int:
        s = 0
        if nhs_number and p.nhs_number == nhs_number:
            s += 100
        if date_of_birth and p.date_of_birth == date_of_birth:
            s += 30
        if last_name and p.last_name.lower() == last_name.strip().lower():
            s += 20
        elif last_name and p.last_name_key == soundex(last_name):
            s += 10
        if first_name and p.first_name.lower() == first_name.strip().lower():
            s += 10
        if postcode and any(m.family.postcode == normalise_postcode(postcode) for m in p.memberships.all()):
            s += 15
        return s

    ranked = sorted(people, key=score, reverse=True)
    return [{"person": p, "families": [m.family for m in p.memberships.all()], "score": score(p)} for p in ranked]


SEARCH_ORDER = ("last_name", "first_name", "pk")


def _first_in_scope(user, branches: list[Q], *, limit: int, reach: Q | None = None) -> RawSQL:
    """The ids of the first `limit` people, in SEARCH_ORDER, who match one of `branches` and whom the user may
    see (anyone's when `user` is None: the intake's matching), as a subquery for `pk__in`.

    A common surname matches 1-2 % of a council's people (the generator's commonest, 259 of 15,254 at 5,000
    families: about 11,000 at 200,000), nearly all of them in the front door's scope. Checking the scope of
    every match before sorting (what one `WHERE name AND EXISTS scope ORDER BY name LIMIT 50` is planned as)
    cost two index probes a match. So the matches are first read from the name indexes alone (each branch an
    index-only scan of an index that carries the name and the id), merged in that order, and then checked in
    that order until `limit` are in scope: about `limit` probes for the front door and the service
    (ADR 0061), and, the phonetic key's index being in that order, about a page of its people read (ADR 91).
    `reach`: the user's reach given as its Q (`reach_q`), for a read compiled once.
    """
    columns = ("pk", "last_name", "first_name")
    # Each branch in SEARCH_ORDER, merged (UNION ALL, a Merge Append) and each person kept once (DISTINCT ON
    # over the merged order): the phonetic key's branch is read in that order from its index
    # (`person_name_key_order`), a page of it, where a UNION hashed and sorted every match of every branch
    # first (a common key's thousands at 200,000 families: 7 ms of a search, ADR 91). The same people in
    # the same order: a person's id has one name, so keeping one row per (name, id) is the UNION's DISTINCT.
    parts = [Person.objects.filter(branch).values(*columns).order_by(*SEARCH_ORDER) for branch in branches]
    compiled = [part.query.sql_with_params() for part in parts]
    matched_sql = (
        "SELECT DISTINCT ON (m.last_name, m.first_name, m.id) m.id, m.last_name, m.first_name "  # noqa: S608
        f"FROM ({' UNION ALL '.join(f'({sql})' for sql, _ in compiled)}) AS m (id, last_name, first_name) "
        "ORDER BY m.last_name, m.first_name, m.id"
    )
    matched_params = tuple(param for _, params in compiled for param in params)
    where, scope_params = "", ()
    if user is not None or reach is not None:
        in_scope = FamilyReach.objects.filter(
            reach if reach is not None else _reach(user), family_id=OuterRef("family_id")
        )
        scope = Membership.objects.filter(Exists(in_scope), person_id=RawSQL("matched.id", ())).values("pk")
        scope_sql, scope_params = scope.query.sql_with_params()
        where = f"WHERE EXISTS ({scope_sql}) "
    sql = (
        f"SELECT matched.id FROM ({matched_sql}) AS matched (id, last_name, first_name) {where}"  # noqa: S608
        "ORDER BY matched.last_name, matched.first_name, matched.id LIMIT %s"
    )
    return RawSQL(sql, (*matched_params, *scope_params, limit))  # noqa: S611 - compiled by the ORM, values as parameters


def _search_kind(text: str) -> tuple[str, object] | None:
    """What a search's text is: ("nhs_number", ...), ("upn", ...), ("date_of_birth", a date), ("postcode",
    the postcode normalised) or ("name", the words); None for a date that does not exist."""
    import re

    from cases.validators import normalise_nhs_number, normalise_postcode

    compact = normalise_nhs_number(text)
    if re.fullmatch(r"\d{10}", compact):
        return "nhs_number", compact
    if re.fullmatch(r"[A-Za-z]\d{11}[A-Za-z0-9]", text):
        return "upn", text.upper()
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        try:
            return "date_of_birth", date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return None
    if re.fullmatch(r"[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}", text):
        return "postcode", normalise_postcode(text)
    return "name", [w for w in re.split(r"\s+", text) if w]


def _exact_search(people: QuerySet[Person], kind: str, value) -> QuerySet[Person]:
    """`people` found by an exact value: an NHS number, a UPN, a date of birth or a household's postcode."""
    if kind == "postcode":
        return people.filter(Exists(Membership.objects.filter(person_id=OuterRef("pk"), family__postcode=value)))
    return people.filter(**{kind: value})


def _name_search(user, words: list[str], *, limit: int) -> QuerySet[Person]:
    from cases.validators import soundex

    last = words[-1]
    branches = [Q(last_name__istartswith=last), Q(last_name_key=soundex(last)), Q(first_name__istartswith=last)]
    first = Q()
    if len(words) > 1:
        first = Q(first_name__istartswith=words[0]) | Q(first_name_key=soundex(words[0]))
    return Person.objects.filter(pk__in=_first_in_scope(user, [Q(b, first) for b in branches], limit=limit))


class _UpperLike(Func):
    """`UPPER(field::text) LIKE UPPER(pattern)`: the SQL of `field__istartswith` on PostgreSQL with the
    pattern itself given (`_prefix_pattern`), so that it is a value a compiled read can take (the ORM
    derives it from the word inside the build, which `kit.compiled_sql` cannot replace)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, pattern: str):
        super().__init__(F(field), Value(pattern, output_field=TextField()))

    def as_sql(self, compiler, connection, **extra_context):
        (field_sql, field_params), (pattern_sql, pattern_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"UPPER({field_sql}::text) LIKE UPPER({pattern_sql})", [*field_params, *pattern_params]


def _prefix_pattern(word: str, connection) -> str:
    """The LIKE pattern `istartswith` makes of a word: its `\\`, `%` and `_` escaped, then `%`."""
    return f"{connection.ops.prep_for_like_query(word)}%"


def _name_values(words: list[str], connection) -> tuple[str, ...]:
    """A name search's values in the order `_compiled_name_branches` takes them: the last word's pattern
    and soundex key, and with two or more words the first word's."""
    from cases.validators import soundex

    last = (_prefix_pattern(words[-1], connection), soundex(words[-1]))
    return last if len(words) == 1 else (*last, _prefix_pattern(words[0], connection), soundex(words[0]))


def _compiled_name_branches(last_pattern: str, last_key: str, *first: str) -> list[Q]:
    """`_name_search`'s branches, the same SQL, from the patterns and keys themselves (`_name_values`)."""
    branches = [
        _UpperLike("last_name", last_pattern),
        Q(last_name_key=last_key),
        _UpperLike("first_name", last_pattern),
    ]
    if not first:
        return [Q(b) for b in branches]
    also = Q(_UpperLike("first_name", first[0])) | Q(first_name_key=first[1])
    return [Q(b, also) for b in branches]


# Stand-ins for a name search's patterns and keys (k = 0 and 1), which no search is run with.
_NAME_STAND_INS = tuple(
    (f"stand-in last {k}%", f"stand-in key {k}", f"stand-in first {k}%", f"stand-in key first {k}") for k in (0, 1)
)


def _name_search_values(user, words: list[str], shape, reach_values, *, limit: int) -> list[tuple]:
    """`_name_search(user, words, limit=limit)`'s first `limit` people as `SEARCH_VALUES`, in `SEARCH_ORDER`,
    compiled once per reach shape and one word or more (`kit.compiled_sql`) and run with the words'
    patterns and soundex keys and the reach's values: the three branches' querysets, their union and the
    scope's EXISTS were built and compiled on every search (ADR 86)."""
    using = router.db_for_read(Person)
    values = _name_values(words, connections[using])
    n_name = len(values)

    def build(*given) -> QuerySet:
        branches = _compiled_name_branches(*given[:n_name])
        ids = _first_in_scope(None, branches, limit=limit, reach=reach_q(shape, given[n_name:]))
        return Person.objects.filter(pk__in=ids).order_by(*SEARCH_ORDER)[:limit].values_list(*SEARCH_VALUES)

    n = len(reach_values)
    stand_ins = tuple(
        (*_NAME_STAND_INS[k][:n_name], *(_SCOPE_STAND_IN - 300 - 10 * k - i for i in range(n))) for k in (0, 1)
    )
    return compiled_rows(
        ("search names", n_name, shape, limit), build, stand_ins, (*values, *reach_values), using=using
    )


def search_people(user, query: str, *, limit: int = 50) -> list[Person]:
    """Find people the user may see by name, date of birth, postcode, NHS number or UPN."""
    text = (query or "").strip()
    if not text or _reach(user) is None:
        return []
    kind = _search_kind(text)
    if kind is None:
        return []
    if kind[0] == "name":
        qs = _name_search(user, kind[1], limit=limit)
    else:
        qs = _exact_search(people_visible_to(user), *kind)
    # Every condition is on the person (or an EXISTS from it), so no row repeats: no DISTINCT, whose sort
    # over every match would come before the LIMIT (ADR 0061).
    return list(
        qs.prefetch_related(Prefetch("memberships", queryset=Membership.objects.select_related("family"))).order_by(
            *SEARCH_ORDER
        )[:limit]
    )


SEARCH_VALUES = ("pk", "first_name", "last_name", "date_of_birth", "expected_date_of_birth")
# Two values of each kind no search is run with, and ids no row has, for compiling a search once.
_SEARCH_STAND_INS = {
    "nhs_number": ("stand-in nhs 0", "stand-in nhs 1"),
    "upn": ("stand-in upn 0", "stand-in upn 1"),
    "date_of_birth": (date(1801, 1, 1), date(1801, 1, 2)),
    "postcode": ("stand-in postcode 0", "stand-in postcode 1"),
}


def search_person_values(user, query: str, *, limit: int = 50) -> tuple[list[tuple], list[tuple]]:
    """`search_people` as values: the people found (`SEARCH_VALUES`, in `SEARCH_ORDER`) and their
    memberships ((person id, family id, family name), in the order they were made). Two queries, as
    `search_people`'s rows and prefetch; a search by an exact value (NHS number, UPN, date of birth,
    postcode) has its SQL compiled once per kind and reach shape and run with the value and the reach's
    values (`kit.compiled_sql`, ADR 81): no model instance, no queryset built per request."""
    text = (query or "").strip()
    found = reach_shape(user)
    if not text or found is None:
        return [], []
    kind = _search_kind(text)
    if kind is None:
        return [], []
    if kind[0] == "name":
        people = _name_search_values(user, kind[1], *found, limit=limit)
    else:
        shape, reach_values = found
        name = kind[0]

        def build(value, *reach) -> QuerySet:
            qs = _exact_search(_people_in(reach_q(shape, reach)), name, value)
            return qs.order_by(*SEARCH_ORDER)[:limit].values_list(*SEARCH_VALUES)

        n = len(reach_values)
        stand_ins = tuple(
            (_SEARCH_STAND_INS[name][k], *(_SCOPE_STAND_IN - 200 - 10 * k - i for i in range(n))) for k in (0, 1)
        )
        people = compiled_rows(
            ("search people", name, shape, limit),
            build,
            stand_ins,
            (kind[1], *reach_values),
            using=router.db_for_read(Person),
        )
    if not people:
        return [], []
    return people, _memberships_of([row[0] for row in people])


def _memberships_of(person_ids: list[int]) -> list[tuple]:
    """(person id, family id, family name) of each membership of these people, in the order they were
    made: `person_id__in=` as one array parameter, compiled once (`IN` has a placeholder per id)."""

    def build(ids) -> QuerySet:
        rows = Membership.objects.filter(InIds("person_id", ids)).order_by("pk")
        return rows.values_list("person_id", "family_id", "family__name")

    stand_ins = (([_SCOPE_STAND_IN - 400],), ([_SCOPE_STAND_IN - 401, _SCOPE_STAND_IN - 402],))
    return compiled_rows("search memberships", build, stand_ins, (person_ids,), using=router.db_for_read(Membership))


def may_break_glass(user) -> bool:
    """Case-working staff may break glass; administrators and people with no role may not."""
    return user.is_authenticated and bool(user.role_names & (FRONT_DOOR | TEAM_ROLES | SERVICE_ROLES))


def access_log_for_family(family: Family):
    """Views of the family and of any of its people, newest first (served by the two indexes)."""
    from cases.models import AccessLog

    person_ids = Membership.objects.filter(family=family).values("person_id")
    return (
        AccessLog.objects.filter(Q(family_id_logged=family.pk) | Q(person_id_logged__in=person_ids))
        .select_related("user", "user__partner_organisation")
        .order_by("-at")
    )


def family_for_break_glass(user, pk: int) -> Family | None:
    """Any family, by id, for someone who may break glass (the grant is logged and time-limited)."""
    if not may_break_glass(user):
        return None
    return Family.objects.select_related("team").filter(pk=pk).first()


# --- Confidential addresses ------------------------------------------------------------------------


def can_see_confidential_address(user) -> bool:
    """Who may see a confidential address on screen.

    Front door, the team working with the family and managers need to find the family; the address
    still never leaves in anything sent to another party (see address_for_letter).
    """
    return user.has_role(*FRONT_DOOR, *TEAM_ROLES, *SERVICE_ROLES)


def address_for_letter(family: Family) -> list[str] | None:
    """The family's own address for something sent to them; None when it must not be written down
    (the family's address, or any of its people's, is confidential)."""
    if family.address_confidential or family.people.filter(address_confidential=True).exists():
        return None
    return [line for line in (family.address_line_1, family.address_line_2, family.town, family.postcode) if line]


# --- Records reached through a record already in scope --------------------------------------------
# A page finds its contact or episode through contacts_visible_to / episodes_visible_to (or the
# 404 helpers in cases.access); what belongs to it is read from these, never from Model.objects.


def communications_of(contact: Contact) -> QuerySet[Communication]:
    """The contact's communications, newest first."""
    return Communication.objects.filter(contact=contact).order_by("-sent_at")


def consents_of(family: Family) -> QuerySet[Consent]:
    """The family's consents, newest first."""
    return Consent.objects.filter(family=family).order_by("-recorded_on")


def screenings_visible_to(user) -> QuerySet[Screening]:
    """The daily screenings: the front door's record (seed 003, 2.1); its managers read it too."""
    if user.is_authenticated and user.role_names & (FRONT_DOOR | {roles.MANAGER}):
        return Screening.objects.all()
    return Screening.objects.none()


def awaiting_screening(user, *, until: datetime) -> QuerySet[Contact]:
    """Contacts the user may see that are waiting to be screened (received or in screening) and arrived
    before `until`, oldest first, with what a screening list shows (a fixed number of queries)."""
    return (
        contacts_visible_to(user)
        .filter(state__in=[Contact.State.RECEIVED, Contact.State.SCREENING], received_at__lt=until)
        .select_related("family")
        .prefetch_related(Prefetch("subjects", queryset=Person.objects.order_by("date_of_birth")))
        .order_by("received_at", "pk")
    )


def screening_items_visible_to(user, screening: Screening) -> QuerySet[ScreeningItem]:
    """The contacts screened at a screening that the user may see, in the order they were screened."""
    return (
        ScreeningItem.objects.filter(screening=screening, contact__in=contacts_visible_to(user).values("pk"))
        .select_related("contact__family", "recorded_by")
        .order_by("screened_at", "pk")
    )


def operational_leads(service_id: int | None) -> list:
    """The operational leads a disagreement may be escalated to: the EH managers of the service."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, groups__name=roles.MANAGER)
    if service_id is not None:
        users = users.filter(Q(service_id=service_id) | Q(team__service_id=service_id))
    return list(users.distinct().order_by("last_name", "first_name"))


def escalations_visible_to(user) -> QuerySet[Escalation]:
    """Escalations on the contacts and episodes the user may see."""
    # Correlated EXISTS, not `IN (visible contacts) OR IN (visible episodes)`: under an OR an IN cannot
    # become a join, and a large scope is then scanned again for every escalation (test_scope_plans).
    on_contact = family_visible_exists(user, "contact__family_id")
    on_episode = family_visible_exists(user, "episode__family_id")
    if on_contact is None or on_episode is None:
        return Escalation.objects.none()
    return Escalation.objects.filter(Q(on_contact) | Q(on_episode))


def escalation_queue(user) -> QuerySet[Escalation]:
    """The operational leads' queue: open escalations they may see, named to them first, oldest first."""
    return (
        escalations_visible_to(user)
        .filter(resolved_at__isnull=True)
        .select_related("contact__family__team", "episode__family", "episode__team", "raised_by", "escalated_to_user")
        .order_by("raised_at", "pk")
    )


def re_referrals_for_duty_managers(user) -> QuerySet[Contact]:
    """Rulebook C: contacts received within 3 months of a step-up, waiting for a duty manager's decision."""
    return (
        contacts_visible_to(user)
        .filter(recent_step_up_flag=True, duty_manager_reviewed_at__isnull=True)
        .select_related("family")
        .order_by("received_at", "pk")
    )


def contact_escalations(contact: Contact) -> QuerySet[Escalation]:
    return Escalation.objects.filter(contact=contact).select_related("raised_by", "resolved_by").order_by("raised_at")


def case_file_records(family: Family) -> dict[str, list]:
    """Everything a full case file prints (ADR 0038), one query per kind of record whatever the family's
    history: its episodes, and their assessments, plans (outcomes and actions), reviews, case notes and
    escalations, and the family's consents and contacts."""
    from cases.models import Assessment, CaseNote, Plan, Review

    episodes = list(
        Episode.objects.filter(family=family).select_related("team", "lead_professional").order_by("opened_at")
    )
    by_episode = {"episode__family": family}
    return {
        "episodes": episodes,
        "contacts": list(Contact.objects.filter(family=family).order_by("received_at")),
        "consents": list(
            Consent.objects.filter(family=family).select_related("withdrawn_told_by").order_by("recorded_on", "pk")
        ),
        "assessments": list(Assessment.objects.filter(**by_episode).order_by("pk")),
        "plans": list(Plan.objects.filter(**by_episode).order_by("pk")),
        "outcomes": list(PlanOutcome.objects.filter(plan__episode__family=family).order_by("plan_id", "number")),
        "actions": list(PlanAction.objects.filter(outcome__plan__episode__family=family).order_by("outcome_id", "pk")),
        "reviews": list(Review.objects.filter(**by_episode).order_by("pk")),
        "notes": list(CaseNote.objects.filter(**by_episode).order_by("happened_at", "pk")),
        "escalations": list(
            Escalation.objects.filter(Q(episode__family=family) | Q(contact__family=family)).order_by("raised_at")
        ),
    }


def people_of(family: Family) -> list[Person]:
    """The family's people, in the order the family page lists them."""
    return [
        m.person
        for m in Membership.objects.filter(family=family)
        .select_related("person")
        .order_by("relationship", "person__last_name")
    ]


def open_episode_leads(family: Family) -> list[str]:
    """The names of the lead professionals of the family's open episodes (who a withdrawal tells)."""
    episodes = Episode.objects.filter(family=family, lead_professional__isnull=False).exclude(
        state=Episode.State.CLOSED
    )
    return [str(e.lead_professional) for e in episodes.select_related("lead_professional")]


def sharing_consented(family: Family, agency: str, on: date) -> bool:
    """Whether the family's consent to share with the named agency is in force on that day: given, for
    sharing, naming that agency (case and spacing aside), recorded on or before the day and not withdrawn
    by then. Every outgoing share and every partner's view of the family asks this, at the moment it
    happens, so a withdrawal takes effect at once."""
    return share_consents_in_force(agency, on).filter(family=family).exists()


def share_consents_in_force(agency: str, on: date) -> QuerySet[Consent]:
    """The consents to share with the named agency in force on that day, every family's (the one rule
    of `sharing_consented`, for pages that list several families)."""
    name = " ".join((agency or "").split())
    if not name:
        return Consent.objects.none()
    return (
        Consent.objects.filter(purpose=Consent.Purpose.SHARE, status=Consent.Status.GIVEN, agency__iexact=name)
        .filter(Q(recorded_on__isnull=True) | Q(recorded_on__lte=on))
        .filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))
    )


# --- Partner agencies (the partner portal) ---------------------------------------------------------


def families_visible_to_partner(user, on: date) -> QuerySet[Family]:
    """The families a partner user may see on that day: their agency is in the family's team around the
    family (not ended), the user is one of its named people there, and the family's consent to share
    with the agency is in force. Asked on every request, so a removal or a withdrawal cuts access at once."""
    organisation = getattr(user, "partner_organisation", None)
    if organisation is None:
        return Family.objects.none()
    in_team = AgencyInvolvement.objects.filter(organisation=organisation, named_users=user).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=on)
    )
    consented = share_consents_in_force(organisation.name, on)
    return Family.objects.filter(pk__in=in_team.values("family_id")).filter(pk__in=consented.values("family_id"))


def partner_family_or_none(user, pk: int, on: date) -> Family | None:
    return families_visible_to_partner(user, on).filter(pk=pk).first()


def partner_updates_of(family: Family) -> QuerySet[PartnerUpdate]:
    return PartnerUpdate.objects.filter(family=family).select_related("organisation", "written_by", "acknowledged_by")


def partner_people_of(family: Family):
    """The partner users named for the agencies in the family's team now (who may hold a plan action)."""
    from accounts.models import User

    named = AgencyInvolvement.objects.filter(family=family, organisation__isnull=False, ended_on__isnull=True)
    return (
        User.objects.filter(partner_teams__in=named, is_active=True)
        .select_related("partner_organisation")
        .distinct()
        .order_by("first_name", "last_name")
    )


def partner_agencies_of(family: Family) -> QuerySet[AgencyInvolvement]:
    """The registered partner agencies in the family's team now, with their named people."""
    return (
        AgencyInvolvement.objects.filter(family=family, organisation__isnull=False, ended_on__isnull=True)
        .select_related("organisation")
        .prefetch_related("named_users")
        .order_by("agency", "pk")
    )


def episode_records(model, episode: Episode) -> QuerySet:
    """An episode's records of one kind (a model with an `episode` key: planned visits, assessments,
    plans, reviews, closure requests, step-ups, escalations, documents, case notes)."""
    return model._default_manager.filter(episode=episode)


def plan_outcomes_of(episode: Episode) -> QuerySet[PlanOutcome]:
    return PlanOutcome.objects.filter(plan__episode=episode)


def plan_actions_of(episode: Episode) -> QuerySet[PlanAction]:
    return PlanAction.objects.filter(outcome__plan__episode=episode)


def record_as_saved(record):
    """The record as it is in the database now (after someone else saved it), or None if it is gone."""
    if record is None:
        return None
    return type(record)._default_manager.filter(pk=record.pk).first()


def draft_of(user, form_key: str, object_key: str):
    """The user's own saved typing of one form for one record, if any."""
    return Draft.objects.filter(user=user, form_key=form_key, object_key=object_key).first()


# --- Episodes a partner agency's lead professional holds (single-agency support, ADR 52) ------------


def episodes_led_by_partner(user, on: date) -> QuerySet[Episode]:
    """The episodes a partner user holds as lead professional that they may see on that day: led for
    their agency, the agency still active, and the family's consent to share with the agency in force.
    Asked on every request, so a withdrawal or the agency's deactivation cuts access at once. (Nobody
    else at the agency sees them: partner agencies have no administrator of their own in the product.)"""
    organisation = getattr(user, "partner_organisation", None)
    if organisation is None or not organisation.active:
        return Episode.objects.none()
    consented = share_consents_in_force(organisation.name, on)
    return Episode.objects.filter(
        lead_professional=user, partner_organisation=organisation, family_id__in=consented.values("family_id")
    )


def partner_may_lead(user, episode: Episode, on: date) -> bool:
    """Whether the partner user may work on the episode they lead today (the rule of the list above)."""
    organisation = getattr(user, "partner_organisation", None)
    return (
        organisation is not None
        and organisation.active
        and episode.lead_professional_id == user.pk
        and episode.partner_organisation_id == organisation.pk
        and share_consents_in_force(organisation.name, on).filter(family_id=episode.family_id).exists()
    )


def partner_leads_available():
    """The partner users who may be named lead professional: active, of an active registered agency."""
    from accounts.models import User

    return (
        User.objects.filter(is_active=True, partner_organisation__isnull=False, partner_organisation__active=True)
        .select_related("partner_organisation")
        .order_by("partner_organisation__name", "first_name", "last_name")
    )
