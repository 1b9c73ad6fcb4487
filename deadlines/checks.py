"""`manage.py check` (and runserver, migrate): refuse a deployment whose rulebooks are invalid.

A rulebook naming an unknown event or unit, or a negative limit, would start clocks that
never stop; the loader's message names the file, the rule and the problem.
"""

from __future__ import annotations

from django.core.checks import Error, register

from deadlines.rulebook import RulebookError


@register("deadlines")
def rulebooks_check(app_configs=None, **kwargs) -> list[Error]:
    from deadlines.services import file_rulebooks

    try:
        file_rulebooks()
    except RulebookError as exc:
        return [
            Error(
                str(exc),
                hint="Fix the rulebook file or EARLYHELP_RULEBOOKS (the rulebook slugs this deployment uses).",
                id="deadlines.E001",
            )
        ]
    return []


@register("deadlines")
def procedures_check(app_configs=None, **kwargs) -> list[Error]:
    """Every service's procedure, the default and the shared rulebooks must be loaded (ADR 0019)."""
    from deadlines.procedures import configuration_problems

    try:
        problems = configuration_problems()
    except RulebookError:
        return []  # reported by rulebooks_check
    return [
        Error(
            problem,
            hint="EARLYHELP_RULEBOOKS lists the rulebooks loaded; EARLYHELP_DEFAULT_RULEBOOK and each service's "
            "procedure must be among them.",
            id="deadlines.E002",
        )
        for problem in problems
    ]
