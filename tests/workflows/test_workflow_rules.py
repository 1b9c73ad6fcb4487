"""The pure rules: what may follow what, why a refusal says why, dates and SMART checks."""

from __future__ import annotations

from datetime import date

import pytest

from cases.models import Episode, add_months, assessment_needed, why_not

S = Episode.State


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 15), 3, date(2026, 8, 15)),
    ],
)
def test_add_months_ends_on_the_months_last_day(day, months, expected):
    assert add_months(day, months) == expected


class TestAssessmentNeeded:
    def test_a_step_down_with_a_recent_social_care_assessment_needs_none(self):
        assert not assessment_needed(
            origin=Episode.Origin.STEP_DOWN, social_care_assessment_date=date(2026, 9, 1), today=date(2026, 11, 30)
        )

    def test_three_months_old_or_more_needs_one(self):
        assert assessment_needed(
            origin=Episode.Origin.STEP_DOWN, social_care_assessment_date=date(2026, 8, 30), today=date(2026, 11, 30)
        )

    def test_other_routes_always_need_one(self):
        assert assessment_needed(
            origin=Episode.Origin.FRONT_DOOR, social_care_assessment_date=date(2026, 11, 1), today=date(2026, 11, 30)
        )


def _episode(state, **fields) -> Episode:
    episode = Episode(pk=7, **fields)
    episode.__dict__["state"] = state  # the field is protected: set the stored value as a load would
    return episode


class TestTransitions:
    def test_allowed_next_steps_follow_the_workflow(self):
        names = {t.name for t in _episode(S.AWAITING_ALLOCATION).get_available_state_transitions()}
        # A waiting family can also be closed, stepped down or stepped up without allocation.
        assert names == {
            "allocate",
            "record_duty_contact",
            "close_before_allocation",
            "step_down_before_allocation",
            "request_step_up",
        }
        names = {t.name for t in _episode(S.PLAN_ACTIVE).get_available_state_transitions()}
        assert {"hold_review", "request_closure", "request_step_up", "family_declines", "edit_plan"} <= names
        assert "allocate" not in names

    def test_skip_assessment_only_for_a_step_down_with_a_date(self):
        plain = _episode(S.FIRST_VISIT, origin=Episode.Origin.FRONT_DOOR)
        step_down = _episode(S.FIRST_VISIT, origin=Episode.Origin.STEP_DOWN, social_care_assessment_date=date.today())  # noqa: DTZ011
        assert "skip_assessment" not in {t.name for t in plain.get_available_state_transitions()}
        assert "skip_assessment" in {t.name for t in step_down.get_available_state_transitions()}

    def test_closure_return_goes_back_where_it_was(self):
        episode = _episode(S.WRAPAROUND)
        episode.request_closure()
        assert episode.state == S.CLOSURE_REQUESTED
        episode.return_closure()
        assert episode.state == S.WRAPAROUND

    def test_a_refusal_says_why(self):
        message = why_not(_episode(S.ALLOCATED), "activate_plan")
        assert message == (
            "E0000007 cannot make the plan active now: the plan becomes active once the assessment is completed "
            "(at the initial planning meeting, where the procedure has one). It is allocated."
        )
