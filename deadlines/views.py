"""Pages: the signed-in user's alerts; closure days and each service's procedure for administrators.

"Why is this due?" for one clock is a page of the case's record: workflows/clock_views.py.

Thin: services write. The Procedures pages keep their `accounts:` URL names (earlyhelp/urls.py).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Service
from accounts.roles import ADMINISTRATOR
from accounts.services import AccountRefused
from deadlines import services
from deadlines.alerts import message_reference, subject_reference
from deadlines.forms import ClosureDayForm, ServiceProcedureForm
from deadlines.models import Alert, ClosureDay, Deadline
from deadlines.procedures import default_procedure, procedure_choices
from kit.permissions import require_role


def _family_url(family_id: int | None) -> str:
    # The family page applies its own scope: a link never reveals more than the page would.
    if family_id is None:
        return ""
    try:
        return reverse("cases:family_detail", args=[family_id])
    except NoReverseMatch:
        return ""


@login_required
def alert_list(request):
    """The signed-in user's own alerts, unread first, with each deadline's status now."""
    now = timezone.now()
    alerts = (
        Alert.objects.filter(recipient=request.user)
        .select_related("deadline", "deadline__worker", "contact", "message")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at", "-id")
    )
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    statuses = dict(
        Deadline.objects.filter(pk__in=[a.deadline_id for a in page if a.deadline_id])
        .with_status(now)
        .values_list("pk", "status")
    )
    rows = [_alert_row(alert, statuses) for alert in page]
    unread = Alert.objects.filter(recipient=request.user, read_at__isnull=True).exists()
    return render(request, "deadlines/alert_list.html", {"page": page, "rows": rows, "any_unread": unread})


def _alert_row(alert: Alert, statuses: dict) -> dict:
    if alert.message_id is not None:  # a letter or e-mail the recipient sent could not be delivered
        return {
            "alert": alert,
            "reference": message_reference(alert),
            "family_url": _message_url(alert.message_id),
            "message_url": _message_url(alert.message_id),
            "status": None,
        }
    if alert.deadline_id is None:  # a new contact on the recipient's family
        return {
            "alert": alert,
            "reference": f"C{alert.contact_id:07d}",
            "family_url": _contact_url(alert.contact_id),
            "status": None,
        }
    return {
        "alert": alert,
        "reference": subject_reference(alert.deadline),
        "family_url": _family_url(alert.deadline.family_id),
        "status": statuses.get(alert.deadline_id),
        "explain_url": reverse("deadlines:clock_explain", args=[alert.deadline_id]),
    }


def _message_url(message_id: int) -> str:
    # The message's page applies its own scope (the record it was written from).
    try:
        return reverse("episodes:message_detail", args=[message_id])
    except NoReverseMatch:
        return ""


def _contact_url(contact_id: int) -> str:
    try:
        return reverse("cases:contact_detail", args=[contact_id])
    except NoReverseMatch:
        return ""


@require_POST
@login_required
def alert_mark_read(request, pk: int):
    # Scoped to the recipient: someone else's alert is a 404, not a 403 that confirms it exists.
    alert = get_object_or_404(Alert, pk=pk, recipient=request.user)
    services.alert_mark_read(alert=alert, now=timezone.now())
    messages.success(request, "Alert marked as read.")
    return redirect("deadlines:alerts")


@require_POST
@login_required
def alert_mark_all_read(request):
    count = services.alerts_mark_all_read(user=request.user, now=timezone.now())
    messages.success(request, f"{count} alert{'s' if count != 1 else ''} marked as read.")
    return redirect("deadlines:alerts")


@login_required
def closure_day_list(request):
    require_role(request.user, ADMINISTRATOR)
    today = timezone.localdate()
    days = ClosureDay.objects.select_related("created_by").order_by("date")
    return render(
        request,
        "deadlines/closure_day_list.html",
        {"upcoming": [d for d in days if d.date >= today], "past": [d for d in days if d.date < today]},
    )


def _carried(post) -> list[tuple[str, str]]:
    """The form's fields as typed, carried through the confirmation page as hidden inputs."""
    return [(k, v) for k, v in post.items() if k not in ("csrfmiddlewaretoken", "confirm")]


@login_required
def closure_day_add(request):
    require_role(request.user, ADMINISTRATOR)
    form = ClosureDayForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid() and request.POST.get("confirm") != "yes":
        # First what it would move, as the rulebook editor's preview; then the administrator confirms.
        day = form.cleaned_data["date"]
        preview = services.closure_day_preview(day=day, adding=True, now=timezone.now())
        return render(
            request,
            "deadlines/closure_day_confirm.html",
            {"day": day, "reason": form.cleaned_data["reason"], "preview": preview, "carried": _carried(request.POST)},
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                day = services.closure_day_add(day=data["date"], reason=data["reason"], by=request.user)
        except IntegrityError:
            # Another administrator added the same day a moment ago (the form checked before they saved).
            form.add_error("date", f"{data['date']:%-d %B %Y} is already a closure day")
            status = 409
        else:
            messages.success(
                request, f"{day.date:%-d %B %Y} is now a closure day. Open deadlines are being recalculated."
            )
            return redirect("deadlines:closure_days")
    return render(request, "deadlines/closure_day_form.html", {"form": form}, status=status)


@login_required
def closure_day_delete(request, pk: int):
    require_role(request.user, ADMINISTRATOR)
    day = get_object_or_404(ClosureDay, pk=pk)
    if request.method == "POST":
        label = f"{day.date:%-d %B %Y}"
        services.closure_day_delete(closure_day=day, by=request.user)
        messages.success(request, f"{label} is no longer a closure day. Open deadlines are being recalculated.")
        return redirect("deadlines:closure_days")
    preview = services.closure_day_preview(day=day.date, adding=False, now=timezone.now())
    return render(request, "deadlines/closure_day_delete.html", {"day": day, "preview": preview})


# --- Which procedure each service follows (ADR 0019) ---------------------------------------------


def _procedure_titles() -> tuple[dict[str, str], str]:
    titles = dict(procedure_choices())
    default = default_procedure()
    return titles, titles.get(default, default)


@login_required
def service_list(request):
    """The services and the council procedure each one's clocks follow."""
    require_role(request.user, ADMINISTRATOR)
    titles, default_title = _procedure_titles()
    services_ = list(Service.objects.annotate(team_count=Count("teams")).order_by("name"))
    rows = [
        {
            "service": s,
            "procedure": titles.get(s.rulebook, s.rulebook) if s.rulebook else f"{default_title} (deployment default)",
            "missing": bool(s.rulebook) and s.rulebook not in titles,
        }
        for s in services_
    ]
    return render(request, "accounts/service_list.html", {"rows": rows, "default_title": default_title})


@login_required
@require_http_methods(["GET", "POST"])
def service_procedure(request, pk: int):
    """Choose the procedure a service follows; the change applies to clocks started after it."""
    require_role(request.user, ADMINISTRATOR)
    service = get_object_or_404(Service, pk=pk)
    titles, default_title = _procedure_titles()
    form = ServiceProcedureForm(
        request.POST or None,
        initial={"rulebook": service.rulebook, "expected": service.rulebook},
        choices=procedure_choices(),
        default_label=f"The deployment default ({default_title})",
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.service_procedure_set(
                service=service,
                rulebook=form.cleaned_data["rulebook"],
                expected=form.cleaned_data["expected"],
                by=request.user,
                now=timezone.now(),
            )
        except AccountRefused as exc:
            form.add_error(exc.field, str(exc))
            service.refresh_from_db()
            data = form.data.copy()
            data["expected"] = service.rulebook
            form.data = data
        else:
            chosen = form.cleaned_data["rulebook"]
            messages.success(
                request,
                f"{service} now follows {titles.get(chosen, default_title) if chosen else 'the deployment default'}"
                ": clocks started from now on follow it; clocks already running keep their procedure.",
            )
            return redirect("accounts:service_list")
    history = service.history.select_related("history_user").order_by("-history_date", "-history_id")[:50]
    return render(
        request,
        "accounts/service_procedure.html",
        {
            "form": form,
            "service": service,
            "history": [
                {
                    "when": h.history_date,
                    "procedure": (titles.get(h.rulebook, h.rulebook) if h.rulebook else "deployment default"),
                    "by": h.history_user,
                    "type": h.get_history_type_display(),
                }
                for h in history
            ],
            "current": (titles.get(service.rulebook, service.rulebook) if service.rulebook else None),
            "default_title": default_title,
        },
    )
