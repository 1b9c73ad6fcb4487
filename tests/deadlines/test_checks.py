"""`manage.py check` refuses an invalid rulebook with the file, rule and problem."""

from __future__ import annotations

from deadlines.checks import rulebooks_check
from deadlines.services import active_rulebooks


def test_shipped_rulebooks_pass():
    assert rulebooks_check() == []


def test_a_bad_rulebook_is_an_error_naming_file_rule_and_problem(settings, tmp_path):
    (tmp_path / "broken.toml").write_text(
        'title = "Broken"\n\n[[rule]]\nid = "X1"\ntitle = "t"\nstarts_on = ["contact_recieved"]\n'
        'stops_on = ["decision_made"]\nmaximum = { amount = 1, unit = "hours" }\napplies_to = "contact"\n',
        encoding="utf-8",
    )
    settings.EARLYHELP_RULEBOOK_DIR = str(tmp_path)
    settings.EARLYHELP_RULEBOOKS = ["broken"]
    (error,) = rulebooks_check()
    assert error.id == "deadlines.E001"
    assert "broken.toml: rule X1: unknown event 'contact_recieved'" in error.msg
    settings.EARLYHELP_RULEBOOKS = ["no-such-book"]
    assert "no such rulebook file" in rulebooks_check()[0].msg


def test_rulebooks_are_loaded_once_per_process(settings):
    assert active_rulebooks() is active_rulebooks()
