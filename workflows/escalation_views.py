"""Escalations to the operational leads (seed 004) and re-referrals routed to the duty manager (rulebook C),
ADR 0038. Thin: forms in, one service call per action, scoped selectors out."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from cases import selectors
from cases.access import log_access, render_logged, visible_contact_or_404
from cases.models import AccessLog
from deadlines.selectors import clocks_by_key
from kit.permissions import require_perm
from workflows import episode_services, services
from workflows.actions import ActionView
from workflows.escalation_forms import ContactEscalationForm, EscalationResolveForm, ReReferralReviewForm


@login_required
def escalation_queue(request):
    """The operational leads' queue: every open escalation they may see, on a contact or an episode."""
    require_perm(request.user, "cases.see_escalations")
    now = timezone.now()
    escalations = list(selectors.escalation_queue(request.user)[:500])
    clocks = clocks_by_key([f"escalation:{e.pk}" for e in escalations], now=now)
    user = request.user
    rows = [(e, clocks.get(f"escalation:{e.pk}"), user.has_perm("cases.resolve_escalation", e)) for e in escalations]
    context = {"rows": rows, "now": now}
    return render_logged(request, "workflows/escalation_queue.html", context, what="escalations queue")


@login_required
def re_referral_queue(request):
    """The duty manager's queue: contacts received within 3 months of a step-up decision (rulebook C)."""
    require_perm(request.user, "cases.review_re_referral")
    rows = list(selectors.re_referrals_for_duty_managers(request.user)[:500])
    return render_logged(request, "workflows/re_referral_queue.html", {"rows": rows}, what="re-referrals queue")


class ContactEscalationNew(ActionView):
    """Escalate a disagreement over a contact's routing (a diversion) to the operational leads."""

    form_class = ContactEscalationForm
    permission = "cases.escalate_contact"

    def get_object(self):
        contact = visible_contact_or_404(self.request.user, self.kwargs["pk"])
        if self.request.method == "GET":
            log_access(
                self.request, action=AccessLog.Action.VIEW, what=f"escalate {contact.reference}", family=contact.family
            )
        return contact

    def permission_target(self):
        return None

    def form_kwargs(self) -> dict:
        team = self.object.family.team
        return {"leads": selectors.operational_leads(team.service_id if team else None)}

    def page(self, form, *, status: int = 200):
        return render(
            self.request, "workflows/contact_escalation.html", {"form": form, "contact": self.object}, status=status
        )

    def perform(self, data):
        return services.contact_escalation_raise(
            contact=self.object,
            disagreement=data["disagreement"],
            escalated_to_user=data.get("escalated_to_user"),
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        return f"The disagreement over {self.object.reference} was escalated to {self.result.escalated_to}."

    def success_url(self) -> str:
        return reverse("cases:contact_detail", args=[self.object.pk])


class EscalationResolve(ActionView):
    """The operational leads' outcome on an escalation (on a contact or an episode)."""

    form_class = EscalationResolveForm
    permission = "cases.resolve_escalation"

    def get_object(self):
        escalation = get_object_or_404(
            selectors.escalations_visible_to(self.request.user).select_related(
                "contact__family__team", "episode__family", "episode__team", "raised_by"
            ),
            pk=self.kwargs["pk"],
        )
        family = escalation.contact.family if escalation.contact_id else escalation.episode.family
        if self.request.method == "GET":
            log_access(
                self.request, action=AccessLog.Action.VIEW, what=f"escalation {escalation.reference}", family=family
            )
        return escalation

    def before(self):
        if self.object.resolved_at:
            raise PermissionDenied("This escalation's outcome has already been recorded.")
        return None

    def page(self, form, *, status: int = 200):
        escalation = self.object
        key = f"escalation:{escalation.pk}"
        context = {"form": form, "escalation": escalation, "clock": clocks_by_key([key], now=self.now).get(key)}
        return render(self.request, "workflows/escalation_resolve.html", context, status=status)

    def perform(self, data):
        if self.object.contact_id:
            return services.contact_escalation_resolve(escalation=self.object, outcome=data["outcome"], **self.by_now())
        return episode_services.escalation_resolve(escalation=self.object, outcome=data["outcome"], **self.by_now())

    def get_success_message(self) -> str:
        return f"The outcome of escalation {self.object.reference} was recorded."

    def success_url(self) -> str:
        return reverse("cases:escalation_queue")


class ReReferralReview(ActionView):
    """The duty manager's decision on a re-referral within 3 months of a step-up (rulebook C)."""

    form_class = ReReferralReviewForm
    permission = "cases.review_re_referral"
    permission_first = True

    def get_object(self):
        contact = visible_contact_or_404(self.request.user, self.kwargs["pk"])
        if self.request.method == "GET":
            log_access(
                self.request,
                action=AccessLog.Action.VIEW,
                what=f"re-referral review of {contact.reference}",
                family=contact.family,
            )
        return contact

    def page(self, form, *, status: int = 200):
        return render(
            self.request, "workflows/re_referral_review.html", {"form": form, "contact": self.object}, status=status
        )

    def perform(self, data):
        return services.re_referral_review(contact=self.object, outcome=data["outcome"], **self.by_now())

    def get_success_message(self) -> str:
        return f"Your decision on {self.object.reference} was recorded."

    def success_url(self) -> str:
        return reverse("cases:re_referral_queue")


contact_escalation_new = ContactEscalationNew.as_view()
escalation_resolve = EscalationResolve.as_view()
re_referral_review = ReReferralReview.as_view()
