"""benchmarks/load.py reads locust's statistics: a page the run did not visit has no figures (locust writes
"N/A" for its percentiles) instead of stopping the report (a short run on a busy machine)."""

from __future__ import annotations

from benchmarks.load import locust_stats


def _row(name: str, count: int, value: str) -> dict:
    return {
        "Name": name,
        "Request Count": str(count),
        "Failure Count": "0",
        "50%": value,
        "95%": value,
        "99%": value,
        "Average Response Time": value if count else "0",
        "Max Response Time": value if count else "0",
        "Requests/s": "0.5" if count else "0",
    }


def test_a_page_without_requests_has_no_figures():
    stats = locust_stats(
        [_row("family page", 3, "40"), _row("supervision record", 0, "N/A"), _row("Aggregated", 3, "40")]
    )
    assert set(stats) == {"family page", "Aggregated"}
    assert stats["family page"]["p95_ms"] == 40.0 and stats["family page"]["requests"] == 3
