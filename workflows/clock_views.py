""" "Why is this due then?": one clock explained in plain words, for anyone who may see its record.

The page belongs to the case's record, not to the engine: who may see a contact's or an episode's
clock is the case's scope (cases.selectors), and every view of a family's record is logged
(cases.services.access_log_record). The engine (deadlines) explains the clock; it knows no case
app. The route keeps its `deadlines:clock_explain` name (workflows/clock_urls.py, earlyhelp/urls.py).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cases.selectors import contacts_visible_to, episodes_visible_to
from cases.services import access_log_record, client_ip
from deadlines.alerts import escalate_after_hours, subject_reference
from deadlines.calendar_source import current_calendar
from deadlines.models import Deadline
from deadlines.selectors import clock_explanation, may_see_worker_clock
from deadlines.services import active_rulebooks


def clock_visible_to(user, pk: int) -> Deadline | None:
    """The clock `pk` if `user` may see it: its contact or episode is in their scope, or it is
    a worker's clock and they are that worker, a team leader of their team or a manager of their
    service. None otherwise (the page answers 404 either way)."""
    deadline = (
        Deadline.objects.select_related("worker", "worker__team", "started_by", "assignee", "team", "family")
        .filter(pk=pk)
        .first()
    )
    if deadline is None:
        return None
    if deadline.episode_id is not None:
        ok = episodes_visible_to(user).filter(pk=deadline.episode_id).exists()
    elif deadline.contact_id is not None:
        ok = contacts_visible_to(user).filter(pk=deadline.contact_id).exists()
    else:
        ok = may_see_worker_clock(user, deadline.worker)
    return deadline if ok else None


@login_required
def clock_explain(request, pk: int):
    """ "Why is this due then?": one clock explained in plain words, for anyone who may see its record."""
    deadline = clock_visible_to(request.user, pk)
    if deadline is None:
        raise Http404("No such clock")
    now = timezone.now()
    context = clock_explanation(deadline, now=now, cal=current_calendar(), rulebooks=active_rulebooks())
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
