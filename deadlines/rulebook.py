"""Rulebooks: each council's timescales as an editable TOML file, validated at load time.

The seed procedures differ from council to council, so the timescales are data, not code
(practice-frameworks.md). A deployment selects rulebooks by slug (the file name without
`.toml`). Loading is strict: a rulebook that names an unknown event or unit would otherwise
start clocks that never stop, so every problem is reported with the file and rule id.

How a rule's events work (the engine keeps one clock per rule per record):
- `starts_on`: any of these starts the clock, on the record named by `applies_to`.
- `stops_on`: any of these stops it; the stop is judged against `expected` and `maximum`.
  A recurring rule (`recurs = true`) starts its next clock at the moment it stops.
- `ends_on`: any of these withdraws the clock without judging it (the rule no longer
  applies, e.g. the episode closed); a recurring rule does not restart.
- `stops_on_all`: the clock stops only once *every* one of these has happened since it
  started (B10: "EHA completed and support plan commenced"); it stops at the last of them.
- `per_record = true`: one clock per record the starting event names (each assessment, plan,
  review, closure request or planned visit), not one per subject (B13, B18). A stopping event
  that names a record stops that record's clock; one that names none stops them all.

A rulebook may also say which optional workflow steps its procedure has, in a `[steps]`
table (`planning_meeting = true`: the plan becomes active at an initial planning meeting).
A step a rulebook does not name is not part of its procedure.

Who hears about a rule's clock (alert routing, ADR 18):
- `acts`: the role that does the task; told when the clock is overdue and when it is breached.
- `escalate_to`: the roles also told when it is breached. A breach still open
  `ALERT_ESCALATE_AFTER_HOURS` after its maximum goes to the service's EH managers as well.
  Roles are `ROUTING_ROLES`; deadlines.alerts resolves them to people.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deadlines.calendar import UNITS, Limit
from deadlines.events import EVENTS

__all__ = [
    "APPLIES_TO",
    "DEFAULT_DIRECTORY",
    "ROUTING_ROLES",
    "Limit",
    "Rule",
    "Rulebook",
    "RulebookError",
    "available_rulebooks",
    "load_rulebook",
    "load_rulebooks",
    "parse_rulebook",
    "rules_ended_by",
    "rules_started_by",
    "rules_stopped_by",
    "rules_stopped_by_all",
    "select_rulebooks",
]

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "rulebooks"

# The records a clock can be kept on.
APPLIES_TO: tuple[str, ...] = ("contact", "episode", "worker")

# Who a rule's alerts reach (see the module docstring); resolved to people by deadlines.alerts.
ROUTING_ROLES: tuple[str, ...] = ("lead_professional", "team_leader", "mash_lead", "eh_manager", "duty_manager")
DEFAULT_ACTS = "lead_professional"
DEFAULT_ESCALATE_TO: tuple[str, ...] = ("team_leader",)

# Slugs become file names; keeping them plain stops "../" reaching outside the directory.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_TOP_LEVEL_KEYS = {"title", "source", "rule", "steps"}
# Optional workflow steps a procedure may have (the `[steps]` table).
STEPS: dict[str, str] = {
    "planning_meeting": "an initial planning meeting before the plan becomes active",
}
_REQUIRED_RULE_KEYS = ("id", "title", "starts_on", "applies_to")
_OPTIONAL_RULE_KEYS = (
    "expected",
    "maximum",
    "recurs",
    "exempt_routes",
    "flag_only",
    "source",
    "ends_on",
    "stops_on",
    "stops_on_all",
    "per_record",
    "acts",
    "escalate_to",
)


class RulebookError(ValueError):
    """A rulebook file is missing or invalid; the message names the file, rule and problem."""


@dataclass(frozen=True)
class Rule:
    """One timescale: when its clock starts and stops and how long it may run."""

    id: str
    title: str
    starts_on: tuple[str, ...]
    stops_on: tuple[str, ...]
    expected: Limit | None = None
    maximum: Limit | None = None
    recurs: bool = False
    applies_to: str = "episode"
    # Contact routes (e.g. "dart") the rule does not apply to.
    exempt_routes: tuple[str, ...] = ()
    # An aim rather than a standard (A11): passing it raises a flag, never a breach.
    flag_only: bool = False
    # The seed paragraph the rule comes from, so a reviewer can check it.
    source: str = ""
    ends_on: tuple[str, ...] = ()
    # Stops only when every one of these has happened since the clock started (B10).
    stops_on_all: tuple[str, ...] = ()
    # One clock per record named by the starting event, not one per subject (B13, B18).
    per_record: bool = False
    # Alert routing: who does the task, and who else is told of a breach (ROUTING_ROLES).
    acts: str = DEFAULT_ACTS
    escalate_to: tuple[str, ...] = DEFAULT_ESCALATE_TO

    def is_exempt(self, route: str | None) -> bool:
        """Whether a contact on `route` is outside this rule (B2, B3 do not apply to DART)."""
        return route is not None and route in self.exempt_routes


@dataclass(frozen=True)
class Rulebook:
    slug: str
    title: str
    path: Path
    rules: dict[str, Rule] = field(default_factory=dict)
    # The seed document the rulebook was read from.
    source: str = ""
    # Optional workflow steps the procedure has (see STEPS); absent means it has not.
    steps: dict[str, bool] = field(default_factory=dict)
    # The stored version (deadlines.versions) it was read from; None: read from its file.
    version: int | None = None

    def has_step(self, step: str) -> bool:
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}")
        return self.steps.get(step, False)


def available_rulebooks(directory: Path | str | None = None) -> list[str]:
    """Slugs of the rulebook files in `directory`, sorted."""
    directory = DEFAULT_DIRECTORY if directory is None else Path(directory)
    return sorted(p.stem for p in directory.glob("*.toml") if _SLUG.match(p.stem))


def load_rulebook(path: Path | str) -> Rulebook:
    """Read and validate one rulebook file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RulebookError(f"{path}: no such rulebook file") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"{path}: TOML syntax error: {exc}") from exc
    if not _SLUG.match(path.stem):
        raise RulebookError(f"{path}: file name {path.name!r} must be a lowercase slug such as 'family-solutions.toml'")
    return parse_rulebook(data, slug=path.stem, path=path, origin=str(path))


def parse_rulebook(data: Any, *, slug: str, path: Path, origin: str, version: int | None = None) -> Rulebook:
    """Validate a rulebook's tables (a TOML file's contents, or a stored version of one).

    `origin` begins every message (the file, or "families-first version 3"); `version` is the
    stored version number, None for a file.
    """

    def fail(problem: str, rule_id: str | None = None) -> RulebookError:
        where = f"{origin}: rule {rule_id}: " if rule_id else f"{origin}: "
        return RulebookError(where + problem)

    if not isinstance(data, dict):
        raise fail("a rulebook must be a table of title, source, [steps] and [[rule]] tables")
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise fail(f"unknown top-level key(s) {', '.join(unknown)}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("missing 'title'")
    source = data.get("source", "")
    if not isinstance(source, str):
        raise fail("'source' must be a string")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise fail("no rules: add at least one [[rule]] table")

    steps = data.get("steps", {})
    if not isinstance(steps, dict):
        raise fail("'steps' must be a table such as [steps] planning_meeting = true")
    for name, value in steps.items():
        if name not in STEPS:
            raise fail(f"unknown step {name!r} in [steps]; expected one of {', '.join(STEPS)}")
        if not isinstance(value, bool):
            raise fail(f"step {name!r} must be true or false")

    rules: dict[str, Rule] = {}
    for index, table in enumerate(tables, start=1):
        rule = _parse_rule(table, index=index, fail=fail)
        if rule.id in rules:
            raise fail("duplicate rule id", rule.id)
        rules[rule.id] = rule
    return Rulebook(slug=slug, title=title, path=path, rules=rules, source=source, steps=dict(steps), version=version)


def _parse_rule(table: Any, *, index: int, fail: Callable[..., RulebookError]) -> Rule:
    if not isinstance(table, dict):
        raise fail(f"rule #{index} must be a [[rule]] table")
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise fail(f"rule #{index} has no 'id'")

    def problem(text: str) -> RulebookError:
        return fail(text, rule_id)

    unknown = sorted(set(table) - set(_REQUIRED_RULE_KEYS) - set(_OPTIONAL_RULE_KEYS))
    if unknown:
        raise problem(f"unknown key(s) {', '.join(unknown)}")
    for key in _REQUIRED_RULE_KEYS:
        if key not in table:
            raise problem(f"missing {key!r}")

    title = table["title"]
    if not isinstance(title, str) or not title.strip():
        raise problem("'title' must be a non-empty string")

    def events(key: str, *, required: bool) -> tuple[str, ...]:
        names = table.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise problem(f"{key!r} must be a list of event names")
        if required and not names:
            raise problem(f"{key!r} must name at least one event")
        for name in names:
            if name not in EVENTS:
                raise problem(f"unknown event {name!r} in {key!r} (see deadlines/events.py)")
        return tuple(names)

    def limit(key: str) -> Limit | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"amount", "unit"}:
            raise problem(f'{key!r} must be {{ amount = <whole number>, unit = "<unit>" }}')
        amount, unit = value["amount"], value["unit"]
        if unit not in UNITS:
            raise problem(f"unknown unit {unit!r} in {key!r}; expected one of {', '.join(UNITS)}")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise problem(f"{key!r} amount must be a whole number, not {amount!r}")
        if amount < 0:
            raise problem(f"{key!r} amount must not be negative, got {amount}")
        try:
            return Limit(amount=amount, unit=unit)
        except ValueError as exc:  # rules Limit knows beyond the checks above
            raise problem(f"{key!r}: {exc}") from None

    def flag(key: str) -> bool:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise problem(f"{key!r} must be true or false")
        return value

    starts_on = events("starts_on", required=True)
    stops_on = events("stops_on", required=False)
    stops_on_all = events("stops_on_all", required=False)
    if not stops_on and not stops_on_all:
        raise problem("'stops_on' must name at least one event (or 'stops_on_all' two or more)")
    if stops_on_all and len(set(stops_on_all)) < 2:
        raise problem("'stops_on_all' must name at least two different events (else use 'stops_on')")
    if set(stops_on) & set(stops_on_all):
        raise problem("an event cannot be in both 'stops_on' and 'stops_on_all'")
    ends_on = events("ends_on", required=False)
    expected, maximum = limit("expected"), limit("maximum")
    if expected is None and maximum is None:
        raise problem("rule has neither an 'expected' nor a 'maximum' limit")

    applies_to = table["applies_to"]
    if applies_to not in APPLIES_TO:
        raise problem(f"unknown applies_to {applies_to!r}; expected one of {', '.join(APPLIES_TO)}")

    exempt_routes = table.get("exempt_routes", [])
    if not isinstance(exempt_routes, list) or not all(isinstance(r, str) and _SLUG.match(r) for r in exempt_routes):
        raise problem("'exempt_routes' must be a list of lowercase route names such as \"dart\"")

    source = table.get("source", "")
    if not isinstance(source, str):
        raise problem("'source' must be a string")

    acts, escalate_to = _routing(table, problem)

    return Rule(
        id=rule_id,
        title=title,
        starts_on=starts_on,
        stops_on=stops_on,
        expected=expected,
        maximum=maximum,
        recurs=flag("recurs"),
        applies_to=applies_to,
        exempt_routes=tuple(exempt_routes),
        flag_only=flag("flag_only"),
        source=source,
        ends_on=ends_on,
        stops_on_all=stops_on_all,
        per_record=flag("per_record"),
        acts=acts,
        escalate_to=escalate_to,
    )


def _routing(table: dict, problem: Callable[[str], RulebookError]) -> tuple[str, tuple[str, ...]]:
    """`acts` and `escalate_to`, checked against ROUTING_ROLES."""
    roles = ", ".join(ROUTING_ROLES)
    acts = table.get("acts", DEFAULT_ACTS)
    if not isinstance(acts, str) or acts not in ROUTING_ROLES:
        raise problem(f"'acts' must be one of {roles}, not {acts!r}")
    escalate_to = table.get("escalate_to", list(DEFAULT_ESCALATE_TO))
    if not isinstance(escalate_to, list) or not all(isinstance(r, str) for r in escalate_to):
        raise problem(f"'escalate_to' must be a list of roles from {roles}")
    for role in escalate_to:
        if role not in ROUTING_ROLES:
            raise problem(f"unknown role {role!r} in 'escalate_to'; expected one of {roles}")
    if len(set(escalate_to)) != len(escalate_to):
        raise problem("'escalate_to' names a role twice")
    if acts in escalate_to:
        raise problem(f"'escalate_to' repeats {acts!r}, the role that acts: they are told of the breach anyway")
    return acts, tuple(escalate_to)


def load_rulebooks(slugs: Iterable[str], directory: Path | str | None = None) -> tuple[Rulebook, ...]:
    """Load the rulebooks a deployment selected, in the order given."""
    directory = DEFAULT_DIRECTORY if directory is None else Path(directory)
    books: list[Rulebook] = []
    seen: set[str] = set()
    for slug in slugs:
        if not _SLUG.match(slug):
            raise RulebookError(f"{slug!r} is not a rulebook slug (lowercase letters, digits, '-')")
        if slug in seen:
            raise RulebookError(f"rulebook {slug!r} selected twice")
        seen.add(slug)
        books.append(load_rulebook(directory / f"{slug}.toml"))
    return tuple(books)


def _rules_with(rulebooks: Iterable[Rulebook], event: str, attr: str) -> list[tuple[Rulebook, Rule]]:
    if event not in EVENTS:
        # A misspelt event in a service would otherwise match nothing, silently.
        raise ValueError(f"unknown event {event!r}")
    return [(book, rule) for book in rulebooks for rule in book.rules.values() if event in getattr(rule, attr)]


def rules_started_by(rulebooks: Iterable[Rulebook], event: str) -> list[tuple[Rulebook, Rule]]:
    """(rulebook, rule) pairs whose clock `event` starts; the rulebook says whose rule it is."""
    return _rules_with(rulebooks, event, "starts_on")


def rules_stopped_by(rulebooks: Iterable[Rulebook], event: str) -> list[tuple[Rulebook, Rule]]:
    """(rulebook, rule) pairs whose running clock `event` stops (and judges)."""
    return _rules_with(rulebooks, event, "stops_on")


def rules_stopped_by_all(rulebooks: Iterable[Rulebook], event: str) -> list[tuple[Rulebook, Rule]]:
    """(rulebook, rule) pairs for which `event` is one of the several events that together stop it."""
    return _rules_with(rulebooks, event, "stops_on_all")


def rules_ended_by(rulebooks: Iterable[Rulebook], event: str) -> list[tuple[Rulebook, Rule]]:
    """(rulebook, rule) pairs whose running clock `event` withdraws without judging it."""
    return _rules_with(rulebooks, event, "ends_on")


def select_rulebooks(
    rulebooks: Iterable[Rulebook], *, procedure: str, shared: Iterable[str] = ()
) -> tuple[Rulebook, ...]:
    """The rulebooks that apply to one subject: its service's procedure and the shared ones (step-up).

    One council's procedure per subject (deadlines/procedures.py): running two councils'
    rulebooks on one episode doubles its clocks. Order follows `rulebooks`.
    """
    wanted = {procedure, *shared}
    return tuple(book for book in rulebooks if book.slug in wanted)
