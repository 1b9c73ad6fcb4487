"""Every List 1 and List 2 cell of a generated council and of the demo data passes the Annex A rules.

The rules are `oversight.annex_a_validation`, the module the data-quality report uses; here they
run on the finished workbook read back from its bytes, so a change that breaks the format (a header,
a value outside the template's list, a date written as text, a blank where the template needs a
value) fails CI.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import User
from oversight import annex_a, annex_a_validation
from oversight import annex_a_codes as ac
from oversight.selectors import LONDON, local_midnight
from tooling.generator import generate

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)


def assert_every_cell_passes(user, *, as_at: date, mode: str, now) -> dict:
    file = io.BytesIO()
    counts, report = annex_a.write_workbook(file, user=user, as_at=as_at, mode=mode, now=now)
    assert counts["List 1"] > 20 and counts["List 2"] > 5, counts  # a real test, not two empty sheets
    file.seek(0)
    found = list(annex_a_validation.check_workbook(file, mode=mode))
    errors = Counter(f"{sheet} {p.column}: {p.message}" for sheet, _, p in found if p.severity == "error")
    assert not errors, errors
    # The report written with the workbook says the same.
    assert report["errors"] == 0 and report["rows"] == counts
    checks = Counter((p.list_name, p.column, p.rule) for _, _, p in found)
    assert sum(checks.values()) == report["checks"]
    return counts


def test_a_generated_council(settings):
    generate(families=60, seed=7, today=TODAY, access_log=False, stream=io.StringIO())
    manager = User.objects.filter(groups__name=roles.MANAGER, service__isnull=False).order_by("pk").first()
    now = local_midnight(TODAY).replace(hour=9)
    for mode in ac.MODES:
        assert_every_cell_passes(manager, as_at=TODAY, mode=mode, now=now)


def test_the_demo_data():
    from accounts.demo import ensure_demo_accounts
    from workflows.demo import ensure_demo_families

    ensure_demo_accounts()
    ensure_demo_families(150)
    manager = User.objects.get(username="manager")
    now = timezone.now()
    assert_every_cell_passes(manager, as_at=timezone.localdate(now, LONDON), mode=ac.LABELS, now=now)
