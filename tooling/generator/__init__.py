"""A realistic, deterministic dataset at council scale: `python manage.py generate_data --families N`.

For N = 200,000 (a large council's five years, twice over) it makes about 600,000 people,
700,000 contacts, 150,000 episodes in every state with their visits, assessments, plans and
reviews, 5,000,000 case notes, the deadline clocks and alerts the rulebooks imply, 400 staff in
25 teams and 20,000,000 access-log rows; everything scales linearly with N. See BENCHMARKS.md.

How: `build.Builder` writes each family's rows into per-table buffers; every CHUNK families the
`loader.Loader` COPYs them. The whole run is one transaction: it either loads everything or
leaves the database as it was.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from cases import board, caseload, reach
from cases.models import AccessLog, Family
from deadlines.calendar import build_calendar
from deadlines.counts import counts_rebuild
from deadlines.engine import Limits, RuleIndex
from deadlines.rulebook import load_rulebooks
from kit.time import LONDON
from tooling.generator.build import BENCHMARK, DEMO, Builder, Profile
from tooling.generator.loader import Loader, Progress

CHUNK = 1_000  # families per COPY round: bounded memory, few COPY statements
# One council's procedure and the shared step-up rulebook (ADR 0019): the generated service follows it.
DEFAULT_RULEBOOKS = ("family-solutions", "step-up")
SERVICE_NAME = "Early Help"

# Records kept by features still being built: generated only when their models exist.
OPTIONAL_MODELS = (("oversight", "ManagersDecision"), ("oversight", "Supervision"))
# Not generated (yet): supervision actions, breach acknowledgements, histories, closure days.


__all__ = ["BENCHMARK", "DEMO", "GeneratorError", "Profile", "Result", "generate", "generation_now"]


class GeneratorError(Exception):
    """The database is not one the generator may write to (say why)."""


@dataclass
class Result:
    families: int
    seconds: float
    rows: dict[str, int]
    rates: dict[str, float]
    timings: dict[str, float]
    counts: dict[str, int]
    skipped: list[str]


def _contact_next_due_fill() -> None:
    """Each contact's earliest open due time from the clocks COPYed (the fill of migration cases 0024),
    then the clocks' triggers on again (`generate` turned them off for the load)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_contact AS c SET earliest_due_at = d.earliest FROM ("
            " SELECT contact_id, min(due_at) AS earliest FROM deadlines_deadline"
            " WHERE contact_id IS NOT NULL AND stopped_at IS NULL AND due_at IS NOT NULL GROUP BY contact_id"
            ") AS d WHERE c.id = d.contact_id AND c.earliest_due_at IS DISTINCT FROM d.earliest"
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses a table with pending trigger events
        cursor.execute("ALTER TABLE deadlines_deadline ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def generate(
    *,
    families: int,
    seed: int = 1,
    today: date | None = None,
    access_log: bool = True,
    append: bool = False,
    rulebooks: tuple[str, ...] = DEFAULT_RULEBOOKS,
    fast_indexes: bool = True,
    analyze: bool = True,
    stream=None,
    event_log: list | None = None,
    profile: Profile = BENCHMARK,
    staff_of: int | None = None,
) -> Result:
    """Generate `families` families (see the module docstring). Deterministic for a seed on an empty database.

    The clocks are made by the deadline engine's own functions (`deadlines.engine`), replaying
    each family's events as `deadline_record_event` would. With `event_log`, every event replayed
    is appended to it (see `Builder`), so a test can replay them through the service itself.
    `profile`: the benchmark's council (default) or the demo's (`DEMO`, ADR 0030).
    `staff_of`: teams and staff as for this many families (default `families`): the same council's
    structure with fewer families, so a page listing its teams or staff compares like with like.
    """
    stream = stream or sys.stderr
    if families < 1:
        raise GeneratorError("--families must be at least 1")
    if staff_of is not None and staff_of < 1:
        raise GeneratorError("--staff-of must be at least 1")
    if not append and Family.objects.exists():
        raise GeneratorError(
            "This database already has families: generate_data only fills an empty database "
            "(use a fresh one, or pass --append to add to it)."
        )
    procedure = _procedure(rulebooks)
    now = generation_now(today)
    started = time.perf_counter()
    rng = random.Random(seed)
    log_rng = random.Random(f"{seed}-access-log")
    books = load_rulebooks(rulebooks)
    loader = Loader(fast_indexes=fast_indexes, stream=stream)
    builder = Builder(
        loader=loader, rng=rng, log_rng=log_rng, now=now, access_log=access_log, event_log=event_log, profile=profile,
        # One procedure plus the shared rulebooks (checked by _procedure): all of them may start clocks.
        rules=RuleIndex(books), starting=frozenset(b.slug for b in books), limits=Limits(build_calendar()),
    )  # fmt: skip
    builder.procedure = procedure
    builder.meeting_kinds = _meeting_kinds(next(b for b in books if b.slug == procedure))
    progress = Progress(families, stream=stream)
    skipped = [f"{app}.{name}" for app, name in OPTIONAL_MODELS if not _has_model(app, name)]

    with transaction.atomic():
        builder.make_staff(staff_of or families)
        builder.register_tables()
        order = builder.models()
        bulk = [m for m in order if m is not AccessLog or access_log]
        loader.prepare(bulk)
        # The clocks' triggers that keep each contact's earliest open due time (cases 0024) would run a
        # lookup per open contact clock COPYed, on a table whose indexes are dropped for the load: a scan
        # of every clock loaded so far, each time. Off for the load; one fill afterwards, as the migration's.
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE deadlines_deadline DISABLE TRIGGER USER")
        progress.note(
            f"Generating {families:,} families (seed {seed}, today {now:%Y-%m-%d %H:%M %Z}, rulebooks "
            f"{', '.join(rulebooks)}); prepared in {loader.timings['prepare']:.1f}s"
        )
        builder.supervisions()
        for done in range(1, families + 1):
            builder.family()
            if done == families:
                builder.worker_clocks()  # the cases each practitioner held are all known now
            if done % CHUNK == 0 or done == families:
                loader.flush(order)
                progress.update(done, loader.tables.values(), force=done == families)
        generated = time.perf_counter()
        progress.note("Recreating indexes and foreign keys...")
        loader.finish(progress)
        loader.timings["load"] = generated - started
        # The derived rows below are read from tables COPYed in this transaction, which have no
        # statistics yet: without them PostgreSQL planned `board.rebuild`'s per-episode risk probes as
        # scans of every risk indicator (at 200,000 families it had not finished after 15 minutes;
        # with statistics it takes under a minute). ANALYZE sees this transaction's own rows.
        t = time.perf_counter()
        _analyze(loader.tables.values())
        loader.timings["statistics"] = time.perf_counter() - t
        t = time.perf_counter()
        _contact_next_due_fill()
        loader.timings["next due"] = time.perf_counter() - t
        # The clocks were COPYed, past the ORM: their summary rows (deadlines.counts) are one recount.
        t = time.perf_counter()
        counts_rebuild(now=now)
        loader.timings["clock counts"] = time.perf_counter() - t
        # COPY sends no signal: who each family reaches is derived in one statement (ADR 43).
        t = time.perf_counter()
        reach.rebuild()
        loader.timings["reach"] = time.perf_counter() - t
        # And what the board reads of each episode: risk and the latest decision (ADR 56).
        t = time.perf_counter()
        board.rebuild()
        loader.timings["board"] = time.perf_counter() - t
        # The caseload rows the episodes' trigger kept row by row during the COPY, proved by a recount (ADR 62).
        t = time.perf_counter()
        caseload.rebuild()
        loader.timings["caseloads"] = time.perf_counter() - t
    if analyze:
        t = time.perf_counter()
        _analyze(loader.tables.values())
        with connection.cursor() as cursor:
            if not connection.in_atomic_block:
                # `board.rebuild` rewrote the episodes the COPY froze: a vacuum marks them all-visible
                # again, so the board's counts are index-only scans from the start (ADR 56).
                cursor.execute("VACUUM (ANALYZE) cases_episode")
        loader.timings["analyze"] = time.perf_counter() - t
    seconds = time.perf_counter() - started
    tables = list(loader.tables.values())
    result = Result(
        families=families,
        seconds=seconds,
        rows={t.name: t.written for t in tables},
        rates={t.name: (t.written / t.seconds if t.seconds else 0.0) for t in tables},
        timings=dict(loader.timings),
        counts=dict(builder.counts),
        skipped=skipped,
    )
    _report(result, progress)
    return result


def _analyze(tables) -> None:
    """Statistics for every table the generator wrote, and for the reach rows derived from them."""
    with connection.cursor() as cursor:
        for table in tables:
            if table.written:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table.name)}")
        cursor.execute("ANALYZE cases_familyreach")


def _procedure(rulebooks: tuple[str, ...]) -> str:
    """The one council procedure the generated service follows (ADR 0019); the rest must be shared (step-up)."""
    from accounts.models import Service
    from deadlines.procedures import shared_rulebooks

    shared = set(shared_rulebooks())
    procedures = [slug for slug in rulebooks if slug not in shared]
    if len(procedures) != 1:
        raise GeneratorError(
            "--rulebooks must name exactly one council procedure (plus shared rulebooks such as "
            f"{', '.join(sorted(shared)) or 'step-up'}): a service follows one procedure, got "
            f"{', '.join(procedures) or 'none'}"
        )
    clash = Service.objects.filter(name=SERVICE_NAME).exclude(rulebook__in=["", procedures[0]]).first()
    if clash is not None:
        raise GeneratorError(
            f"The service {clash.name!r} follows {clash.rulebook!r}: generate its clocks with "
            f"--rulebooks {clash.rulebook},{','.join(sorted(shared))}"
        )
    return procedures[0]


def _meeting_kinds(book) -> tuple[str, ...]:
    """The multi-agency meetings the procedure's rules know of (MAAM for Family Solutions); all when none."""
    events = {e for rule in book.rules.values() for e in (*rule.starts_on, *rule.stops_on, *rule.ends_on)}
    kinds = tuple(k for k in ("NAM", "MAAM", "ICDM") if any(e.startswith(f"{k.lower()}_") for e in events))
    return kinds or ("NAM", "MAAM", "MAAM", "ICDM")


def generation_now(today: date | None) -> datetime:
    if today is None:
        return timezone.now()
    return datetime.combine(today, dtime(12, 0), tzinfo=LONDON)


def _has_model(app: str, name: str) -> bool:
    try:
        apps.get_model(app, name)
    except LookupError:
        return False
    return True


def _report(result: Result, progress: Progress) -> None:
    lines = [f"\nGenerated {result.families:,} families in {result.seconds:,.1f}s", "", "| table | rows | rows/s |"]
    lines.append("|---|---:|---:|")
    for name, rows in sorted(result.rows.items(), key=lambda kv: -kv[1]):
        if rows:
            lines.append(f"| {name} | {rows:,} | {result.rates[name]:,.0f} |")
    lines.append("")
    lines.append(
        "Phases: " + ", ".join(f"{k} {v:,.1f}s" for k, v in result.timings.items() if k != "load")
        + f", generate+copy {result.timings.get('load', 0):,.1f}s"
    )  # fmt: skip
    if result.skipped:
        lines.append("Not generated (models not present yet): " + ", ".join(result.skipped))
    progress.note("\n".join(lines))
