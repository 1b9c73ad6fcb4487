"""`manage.py check` (and runserver, migrate): refuse a deployment whose rulebooks are invalid.

A rulebook naming an unknown event or unit, or a negative limit, would start clocks that
never stop; the loader's message names the file, the rule and the problem.
"""

from __future__ import annotations

from django.core.checks import Error, register

from deadlines.rulebook import RulebookError


@register("deadlines")
def rulebooks_check(app_configs=None, **kwargs) -> list[Error]:
    from deadlines.services import active_rulebooks

    try:
        active_rulebooks()
    except RulebookError as exc:
        return [
            Error(
                str(exc),
                hint="Fix the rulebook file or EARLYHELP_RULEBOOKS (the rulebook slugs this deployment uses).",
                id="deadlines.E001",
            )
        ]
    return []
