"""The import as background jobs: a dry run that writes its report, then the real run of the same files.

An upload is kept under `settings.PRIVATE_FILES_ROOT/imports/<upload id>/` (never a served folder); the
dry-run job names that folder in its params, checks it (imports.checks) and writes the report CSV as its
file. The real run is a job of its own, allowed only from a dry run that found nothing wrong.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from imports.checks import CheckedSet, check_set
from imports.reader import Problem
from imports.services import import_set
from kit import jobs
from kit.models import BackgroundJob

DRY_RUN = "import-check"
REAL_RUN = "import"
SHOWN_PROBLEMS = 200
REPORT_COLUMNS = ("file", "row", "column", "problem")
# A spreadsheet runs a cell starting with these as a formula: the report prefixes them with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def upload_root() -> Path:
    return jobs.private_root() / "imports"


def new_upload_dir() -> tuple[str, Path]:
    """(the name kept in a job's params, the folder to save the files in)."""
    name = uuid.uuid4().hex
    path = upload_root() / name
    path.mkdir(parents=True, exist_ok=True)
    return name, path


def upload_dir(name: str) -> Path | None:
    """The folder of an upload named in a job's params, if it is one of ours and still there."""
    if not name or not name.isalnum():
        return None
    path = (upload_root() / name).resolve()
    if path.parent != upload_root().resolve() or not path.is_dir():
        return None
    return path


def safe_cell(value) -> str:
    """A value for a CSV opened in a spreadsheet: never a formula."""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_report(problems: list[Problem], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_COLUMNS)
        for p in problems:
            writer.writerow([safe_cell(p.file), p.row or "", safe_cell(p.column), safe_cell(p.message)])


def _result(checked: CheckedSet) -> dict:
    return {
        "ok": checked.ok,
        "problem_count": len(checked.problems),
        "problems": [[p.file, p.row, p.column, p.message] for p in checked.problems[:SHOWN_PROBLEMS]],
        "summary": checked.summary(),
    }


def dry_run(job_id: int, *, now: datetime) -> CheckedSet | None:
    """Check the job's upload; the report (every problem) is the job's file, the first problems its result."""
    job = BackgroundJob.objects.get(pk=job_id)
    directory = upload_dir(job.params.get("upload", ""))
    jobs.job_begin(job_id, total=0, now=now, message="Checking every row")
    if directory is None:
        jobs.job_fail(job_id, now=now, message="The uploaded files are no longer there: upload them again.")
        return None
    checked = check_set(directory, now=now)
    relative, absolute = jobs.job_file_path(job_id, ".csv")
    write_report(checked.problems, absolute)
    rows = sum(checked.read.values())
    message = (
        f"{rows} rows checked: nothing wrong. Nothing has been imported yet."
        if checked.ok
        else f"{rows} rows checked: {len(checked.problems)} problems. Nothing has been imported."
    )
    jobs.job_finish(
        job_id, now=timezone.now(), result=_result(checked), message=message, file_path=relative,
        file_name="import-check-report.csv",
    )  # fmt: skip
    return checked


def real_run(job_id: int, *, now: datetime) -> dict | None:
    """Check the upload again (nothing may have changed since) and import it, batch by batch."""
    job = BackgroundJob.objects.select_related("owner").get(pk=job_id)
    directory = upload_dir(job.params.get("upload", ""))
    if directory is None or job.owner is None:
        jobs.job_fail(job_id, now=now, message="The uploaded files are no longer there: upload them again.")
        return None
    jobs.job_begin(job_id, total=0, now=now, message="Checking the files again")
    checked = check_set(directory, now=now)
    if not checked.ok:
        jobs.job_fail(job_id, now=timezone.now(), message="The files have problems now: run the check again.")
        return None

    def progress(done: int, total: int, message: str) -> None:
        jobs.job_advance(job_id, done=done, total=total, message=message, now=timezone.now())

    created = import_set(checked, by=job.owner, now=now, progress=progress)
    made = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in created.items() if n) or "nothing new"
    jobs.job_finish(
        job_id, now=timezone.now(), result={"created": created, "summary": checked.summary()},
        message=f"Imported: {made}.",
    )  # fmt: skip
    shutil.rmtree(directory, ignore_errors=True)
    return created
