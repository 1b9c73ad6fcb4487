"""The team around the family with partner agencies, as the lead professional sees it (ADR 0044):
add an agency with its named people, remove it, acknowledge an update. Each is the one ActionView."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from cases import selectors
from cases.access import log_access, visible_family_or_404
from cases.models import AccessLog
from workflows import partner_services
from workflows.actions import ActionView
from workflows.partner_forms import PartnerAgencyForm


class PartnerFamilyAction(ActionView):
    permission = "cases.work_on_episode"

    def get_object(self):
        family = visible_family_or_404(self.request.user, self.kwargs["pk"])
        if self.request.method == "GET":
            log_access(self.request, action=AccessLog.Action.VIEW, what=self.logged_as(family), family=family)
        return family

    def logged_as(self, family) -> str:
        return f"partner agencies of {family.reference}"

    def permission_target(self):
        return partner_services.open_episode_of(self.object)

    def success_url(self) -> str:
        return reverse("cases:family_detail", args=[self.object.pk])


class PartnerAgencyAdd(PartnerFamilyAction):
    form_class = PartnerAgencyForm
    success_message = "{data[organisation]} is in the team around the family: its named people can see the plan."

    def logged_as(self, family) -> str:
        return f"add a partner agency to {family.reference}"

    def page(self, form, *, status: int = 200):
        return render(
            self.request, "cases/partner_agency_form.html", {"form": form, "family": self.object}, status=status
        )

    def perform(self, data):
        return partner_services.partner_agency_add(family=self.object, **data, **self.by_now())


class PartnerAgencyRemove(PartnerFamilyAction):
    post_only = True
    refusal = "message"
    success_message = "{result.agency} has left the team around the family: its people no longer see it."

    def perform(self, data):
        involvement = selectors.partner_agencies_of(self.object).filter(pk=self.kwargs["agency_pk"]).first()
        if involvement is None:
            raise Http404
        return partner_services.partner_agency_remove(involvement=involvement, **self.by_now())


class PartnerUpdateAcknowledge(PartnerFamilyAction):
    post_only = True
    refusal = "message"
    success_message = "The update from {result.organisation} is acknowledged."

    def perform(self, data):
        update = selectors.partner_updates_of(self.object).filter(pk=self.kwargs["update_pk"]).first()
        if update is None:
            raise Http404
        return partner_services.partner_update_acknowledge(update=update, **self.by_now())


partner_agency_add = PartnerAgencyAdd.as_view()
partner_agency_remove = PartnerAgencyRemove.as_view()
partner_update_acknowledge = PartnerUpdateAcknowledge.as_view()
