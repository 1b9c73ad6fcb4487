"""Which council procedure a record's clocks follow: one rulebook per service, plus step-up (ADR 0019).

A deployment loads several rulebooks (`EARLYHELP_RULEBOOKS`), but each council runs one
procedure: running Families First and Family Solutions together doubled the clocks on one
episode. So each service names its procedure (`accounts.Service.rulebook`), and an event starts
only the rules of its subject's service's procedure and of the shared rulebooks
(`EARLYHELP_SHARED_RULEBOOKS`, step-up: rulebook C applies wherever a step-up happens).

The subject's service:
- an episode: its team's service;
- a contact: the service of the team it was allocated to, else of the team of whoever recorded
  it at the front door (the same team its contact clocks are kept on);
- a member of staff: their team's service, else the service they oversee.
A service that names no procedure, and a record whose service is unknown, follows
`EARLYHELP_DEFAULT_RULEBOOK`.

Only starting is selected. A clock already running keeps its rulebook (the row names it): it is
stopped and ended by its own rules' events whatever the service follows now, so a change of
procedure applies to clocks started after it. A recurring clock of a procedure the subject no
longer follows finishes its cycle and does not start another.
"""

from __future__ import annotations

from django.conf import settings

from deadlines.rulebook import Rulebook, select_rulebooks

__all__ = [
    "configuration_problems",
    "default_procedure",
    "procedure_choices",
    "procedure_of",
    "rulebooks_for",
    "shared_rulebooks",
]


def default_procedure() -> str:
    return settings.EARLYHELP_DEFAULT_RULEBOOK


def shared_rulebooks() -> tuple[str, ...]:
    return tuple(settings.EARLYHELP_SHARED_RULEBOOKS)


def procedure_choices() -> list[tuple[str, str]]:
    """(slug, title) of the loaded rulebooks a service may follow (the shared ones are not procedures)."""
    from deadlines.services import active_rulebooks

    shared = set(shared_rulebooks())
    return [(book.slug, book.title) for book in active_rulebooks() if book.slug not in shared]


def _service_procedure(values) -> str | None:
    """The first non-blank procedure in `values` (query results), or None."""
    for value in values:
        if value:
            return value
    return None


def procedure_of(*, contact=None, episode=None, worker=None) -> str:
    """The procedure (rulebook slug) an event on these records follows; one query at most.

    The episode decides when there is one (an event on an episode also counts for its contact),
    then the contact, then the member of staff.
    """
    from accounts.models import Team, User

    found: str | None = None
    team_id = None
    if episode is not None and episode.team_id is not None:
        team_id = episode.team_id
    elif contact is not None and contact.allocated_team_id is not None:
        team_id = contact.allocated_team_id
    if team_id is not None:
        found = _service_procedure(Team.objects.filter(pk=team_id).values_list("service__rulebook", flat=True))
    elif contact is not None and contact.created_by_id is not None:
        found = _service_procedure(
            User.objects.filter(pk=contact.created_by_id).values_list("team__service__rulebook", flat=True)
        )
    elif worker is not None and contact is None and episode is None:
        row = User.objects.filter(pk=worker.pk).values_list("team__service__rulebook", "service__rulebook").first()
        # A member of a team follows the team's service; the service they oversee only without a team.
        if row is not None:
            found = row[0] if worker.team_id is not None else row[1]
    return found or default_procedure()


def rulebooks_for(books: tuple[Rulebook, ...], *, contact=None, episode=None, worker=None) -> tuple[Rulebook, ...]:
    """The rulebooks among `books` whose rules an event on these records may start."""
    return select_rulebooks(
        books, procedure=procedure_of(contact=contact, episode=episode, worker=worker), shared=shared_rulebooks()
    )


def configuration_problems() -> list[str]:
    """What is wrong with the procedure settings and the services' choices (for `manage.py check`).

    The services are read from the database; before the first migration (no table, no column)
    there is nothing to check yet.
    """
    from django.db import DatabaseError

    from deadlines.services import active_rulebooks

    loaded = {book.slug for book in active_rulebooks()}
    shared = shared_rulebooks()
    problems: list[str] = []
    default = default_procedure()
    if default not in loaded:
        problems.append(
            f"EARLYHELP_DEFAULT_RULEBOOK is {default!r}, which is not one of the loaded rulebooks "
            f"(EARLYHELP_RULEBOOKS: {', '.join(sorted(loaded))})."
        )
    elif default in shared:
        problems.append(f"EARLYHELP_DEFAULT_RULEBOOK {default!r} is a shared rulebook, not a procedure.")
    for slug in shared:
        if slug not in loaded:
            problems.append(
                f"EARLYHELP_SHARED_RULEBOOKS names {slug!r}, which is not one of the loaded rulebooks "
                f"(EARLYHELP_RULEBOOKS: {', '.join(sorted(loaded))})."
            )
    try:
        from accounts.models import Service

        chosen = list(Service.objects.exclude(rulebook="").values_list("name", "rulebook").order_by("name"))
    except DatabaseError:  # not migrated yet
        return problems
    for name, slug in chosen:
        if slug not in loaded:
            problems.append(
                f"Service {name!r} follows the procedure {slug!r}, which is not loaded: add it to "
                f"EARLYHELP_RULEBOOKS or choose another procedure for the service on the Procedures page."
            )
        elif slug in shared:
            problems.append(f"Service {name!r} names the shared rulebook {slug!r} as its procedure.")
    return problems
