"""Pages: the signed-in user's alerts, and closure days for administrators. Thin: services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import ADMINISTRATOR
from cases.services import access_log_record, client_ip
from deadlines import selectors, services
from deadlines.alerts import escalate_after_hours, subject_reference
from deadlines.forms import ClosureDayForm
from deadlines.models import Alert, ClosureDay, Deadline


def _require_admin(user) -> None:
    if not user.has_role(ADMINISTRATOR):
        raise PermissionDenied


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
        .select_related("deadline", "deadline__worker", "contact")
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


@login_required
def clock_explain(request, pk: int):
    """ "Why is this due then?": one clock explained in plain words, for anyone who may see its record."""
    deadline = selectors.clock_visible_to(request.user, pk)
    if deadline is None:
        raise Http404("No such clock")
    from deadlines.calendar_source import current_calendar

    now = timezone.now()
    context = selectors.clock_explanation(
        deadline, now=now, cal=current_calendar(), rulebooks=services.active_rulebooks()
    )
    if deadline.family_id is not None:
        access_log_record(
            user=request.user,
            action="view",
            what=f"Clock {deadline.rule_id} explained",
            at=now,
            family=deadline.family,
            ip_address=client_ip(request),
        )
    context["escalate_after_hours"] = escalate_after_hours()
    context["subject_url"] = _subject_url(deadline)
    context["reference"] = subject_reference(deadline)
    return render(request, "deadlines/clock_explain.html", context)


def _subject_url(deadline: Deadline) -> str:
    try:
        if deadline.episode_id:
            return reverse("episodes:episode_detail", args=[deadline.episode_id])
        if deadline.contact_id:
            return reverse("cases:contact_detail", args=[deadline.contact_id])
    except NoReverseMatch:
        return ""
    return ""


def _alert_row(alert: Alert, statuses: dict) -> dict:
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
    _require_admin(request.user)
    today = timezone.localdate()
    days = ClosureDay.objects.select_related("created_by").order_by("date")
    return render(
        request,
        "deadlines/closure_day_list.html",
        {"upcoming": [d for d in days if d.date >= today], "past": [d for d in days if d.date < today]},
    )


@login_required
def closure_day_add(request):
    _require_admin(request.user)
    form = ClosureDayForm(request.POST or None)
    status = 200
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
    _require_admin(request.user)
    day = get_object_or_404(ClosureDay, pk=pk)
    if request.method == "POST":
        label = f"{day.date:%-d %B %Y}"
        services.closure_day_delete(closure_day=day, by=request.user)
        messages.success(request, f"{label} is no longer a closure day. Open deadlines are being recalculated.")
        return redirect("deadlines:closure_days")
    return render(request, "deadlines/closure_day_delete.html", {"day": day})
