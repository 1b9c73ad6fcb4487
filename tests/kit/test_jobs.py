"""Background jobs: progress, the file at the end, and who may see them."""

from datetime import datetime

import pytest

from kit import jobs
from kit.models import BackgroundJob
from kit.time import LONDON

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    return settings.PRIVATE_FILES_ROOT


def _finished_export(owner) -> BackgroundJob:
    job = jobs.job_create(kind="csv", title="Contacts export", owner=owner, now=NOW)
    jobs.job_begin(job.pk, total=4, now=NOW)
    jobs.job_advance(job.pk, done=2, now=NOW, message="Half way")
    relative, absolute = jobs.job_file_path(job.pk, ".csv")
    absolute.write_text("reference\nC1\n")
    jobs.job_finish(job.pk, now=NOW, file_path=relative, file_name="contacts.csv", result={"rows": 1})
    job.refresh_from_db()
    return job


def test_a_job_moves_from_queued_to_done_with_its_progress(users):
    job = jobs.job_create(kind="csv", title="Contacts export", owner=users["manager"], now=NOW)
    assert (job.state, job.percent) == ("queued", 0)
    jobs.job_begin(job.pk, total=4, now=NOW)
    jobs.job_advance(job.pk, done=3, now=NOW, message="3 of 4 batches")
    job.refresh_from_db()
    assert (job.state, job.percent, job.message) == ("running", 75, "3 of 4 batches")
    job = _finished_export(users["manager"])
    assert (job.state, job.percent, job.done, job.result) == ("done", 100, 4, {"rows": 1})


def test_a_failed_job_says_why(users):
    job = jobs.job_create(kind="csv", title="Contacts export", owner=users["manager"], now=NOW)
    jobs.job_fail(job.pk, now=NOW, message="The database went away; start the export again.")
    job.refresh_from_db()
    assert job.is_finished and job.state == "failed" and jobs.job_file(job) is None


def test_only_the_owner_sees_the_job_and_downloads_its_file(client, users):
    job = _finished_export(users["manager"])
    client.force_login(users["manager"])
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200 and b"Download contacts.csv" in page.content
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "done" and status["percent"] == 100 and status["download"]
    download = client.get(f"/jobs/{job.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"reference\nC1\n"
    assert 'filename="contacts.csv"' in download["Content-Disposition"]
    client.force_login(users["teamlead"])
    for path in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/status/", f"/jobs/{job.pk}/download/"):
        assert client.get(path).status_code == 404
    assert b"Contacts export" not in client.get("/jobs/").content


def test_a_file_path_outside_the_private_folder_is_never_served(client, users, tmp_path):
    job = _finished_export(users["manager"])
    (tmp_path / "secret.txt").write_text("not yours")
    BackgroundJob.objects.filter(pk=job.pk).update(file_path="../secret.txt")
    client.force_login(users["manager"])
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404


def test_the_job_list_costs_the_same_whatever_the_number_of_jobs(client, users, django_assert_max_num_queries):
    client.force_login(users["manager"])
    for _ in range(3):
        _finished_export(users["manager"])
    with django_assert_max_num_queries(12) as few:
        assert client.get("/jobs/").status_code == 200
    for _ in range(20):
        _finished_export(users["manager"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/jobs/")
    assert page.content.count(b"Contacts export") == 23


def test_progress_can_carry_a_checkpoint_that_a_rerun_reads_back(users):
    job = jobs.job_create(kind="recompute", title="Recompute", owner=users["manager"], now=NOW)
    assert jobs.job_checkpoint(job.pk) == {}
    jobs.job_begin(job.pk, total=10, now=NOW)
    jobs.job_advance(job.pk, done=4, now=NOW, result={"last_id": 40, "moved": 3})
    assert jobs.job_checkpoint(job.pk) == {"last_id": 40, "moved": 3}
    jobs.job_begin(job.pk, total=10, now=NOW)  # delivered again: the checkpoint survives the restart
    assert jobs.job_checkpoint(job.pk) == {"last_id": 40, "moved": 3}
    assert jobs.job_checkpoint(999_999) == {}


def test_a_kind_with_a_download_hook_runs_it_before_the_file_is_served(client, users, monkeypatch):
    seen = []
    monkeypatch.setitem(jobs.DOWNLOAD_HOOKS, "csv", lambda request, job: seen.append((request.user, job.pk)))
    job = _finished_export(users["manager"])
    client.force_login(users["manager"])
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 200
    assert seen == [(users["manager"], job.pk)]
