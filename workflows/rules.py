"""Who may perform which action: role rules, with the `rules` package for object checks."""

from __future__ import annotations

import rules

from accounts import roles

is_front_door = rules.predicate(
    lambda user: user.is_authenticated and user.has_role(roles.MASH_OFFICER, roles.EH_MASH_LEAD)
)
is_mash_lead = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.EH_MASH_LEAD))
is_team_leader = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.TEAM_LEADER))
is_manager = rules.predicate(lambda user: user.is_authenticated and user.has_role(roles.MANAGER))

rules.add_perm("cases.record_contact", is_front_door)
rules.add_perm("cases.decide_contact", is_front_door)
rules.add_perm("cases.run_meeting", is_mash_lead | is_team_leader | is_manager)


def can(user, perm: str, obj=None) -> bool:
    return user.has_perm(perm, obj)
