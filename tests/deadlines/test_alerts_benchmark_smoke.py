"""The benchmark script runs end to end in a short mode and cleans up after itself."""

from __future__ import annotations

import pytest
from django.db import connections

from benchmarks import alerts_benchmark
from deadlines.models import Alert, Deadline


@pytest.mark.django_db(transaction=True)
def test_benchmark_short_mode(capsys):
    result = alerts_benchmark.main(["--open", "2000", "--crossed", "100", "--repeat", "2", "--cleanup"])
    assert result["no_change_raised"] == 0
    assert result["crossed_raised"] == 100
    assert result["alerts_created"] == 100  # one team leader, one breach alert each
    assert "Index Scan" in result["no_change_plan_breached"] or "Index Only Scan" in result["no_change_plan_breached"]
    assert "deadline_breach_pending" in result["crossed_plan"]
    assert not Deadline.objects.filter(rulebook="benchmark").exists()
    assert not Alert.objects.exists()
    out = capsys.readouterr().out
    assert "EXPLAIN ANALYZE" in out and "rows/s" in out
    connections.close_all()
