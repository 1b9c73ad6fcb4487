"""What the moving-work pages show, scoped to the user (ADR 0032).

A receiving team leader must read a case before taking it: an episode with a transfer waiting
for the user's team (or, for a manager, a team of their service) is in their scope for the
transfer decision page, as well as the episodes they already see (cases.selectors.episodes_visible_to).
"""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from accounts import roles
from accounts.models import User
from cases.models import Episode, Reallocation, Transfer
from cases.selectors import episodes_visible_to
from workflows.episode_selectors import practitioners_with_caseload

S = Episode.State


def _teams_of(user, side: str) -> Q | None:
    """Transfers to (side "to_team") or from ("from_team") the user's team (a team leader) or a team
    of their service (a manager); None if the user leads no team and manages no service."""
    clauses = []
    if user.has_role(roles.TEAM_LEADER) and user.team_id:
        clauses.append(Q(**{f"{side}_id": user.team_id}))
    if user.has_role(roles.MANAGER) and user.service_id_in_scope:
        clauses.append(Q(**{f"{side}__service_id": user.service_id_in_scope}))
    if not clauses:
        return None
    scope = clauses[0]
    for clause in clauses[1:]:
        scope |= clause
    return scope


def _transfer_rows(qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
    return qs.select_related(
        "episode",
        "episode__family",
        "episode__lead_professional",
        "from_team",
        "to_team",
        "requested_by",
        "decided_by",
        "new_lead",
    ).order_by("-requested_at", "-pk")


def _receiving(user) -> Q | None:
    return _teams_of(user, "to_team")


def transfers_incoming(user) -> list[Transfer]:
    scope = _receiving(user)
    if scope is None:
        return []
    return list(_transfer_rows(Transfer.objects.filter(scope, status=Transfer.Status.PENDING)))


def transfers_sent(user) -> list[Transfer]:
    """Transfers asked for by the user's team (a manager: their service's teams), newest 50."""
    scope = _teams_of(user, "from_team")
    if scope is None:
        return []
    return list(_transfer_rows(Transfer.objects.filter(scope))[:50])


def transfers_of(episode: Episode) -> list[Transfer]:
    """The episode's transfer history, newest first."""
    return list(_transfer_rows(Transfer.objects.filter(episode=episode)))


def episode_for_transfer(user, pk: int) -> Episode | None:
    """The episode if the user sees it, or if a transfer of it waits for the user's team to decide."""
    qs = Episode.objects.select_related("family", "team", "team__service", "lead_professional")
    visible = qs.filter(pk=pk, pk__in=episodes_visible_to(user).values("pk")).first()
    if visible is not None:
        return visible
    scope = _receiving(user)
    if scope is None:
        return None
    waiting = Transfer.objects.filter(scope, status=Transfer.Status.PENDING).values("episode_id")
    return qs.filter(pk=pk, pk__in=waiting).first()


def team_caseloads(user) -> list[User]:
    """The practitioners whose cases the user may reallocate: their team's (a manager: their service's)."""
    team_ids: set[int] = set()
    if user.has_role(roles.TEAM_LEADER) and user.team_id:
        team_ids.add(user.team_id)
    people = []
    for team_id in sorted(team_ids):
        people += practitioners_with_caseload(team_id)
    if user.has_role(roles.MANAGER) and user.service_id_in_scope:
        people += list(
            User.objects.filter(
                team__service_id=user.service_id_in_scope,
                is_active=True,
                groups__name=roles.PRACTITIONER,
                partner_organisation__isnull=True,
            )
            .exclude(team_id__in=team_ids)
            .select_related("team")
            .annotate(caseload=Count("lead_episodes", filter=~Q(lead_episodes__state=S.CLOSED), distinct=True))
            .order_by("team__name", "first_name", "last_name")
        )
    return people


def practitioner_with_team(pk: int) -> User | None:
    """The member of staff whose caseload page is asked for (with their team); None if there is none."""
    return User.objects.select_related("team", "team__service").filter(pk=pk, team__isnull=False).first()


def open_cases_of(practitioner: User) -> list[Episode]:
    """The practitioner's open cases, oldest first: the rows of the bulk reallocation page."""
    return list(
        Episode.objects.filter(lead_professional=practitioner)
        .exclude(state=S.CLOSED)
        .select_related("family", "team")
        .order_by("opened_at", "pk")
    )


def reallocation_batch(batch, practitioner: User) -> list[Reallocation]:
    """What one bulk reallocation moved, from the practitioner's caseload."""
    return list(
        Reallocation.objects.filter(batch=batch, from_lead=practitioner)
        .select_related("episode", "episode__family", "to_lead", "moved_by")
        .order_by("episode_id")
    )
