"""Action views: each one validates a form and calls one service. Bad input re-renders with what was typed."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.access import log_access, log_shown, visible_contact_or_404
from cases.forms import (
    CommunicationForm,
    ConsentForm,
    DecisionForm,
    MeetingForm,
    MeetingOutcomeForm,
    ReferralSentForm,
)
from cases.models import AccessLog, Contact, Meeting
from deadlines.selectors import deadlines_for_subject
from kit.params import choice_param, int_param
from kit.permissions import require_perm, require_role
from kit.querystring import querystring_from
from workflows import list_rows, presenters, services
from workflows.actions import ActionView
from workflows.errors import WorkflowError


@login_required
def contact_detail(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    log_access(request, action=AccessLog.Action.VIEW, what=f"contact {contact.reference}", family=contact.family)
    return _contact_page(request, contact)


def _referral_form(now) -> ReferralSentForm:
    local_now = timezone.localtime(now)
    return ReferralSentForm(
        now=now, prefix="referral", initial={"sent_date": local_now.date(), "sent_time": local_now.strftime("%H:%M")}
    )


def contact_context(request, contact, decision_form, communication_form, consent_form, referral_form=None) -> dict:
    communications = list(selectors.communications_of(contact))
    return {
        "contact": contact,
        "family": contact.family,
        "subjects": list(contact.subjects.order_by("date_of_birth")),
        "risks": list(contact.risk_indicators.order_by("-level", "indicator")),
        "consents": list(selectors.consents_of(contact.family)),
        "communications": communications,
        "referral_form": referral_form or _referral_form(timezone.now()),
        "deadlines": deadlines_for_subject(contact=contact, now=timezone.now()),
        "decision_form": decision_form,
        "communication_form": communication_form,
        "consent_form": consent_form,
        **presenters.contact_page(
            request.user, contact, communications, decision_form=decision_form, referral_form=referral_form
        ),
        "history": list(contact.history.select_related("history_user").order_by("-history_date")[:20]),
        "escalations": list(selectors.contact_escalations(contact)),
        "can_escalate": request.user.has_perm("cases.escalate_contact"),
        "can_review_re_referral": request.user.has_perm("cases.review_re_referral"),
    }


def _contact_page(
    request, contact, *, decision_form=None, communication_form=None, consent_form=None, referral_form=None, status=200
):
    """The contact page: the forms given (bound, with errors or a refusal), the others fresh."""
    now = timezone.now()
    local_now = timezone.localtime(now)
    context = contact_context(
        request,
        contact,
        decision_form or DecisionForm(now=now, initial={"version": contact.version}),
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
        consent_form
        or ConsentForm(now=now, prefix="consent", initial={"recorded_on": local_now.date(), "purpose": "early_help"}),
        referral_form,
    )
    return render(request, "cases/contact_detail.html", context, status=status)


class ContactAction(ActionView):
    """A form posted from the contact page (URL argument `pk`): errors and refusals show that page again.

    `form_slot` names the form's place on the page; the permission is the role's (it does not look at
    the contact, which is already scoped by `visible_contact_or_404`).
    """

    post_only = True
    form_slot = ""

    def get_object(self):
        return visible_contact_or_404(self.request.user, self.kwargs["pk"])

    def permission_target(self):
        return None

    def current_version(self) -> None:
        """After a refusal the page shows the contact as it is now; the form keeps what was typed."""
        self.object.refresh_from_db()

    def page(self, form, *, status: int = 200):
        return _contact_page(self.request, self.object, **{self.form_slot: form}, status=status)

    def message_names(self) -> dict:
        return {**super().message_names(), "contact": self.object}

    def success_url(self) -> str:
        return reverse("cases:contact_detail", args=[self.object.pk])


class ContactDecide(ContactAction):
    form_class = DecisionForm
    form_slot = "decision_form"
    permission = "cases.decide_contact"

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def perform(self, data):
        services.contact_decide(
            contact=self.object,
            **self.from_form("decision", "rationale"),
            expected_version=data["version"],
            team=self._team(data),
            meeting_kind=data.get("meeting_kind") or "",
            agency=data.get("agency") or "",
            social_care_assessment_date=data.get("social_care_assessment_date"),
            lead_partner=data.get("lead_partner") if data["decision"] == Contact.Decision.SINGLE_AGENCY else None,
            **self.by_now(),
        )

    @staticmethod
    def _team(data):
        if data["decision"] == Contact.Decision.SINGLE_AGENCY:
            return data.get("oversight_team")  # partner-led single-agency support: the team keeping oversight
        return data.get("team")

    def get_success_message(self) -> str:
        self.object.refresh_from_db()
        return f"{self.object.reference}: {self.object.get_decision_display()}. Decision recorded."


contact_decide = ContactDecide.as_view()


class ContactReferralSent(ContactAction):
    """A3: the front door records that the referral went to the neighbourhood team."""

    form_class = ReferralSentForm
    form_slot = "referral_form"
    permission = "cases.decide_contact"
    success_message = "{contact.reference}: the referral to {contact.allocated_team} was recorded as sent."

    def form_kwargs(self) -> dict:
        return {"now": self.now, "prefix": "referral"}

    def perform(self, data):
        services.contact_referral_sent(contact=self.object, sent_at=data["sent_at"], **self.by_now())


contact_referral_sent = ContactReferralSent.as_view()


class ContactCommunicate(ContactAction):
    form_class = CommunicationForm
    form_slot = "communication_form"
    permission = "cases.record_contact"
    success_message = "The communication was recorded."

    def form_kwargs(self) -> dict:
        return {"now": self.now, "prefix": "comm"}

    def perform(self, data):
        services.communication_record(
            family=self.object.family,
            contact=self.object,
            **self.from_form("kind", "recipient", "method", "sent_at", "summary"),
            **self.by_now(),
        )


contact_communicate = ContactCommunicate.as_view()


class ContactConsent(ContactAction):
    form_class = ConsentForm
    form_slot = "consent_form"
    permission = "cases.record_contact"
    success_message = "Consent was recorded."

    def form_kwargs(self) -> dict:
        return {"prefix": "consent", "now": self.now}

    def perform(self, data):
        services.consent_record(
            family=self.object.family,
            contact=self.object,
            agency=data.get("agency", ""),
            **self.from_form("purpose", "status", "given_by_name", "recorded_on"),
            **self.by_now(),
        )


contact_consent = ContactConsent.as_view()


@login_required
def triage_queue(request):
    user = request.user
    require_role(user, *selectors.FRONT_DOOR, "Manager")
    now = timezone.now()
    # Filters: anything that is not a route, a team id or a number of hours is ignored; hours are
    # capped (a huge number would overflow the date it is subtracted from).
    route = choice_param(request.GET, "route", Contact.Route.values)
    team_id = int_param(request.GET, "team", minimum=0) or None
    older = int_param(request.GET, "older_than", minimum=0, maximum=24 * 366 * 10) or None
    page = list_rows.triage_page(
        user,
        route=route,
        team_id=team_id,
        received_before=now - timedelta(hours=older) if older else None,
        page_number=request.GET.get("page"),
        now=now,
    )
    querystring = querystring_from(("route", route), ("team", team_id), ("older_than", older))
    response = render(
        request,
        "workflows/triage_queue.html",
        {
            "page": page,
            "rows": list_rows.triage_rows_markup(page.object_list),
            "routes": Contact.Route.choices,
            "teams": list_rows.team_options(),
            "route": route,
            "team_id": team_id,
            "older_than": older,
            "querystring": querystring,
        },
    )
    list_rows.log_rows(request, page.object_list, what="front door queue")
    return response


# --- Meetings -------------------------------------------------------------------------
# Meetings, their agenda items and outcomes are reached only through cases.selectors
# (meetings_visible_to, meeting_items_visible_to): a meeting outside the user's scope is a 404,
# an agenda item whose contact is outside it is counted but never named.


def _visible_meeting_or_404(user, pk: int) -> Meeting:
    require_perm(user, "cases.see_meetings")
    return get_object_or_404(selectors.meetings_visible_to(user).select_related("chair"), pk=pk)


@login_required
def meeting_list(request):
    require_perm(request.user, "cases.see_meetings")
    form = MeetingForm(request.POST or None)
    if request.method == "POST":
        require_perm(request.user, "cases.run_meeting")
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


class MeetingAction(ActionView):
    """An action on a meeting (URL argument `pk`) by whoever runs meetings; back to the meeting after."""

    post_only = True
    permission = "cases.run_meeting"

    def get_object(self) -> Meeting:
        return _visible_meeting_or_404(self.request.user, self.kwargs["pk"])

    def permission_target(self):
        return None

    def success_url(self) -> str:
        return reverse("cases:meeting_detail", args=[self.object.pk])


class MeetingAdd(MeetingAction):
    """A button beside each waiting contact: a refusal is said on the meeting page."""

    refusal = "message"

    def perform(self, data):
        try:
            contact_id = int(self.request.POST.get("contact", ""))
        except ValueError:
            raise WorkflowError("Choose a contact to add to the agenda.") from None
        self.contact = visible_contact_or_404(self.request.user, contact_id)
        services.meeting_add_contact(meeting=self.object, contact=self.contact, by=self.request.user)

    def get_success_message(self) -> str:
        return f"{self.contact.reference} ({self.contact.family}) was added to the agenda."


meeting_add = MeetingAdd.as_view()


class MeetingOutcome(MeetingAction):
    """The outcome for one agenda item (URL argument `item_pk`), from the form beside it."""

    form_class = MeetingOutcomeForm

    def before(self):
        items = selectors.meeting_items_visible_to(self.request.user).select_related("contact__family")
        self.item = items.filter(pk=self.kwargs["item_pk"], meeting=self.object).first()
        if self.item is None:
            raise Http404("No such agenda item")
        return None

    def form_kwargs(self) -> dict:
        return {"prefix": f"item{self.item.pk}", "teams": selectors.teams_allocatable_by(self.request.user)}

    def perform(self, data):
        services.meeting_record_outcome(
            item=self.item,
            **self.from_form("outcome", "reason"),
            team=data.get("team"),
            agency=data.get("agency") or "",
            held_at=self.form.held_at(self.object),
            **self.by_now(),
        )

    def refused(self, exc):
        # Refused by the state of things (e.g. someone recorded it first), not by what was typed:
        # the item may have left the agenda's forms, so say why and give back what was typed.
        messages.error(self.request, f"{exc} What you typed was not saved: {self.form.cleaned_data['reason']}")
        return super().refused(exc)

    def page(self, form, *, status: int = 200):
        return _meeting_page(self.request, self.object, outcome_form=form, item_pk=self.item.pk, status=status)

    def get_success_message(self) -> str:
        contact = self.item.contact
        return f"Outcome recorded for {contact.reference} ({contact.family})."


meeting_outcome = MeetingOutcome.as_view()
