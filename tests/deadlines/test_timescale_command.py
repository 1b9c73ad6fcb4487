"""`manage.py timescale`: the worked examples through the command, closure days from the DB."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> dict:
    out = StringIO()
    call_command("timescale", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_christmas_eve_acknowledgement_expected_time_clamps_to_the_maximum():
    result = run("family-solutions", "B2", "2026-12-24T15:00:00+00:00")
    assert result == {
        "rulebook": "family-solutions",
        "rule": "B2",
        "start": "2026-12-24T15:00:00+00:00",
        # 1 working day would be the end of Tue 29 Dec, after the 3-calendar-day maximum.
        "expected_at": "2026-12-27T23:59:59+00:00",
        "due_at": "2026-12-27T23:59:59+00:00",
    }


@pytest.mark.django_db
def test_summer_times_carry_the_bst_offset():
    result = run("family-solutions", "B6", "2026-06-01T10:00:00+01:00")
    assert result["expected_at"] == "2026-06-03T23:59:59+01:00"
    assert result["due_at"] == "2026-06-06T23:59:59+01:00"


@pytest.mark.django_db
def test_a_start_without_offset_is_london_time_and_hours_are_elapsed_time():
    # 12:00 GMT on the Saturday before the spring clock change, plus 48 hours.
    result = run("step-up", "C1", "2026-03-28T12:00")
    assert result["start"] == "2026-03-28T12:00:00+00:00"
    assert result["expected_at"] is None
    assert result["due_at"] == "2026-03-30T13:00:00+01:00"


@pytest.mark.django_db
def test_a_start_in_utc_is_shown_in_london_time():
    result = run("families-first", "A1", "2026-07-01T23:30:00Z")
    assert result["start"] == "2026-07-02T00:30:00+01:00"
    assert result["due_at"] == "2026-07-03T00:30:00+01:00"


@pytest.mark.django_db
def test_flag_only_aim_has_an_expected_time_and_no_due_time():
    result = run("families-first", "A11", "2026-01-31T09:00")
    assert result["expected_at"] == "2026-07-31T23:59:59+01:00"
    assert result["due_at"] is None


@pytest.mark.django_db
def test_closure_days_recorded_in_the_database_are_not_working_days():
    # Imported here so a missing model fails this test, not collection of the whole suite.
    from deadlines.models import ClosureDay

    before = run("family-solutions", "B18", "2026-12-24T15:00")
    assert before["due_at"] == "2026-12-29T23:59:59+00:00"
    for day in (29, 30, 31):
        ClosureDay.objects.create(date=date(2026, 12, day), reason="Christmas closure")
    after = run("family-solutions", "B18", "2026-12-24T15:00")
    assert after["due_at"] == "2027-01-04T23:59:59+00:00"


@pytest.mark.django_db
def test_rulebooks_are_read_from_the_configured_directory(settings, tmp_path):
    (tmp_path / "local.toml").write_text(
        """
title = "Local"

[[rule]]
id = "L1"
title = "Local acknowledgement"
starts_on = ["contact_received"]
stops_on = ["acknowledgement_sent"]
maximum = { amount = 2, unit = "working_days" }
recurs = false
applies_to = "contact"
exempt_routes = []
""",
        encoding="utf-8",
    )
    settings.EARLYHELP_RULEBOOK_DIR = str(tmp_path)
    result = run("local", "L1", "2026-05-01T09:00")  # Friday before the May bank holiday
    assert result["due_at"] == "2026-05-06T23:59:59+01:00"
    with pytest.raises(CommandError, match="Unknown rulebook 'family-solutions'"):
        run("family-solutions", "B2", "2026-05-01T09:00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-book", "B2", "2026-12-24T15:00"), "Unknown rulebook 'no-such-book'"),
        (("family-solutions", "B99", "2026-12-24T15:00"), "Unknown rule 'B99' in rulebook 'family-solutions'"),
        (("family-solutions", "B2", "Christmas Eve"), "Cannot read start 'Christmas Eve'"),
    ],
)
def test_bad_arguments_give_a_one_sentence_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
