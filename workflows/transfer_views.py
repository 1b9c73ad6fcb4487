"""Pages for moving work (ADR 0032): transfer a case to another team and decide one;
reallocate a practitioner's cases at once; close or step down a family still awaiting allocation.

Each action is built on the one action view (workflows/actions.py, ADR 22): form → service → message
and redirect; a refusal of the service (WorkflowError) is a 409 that re-renders the page with what
was typed and says why.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from accounts import roles
from cases.access import log_access, render_logged
from cases.models import AccessLog, Episode
from kit.permissions import require_role
from workflows import transfer_selectors as selectors
from workflows import transfer_services as services
from workflows.actions import ActionView
from workflows.episode_selectors import practitioners_with_caseload, visible_episode
from workflows.transfer_forms import BeforeAllocationForm, BulkReallocateForm, TransferDecideForm, TransferRequestForm

S = Episode.State


def _logged(request, episode: Episode, what: str) -> None:
    if request.method == "GET":
        log_access(
            request, action=AccessLog.Action.VIEW, what=f"episode {episode.reference}: {what}", family=episode.family
        )


def _episode(request, pk: int) -> Episode:
    episode = visible_episode(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    return episode


# --- Transfer between teams ------------------------------------------------------------------------


class EpisodeMove(ActionView):
    """An action on one episode in the user's scope, logged as `logged_as`, drawn on `template_name`."""

    logged_as = ""
    template_name = ""
    versioned = True

    def get_object(self) -> Episode:
        episode = _episode(self.request, self.kwargs["pk"])
        _logged(self.request, episode, self.logged_as)
        return episode

    def initial(self) -> dict:
        return {"version": self.object.version} if self.versioned else {}

    def current_version(self) -> int | None:
        if not self.versioned:
            return None
        self.object.refresh_from_db()
        return self.object.version

    def context(self) -> dict:
        return {}

    def page(self, form, *, status: int = 200):
        episode = self.object
        context = {"episode": episode, "family": episode.family, "form": form, **self.context()}
        return render(self.request, self.template_name, context, status=status)

    def get_success_message(self) -> str:
        return self.message

    def success_url(self) -> str:
        return reverse("episodes:episode_detail", args=[self.object.pk])


class TransferRequest(EpisodeMove):
    form_class = TransferRequestForm
    permission = "cases.request_transfer"
    logged_as = "transfer to another team"
    template_name = "episodes/transfer_request.html"

    def form_kwargs(self) -> dict:
        return {"teams": list(services.teams_to_transfer_to(self.object))}

    def context(self) -> dict:
        return {"waiting": services.pending_transfer(self.object), "history": selectors.transfers_of(self.object)}

    def perform(self, data):
        transfer = services.transfer_request(
            episode=self.object,
            to_team=data["team"],
            reason=data["reason"],
            expected_version=data["version"],
            **self.by_now(),
        )
        self.message = (
            f"{transfer.to_team} has been asked to take {self.object.reference}. The case stays "
            "with your team until they accept."
        )


class TransferDecide(EpisodeMove):
    form_class = TransferDecideForm
    permission = "cases.decide_transfer"
    logged_as = "decide a transfer"
    template_name = "episodes/transfer_decide.html"
    versioned = False

    def get_object(self) -> Episode:
        episode = selectors.episode_for_transfer(self.request.user, self.kwargs["pk"])
        if episode is None:
            raise Http404("No such episode")
        _logged(self.request, episode, self.logged_as)
        self.transfer = services.pending_transfer(episode)
        return episode

    def permission_target(self):
        return self.transfer

    def form_kwargs(self) -> dict:
        self.practitioners = practitioners_with_caseload(self.transfer.to_team_id) if self.transfer else []
        return {"practitioners": self.practitioners}

    def before(self):
        if self.request.method == "POST" and self.transfer is None:
            form = self.form_class(self.request.POST, **self.form_kwargs())
            form.is_valid()
            form.add_error(None, f"No transfer of {self.object.reference} is waiting for a decision.")
            return self.page(form, status=409)
        return None

    def context(self) -> dict:
        return {
            "transfer": self.transfer,
            "practitioners": self.practitioners,
            "history": selectors.transfers_of(self.object),
        }

    def perform(self, data):
        episode, transfer = self.object, self.transfer
        if data["decision"] == self.form.ACCEPT:
            services.transfer_accept(
                transfer=transfer,
                practitioner=data["practitioner_user"],
                allocation_reason=data["allocation_reason"],
                **self.by_now(),
            )
            self.message = (
                f"{episode.reference} is now with {transfer.to_team}, led by {data['practitioner_user']}. "
                "Its clocks moved with it."
            )
        else:
            services.transfer_decline(transfer=transfer, reason=data["decline_reason"], **self.by_now())
            self.message = f"You declined the transfer of {episode.reference}; {transfer.from_team} keeps the case."

    def success_url(self) -> str:
        return reverse("episodes:transfers")


transfer_request = TransferRequest.as_view()
transfer_decide = TransferDecide.as_view()


@login_required
def transfers(request):
    """Moving cases: transfers waiting for the user's team, those it asked for, and its caseloads."""
    require_role(request.user, roles.TEAM_LEADER, roles.MANAGER)
    context = {
        "incoming": selectors.transfers_incoming(request.user),
        "sent": selectors.transfers_sent(request.user),
        "caseloads": selectors.team_caseloads(request.user),
    }
    return render_logged(request, "episodes/transfer_list.html", context, what="moving cases: transfers")


# --- Bulk reallocation ---------------------------------------------------------------------------------


class CaseloadReallocate(ActionView):
    """Move chosen cases of one practitioner to others of the team, in one transaction; then what moved."""

    form_class = BulkReallocateForm
    permission = "cases.reallocate_caseload"

    def get_object(self):
        practitioner = selectors.practitioner_with_team(self.kwargs["practitioner_pk"])
        if practitioner is None:
            raise Http404("No such practitioner")
        return practitioner

    def before(self):
        batch = _batch(self.request.GET.get("batch"))
        if batch is not None and self.request.method == "GET":
            moved = selectors.reallocation_batch(batch, self.object)
            context = {"practitioner": self.object, "moved": moved}
            return render_logged(
                self.request, "episodes/bulk_summary.html", context, what="bulk reallocation: what moved"
            )
        return None

    def form_kwargs(self) -> dict:
        practitioner = self.object
        self.episodes = selectors.open_cases_of(practitioner)
        self.others = [p for p in practitioners_with_caseload(practitioner.team_id) if p.pk != practitioner.pk]
        return {"episodes": self.episodes, "practitioners": self.others}

    def page(self, form, *, status: int = 200):
        practitioner = self.object
        context = {"practitioner": practitioner, "form": form, "others": self.others, "episodes": self.episodes}
        what = f"bulk reallocation: {practitioner}'s cases"
        return render_logged(self.request, "episodes/bulk_reallocate.html", context, what=what, status=status)

    def perform(self, data):
        self.rows = services.caseload_reallocate(
            from_practitioner=self.object,
            moves=data["moves"],
            reason=data["reason"],
            capacity_reason=data["capacity_reason"],
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        count = len(self.rows)
        return f"{count} case{'s' if count != 1 else ''} moved from {self.object}."

    def success_url(self) -> str:
        return f"{self.request.path}?batch={self.rows[0].batch}"


caseload_reallocate = CaseloadReallocate.as_view()


def _batch(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- Families still awaiting allocation -------------------------------------------------------------


class BeforeAllocation(EpisodeMove):
    """Close or step down a family on the pre-allocation list (step-up is the step-up page)."""

    form_class = BeforeAllocationForm
    permission = "cases.end_before_allocation"
    logged_as = "close or step down before allocation"
    template_name = "episodes/transfer_before_allocation.html"

    def context(self) -> dict:
        return {"waiting": self.object.state == S.AWAITING_ALLOCATION}

    def perform(self, data):
        episode = self.object
        if data["outcome"] == self.form.CLOSE:
            services.before_allocation_close(
                episode=episode,
                reason=data["reason"],
                note=data["note"],
                expected_version=data["version"],
                **self.by_now(),
            )
            self.message = f"{episode.reference} was closed from the pre-allocation list."
        else:
            services.before_allocation_step_down(
                episode=episode, support=data["support"], expected_version=data["version"], **self.by_now()
            )
            self.message = f"{episode.reference} was stepped down to universal or community support."


before_allocation = BeforeAllocation.as_view()
