"""Who may edit the rulebooks: administrators and EH managers, a permission of its own."""

from __future__ import annotations

import rules

from accounts import roles

may_edit_rulebooks = rules.predicate(
    lambda user: user.is_authenticated and user.has_role(roles.ADMINISTRATOR, roles.MANAGER)
)

rules.add_perm("deadlines.edit_rulebooks", may_edit_rulebooks)
