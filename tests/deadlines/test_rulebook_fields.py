"""Rule fields for clock truth (ADRs 16-18): `stops_on_all`, `per_record` and the `[steps]` table."""

from __future__ import annotations

import pytest

from deadlines.rulebook import RulebookError, load_rulebook, load_rulebooks
from tests.deadlines.test_rulebook import bad_rule, write


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"stops_on": ""}, "'stops_on' must name at least one event"),
        ({"stops_on": "[]"}, "'stops_on' must name at least one event"),
        ({"stops_on": '[]\nstops_on_all = ["acknowledgement_sent"]'}, "at least two different events"),
        ({"stops_on": '[]\nstops_on_all = ["acknowledgement_sent", "ack"]'}, "unknown event 'ack'"),
        (
            {"stops_on": '["decision_made"]\nstops_on_all = ["decision_made", "acknowledgement_sent"]'},
            "both 'stops_on' and 'stops_on_all'",
        ),
        ({"recurs": 'false\nper_record = "yes"'}, "'per_record' must be true or false"),
    ],
)
def test_invalid_new_fields_say_what_is_wrong(tmp_path, changes, problem):
    path = write(tmp_path, bad_rule(**changes))
    with pytest.raises(RulebookError) as excinfo:
        load_rulebook(path)
    assert "BAD7" in str(excinfo.value) and problem in str(excinfo.value)


def test_all_of_stop_and_per_record_are_read(tmp_path):
    path = write(
        tmp_path,
        bad_rule(
            stops_on='[]\nstops_on_all = ["acknowledgement_sent", "decision_made"]', recurs="false\nper_record = true"
        ),
    )
    rule = load_rulebook(path).rules["BAD7"]
    assert rule.stops_on == () and rule.stops_on_all == ("acknowledgement_sent", "decision_made")
    assert rule.per_record is True


def test_steps_table_is_validated(tmp_path):
    path = write(tmp_path, "[steps]\nplanning_meeting = true\n" + bad_rule())
    assert load_rulebook(path).has_step("planning_meeting") is True
    path = write(tmp_path, "[steps]\nplanning_meting = true\n" + bad_rule(), name="typo.toml")
    with pytest.raises(RulebookError, match="unknown step 'planning_meting'"):
        load_rulebook(path)
    path = write(tmp_path, '[steps]\nplanning_meeting = "yes"\n' + bad_rule(), name="notbool.toml")
    with pytest.raises(RulebookError, match="true or false"):
        load_rulebook(path)


def test_shipped_procedures_say_which_have_a_planning_meeting():
    books = {b.slug: b for b in load_rulebooks(["families-first", "family-solutions", "step-up"])}
    assert books["families-first"].has_step("planning_meeting")
    assert not books["family-solutions"].has_step("planning_meeting")
    b = books["family-solutions"].rules
    assert b["B10"].stops_on_all == ("assessment_completed", "plan_started")
    assert b["B13"].per_record and b["B18"].per_record
    assert "episode_closed" in b["B13"].ends_on and "episode_closed" in b["B19"].ends_on
    assert {"allocated", "team_joined"} <= set(b["B20"].starts_on)
