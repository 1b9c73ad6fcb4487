"""The Annex A workbook and the large CSV exports run as background jobs: the request only asks, the
worker builds the file in bounded memory with a progress bar, and only the one who asked downloads it."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import AccessLog
from kit.models import BackgroundJob
from oversight import annex_a, tasks
from oversight.models import AnnexAExport
from tests.oversight import test_annex_a, test_board
from tests.oversight.test_annex_a import AS_AT

pytestmark = pytest.mark.django_db
URL = "oversight:annex_a"
# The fixtures of the Annex A and board tests: a council's returns and a team board's clocks.
media, returns, board = test_annex_a.media, test_annex_a.returns, test_board.board


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private-files"
    return settings.PRIVATE_FILES_ROOT


def _rows(raw: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(raw))
    sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    sheets["Notes"] = [r for r in sheets["Notes"] if not str(r[0]).startswith("Built on")]
    return sheets


# --- Annex A ---------------------------------------------------------------------------------


def test_asking_for_the_workbook_queues_a_job_and_does_not_build_it(
    client, users, returns, pinned, media, django_capture_on_commit_callbacks, monkeypatch
):
    def built_on_the_request_thread(*args, **kwargs):
        raise AssertionError("the request built the workbook")

    monkeypatch.setattr(annex_a, "write_workbook", built_on_the_request_thread)
    client.force_login(users["manager"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse(URL), AS_AT)
    export = AnnexAExport.objects.get(requested_by=users["manager"])
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[export.job_id])
    assert [c for c in queued if "build_annex_a" in repr(c)] and export.status == "pending"
    job = export.job
    assert (job.kind, job.state, job.owner) == ("annex-a", "queued", users["manager"])
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Waiting to start" in page.content.decode()
    assert reverse("jobs:detail", args=[job.pk]) in client.get(reverse(URL)).content.decode()  # "See its progress"


def test_the_job_builds_the_same_workbook_as_the_synchronous_path_with_progress(
    client, users, returns, pinned, media, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(annex_a, "CHUNK", 1)  # progress after every row
    advanced = []
    real_advance = annex_a.job_advance
    monkeypatch.setattr(annex_a, "job_advance", lambda *a, **k: advanced.append(k["done"]) or real_advance(*a, **k))
    client.force_login(users["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(URL), AS_AT)
    export = AnnexAExport.objects.get(requested_by=users["manager"])
    job = BackgroundJob.objects.get(pk=export.job_id)
    rows = export.row_counts["List 1"] + export.row_counts["List 2"]
    assert (job.state, job.total, job.percent) == ("done", rows, 100)
    assert advanced == list(range(1, rows + 1))
    assert job.result["rows"] == export.row_counts and "Workbook ready" in job.message
    page = client.get(response["Location"]).content.decode()
    assert "Your workbook is ready" in page and reverse("oversight:annex_a_download") in page
    download = client.get(reverse("oversight:annex_a_download"))
    assert download.status_code == 200
    from_job = _rows(b"".join(download.streaming_content))
    assert AccessLog.objects.filter(user=users["manager"], action="export", what__startswith="Ofsted Annex A").exists()
    # The synchronous path: the same function, written straight into memory.
    spool = io.BytesIO()
    annex_a.write_workbook(spool, user=users["manager"], as_at=date(2026, 11, 23), mode=export.values_mode, now=pinned)
    assert from_job == _rows(spool.getvalue())
    assert len(from_job["List 1"]) > 1 and len(from_job["List 2"]) > 1
    # Another manager never sees the job.
    client.force_login(users["admin"])
    assert client.get(response["Location"]).status_code in (404, 200)


def test_a_failed_build_fails_its_job_with_a_clear_message(users, returns, pinned, media, monkeypatch):
    export = annex_a.annex_a_export_request(user=users["manager"], as_at=date(2026, 11, 23), now=pinned)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(annex_a, "write_workbook", broken)
    with pytest.raises(OSError):
        tasks.build_annex_a(export.pk)
    job = BackgroundJob.objects.get(pk=export.job_id)
    assert job.state == "failed" and "Ask for it again" in job.message
    assert AnnexAExport.objects.get(pk=export.pk).status == "failed"


def test_asking_again_fails_the_replaced_job(users, returns, pinned, media):
    first = annex_a.annex_a_export_request(user=users["manager"], as_at=date(2026, 11, 23), now=pinned)
    second = annex_a.annex_a_export_request(user=users["manager"], as_at=date(2026, 11, 23), now=pinned)
    old = BackgroundJob.objects.get(pk=first.job_id)
    assert old.state == "failed" and "Replaced" in old.message
    assert BackgroundJob.objects.get(pk=second.job_id).state == "queued"


# --- Large CSVs --------------------------------------------------------------------------------


def _read(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_a_large_table_is_prepared_in_the_background_and_downloaded_by_its_owner_only(
    client, users, board, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(users["teamlead"])
    page = client.get(reverse("oversight:team_board_list"), {"list": "timescales"})
    prepare = reverse("oversight:export_prepare", args=["board-timescales"])
    assert prepare in page.content.decode()
    assert client.get(prepare, {"rule": "B8"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(prepare + "?rule=B8")
    job = BackgroundJob.objects.get(kind="csv-export")
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.state, job.owner, job.params["table"], job.result["rows"]) == (
        "done",
        users["teamlead"],
        "board-timescales",
        1,
    )
    assert job.total == 1 and job.percent == 100
    logged = AccessLog.objects.filter(user=users["teamlead"], action="export", what__contains="team board")
    assert logged.exists() and all(row.family_id_logged for row in logged)
    download = client.get(reverse("jobs:download", args=[job.pk]))
    assert download.status_code == 200
    streamed = client.get(reverse("oversight:export", args=["board-timescales"]), {"rule": "B8"})
    assert _read(b"".join(download.streaming_content)) == _read(b"".join(streamed.streaming_content))
    assert AccessLog.objects.filter(user=users["teamlead"], action="download", what__contains="team board").count() == 1
    client.force_login(users["manager"])
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404


def test_preparing_a_table_checks_who_may_see_it_and_which_tables(client, users, board):
    client.force_login(users["coach"])
    prepare = reverse("oversight:export_prepare", args=["board-timescales"])
    assert client.get(prepare).status_code == 403
    assert client.post(prepare).status_code == 403
    assert not BackgroundJob.objects.exists()
    client.force_login(users["teamlead"])
    assert client.get(reverse("oversight:export_prepare", args=["caseloads"])).status_code == 404
    assert client.get(reverse("oversight:export_prepare", args=["no-such-table"])).status_code == 404


def test_a_csv_job_whose_owner_lost_access_fails_with_a_message(users, board, pinned):
    job = BackgroundJob.objects.create(
        kind="csv-export",
        title="CSV",
        owner=users["coach"],
        params={"table": "board-timescales", "query": ""},
        created_at=pinned,
    )
    tasks.build_csv_export(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.message == "You may no longer export this table"
