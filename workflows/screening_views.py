"""The daily screening at the front door (seed 003, 2.1; ADR 0038): the list, one screening, its actions.

Thin: forms in, one service call per action (workflows.services.screening_*), selectors out.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.access import log_access, render_logged, visible_contact_or_404
from cases.models import AccessLog
from kit.permissions import require_role
from kit.time import LONDON
from workflows import services
from workflows.actions import ActionView
from workflows.screening_forms import ScreeningOutcomeForm, ScreeningStartForm

SEE = (*selectors.FRONT_DOOR, "Manager")


def _visible_screening_or_404(user, pk: int):
    require_role(user, *SEE)
    return get_object_or_404(selectors.screenings_visible_to(user).select_related("chair"), pk=pk)


def end_of_day(day) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)


@login_required
def screening_list(request):
    """The daily screenings, newest first, and how many contacts wait to be screened now."""
    require_role(request.user, *SEE)
    now = timezone.now()
    page = Paginator(selectors.screenings_visible_to(request.user).select_related("chair"), 30).get_page(
        request.GET.get("page")
    )
    waiting = selectors.awaiting_screening(request.user, until=now).count()
    context = {"page": page, "waiting": waiting, "can_screen": request.user.has_perm("cases.decide_contact")}
    return render(request, "workflows/screening_list.html", context)


@login_required
def screening_detail(request, pk: int):
    """One screening: who attended, each contact screened with its outcome and time, and (on its day)
    the contacts still waiting to be screened. One access-log row per family shown."""
    screening = _visible_screening_or_404(request.user, pk)
    items = list(selectors.screening_items_visible_to(request.user, screening))
    waiting = list(selectors.awaiting_screening(request.user, until=end_of_day(screening.held_on))[:200])
    context = {
        "screening": screening,
        "items": items,
        "waiting": waiting,
        "can_screen": request.user.has_perm("cases.decide_contact"),
    }
    return render_logged(request, "workflows/screening_detail.html", context, what=f"{screening}")


class ScreeningStart(ActionView):
    """Start the day's screening: the date and time it started, who attended; the chair is whoever records it."""

    form_class = ScreeningStartForm
    permission = "cases.decide_contact"
    permission_first = True

    def get_object(self):
        return None

    def initial(self):
        local = timezone.localtime(self.now, LONDON)
        return {"when_date": local.date(), "when_time": local.strftime("%H:%M")}

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def page(self, form, *, status: int = 200):
        return render(self.request, "workflows/screening_start.html", {"form": form}, status=status)

    def perform(self, data):
        return services.screening_start(
            held_on=data["when_date"], started_at=data["when"], attendees=data["attendees"], **self.by_now()
        )

    def get_success_message(self) -> str:
        return f"{self.result} has started. Record the outcome for each contact screened."

    def success_url(self) -> str:
        return reverse("cases:screening_detail", args=[self.result.pk])

    def failure_url(self) -> str:
        return reverse("cases:screening_list")


class ScreeningOutcome(ActionView):
    """The outcome of screening for one contact, and the time it was screened (the screening clocks start then)."""

    form_class = ScreeningOutcomeForm
    permission = "cases.decide_contact"
    permission_first = True

    def get_object(self):
        self.screening = _visible_screening_or_404(self.request.user, self.kwargs["pk"])
        contact = visible_contact_or_404(self.request.user, self.kwargs["contact_pk"])
        if self.request.method == "GET":
            log_access(
                self.request,
                action=AccessLog.Action.VIEW,
                what=f"screening outcome for {contact.reference}",
                family=contact.family,
            )
        return contact

    def permission_target(self):
        return None

    def initial(self):
        return {"screened_time": timezone.localtime(self.now, LONDON).strftime("%H:%M")}

    def form_kwargs(self) -> dict:
        teams = selectors.teams_allocatable_by(self.request.user)
        return {"teams": list(teams), "held_on": self.screening.held_on, "now": self.now}

    def page(self, form, *, status: int = 200):
        context = {"form": form, "screening": self.screening, "contact": self.object}
        return render(self.request, "workflows/screening_outcome.html", context, status=status)

    def perform(self, data):
        return services.screening_record_outcome(
            screening=self.screening,
            contact=self.object,
            outcome=data["outcome"],
            reason=data["reason"],
            screened_at=data["screened_at"],
            team=data.get("team_obj"),
            meeting_kind=data.get("meeting_kind") or "",
            agency=data.get("agency") or "",
            lead_partner=data.get("lead_partner") if data["outcome"] == "single_agency" else None,
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        at = timezone.localtime(self.result.screened_at, LONDON)
        return f"{self.object.reference}: {self.result.get_outcome_display()}. Screened at {at:%H:%M}."

    def success_url(self) -> str:
        return reverse("cases:screening_detail", args=[self.screening.pk])


screening_start = ScreeningStart.as_view()
screening_outcome = ScreeningOutcome.as_view()
