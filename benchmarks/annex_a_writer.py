"""Time the Annex A workbook's writing side at council scale, without a database: made-up rows.

    DEBUG=true DATABASE_URL=postgresql://... REDIS_URL=redis://... \\
        python benchmarks/annex_a_writer.py [--list-1 122000] [--list-2 33000] [--old]

Feeds `oversight.annex_a.write_lists` (the data-quality checks, the sheet XML, the zip) rows shaped
like a generated council's (20,000 families gave 12,169 List 1 and 3,326 List 2 rows for six months:
the defaults are ten times that, 200,000 families), with the codes, dates, blanks and problems of
real rows. `--old` writes the same rows cell by cell with openpyxl's write-only sheets, as the
build did before ADR 51, for the comparison. Prints rows, CPU and wall time, peak RSS and file size.
Nothing is read from or written to the database (Django is set up for the settings only).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


def _setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django

    django.setup()


def made_up_rows(n_1: int, n_2: int, *, seed: int = 1):
    from oversight import annex_a
    from oversight import annex_a_codes as ac

    rng = random.Random(seed)
    sexes, ethnicities = list(ac.SEX_LABELS), list(ac.ETHNICITY_LABELS)
    sources, teams = list(ac.CONTACT_SOURCE_LABELS), ["Northfield Family Hub", "Southbank Family Hub", "Early Help"]
    start = date(2026, 6, 6)

    def child():
        person = rng.randrange(1, 2_000_000)
        born = None if rng.random() < 0.05 else date(2008, 1, 1) + timedelta(days=rng.randrange(0, 6900))
        return person, ac.SEX_LABELS[rng.choice(sexes)], ac.ETHNICITY_LABELS[rng.choice(ethnicities)], born

    def list_1():
        for i in range(n_1):
            person, sex, ethnicity, born = child()
            day = start + timedelta(days=i * 183 // max(n_1, 1))
            age = None if born is None else day.year - born.year - ((day.month, day.day) < (born.month, born.day))
            source = ac.CONTACT_SOURCE_LABELS[rng.choice(sources)]
            cells = (f"P{person:07d}", sex, ethnicity, born, age, day, source)
            yield annex_a.Row(cells, person_id=person, family_id=person // 3, contact_id=i + 1)

    def list_2():
        for i in range(n_2):
            person, sex, ethnicity, born = child()
            started = start + timedelta(days=rng.randrange(0, 183))
            done = None if rng.random() < 0.4 else started + timedelta(days=rng.randrange(-2, 60))
            age = None if born is None else started.year - born.year
            cells = (f"P{person:07d}", sex, ethnicity, born, age, started, done, rng.choice(teams))
            yield annex_a.Row(cells, person_id=person, family_id=person // 3, episode_id=i + 1)

    return list_1(), list_2()


def old_write(file, rows_1, rows_2) -> int:
    """The rows written as before ADR 51: a styled openpyxl cell per date, `sheet.append` a row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from oversight import annex_a, annex_a_validation

    book = Workbook(write_only=True)
    n = 0
    for name, rows in ((annex_a.LIST_1, rows_1), (annex_a.LIST_2, rows_2)):
        sheet = book.create_sheet(name)
        sheet.append(annex_a_validation.headers(name))
        dates = [i for i, c in enumerate(annex_a_validation.LISTS[name]) if c.kind == "date"]
        styled = {i: WriteOnlyCell(sheet) for i in dates}
        for cell in styled.values():
            cell.number_format = annex_a_validation.DATE_FORMAT
        for row in rows:
            cells = [annex_a.neutralise(v) for v in row.cells]
            annex_a_validation.check_row(name, tuple(cells), mode="labels")
            for i in dates:
                if isinstance(cells[i], date):
                    styled[i].value = cells[i]
                    cells[i] = styled[i]
            sheet.append(cells)
            n += 1
    book.save(file)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list-1", type=int, default=122_000)
    parser.add_argument("--list-2", type=int, default=33_000)
    parser.add_argument("--old", action="store_true", help="write as before ADR 51 (openpyxl cell by cell)")
    args = parser.parse_args()
    _setup()
    from oversight import annex_a

    rows_1, rows_2 = made_up_rows(args.list_1, args.list_2)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spool = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - as the worker spools the workbook
    t0, c0 = time.perf_counter(), time.process_time()
    if args.old:
        old_write(spool, rows_1, rows_2)
        counts = {"rows": args.list_1 + args.list_2}
    else:
        counts, report = annex_a.write_lists(
            spool,
            rows_1,
            rows_2,
            any_rows=True,
            as_at=date(2026, 12, 6),
            mode="labels",
            unassessed=annex_a.EXCLUDE,
            now=datetime(2026, 12, 6, 12, tzinfo=UTC),
        )
        counts = {**counts, "errors": report["errors"], "checks": report["checks"]}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = spool.seek(0, io.SEEK_END)
    spool.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = args.list_1 + args.list_2
    print(
        f"{'before ADR 51' if args.old else 'now'}: {counts}; {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({cpu / rows * 1e6:.0f} µs CPU a row); RSS {base:.0f} MB at start, {peak:.0f} MB at peak; "
        f"file {size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
