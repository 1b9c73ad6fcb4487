"""The pages of a background job: the user's list of jobs, one job's progress, its status as JSON (for the
progress bar's script) and its file. Only the user who started a job (or a superuser) sees it: anyone
else gets 404, as for a record outside their scope."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.views.decorators.http import require_GET

from kit import jobs


def _job_or_404(request, job_id: int):
    job = jobs.job_for(request.user, job_id)
    if job is None:
        raise Http404("No such job.")
    return job


def _status(job) -> dict:
    return {
        "state": job.state,
        "state_label": job.get_state_display(),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "finished": job.is_finished,
        "download": reverse("jobs:download", args=[job.pk]) if jobs.job_file(job) else "",
    }


@login_required
@require_GET
def job_list(request):
    return render(request, "kit/job_list.html", {"jobs": list(jobs.jobs_of(request.user))})


@login_required
@require_GET
def job_page(request, job_id: int):
    job = _job_or_404(request, job_id)
    # A kind may add its outcome with its own template (`jobs/<kind>.html`, extending kit/job.html).
    template = select_template([f"jobs/{job.kind}.html", "kit/job.html"])
    return HttpResponse(template.render({"job": job, "status": _status(job)}, request))


@login_required
@require_GET
def job_status(request, job_id: int):
    response = JsonResponse(_status(_job_or_404(request, job_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def job_download(request, job_id: int):
    job = _job_or_404(request, job_id)
    path = jobs.job_file(job)
    if path is None:
        raise Http404("This job has no file to download (yet).")
    hook = jobs.DOWNLOAD_HOOKS.get(job.kind)
    if hook is not None:
        hook(request, job)
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name or path.name)
