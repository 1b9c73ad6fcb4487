"""Retention report and deletion, legal hold, and subject access export (managers)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from cases import selectors
from cases.access import log_access, render_logged
from cases.models import AccessLog
from cases.services import access_log_record, client_ip
from kit.permissions import require_role
from oversight import data_protection
from oversight.forms import RetentionDeleteForm
from oversight.models import Tombstone


def _tombstones_of_service(user):
    """Deletions authorised within the manager's service (a tombstone names no one, only who deleted)."""
    service_id = user.service_id_in_scope
    if not service_id:
        return Tombstone.objects.none()
    return Tombstone.objects.filter(
        Q(authorised_by__service_id=service_id) | Q(authorised_by__team__service_id=service_id)
    )


@login_required
def retention_report(request):
    require_role(request.user, roles.MANAGER)
    today = timezone.localdate()
    rule = data_protection.current_rule()
    candidates = data_protection.retention_candidates(today=today, rule=rule, visible_to=request.user)
    page = Paginator(candidates, 50).get_page(request.GET.get("page"))
    return render_logged(
        request,
        "oversight/retention_report.html",
        {
            "rule": rule,
            "page": page,
            "held": selectors.families_visible_to(request.user).filter(legal_hold=True).count(),
            "tombstones": _tombstones_of_service(request.user).select_related("authorised_by")[:20],
        },
        what="retention report",
    )


@login_required
def retention_family(request, pk: int):
    """Dry run for one family (what would go), and the deletion itself on POST."""
    require_role(request.user, roles.MANAGER)
    family = get_object_or_404(selectors.families_visible_to(request.user), pk=pk)
    today = timezone.localdate()
    if not data_protection.retention_candidates(today=today, visible_to=request.user).filter(pk=pk).exists():
        messages.error(request, f"{family.reference} is not past the retention rule, has open work or is on hold.")
        return redirect("oversight:retention_report")
    form = RetentionDeleteForm(request.POST or None, reference=family.reference)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                tombstone = data_protection.retention_delete(
                    family=family, authorised_by=request.user, now=timezone.now(), reason=form.cleaned_data["reason"]
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, f"{tombstone.reference} was deleted. A tombstone records who authorised it.")
                return redirect("oversight:retention_report")
    else:
        log_access(
            request, action=AccessLog.Action.VIEW, what=f"retention dry run of {family.reference}", family=family
        )
    return render(
        request,
        "oversight/retention_family.html",
        {
            "family": family,
            "form": form,
            "preview": data_protection.retention_preview(family),
            "rule": data_protection.current_rule(),
        },
        status=status,
    )


@login_required
@require_POST
def legal_hold(request, pk: int):
    require_role(request.user, roles.MANAGER)
    family = get_object_or_404(selectors.families_visible_to(request.user), pk=pk)
    family.legal_hold = request.POST.get("hold") == "on"
    family.save(update_fields=["legal_hold"])
    messages.success(request, f"Legal hold {'placed on' if family.legal_hold else 'lifted from'} {family.reference}.")
    return redirect("cases:family_detail", pk=family.pk)


@login_required
def subject_access_export(request, pk: int):
    """Everything held about one person as a readable HTML file; the export is logged."""
    require_role(request.user, roles.MANAGER)
    person = get_object_or_404(selectors.people_visible_to(request.user), pk=pk)
    access_log_record(
        user=request.user,
        action=AccessLog.Action.EXPORT,
        what=f"subject access export for person {person.pk}",
        at=timezone.now(),
        person=person,
        ip_address=client_ip(request),
    )
    html = render_to_string(
        "oversight/subject_access.html",
        {"person": person, "sections": data_protection.subject_access_bundle(person), "generated": timezone.now()},
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="subject-access-person-{person.pk}.html"'
    return response
