"""The team board's filters read from the query string without a form (ADR 84).

`oversight.filters.board_filters` built a `BoardFilterForm` on every request (four choice fields, a
choice per team member and per rule) and read the team's members as whole user rows (the password
hash among them): 2 ms of a board request's 10-12 ms of CPU at 5,000 families. Here the same four
values are checked as the form's fields check them, with the form's messages, and the teams and
members are read with SQL compiled once, only the columns the board shows, as prepared statements
(reads found by a key: the user's team or service, the chosen team; ADR 82).

The same team (a team outside the user's scope is a 404), the same members in the same order, the
same values kept and the same messages for the others as the form (tests/oversight/test_board_filter.py
compares them for query strings valid and not). The CSV exports read it too; `board_filters` stays
as the reference those tests compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import QuerySet
from django.http import Http404
from django.utils.safestring import SafeString

from accounts import roles
from accounts.models import Team, User
from kit.compiled_sql import compiled_instances
from kit.params import int_param
from kit.permissions import require_role
from oversight import selectors
from oversight.filters import rule_options

# What the board shows of a team and of a member (the filter's options, the "By practitioner" names,
# the caption): a user's other columns were read and made into instances for nothing.
TEAM_COLUMNS = ("id", "name")
MEMBER_COLUMNS = ("id", "first_name", "last_name", "username", "team_id")
# Ids no row has, for compiling the reads once.
_STAND_IN = -7_105_994_400
# The form's fields in its order, each error said as the form says it.
FIELDS = ("team", "practitioner", "rule", "status")
EMPTY = ("", None)


def invalid(name: str) -> str:
    return f"Choose a {name} from the list"


@dataclass
class BoardFilter:
    """What `oversight.filters.BoardFilters` holds, with the messages of the values left out (`errors`,
    in the form's field order) instead of the form."""

    team: Team
    teams: list[Team]
    members: list[User]
    practitioner_id: int | None
    rule_id: str
    status: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def practitioner(self) -> User | None:
        return next((u for u in self.members if u.pk == self.practitioner_id), None)

    @property
    def rule_options(self) -> SafeString:
        """The rule filter's options, the chosen rule selected (`oversight.filters.rule_options`)."""
        return rule_options(self.rule_id)


def _service_teams(service_ids) -> QuerySet[Team]:
    return Team.objects.filter(selectors.int_in("service_id", service_ids)).order_by("name").only(*TEAM_COLUMNS)


def _team(team_ids) -> QuerySet[Team]:
    return Team.objects.filter(selectors.int_in("id", team_ids)).only(*TEAM_COLUMNS)


def _members(team_ids) -> QuerySet[User]:
    return (
        User.objects.filter(selectors.int_in("team_id", team_ids), is_active=True)
        .order_by("first_name", "last_name", "username")
        .only(*MEMBER_COLUMNS)
    )


def _read(key: str, build, value: int) -> list:
    """`list(build([value]))`, its SQL compiled once, as a prepared statement (found by a key). The id
    is a one-id array: an integer field's value cannot be told from its stand-in (ADR 74)."""
    stand_ins = (([_STAND_IN],), ([_STAND_IN - 1],))
    return compiled_instances(
        ("board filter", key), build, stand_ins, ([value],), using=router.db_for_read(User), prepared=True
    )


def teams_for_board(user) -> list[Team]:
    """`list(selectors.teams_for_board(user))`, the name and id of each: a team leader's own team; a
    manager's every team of the service, by name."""
    if user.has_role(roles.MANAGER) and selectors.service_id_of(user):
        return _read("service teams", _service_teams, selectors.service_id_of(user))
    if user.has_role(roles.TEAM_LEADER) and user.team_id:
        return _read("team", _team, user.team_id)
    return []


def members_of(team: Team) -> list[User]:
    """The team's active members by name (first, last, username), as the filter lists them."""
    return _read("members", _members, team.pk)


def _chosen(query, name: str, allowed: dict[str, object]):
    """A choice field's cleaned value (`BoardFilterForm`): the last value given for `name`; nothing
    when empty; else the choice whose text it is, or an error. Returns (value, error)."""
    if name not in query:
        return None, ""
    raw = query.get(name)
    if raw in EMPTY:
        return None, ""
    found = allowed.get(str(raw))
    if found is None:
        return None, invalid(name)
    return found, ""


def board_filter(request) -> BoardFilter:
    """The team and filters of a board request, as `oversight.filters.board_filters` says them. A team
    outside the user's scope is a 404; a user who may see no team's board is refused."""
    user = request.user
    require_role(user, roles.TEAM_LEADER, roles.MANAGER)
    teams = teams_for_board(user)
    if not teams:
        raise PermissionDenied
    team = teams[0] if user.team_id is None else next((t for t in teams if t.pk == user.team_id), teams[0])
    query = request.GET
    if query.get("team"):
        # A team that is not a number, or not one of the user's, is a 404: never another team's board.
        team_id = int_param(query, "team")
        team = next((t for t in teams if t.pk == team_id), None)
        if team is None:
            raise Http404
    members = members_of(team)
    values: dict = {}
    errors = []
    if query:  # an empty query string is no filter (the form unbound): nothing to check
        choices = {
            "team": {str(t.pk): t.pk for t in teams},
            "practitioner": {str(u.pk): u.pk for u in members},
            "rule": {value: value for value, _ in selectors.rule_choices()},
            "status": {value: value for value, _ in selectors.BUCKETS},
        }
        for name in FIELDS:
            values[name], error = _chosen(query, name, choices[name])
            if error:
                errors.append(error)
    return BoardFilter(
        team=team,
        teams=teams,
        members=members,
        practitioner_id=values.get("practitioner"),
        rule_id=values.get("rule") or "",
        status=values.get("status") or "",
        errors=errors,
    )
