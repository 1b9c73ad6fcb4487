"""Action views: each one validates a form and calls one service. Bad input re-renders with what was typed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Team
from cases import selectors
from cases.access import log_access, log_shown, render_logged, visible_contact_or_404
from cases.forms import (
    CommunicationForm,
    ConsentForm,
    DecisionForm,
    MeetingForm,
    MeetingOutcomeForm,
    ReferralSentForm,
)
from cases.models import AccessLog, Communication, Consent, Contact, Meeting
from deadlines.selectors import deadlines_for_subject, with_time_left
from kit.params import choice_param, int_param
from kit.querystring import querystring_from
from workflows import services
from workflows.errors import WorkflowError


@login_required
def contact_detail(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    log_access(request, action=AccessLog.Action.VIEW, what=f"contact {contact.reference}", family=contact.family)
    now = timezone.now()
    local_now = timezone.localtime(now)
    decision_form = DecisionForm(initial={"version": contact.version})
    communication_form = CommunicationForm(
        now=now,
        initial={
            "recipient": contact.referrer_name,
            "sent_date": local_now.date(),
            "sent_time": local_now.strftime("%H:%M"),
        },
        prefix="comm",
    )
    consent_form = ConsentForm(prefix="consent", initial={"recorded_on": local_now.date(), "purpose": "early_help"})
    return render(
        request,
        "cases/contact_detail.html",
        contact_context(request, contact, decision_form, communication_form, consent_form),
    )


def _referral_form(now) -> ReferralSentForm:
    local_now = timezone.localtime(now)
    return ReferralSentForm(
        now=now, prefix="referral", initial={"sent_date": local_now.date(), "sent_time": local_now.strftime("%H:%M")}
    )


def contact_context(request, contact, decision_form, communication_form, consent_form, referral_form=None) -> dict:
    communications = list(Communication.objects.filter(contact=contact).order_by("-sent_at"))
    # A3: sending the referral to the team is a step of its own, after the decision to allocate.
    awaiting_referral = contact.state == Contact.State.ALLOCATED_TO_TEAM and not any(
        c.kind == Communication.Kind.REFERRAL_TO_TEAM for c in communications
    )
    return {
        "contact": contact,
        "family": contact.family,
        "subjects": list(contact.subjects.order_by("date_of_birth")),
        "risks": list(contact.risk_indicators.order_by("-level", "indicator")),
        "consents": list(Consent.objects.filter(family=contact.family).order_by("-recorded_on")),
        "communications": communications,
        "can_send_referral": request.user.has_perm("cases.decide_contact")
        and (awaiting_referral or (referral_form is not None and referral_form.is_bound)),
        "referral_form": referral_form or _referral_form(timezone.now()),
        "deadlines": deadlines_for_subject(contact=contact, now=timezone.now()),
        "decision_form": decision_form,
        "communication_form": communication_form,
        "consent_form": consent_form,
        # A refused decision stays on screen with what was typed, even if the contact moved on.
        "can_decide": request.user.has_perm("cases.decide_contact")
        and (decision_form.is_bound or (contact.is_open and contact.state != Contact.State.AT_MEETING)),
        "can_record": request.user.has_perm("cases.record_contact"),
        "history": list(contact.history.select_related("history_user").order_by("-history_date")[:20]),
    }


def _contact_page(
    request, contact, *, decision_form=None, communication_form=None, consent_form=None, referral_form=None, status=200
):
    now = timezone.now()
    local_now = timezone.localtime(now)
    context = contact_context(
        request,
        contact,
        decision_form or DecisionForm(initial={"version": contact.version}),
        communication_form
        or CommunicationForm(
            now=now,
            prefix="comm",
            initial={
                "recipient": contact.referrer_name,
                "sent_date": local_now.date(),
                "sent_time": local_now.strftime("%H:%M"),
            },
        ),
        consent_form or ConsentForm(prefix="consent", initial={"recorded_on": local_now.date()}),
        referral_form,
    )
    return render(request, "cases/contact_detail.html", context, status=status)


@login_required
@require_POST
def contact_decide(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    if not request.user.has_perm("cases.decide_contact"):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _contact_page(request, contact, decision_form=form, status=400)
    data = form.cleaned_data
    try:
        services.contact_decide(
            contact=contact,
            decision=data["decision"],
            rationale=data["rationale"],
            by=request.user,
            now=timezone.now(),
            expected_version=data["version"],
            team=data.get("team"),
            meeting_kind=data.get("meeting_kind") or "",
            agency=data.get("agency") or "",
            social_care_assessment_date=data.get("social_care_assessment_date"),
        )
    except WorkflowError as exc:
        form.add_error(None, str(exc))
        contact.refresh_from_db()
        return _contact_page(request, contact, decision_form=form, status=409)
    contact.refresh_from_db()
    messages.success(request, f"{contact.reference}: {contact.get_decision_display()}. Decision recorded.")
    return redirect("cases:contact_detail", pk=contact.pk)


@login_required
@require_POST
def contact_referral_sent(request, pk: int):
    """A3: the front door records that the referral went to the neighbourhood team."""
    contact = visible_contact_or_404(request.user, pk)
    if not request.user.has_perm("cases.decide_contact"):
        raise PermissionDenied
    now = timezone.now()
    form = ReferralSentForm(request.POST, now=now, prefix="referral")
    if not form.is_valid():
        return _contact_page(request, contact, referral_form=form, status=400)
    try:
        services.contact_referral_sent(contact=contact, sent_at=form.cleaned_data["sent_at"], by=request.user, now=now)
    except WorkflowError as exc:
        form.add_error(None, str(exc))
        contact.refresh_from_db()
        return _contact_page(request, contact, referral_form=form, status=409)
    messages.success(request, f"{contact.reference}: the referral to {contact.allocated_team} was recorded as sent.")
    return redirect("cases:contact_detail", pk=contact.pk)


@login_required
@require_POST
def contact_communicate(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    if not request.user.has_perm("cases.record_contact"):
        raise PermissionDenied
    now = timezone.now()
    form = CommunicationForm(request.POST, now=now, prefix="comm")
    if not form.is_valid():
        return _contact_page(request, contact, communication_form=form, status=400)
    data = form.cleaned_data
    try:
        services.communication_record(
            family=contact.family,
            contact=contact,
            kind=data["kind"],
            recipient=data["recipient"],
            method=data["method"],
            sent_at=data["sent_at"],
            summary=data["summary"],
            by=request.user,
            now=now,
        )
    except WorkflowError as exc:
        form.add_error(None, str(exc))
        return _contact_page(request, contact, communication_form=form, status=409)
    messages.success(request, "The communication was recorded.")
    return redirect("cases:contact_detail", pk=contact.pk)


@login_required
@require_POST
def contact_consent(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    if not request.user.has_perm("cases.record_contact"):
        raise PermissionDenied
    form = ConsentForm(request.POST, prefix="consent")
    if not form.is_valid():
        return _contact_page(request, contact, consent_form=form, status=400)
    data = form.cleaned_data
    services.consent_record(
        family=contact.family,
        contact=contact,
        by=request.user,
        now=timezone.now(),
        purpose=data["purpose"],
        agency=data.get("agency", ""),
        status=data["status"],
        given_by_name=data["given_by_name"],
        recorded_on=data["recorded_on"],
    )
    messages.success(request, "Consent was recorded.")
    return redirect("cases:contact_detail", pk=contact.pk)


@login_required
def triage_queue(request):
    user = request.user
    if not user.has_role(*selectors.FRONT_DOOR, "Manager"):
        raise PermissionDenied
    now = timezone.now()
    # Filters: anything that is not a route, a team id or a number of hours is ignored; hours are
    # capped (a huge number would overflow the date it is subtracted from).
    route = choice_param(request.GET, "route", Contact.Route.values)
    team_id = int_param(request.GET, "team", minimum=0) or None
    older = int_param(request.GET, "older_than", minimum=0, maximum=24 * 366 * 10) or None
    queue = with_time_left(
        selectors.triage_queue(user, route=route, team_id=team_id, older_than_hours=older, now=now), now=now
    )
    page = Paginator(queue, 50).get_page(request.GET.get("page"))
    querystring = querystring_from(("route", route), ("team", team_id), ("older_than", older))
    return render_logged(
        request,
        "workflows/triage_queue.html",
        {
            "page": page,
            "now": now,
            "routes": Contact.Route.choices,
            "teams": Team.objects.order_by("name"),
            "route": route,
            "team_id": team_id,
            "older_than": older,
            "querystring": querystring,
        },
        what="front door queue",
    )


# --- Meetings -------------------------------------------------------------------------
# Meetings, their agenda items and outcomes are reached only through cases.selectors
# (meetings_visible_to, meeting_items_visible_to): a meeting outside the user's scope is a 404,
# an agenda item whose contact is outside it is counted but never named.


def _require_meeting_role(user):
    if not user.has_perm("cases.run_meeting") and not user.has_perm("cases.decide_contact"):
        raise PermissionDenied


def _visible_meeting_or_404(user, pk: int) -> Meeting:
    _require_meeting_role(user)
    return get_object_or_404(selectors.meetings_visible_to(user).select_related("chair"), pk=pk)


@login_required
def meeting_list(request):
    _require_meeting_role(request.user)
    form = MeetingForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("cases.run_meeting"):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            meeting = services.meeting_schedule(
                kind=data["kind"],
                scheduled_for=data["scheduled_for"],
                location=data["location"],
                attendees=data["attendees"],
                invited_teams=data["invited_teams"],
                by=request.user,
            )
            messages.success(request, f"{meeting} was scheduled.")
            return redirect("cases:meeting_detail", pk=meeting.pk)
    meetings = Paginator(
        selectors.meetings_visible_to(request.user)
        .select_related("chair")
        .prefetch_related("invited_teams")
        .order_by("-scheduled_for", "-pk"),
        30,
    ).get_page(request.GET.get("page"))
    waiting = selectors.contacts_visible_to(request.user).filter(state=Contact.State.AT_MEETING).count()
    return render(
        request,
        "workflows/meeting_list.html",
        {"form": form, "page": meetings, "waiting": waiting, "can_run": request.user.has_perm("cases.run_meeting")},
    )


def _meeting_page(request, meeting: Meeting, *, outcome_form=None, item_pk: int | None = None, status: int = 200):
    """The meeting with the agenda items the user may see; one access-log row per family it shows."""
    user = request.user
    can_run = user.has_perm("cases.run_meeting")
    items = list(
        selectors.meeting_items_visible_to(user)
        .filter(meeting=meeting)
        .select_related("contact__family", "allocated_team", "decided_by")
        .order_by("pk")
    )
    hidden = meeting.items.count() - len(items)
    teams = selectors.teams_allocatable_by(user)
    forms = {
        item.pk: outcome_form
        if outcome_form is not None and item.pk == item_pk
        else MeetingOutcomeForm(prefix=f"item{item.pk}", teams=teams)
        for item in items
        if not item.decided_at
    }
    on_agenda = set(meeting.items.values_list("contact_id", flat=True))
    waiting = []
    if can_run and outcome_form is None:
        waiting = [
            c
            for c in selectors.contacts_visible_to(user)
            .filter(state=Contact.State.AT_MEETING)
            .select_related("family")
            .order_by("received_at")[:200]
            if c.pk not in on_agenda
        ]
    log_shown(
        request,
        {(item.contact.family_id, None) for item in items} | {(c.family_id, None) for c in waiting},
        what=f"meeting {meeting.pk}: {meeting}",
    )
    return render(
        request,
        "workflows/meeting_detail.html",
        {
            "meeting": meeting,
            "invited_teams": list(meeting.invited_teams.order_by("name")),
            "items": [(item, forms.get(item.pk)) for item in items],
            "hidden": hidden,
            "waiting": waiting,
            "can_run": can_run,
            "form_error_item": item_pk,
        },
        status=status,
    )


@login_required
def meeting_detail(request, pk: int):
    meeting = _visible_meeting_or_404(request.user, pk)
    return _meeting_page(request, meeting)


@login_required
@require_POST
def meeting_add(request, pk: int):
    meeting = _visible_meeting_or_404(request.user, pk)
    if not request.user.has_perm("cases.run_meeting"):
        raise PermissionDenied
    try:
        contact_id = int(request.POST.get("contact", ""))
    except ValueError:
        messages.error(request, "Choose a contact to add to the agenda.")
        return redirect("cases:meeting_detail", pk=meeting.pk)
    contact = visible_contact_or_404(request.user, contact_id)
    try:
        services.meeting_add_contact(meeting=meeting, contact=contact, by=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{contact.reference} ({contact.family}) was added to the agenda.")
    return redirect("cases:meeting_detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_outcome(request, pk: int, item_pk: int):
    meeting = _visible_meeting_or_404(request.user, pk)
    if not request.user.has_perm("cases.run_meeting"):
        raise PermissionDenied
    item = get_object_or_404(
        selectors.meeting_items_visible_to(request.user).select_related("contact__family"), pk=item_pk, meeting=meeting
    )
    form = MeetingOutcomeForm(request.POST, prefix=f"item{item.pk}", teams=selectors.teams_allocatable_by(request.user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.meeting_record_outcome(
                item=item,
                outcome=data["outcome"],
                reason=data["reason"],
                team=data.get("team"),
                agency=data.get("agency") or "",
                by=request.user,
                now=timezone.now(),
                held_at=form.held_at(meeting),
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
            # Refused by the state of things (e.g. someone recorded it first), not by what was typed:
            # the item may have left the agenda's forms, so say why and give back what was typed.
            messages.error(request, f"{exc} What you typed was not saved: {data['reason']}")
            return _meeting_page(request, meeting, outcome_form=form, item_pk=item.pk, status=409)
        messages.success(request, f"Outcome recorded for {item.contact.reference} ({item.contact.family}).")
        return redirect("cases:meeting_detail", pk=meeting.pk)
    return _meeting_page(request, meeting, outcome_form=form, item_pk=item.pk, status=400)
