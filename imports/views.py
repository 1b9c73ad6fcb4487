"""The import pages, for administrators: upload the export files, see the dry run's report, then import.

Uploading saves the files in a private folder and starts the dry run as a background job; its page (the
job page with the report) offers the Import button once the check found nothing wrong. Importing starts
the real run, another job with its own progress bar.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import ADMINISTRATOR
from imports import jobs as import_jobs
from imports import tasks
from imports.forms import UploadForm, max_upload_bytes
from imports.layout import KIND_OF, KINDS
from kit import jobs
from kit.forms import GdsForm, SafeTextMixin
from kit.models import BackgroundJob
from kit.permissions import require_role
from workflows.actions import ActionView
from workflows.errors import WorkflowError


def _import_job_or_404(request, job_id: int) -> BackgroundJob:
    job = jobs.job_for(request.user, job_id)
    if job is None or job.kind not in (import_jobs.DRY_RUN, import_jobs.REAL_RUN):
        raise Http404("No such import.")
    return job


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def start(request):
    require_role(request.user, ADMINISTRATOR)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        name, folder = import_jobs.new_upload_dir()
        for upload in form.cleaned_data["files"]:
            kind, _, suffix = upload.name.rpartition(".")
            with (folder / f"{kind.lower()}.{suffix.lower()}").open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        job = jobs.job_create(
            kind=import_jobs.DRY_RUN, title="Import check", owner=request.user, now=timezone.now(),
            params={"upload": name},
        )  # fmt: skip
        transaction.on_commit(lambda: tasks.check_import.delay(job.pk))
        return redirect("imports:detail", job.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "kinds": KINDS, "max_mb": max_upload_bytes() // (1024 * 1024)}
    return render(request, "imports/start.html", context, status=status)


@login_required
@require_GET
def template(request, layout_kind: str):
    """An empty file of one kind: its header row, to fill in or to compare an export with."""
    require_role(request.user, ADMINISTRATOR)
    kind = KIND_OF.get(layout_kind)
    if kind is None:
        raise Http404("No such kind of file.")
    response = HttpResponse(",".join(c.name for c in kind.columns) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind.name}.csv"'
    return response


@login_required
@require_GET
def detail(request, job_id: int):
    require_role(request.user, ADMINISTRATOR)
    job = _import_job_or_404(request, job_id)
    status = {"percent": job.percent, "download": bool(jobs.job_file(job))}
    result = job.result or {}
    can_import = (
        job.kind == import_jobs.DRY_RUN
        and job.state == BackgroundJob.State.DONE
        and result.get("ok")
        and import_jobs.upload_dir(job.params.get("upload", "")) is not None
    )
    context = {
        "job": job,
        "status": status,
        "result": result,
        "is_check": job.kind == import_jobs.DRY_RUN,
        "can_import": can_import,
        "more_problems": max(0, result.get("problem_count", 0) - len(result.get("problems", []))),
    }
    return render(request, "imports/job.html", context)


class RunForm(SafeTextMixin, GdsForm):
    check = forms.IntegerField(widget=forms.HiddenInput, error_messages={"required": "Choose the check to import"})


class RunImport(ActionView):
    """The Import button of a clean dry run: starts the real run of the same files."""

    form_class = RunForm
    post_only = True
    permission_first = True

    def check_permission(self, target) -> None:
        require_role(self.request.user, ADMINISTRATOR)

    def get_object(self):
        return None

    def page(self, form, *, status: int = 200):
        return render(self.request, "imports/run_refused.html", {"form": form}, status=status)

    def perform(self, data):
        check = jobs.job_for(self.request.user, data["check"])
        if check is None or check.kind != import_jobs.DRY_RUN:
            raise WorkflowError("There is no such check of yours: upload the files again.")
        if check.state != BackgroundJob.State.DONE or not check.result.get("ok"):
            raise WorkflowError("Only a check that found nothing wrong can be imported: upload the files again.")
        if import_jobs.upload_dir(check.params.get("upload", "")) is None:
            raise WorkflowError("The uploaded files are no longer there: upload them again.")
        if BackgroundJob.objects.filter(kind=import_jobs.REAL_RUN, params__from_check=check.pk).exists():
            raise WorkflowError("These files are already being imported.")
        job = jobs.job_create(
            kind=import_jobs.REAL_RUN, title="Import", owner=self.request.user, now=self.now,
            params={"upload": check.params["upload"], "from_check": check.pk},
        )  # fmt: skip
        transaction.on_commit(lambda: tasks.run_import.delay(job.pk))
        return job

    def get_success_message(self) -> str:
        return "The import has started: this page shows its progress."

    def success_url(self) -> str:
        return reverse("imports:detail", args=[self.result.pk])


run = RunImport.as_view()
