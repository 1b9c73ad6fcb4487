"""Ofsted Annex A: ask for the workbook, read its data-quality report, download it (managers).

The workbook and its report are built off the request thread (`oversight.tasks.build_annex_a`).
Each manager has one at a time, found by `requested_by=request.user`, so no URL names another
manager's file. Viewing the report (which names children) and downloading the workbook are both
written to the access log.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases.access import log_access
from cases.models import AccessLog
from kit.permissions import require_role
from oversight import annex_a
from oversight.forms import AnnexAForm
from oversight.models import AnnexAExport

FIX_URLS = {
    annex_a.PERSON: ("cases:family_detail", "Open the family record"),
    annex_a.CONTACT: ("cases:contact_detail", "Open the contact"),
    annex_a.EPISODE: ("episodes:episode_detail", "Open the episode"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _current_export(user, *, now) -> AnnexAExport | None:
    export = AnnexAExport.objects.filter(requested_by=user).first()
    if export is None or annex_a.is_expired(export, now=now):
        return None
    return export


def _period(export: AnnexAExport) -> str:
    return f"{export.period_start:%d/%m/%Y} to {export.period_end:%d/%m/%Y}"


def _problems_for_page(report: dict) -> list[dict]:
    """The stored report with each listed row's link (reversed here: the records may have gone since)."""
    problems = []
    for i, problem in enumerate(report.get("problems", [])):
        rows = []
        for row in problem["rows"]:
            name, text = FIX_URLS[row["fix_at"]]
            url = reverse(name, args=[row["pk"]]) if row["pk"] else ""
            rows.append({"child": row["child"], "url": url, "text": text})
        problems.append({**problem, "id": f"problem-{i + 1}", "rows": rows, "more": problem.get("truncated", False)})
    return problems


@login_required
def annex_a_page(request):
    require_role(request.user, roles.MANAGER)
    now = timezone.now()
    today = timezone.localdate(now)
    export = _current_export(request.user, now=now)
    if request.method == "POST":
        form = AnnexAForm(request.POST, today=today)
        if form.is_valid():
            export = annex_a.annex_a_export_request(user=request.user, as_at=form.cleaned_data["as_at"], now=now)
            if export.job_id:
                # The workbook is built by a worker: its page shows the progress, then the way back here.
                return redirect("jobs:detail", export.job_id)
            return redirect(reverse("oversight:annex_a") + "#workbook")
    else:
        form = AnnexAForm(request.GET or None, today=today, initial={"as_at": export.as_at if export else today})
    context = {
        "form": form,
        "export": export,
        "stale": bool(export and annex_a.is_stale(export, now=now)),
        "version_note": annex_a.VERSION_NOTE,
        "list_1": annex_a.LIST_1_COLUMNS,
        "list_2": annex_a.LIST_2_COLUMNS,
        "readings": annex_a.readings(mode=settings.ANNEX_A_VALUES, unassessed=settings.ANNEX_A_LIST_2_UNASSESSED),
        "own_readings": annex_a.OWN_READINGS,
    }
    if export and export.status == AnnexAExport.Status.READY:
        log_access(request, action=AccessLog.Action.VIEW, what=f"Ofsted Annex A data-quality report, {_period(export)}")
        problems = _problems_for_page(export.report)
        context.update(
            problems=problems,
            errors=[p for p in problems if p["severity"] == "error"],
            checks=[p for p in problems if p["severity"] == "check"],
            # The readings this workbook was built with (the settings may have changed since).
            readings=annex_a.readings(mode=export.values_mode, unassessed=export.unassessed),
        )
    return render(request, "oversight/annex_a.html", context)


@login_required
def annex_a_download(request):
    require_role(request.user, roles.MANAGER)
    now = timezone.now()
    export = _current_export(request.user, now=now)
    if export is None or export.status != AnnexAExport.Status.READY or not export.file:
        raise Http404("There is no Annex A workbook ready for you")
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise Http404("The workbook is missing from storage") from None
    log_access(request, action=AccessLog.Action.EXPORT, what=f"Ofsted Annex A lists 1 and 2, {_period(export)}")
    stamp = timezone.localtime(export.finished_at or now).date().isoformat()
    return FileResponse(
        handle, as_attachment=True, filename=f"annex-a-{export.as_at.isoformat()}-{stamp}.xlsx", content_type=XLSX
    )
