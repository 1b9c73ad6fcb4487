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
from django.utils.html import escape
from django.utils.safestring import mark_safe

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


# A record's id stands in for this in a link reversed once per kind of record (ids are positive integers).
_PK = 2_147_483_647


def problems_for_page(report: dict) -> list[dict]:
    """The stored report with each listed row's link (reversed here: the records may have gone since),
    and each problem's rows written once as table rows (up to 50 a problem, 200 a report: a template
    loop and a `reverse` a row cost a manager's page 15 ms, session 12)."""
    links = {kind: (reverse(name, args=[_PK]).split(str(_PK)), text) for kind, (name, text) in FIX_URLS.items()}
    problems = []
    for i, problem in enumerate(report.get("problems", [])):
        rows, markup = [], []
        for row in problem["rows"]:
            (before, after), text = links[row["fix_at"]]
            url = f"{before}{int(row['pk'])}{after}" if row["pk"] else ""
            rows.append({"child": row["child"], "url": url, "text": text})
            child = escape(row["child"])
            record = (
                f'<a class="govuk-link" href="{escape(url)}">{escape(text)}'
                f'<span class="govuk-visually-hidden"> for {child}</span></a>'
                if url
                else "No longer recorded"
            )
            markup.append(
                f'<tr class="govuk-table__row"><td class="govuk-table__cell">{child}</td>'
                f'<td class="govuk-table__cell">{record}</td></tr>'
            )
        problems.append(
            {
                **problem,
                "id": f"problem-{i + 1}",
                "rows": rows,
                "rows_markup": mark_safe("".join(markup)),  # noqa: S308 - every value escaped above
                "more": problem.get("truncated", False),
            }
        )
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
        problems = problems_for_page(export.report)
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
