"""The summary rows of the clocks (deadlines.counts): kept by every write, moved with time, reconciled."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine

from deadlines import events as ev
from deadlines.alerts import alerts_raise
from deadlines.counts import (
    BREACH_DAY,
    counts_advance,
    counts_as_of,
    counts_rebuild,
    counts_reconcile,
    open_counts,
    recount_open,
    recount_timeliness,
    timeliness_counts,
)
from deadlines.models import ClockCountsState, Deadline, OpenClockCount, Status
from deadlines.services import deadline_record_event, deadlines_recompute_open
from tests.conftest import ROOT
from tests.deadlines.conftest import london
from tests.factories import NOW, DeadlineFactory, EpisodeFactory

D = timedelta(days=1)


def assert_exact(now) -> None:
    """The summary rows, read at `now`, equal a full recount at `now`."""
    assert open_counts(now=now) == {k: n for k, n in recount_open(now).items() if n}
    want = {k: dict(zip(_measures(), v, strict=True)) for k, v in recount_timeliness(now).items()}
    assert timeliness_counts(now=now) == want


def _measures():
    from deadlines.counts import TIMELINESS_MEASURES

    return TIMELINESS_MEASURES


def statuses(now) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_t, _a, _r, status, _d), n in open_counts(now=now).items():
        if status != BREACH_DAY:  # a breached clock's second row, by the day it breached
            out[status] = out.get(status, 0) + n
    return out


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.mark.django_db
def test_every_orm_write_of_a_clock_keeps_the_counts(pinned, users, team, other_team):
    coach = users["coach"]
    on_time = DeadlineFactory()  # Model.save, insert
    overdue = DeadlineFactory(overdue=True)
    breached = DeadlineFactory(breached=True, rule_id="B4")
    DeadlineFactory(met=True)
    DeadlineFactory(withdrawn=True)
    assert_exact(NOW)
    assert statuses(NOW) == {Status.ON_TIME: 1, Status.OVERDUE: 1, Status.BREACHED: 1}

    # QuerySet.update: reassignment and transfer of team, then a stop.
    Deadline.objects.filter(pk=on_time.pk).update(assignee=coach, team=other_team)
    assert_exact(NOW)
    Deadline.objects.filter(pk=overdue.pk).update(stopped_at=NOW, stop_reason=Deadline.StopReason.MET)
    assert_exact(NOW)
    # A write that touches nothing counted is not counted (and costs nothing more).
    Deadline.objects.filter(pk=breached.pk).update(breach_alerted_at=NOW)
    # Model.save of an existing row, bulk_update (recompute), bulk_create.
    breached.due_at = NOW + 2 * D
    breached.save()
    assert_exact(NOW)
    on_time.due_at, on_time.expected_at = NOW + 10 * D, NOW + 2 * D
    Deadline.objects.bulk_update([on_time], ["expected_at", "due_at"])
    assert_exact(NOW)
    episode = EpisodeFactory(team=team)
    Deadline.objects.bulk_create(
        [
            Deadline(
                rulebook="family-solutions",
                rule_id="B12",
                title="x",
                episode=episode,
                family=episode.family,
                team=team,
                started_at=NOW - D,
                expected_at=NOW + 3 * D,
                due_at=NOW + 5 * D,
            )
        ]
    )
    assert_exact(NOW)
    # Deletes: one row, a queryset, and a cascade from the episode.
    on_time.delete()
    assert_exact(NOW)
    Deadline.objects.filter(rule_id="B4").delete()
    assert_exact(NOW)
    episode.delete()
    assert_exact(NOW)
    assert counts_reconcile(now=NOW).clean


@pytest.mark.django_db
def test_a_conflicting_bulk_create_is_refused_rather_than_miscounted(pinned):
    with pytest.raises(ValueError, match="uncounted"):
        Deadline.objects.bulk_create([], ignore_conflicts=True)


@pytest.mark.django_db
def test_events_recompute_and_transfers_keep_the_counts(make_episode, make_contact, book_b, cal, users, other_team):
    start = london(2026, 11, 16, 10, 0)
    with time_machine.travel(start, tick=False):
        episode = make_episode(opened_at=start)
        contact = make_contact(received_at=start)
        deadline_record_event(event=ev.CONTACT_RECEIVED, now=start, contact=contact, rulebooks=book_b, calendar=cal)
        deadline_record_event(event=ev.VISIT_RECORDED, now=start, episode=episode, rulebooks=book_b, calendar=cal)
        assert Deadline.objects.exists()
        assert_exact(start)
        # Allocation: the episode's open clocks follow the new lead professional and team.
        episode.lead_professional = users["coach"]
        episode.team = other_team
        episode.save()
        later = start + timedelta(hours=2)
        deadline_record_event(event=ev.VISIT_RECORDED, now=later, episode=episode, rulebooks=book_b, calendar=cal)
        assert Deadline.objects.filter(assignee=users["coach"], team=other_team).exists()
        assert_exact(later)
        deadline_record_event(event=ev.CASE_RECORDED, now=later, episode=episode, rulebooks=book_b, calendar=cal)
        assert_exact(later)
        deadlines_recompute_open(now=later, calendar=cal, rulebooks=book_b)
        assert_exact(later)
        assert counts_reconcile(now=later).clean


@pytest.mark.django_db
def test_the_alert_job_moves_the_counts_as_clocks_cross_with_time(users):
    t0 = NOW
    with time_machine.travel(t0, tick=False) as traveller:
        DeadlineFactory(expected_at=t0 + timedelta(hours=30), due_at=t0 + timedelta(hours=50))
        counts_advance(now=t0)
        assert statuses(t0) == {Status.ON_TIME: 1}
        for hours, status in ((7, Status.DUE_SOON), (31, Status.OVERDUE), (51, Status.BREACHED)):
            now = t0 + timedelta(hours=hours)
            traveller.move_to(now)
            # Readers are exact before the job runs (they add the crossings since `as_of`) ...
            assert statuses(now) == {status: 1}
            alerts_raise(now=now)
            # ... and the job writes them: the stored rows alone now say it.
            assert counts_as_of() == now
            stored = {r.status: r.n for r in OpenClockCount.objects.filter(n__gt=0).exclude(status=BREACH_DAY)}
            assert stored == {status: 1}
            assert_exact(now)


@pytest.mark.django_db
def test_reconcile_repairs_a_corrupted_row_and_reports_it(pinned, caplog):
    DeadlineFactory()
    DeadlineFactory(breached=True)
    assert counts_reconcile(now=NOW).clean
    row = OpenClockCount.objects.filter(status=Status.BREACHED, n__gt=0).get()
    OpenClockCount.objects.filter(pk=row.pk).update(n=99)
    OpenClockCount.objects.create(team_id=0, assignee_id=0, rule_id="ZZ", status=Status.ON_TIME, day=None, n=3)

    check = counts_reconcile(now=NOW, repair=False)
    assert len(check.drift) == 2
    assert OpenClockCount.objects.get(pk=row.pk).n == 99  # a check repairs nothing

    with caplog.at_level(logging.WARNING, logger="deadlines.counts"):
        result = counts_reconcile(now=NOW)
    assert len(result.drift) == 2
    assert any("summary 99, recount 1" in line for line in result.drift)
    assert "2 summary rows differed from the recount and were repaired" in caplog.text
    assert ClockCountsState.objects.get().last_drift == 2
    assert counts_reconcile(now=NOW).clean
    assert ClockCountsState.objects.get().last_drift == 0
    assert_exact(NOW)


@pytest.mark.django_db
def test_a_rebuild_after_a_bulk_load_logs_one_line_not_one_per_row(pinned, caplog):
    """The generator COPYs clocks past the ORM, then rebuilds: what it replaces is the load, not drift."""
    for _ in range(3):
        DeadlineFactory()
    DeadlineFactory(breached=True)
    OpenClockCount.objects.all().delete()  # as after a COPY: clocks with no summary rows

    with caplog.at_level(logging.INFO, logger="deadlines.counts"):
        result = counts_rebuild(now=NOW)
    assert result.drift  # the empty summary differed from the recount...
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # ...but that is not drift
    rebuilt = [r for r in caplog.records if "clock counts rebuilt" in r.getMessage()]
    assert len(rebuilt) == 1 and len(caplog.records) == 1
    assert f"{len(result.drift)} differed" in rebuilt[0].getMessage()
    assert ClockCountsState.objects.get().last_drift == 0
    assert counts_reconcile(now=NOW).clean
    assert_exact(NOW)


@pytest.mark.django_db
def test_the_reconcile_command_checks_and_repairs(pinned, capsys):
    from django.core.management import call_command

    DeadlineFactory()
    OpenClockCount.objects.update(n=5)
    with pytest.raises(SystemExit):
        call_command("reconcile_clock_counts", "--check")
    call_command("reconcile_clock_counts")
    assert re.search(r"recounted: [1-9]\d* repaired", capsys.readouterr().out)
    call_command("reconcile_clock_counts", "--check")


# --- Every writer of clocks, listed ------------------------------------------------------------------

# The files that write Deadline rows. Each goes through DeadlineQuerySet / Deadline.save (counted);
# a new writer fails this test so its author reads deadlines/counts.py first.
KNOWN_WRITERS = {
    "deadlines/services.py",  # events (stop, withdraw, start, follow the lead), recompute
    "workflows/demo.py",  # the demo hands a generated practitioner's clocks to a demo account
}
# Writers that bypass the queryset (COPY) and count their rows with Tally.created in the same transaction,
# as DeadlineQuerySet.bulk_create does after its INSERT.
COUNTED_COPY_WRITERS = {"imports/clocks.py"}  # an import's clocks for open work, one COPY per batch (ADR 53)
# Raw SQL on the clocks' table: only the alert job's claims (alert stamps, which no summary reads).
RAW_SQL_WRITERS = {"deadlines/alerts.py"}
WRITE = re.compile(r"Deadline\.objects[^\n]*?\.(update|bulk_create|bulk_update|delete)\(|Deadline\.objects\.create\(")
RAW = re.compile(r"UPDATE \{table\}|deadlines_deadline")


def _product_files():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "node_modules/", "tests/", "benchmarks/")) or "/migrations/" in rel:
            continue
        yield rel, path.read_text()


def test_every_writer_of_clocks_is_known_and_counted():
    writers, raw = set(), set()
    for rel, text in _product_files():
        # A multi-line chain: join continuation lines so `.filter(...)\n.update(` is seen.
        joined = re.sub(r"\)\s*\n\s*\.", ").", text)
        if WRITE.search(joined):
            writers.add(rel)
        if RAW.search(text) and "Deadline" in text and rel != "deadlines/counts.py":
            raw.add(rel)
    assert writers == KNOWN_WRITERS
    assert raw == RAW_SQL_WRITERS
    tallied = {rel for rel, text in _product_files() if "Tally.created(" in text}
    assert tallied - {"deadlines/models.py", "deadlines/counts.py"} == COUNTED_COPY_WRITERS
    # The claims set only alert stamps.
    from deadlines.alerts import DETECTED_LEVELS, detection_sql
    from deadlines.counts import COUNTED_FIELDS

    stamps = {re.search(r"SET (\w+) =", detection_sql(level)).group(1) for level in DETECTED_LEVELS}
    assert stamps and not stamps & COUNTED_FIELDS
