"""Withdrawing a consent from the family page (ADR 0038). Thin: the form in, one service call out."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from cases import selectors
from workflows import services
from workflows.consent_forms import ConsentWithdrawForm
from workflows.family_views import FamilyAction


class ConsentWithdraw(FamilyAction):
    """Record that the family withdrew a consent: who told us, when and how. Its lead professional is told."""

    form_class = ConsentWithdrawForm
    permission = "cases.withdraw_consent"
    template_name = "cases/consent_withdraw.html"

    def logged_as(self, family) -> str:
        return f"withdraw a consent of {family.reference}"

    def before(self):
        consent = selectors.consents_of(self.object).filter(pk=self.kwargs["consent_pk"]).first()
        if consent is None:
            raise Http404("No such consent for this family")
        self.consent = consent
        if not consent.is_in_force:
            messages.info(
                self.request, f"{services.consent_label(consent)} is not in force: there is nothing to withdraw."
            )
            return redirect(self.success_url())
        return None

    def form_kwargs(self) -> dict:
        return {"people": selectors.people_of(self.object), "now": self.now}

    def page(self, form, *, status: int = 200):
        context = {
            "form": form,
            "family": self.object,
            "consent": self.consent,
            "label": services.consent_label(self.consent),
        }
        return render(self.request, self.template_name, context, status=status)

    def perform(self, data):
        return services.consent_withdraw(
            consent=self.consent,
            told_at=data["when"],
            told_by=data.get("person"),
            told_by_name=data.get("told_by_name", ""),
            how=data["how"],
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        label = services.consent_label(self.consent)
        leads = selectors.open_episode_leads(self.object)
        told = f" {', '.join(leads)} (lead professional) has been told." if leads else ""
        return f"{label} is withdrawn: nothing it covered is shared from now on.{told}"


consent_withdraw = ConsentWithdraw.as_view()
