"""What the team board reads of each case is kept on the episode as the work happens (ADR 56):
each writer refreshes it, a stale instance's save never puts old values back, history is not
touched, and the reconcile check finds and repairs drift."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command

from cases import board
from cases.models import Episode
from oversight.models import ManagersDecision
from tests.conftest import ROOT
from tests.factories import FamilyFactory
from tests.oversight.helpers import NOW, make_assessment, make_contact, make_episode

pytestmark = pytest.mark.django_db


def _stored(episode) -> tuple:
    return board.stored([episode.pk])[episode.pk]


def test_each_source_of_risk_and_a_decision_is_kept(users, team):
    coach, manager = users["coach"], users["manager"]
    family = FamilyFactory(team=team)
    opening = make_contact(family, received_at=NOW - timedelta(days=41), risks={"health": 2})
    episode = make_episode(team, lead=coach, opened_at=NOW - timedelta(days=40), contact=opening, family=family)
    assert _stored(episode) == (2, "", None)  # the opening contact
    make_contact(episode.family, received_at=NOW - timedelta(days=60), risks={"offending": 3})
    assert _stored(episode) == (2, "", None)  # received before the episode opened: not counted
    make_contact(episode.family, received_at=NOW - timedelta(days=10), risks={"substance": 3, "behaviour": 1})
    assert _stored(episode) == (3, "substance", None)  # a later contact about the family
    make_assessment(episode, by=coach, started_at=NOW - timedelta(days=5), risks={"attendance": 3})
    assert _stored(episode) == (3, "attendance,substance", None)  # the assessment
    first = ManagersDecision.objects.create(
        episode=episode, family=episode.family, oversees="monthly", decision="d", rationale="r",
        recorded_by=manager, recorded_at=NOW - timedelta(days=3),
    )  # fmt: skip
    ManagersDecision.objects.create(
        episode=episode, family=episode.family, oversees="monthly", decision="d", rationale="r",
        recorded_by=manager, recorded_at=NOW - timedelta(days=20),
    )  # fmt: skip
    assert _stored(episode)[2] == NOW - timedelta(days=3)  # the latest, not the last written
    first.delete()
    assert _stored(episode)[2] == NOW - timedelta(days=20)
    assert board.reconcile(repair=False).drift == []


def test_a_stale_save_keeps_the_stored_values_and_history_does_not_see_them(users, team):
    episode = make_episode(team, lead=users["coach"], opened_at=NOW - timedelta(days=40))
    stale = Episode.objects.get(pk=episode.pk)
    versions = episode.history.count()
    make_contact(episode.family, received_at=NOW - timedelta(days=1), risks={"domestic_abuse": 3})
    assert _stored(episode) == (3, "domestic_abuse", None)
    assert episode.history.count() == versions  # refreshing writes no history row
    stale.referral_notes = "Edited by someone who read the case before the contact came in."
    stale.save()
    assert _stored(episode) == (3, "domestic_abuse", None)
    assert Episode.objects.get(pk=episode.pk).referral_notes.startswith("Edited")
    historical = {f.name for f in Episode.history.model._meta.fields}
    assert not historical & set(Episode.BOARD_FIELDS)


def test_reconcile_finds_and_repairs_drift(users, team, capsys):
    episode = make_episode(team, lead=users["coach"], opened_at=NOW - timedelta(days=40))
    make_contact(episode.family, received_at=NOW - timedelta(days=1), risks={"financial": 3})
    other = make_episode(team, lead=users["coach"], opened_at=NOW - timedelta(days=40))
    assert board.reconcile(repair=False).drift == []
    # Raw writes no hook sees: a level lowered, a decision that never happened.
    Episode.objects.filter(pk=episode.pk).update(risk_level=0, high_risks="")
    Episode.objects.filter(pk=other.pk).update(last_decision_at=NOW)
    found = board.reconcile(repair=False)
    assert [line.split(":")[0] for line in found.drift] == [f"episode {episode.pk}", f"episode {other.pk}"]
    assert found.checked == 2 and found.repaired == 0
    with pytest.raises(SystemExit):
        call_command("reconcile_board_fields", "--check")
    call_command("reconcile_board_fields")
    assert "2 episodes recounted: 2 repaired." in capsys.readouterr().out
    assert _stored(episode) == (3, "financial", None) and _stored(other) == (0, "", None)
    call_command("reconcile_board_fields", "--check")
    assert board.reconcile().drift == []


# --- Every writer of what the board's fields derive from, listed ------------------------------------

# Files that create contacts, risk indicators, assessment risks, episodes or Managers Decisions, or
# move them. Each keeps the board's fields: `board.refresh` in the same transaction, the decision
# receiver (oversight/apps.py), or the generator's `board.rebuild` after its COPY. A new writer fails
# this test so that its author reads cases/board.py first.
KNOWN_WRITERS = {
    "workflows/services.py": "board.refresh(",  # intake (contacts and their risks), opening an episode
    "workflows/episode_services.py": "board.refresh(",  # the assessment's risks
    "imports/services.py": "board.refresh(",  # the import's COPY, per batch of families
    "oversight/services.py": None,  # Managers Decisions: the receiver in oversight/apps.py
    "tooling/generator/build.py": None,  # COPY; tooling/generator/__init__.py rebuilds after it
}
CREATE = re.compile(
    r"\b(RiskIndicator|AssessmentRisk|ManagersDecision|Episode|Contact)"
    r"(\.objects\.(create|update_or_create|get_or_create|bulk_create)\(|\(\s*\n|\((family|contact|episode|assessment)=)"
    r"|buffer\((RiskIndicator|AssessmentRisk|Contact|Episode|self\.Decision)\)"
)
MOVE = re.compile(
    r"\b(Episode|Contact|RiskIndicator|AssessmentRisk|ManagersDecision)\.objects[^\n]*?\.update\([^\n]*"
    r"\b(contact|contact_id|opened_at|family|family_id|received_at|level|recorded_at|episode|episode_id)="
)


def test_every_writer_keeps_the_board_fields():
    writers = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "node_modules/", "tests/", "benchmarks/")) or "/migrations/" in rel:
            continue
        joined = re.sub(r"\)\s*\n\s*\.", ").", path.read_text())
        if CREATE.search(joined) or MOVE.search(joined):
            writers.add(rel)
    assert writers == set(KNOWN_WRITERS)
    for rel, call in KNOWN_WRITERS.items():
        if call:
            assert call in (ROOT / rel).read_text(), rel
    assert "board.refresh(" in (ROOT / "oversight/apps.py").read_text()
    assert "board.rebuild()" in (ROOT / "tooling/generator/__init__.py").read_text()
