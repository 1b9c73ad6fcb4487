"""Rulebook loading: the shipped rulebooks match practice-frameworks.md; bad files fail loudly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deadlines.events import EVENTS
from deadlines.rulebook import (
    DEFAULT_DIRECTORY,
    Limit,
    RulebookError,
    available_rulebooks,
    load_rulebook,
    load_rulebooks,
    rules_ended_by,
    rules_started_by,
    rules_stopped_by,
)

SHIPPED = ("families-first", "family-solutions", "step-up")


@pytest.fixture(scope="module")
def books():
    return {book.slug: book for book in load_rulebooks(SHIPPED)}


# --- the shipped rulebooks ----------------------------------------------------------------------


def test_all_shipped_rulebooks_are_available_and_load(books):
    assert set(SHIPPED) <= set(available_rulebooks())
    assert books["families-first"].title == "Families First"
    assert books["family-solutions"].title == "Family Solutions"
    assert books["step-up"].title == "Early Help step-up"


def test_rule_ids_match_the_practice_frameworks(books):
    assert list(books["families-first"].rules) == [
        "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A7b", "A8", "A9", "A10", "A11",
    ]  # fmt: skip
    assert list(books["family-solutions"].rules) == [f"B{n}" for n in range(1, 21)]
    # C3-C5 (ADR 0038): escalations and re-referrals; the seeds give no limit, read as C2's 48 hours.
    assert list(books["step-up"].rules) == ["C1", "C2", "C3", "C4", "C5"]


def test_every_shipped_rule_cites_its_seed_and_uses_known_events(books):
    for book in books.values():
        assert book.source.endswith(".txt")
        for rule in book.rules.values():
            assert rule.source, rule.id
            assert set(rule.starts_on) | set(rule.stops_on) | set(rule.ends_on) <= EVENTS


# Every limit in practice-frameworks.md: (expected, maximum).
EXPECTED_LIMITS = {
    "A1": (None, Limit(24, "hours")),
    "A2": (None, Limit(10, "calendar_days")),
    "A3": (None, Limit(24, "hours")),
    "A4": (None, Limit(24, "hours")),
    "A5": (None, Limit(5, "calendar_days")),
    "A6": (None, Limit(20, "calendar_days")),
    "A7": (None, Limit(10, "calendar_days")),
    "A7b": (None, Limit(30, "calendar_days")),
    "A8": (None, Limit(5, "calendar_days")),
    "A9": (None, Limit(10, "working_days")),
    "A10": (Limit(6, "calendar_weeks"), Limit(3, "calendar_months")),
    "A11": (Limit(6, "calendar_months"), None),
    "B1": (None, Limit(15, "calendar_days")),
    "B2": (Limit(1, "working_days"), Limit(3, "calendar_days")),
    "B3": (Limit(1, "working_days"), Limit(3, "calendar_days")),
    "B4": (None, Limit(24, "hours")),
    "B5": (Limit(1, "working_days"), Limit(3, "calendar_days")),
    "B6": (Limit(2, "working_days"), Limit(5, "calendar_days")),
    "B7": (None, Limit(7, "calendar_days")),
    "B8": (None, Limit(2, "calendar_days")),
    "B9": (None, Limit(5, "working_days")),
    "B10": (None, Limit(4, "calendar_weeks")),
    "B11": (None, Limit(42, "calendar_days")),
    "B12": (None, Limit(42, "calendar_days")),
    "B13": (None, Limit(3, "calendar_days")),
    "B14": (None, Limit(1, "calendar_months")),
    "B15": (None, Limit(48, "hours")),
    "B16": (Limit(2, "working_days"), Limit(5, "calendar_days")),
    "B17": (None, Limit(3, "calendar_days")),
    "B18": (None, Limit(1, "end_of_next_working_day")),
    "B19": (None, Limit(1, "end_of_next_working_day")),
    "B20": (None, Limit(4, "calendar_weeks")),
    "C1": (None, Limit(48, "hours")),
    "C2": (None, Limit(48, "hours")),
    "C3": (None, Limit(48, "hours")),
    "C4": (None, Limit(48, "hours")),
    "C5": (None, Limit(48, "hours")),
}
RECURRING = {"A9", "A10", "B7", "B12", "B14", "B20"}


def test_limits_are_exactly_those_in_the_practice_frameworks(books):
    rules = {rule.id: rule for book in books.values() for rule in book.rules.values()}
    assert set(rules) == set(EXPECTED_LIMITS)
    for rule_id, (expected, maximum) in EXPECTED_LIMITS.items():
        assert (rules[rule_id].expected, rules[rule_id].maximum) == (expected, maximum), rule_id
    assert {r.id for r in rules.values() if r.recurs} == RECURRING
    assert {r.id for r in rules.values() if r.flag_only} == {"A11"}
    assert {r.id for r in rules.values() if r.exempt_routes} == {"B2", "B3"}
    assert rules["B2"].exempt_routes == ("dart",)
    assert rules["B2"].is_exempt("dart") and not rules["B2"].is_exempt(None)
    assert not rules["B5"].is_exempt("dart")
    assert rules["B20"].applies_to == "worker"
    assert rules["A1"].applies_to == "contact"


def test_rules_started_and_stopped_by_an_event(books):
    started = rules_started_by(books.values(), "contact_received")
    assert [(b.slug, r.id) for b, r in started] == [
        ("families-first", "A1"),
        ("family-solutions", "B1"),
        ("family-solutions", "B2"),
    ]
    stopped = rules_stopped_by(books.values(), "allocated")
    assert {r.id for _, r in stopped} == {"A4", "B4", "B6", "B15", "B16"}
    ended = rules_ended_by([books["family-solutions"]], "allocated")
    assert [r.id for _, r in ended] == ["B7"]
    assert rules_started_by([books["step-up"]], "allocated") == []


def test_rules_by_event_refuse_unknown_events(books):
    with pytest.raises(ValueError, match="unknown event"):
        rules_started_by(books.values(), "contact_recieved")


def test_load_rulebooks_keeps_the_order_asked_for():
    assert [b.slug for b in load_rulebooks(["step-up", "families-first"])] == ["step-up", "families-first"]


def test_load_rulebooks_refuses_path_like_and_missing_slugs(tmp_path):
    with pytest.raises(RulebookError, match="not a rulebook slug"):
        load_rulebooks(["../etc/passwd"])
    with pytest.raises(RulebookError, match="no such rulebook file"):
        load_rulebooks(["nowhere"], directory=tmp_path)
    with pytest.raises(RulebookError, match="selected twice"):
        load_rulebooks(["step-up", "step-up"])


# --- validation ------------------------------------------------------------------------------------

GOOD_RULE = """
    [[rule]]
    id = "X1"
    title = "Acknowledge"
    starts_on = ["contact_received"]
    stops_on = ["acknowledgement_sent"]
    maximum = { amount = 3, unit = "calendar_days" }
    recurs = false
    applies_to = "contact"
    exempt_routes = []
    source = "a seed paragraph"
"""


def write(tmp_path: Path, body: str, name: str = "local-rules.toml") -> Path:
    path = tmp_path / name
    path.write_text('title = "Local rules"\n' + textwrap.dedent(body), encoding="utf-8")
    return path


def bad_rule(**changes: str) -> str:
    """GOOD_RULE as rule "BAD7" with some lines replaced (a value of "" drops the line)."""
    lines = []
    for line in textwrap.dedent(GOOD_RULE).splitlines():
        key = line.split("=")[0].strip()
        if key in changes:
            if changes[key]:
                lines.append(f"{key} = {changes[key]}")
        else:
            lines.append(line)
    return "\n".join(lines).replace('id = "X1"', 'id = "BAD7"') + "\n"


def test_a_good_local_rulebook_loads(tmp_path):
    book = load_rulebook(write(tmp_path, GOOD_RULE))
    assert book.slug == "local-rules"
    rule = book.rules["X1"]
    assert rule.maximum == Limit(3, "calendar_days")
    assert rule.expected is None
    assert rule.starts_on == ("contact_received",)
    assert rule.flag_only is False and rule.ends_on == ()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"starts_on": '["contact_recieved"]'}, "unknown event 'contact_recieved'"),
        ({"stops_on": '["ack_sent"]'}, "unknown event 'ack_sent'"),
        ({"maximum": '{ amount = 3, unit = "fortnights" }'}, "unknown unit 'fortnights'"),
        ({"maximum": '{ amount = -3, unit = "calendar_days" }'}, "must not be negative"),
        ({"maximum": '{ amount = 1.5, unit = "calendar_days" }'}, "whole number"),
        ({"maximum": '{ amount = "3", unit = "calendar_days" }'}, "whole number"),
        ({"maximum": ""}, "neither an 'expected' nor a 'maximum'"),
        ({"applies_to": '"family"'}, "unknown applies_to 'family'"),
        ({"starts_on": "[]"}, "'starts_on' must name at least one event"),
        ({"recurs": '"yes"'}, "'recurs' must be true or false"),
        ({"applies_to": ""}, "missing 'applies_to'"),
        ({"maximum": '{ amount = 2, unit = "end_of_next_working_day" }'}, "amount 1"),
        ({"exempt_routes": '["DART route"]'}, "exempt_routes"),
    ],
)
def test_invalid_rules_name_file_rule_and_problem(tmp_path, changes, problem):
    path = write(tmp_path, bad_rule(**changes))
    with pytest.raises(RulebookError) as excinfo:
        load_rulebook(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "BAD7" in message
    assert problem in message


def test_unknown_keys_are_refused_so_typos_are_not_ignored(tmp_path):
    path = write(tmp_path, GOOD_RULE.replace("recurs = false", "recur = true"))
    with pytest.raises(RulebookError, match=r"rule X1: unknown key\(s\) recur"):
        load_rulebook(path)


def test_duplicate_rule_ids_are_refused(tmp_path):
    path = write(tmp_path, GOOD_RULE + GOOD_RULE)
    with pytest.raises(RulebookError) as excinfo:
        load_rulebook(path)
    assert str(path) in str(excinfo.value)
    assert "rule X1: duplicate rule id" in str(excinfo.value)


def test_toml_syntax_errors_name_the_file(tmp_path):
    path = write(tmp_path, GOOD_RULE.replace('title = "Acknowledge"', 'title = "Acknowledge'))
    with pytest.raises(RulebookError) as excinfo:
        load_rulebook(path)
    assert str(path) in str(excinfo.value)
    assert "TOML syntax error" in str(excinfo.value)


def test_rule_without_id_is_named_by_position(tmp_path):
    path = write(tmp_path, GOOD_RULE + GOOD_RULE.replace('id = "X1"', ""))
    with pytest.raises(RulebookError, match=r"rule #2 has no 'id'"):
        load_rulebook(path)


def test_rulebook_without_rules_or_title_is_refused(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text('title = "Nothing"\n', encoding="utf-8")
    with pytest.raises(RulebookError, match="no rules"):
        load_rulebook(empty)
    untitled = tmp_path / "untitled.toml"
    untitled.write_text(textwrap.dedent(GOOD_RULE), encoding="utf-8")
    with pytest.raises(RulebookError, match="missing 'title'"):
        load_rulebook(untitled)


def test_rulebook_errors_are_value_errors():
    assert issubclass(RulebookError, ValueError)


def test_default_directory_holds_the_shipped_files():
    assert {p.stem for p in DEFAULT_DIRECTORY.glob("*.toml")} >= set(SHIPPED)
