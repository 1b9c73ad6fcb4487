"""The event map (deadlines.events.EMITTED_BY) is true to the code, and the coverage command reads it.

The map says which user action emits which event. It is checked against the services' own
source: every action it lists must reach the event (directly, through a module-level table of
events such as MEETING_HELD_EVENTS, `events.decision_events`, or through another service it calls), and every event the
services fire must be in the map. A new `emit_event(events.X, ...)` without a map entry fails here.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from deadlines import events
from deadlines.rulebook import available_rulebooks, load_rulebooks

ROOT = Path(__file__).resolve().parents[2]
EMITTING_MODULES = {
    "workflows.services": ROOT / "workflows" / "services.py",
    "workflows.episode_services": ROOT / "workflows" / "episode_services.py",
    "workflows.transfer_services": ROOT / "workflows" / "transfer_services.py",
    "oversight.services": ROOT / "oversight" / "services.py",
    "accounts.services": ROOT / "accounts" / "services.py",
}
NAME_OF = {value: name for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}


def _decision_events_refs() -> set[str]:
    """The event constants `events.decision_events` (the events of a front-door decision) can return."""
    tree = ast.parse((ROOT / "deadlines" / "events.py").read_text())
    tables = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            tables[node.targets[0].id] = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "decision_events")
    names = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    for name in list(names):
        names |= tables.get(name, set())
    return {name for name in names if name in NAME_OF.values()}


def _event_refs(node: ast.AST) -> set[str]:
    found = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "events":
            found |= _decision_events_refs() if n.attr == "decision_events" else {n.attr}
    return found


def reachable_events() -> dict[str, set[str]]:
    """Per service function (dotted path): the event constants its code can reach."""
    functions: dict[str, tuple[str, set[str], set[str]]] = {}
    tables: dict[str, set[str]] = {}
    for module, path in EMITTING_MODULES.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                refs = _event_refs(node)
                for target in targets:
                    if isinstance(target, ast.Name) and refs:
                        tables[target.id] = refs
            elif isinstance(node, ast.FunctionDef):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                functions[node.name] = (module, _event_refs(node), names)

    def reach(name: str, seen: frozenset[str]) -> set[str]:
        _module, refs, names = functions[name]
        found = set(refs)
        for other in names - seen - {name}:
            found |= tables.get(other, set())
            if other in functions:
                found |= reach(other, seen | {name})
        return found

    return {f"{module}.{name}": reach(name, frozenset()) for name, (module, _r, _n) in functions.items()}


def test_every_listed_action_really_emits_its_event():
    reach = reachable_events()
    wrong = []
    for event, actions in events.EMITTED_BY.items():
        for action in actions:
            module, _, function = action.rpartition(".")
            assert callable(getattr(importlib.import_module(module), function)), action
            if NAME_OF[event] not in reach.get(action, set()):
                wrong.append(f"{action} does not emit {event}")
    assert wrong == []


def test_every_event_the_services_fire_is_in_the_map():
    fired = set().union(*reachable_events().values())
    missing = sorted(name for name in fired if getattr(events, name) not in events.EMITTED_BY)
    assert missing == [], "add these events to deadlines.events.EMITTED_BY"


def test_every_action_in_the_map_is_described_and_every_event_is_known():
    listed = {a for actions in events.EMITTED_BY.values() for a in actions}
    assert listed <= set(events.ACTIONS)
    assert set(events.EMITTED_BY) <= events.EVENTS


def test_every_event_of_every_shipped_rulebook_is_emitted_by_a_user_action():
    books = load_rulebooks(available_rulebooks())
    unreachable = [
        f"{book.slug} {rule.id}: {event}"
        for book in books
        for rule in book.rules.values()
        for event in (*rule.starts_on, *rule.stops_on, *rule.ends_on)
        if not events.actions_emitting(event)
    ]
    assert unreachable == []


@pytest.mark.django_db
def test_coverage_command_prints_each_rule_with_its_actions():
    out = StringIO()
    call_command("timescale", "--coverage", stdout=out)
    text = out.getvalue()
    assert "  A3 Referral sent to the neighbourhood Families First Service" in text
    assert "stops on referral_sent_to_team: Referral sent to the team (contact page)" in text
    assert "  B16 Wraparound support request screened and allocated" in text
    assert "starts on wraparound_requested: Record decision (contact page)" in text
    assert "  C2 " in text
    assert "Every start, stop and end event is emitted by a user action." in text


@pytest.mark.django_db
def test_coverage_command_fails_when_a_rule_waits_on_an_event_nothing_emits(monkeypatch):
    monkeypatch.setitem(events.EMITTED_BY, events.REFERRAL_SENT_TO_TEAM, ())
    with pytest.raises(CommandError, match="families-first A3 stops on referral_sent_to_team"):
        call_command("timescale", "--coverage", stdout=StringIO())


@pytest.mark.django_db
def test_coverage_command_for_one_rulebook_and_unknown_ones():
    out = StringIO()
    call_command("timescale", "--coverage", "step-up", stdout=out)
    assert "C1 " in out.getvalue() and "A1 " not in out.getvalue()
    with pytest.raises(CommandError, match="Unknown rulebook"):
        call_command("timescale", "--coverage", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="or --coverage"):
        call_command("timescale", "family-solutions", stdout=StringIO())


def test_coverage_command_exit_status_is_what_ci_checks():
    result = subprocess.run(
        [sys.executable, "manage.py", "timescale", "--coverage"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
