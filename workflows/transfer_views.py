"""Pages for moving work (issue 15, ADR 0032): transfer a case to another team and decide one;
reallocate a practitioner's cases at once; close or step down a family still awaiting allocation.

Thin views: form → service → message and redirect. A refusal of the service (WorkflowError) is a
409 that re-renders the page with what was typed and says why.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts import roles
from cases.access import log_access, render_logged
from cases.models import AccessLog, Episode
from kit.permissions import require_perm, require_role
from workflows import transfer_selectors as selectors
from workflows import transfer_services as services
from workflows.episode_selectors import practitioners_with_caseload, visible_episode
from workflows.errors import CaseChanged, WorkflowError
from workflows.transfer_forms import BeforeAllocationForm, BulkReallocateForm, TransferDecideForm, TransferRequestForm

S = Episode.State


def _logged(request, episode: Episode, what: str) -> None:
    if request.method == "GET":
        log_access(
            request, action=AccessLog.Action.VIEW, what=f"episode {episode.reference}: {what}", family=episode.family
        )


def _refused(form, exc: WorkflowError, *, version: int | None = None) -> None:
    form.add_error(None, str(exc))
    if isinstance(exc, CaseChanged) and version is not None:
        data = form.data.copy()
        data["version"] = str(version)
        form.data = data


def _episode(request, pk: int) -> Episode:
    episode = visible_episode(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    return episode


# --- Transfer between teams ------------------------------------------------------------------------


@login_required
def transfer_request(request, pk: int):
    episode = _episode(request, pk)
    require_perm(request.user, "cases.request_transfer", episode)
    _logged(request, episode, "transfer to another team")
    teams = list(services.teams_to_transfer_to(episode))
    form = TransferRequestForm(_posted(request), teams=teams, initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                transfer = services.transfer_request(
                    episode=episode,
                    to_team=form.cleaned_data["team"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=form.cleaned_data["version"],
                )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, version=episode.version)
                status = 409
            else:
                messages.success(
                    request,
                    f"{transfer.to_team} has been asked to take {episode.reference}. The case stays "
                    "with your team until they accept.",
                )
                return redirect("episodes:episode_detail", pk=episode.pk)
    context = {
        "episode": episode,
        "family": episode.family,
        "form": form,
        "waiting": services.pending_transfer(episode),
        "history": selectors.transfers_of(episode),
    }
    return render(request, "episodes/transfer_request.html", context, status=status)


@login_required
def transfer_decide(request, pk: int):
    episode = selectors.episode_for_transfer(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    transfer = services.pending_transfer(episode)
    require_perm(request.user, "cases.decide_transfer", transfer)
    _logged(request, episode, "decide a transfer")
    practitioners = practitioners_with_caseload(transfer.to_team_id) if transfer else []
    form = TransferDecideForm(_posted(request), practitioners=practitioners)
    status = 200
    if request.method == "POST":
        status = 400
        if transfer is None:
            form.is_valid()
            form.add_error(None, f"No transfer of {episode.reference} is waiting for a decision.")
            status = 409
        elif form.is_valid():
            data = form.cleaned_data
            now = timezone.now()
            try:
                if data["decision"] == form.ACCEPT:
                    services.transfer_accept(
                        transfer=transfer,
                        practitioner=data["practitioner_user"],
                        allocation_reason=data["allocation_reason"],
                        by=request.user,
                        now=now,
                    )
                    message = (
                        f"{episode.reference} is now with {transfer.to_team}, led by {data['practitioner_user']}. "
                        "Its clocks moved with it."
                    )
                else:
                    services.transfer_decline(
                        transfer=transfer, reason=data["decline_reason"], by=request.user, now=now
                    )
                    message = f"You declined the transfer of {episode.reference}; {transfer.from_team} keeps the case."
            except WorkflowError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, message)
                return redirect("episodes:transfers")
    context = {
        "episode": episode,
        "family": episode.family,
        "transfer": transfer,
        "form": form,
        "practitioners": practitioners,
        "history": selectors.transfers_of(episode),
    }
    return render(request, "episodes/transfer_decide.html", context, status=status)


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


@login_required
def caseload_reallocate(request, practitioner_pk: int):
    practitioner = selectors.practitioner_with_team(practitioner_pk)
    if practitioner is None:
        raise Http404("No such practitioner")
    require_perm(request.user, "cases.reallocate_caseload", practitioner)
    batch = _batch(request.GET.get("batch"))
    if batch is not None and request.method == "GET":
        moved = selectors.reallocation_batch(batch, practitioner)
        context = {"practitioner": practitioner, "moved": moved}
        return render_logged(request, "episodes/bulk_summary.html", context, what="bulk reallocation: what moved")
    episodes = selectors.open_cases_of(practitioner)
    others = [p for p in practitioners_with_caseload(practitioner.team_id) if p.pk != practitioner.pk]
    form = BulkReallocateForm(_posted(request), episodes=episodes, practitioners=others)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                rows = services.caseload_reallocate(
                    from_practitioner=practitioner,
                    moves=form.cleaned_data["moves"],
                    reason=form.cleaned_data["reason"],
                    capacity_reason=form.cleaned_data["capacity_reason"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, f"{len(rows)} case{'s' if len(rows) != 1 else ''} moved from {practitioner}.")
                return redirect(f"{request.path}?batch={rows[0].batch}")
    context = {"practitioner": practitioner, "form": form, "others": others, "episodes": episodes}
    return render_logged(
        request,
        "episodes/bulk_reallocate.html",
        context,
        what=f"bulk reallocation: {practitioner}'s cases",
        status=status,
    )


def _batch(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- Families still awaiting allocation -------------------------------------------------------------


@login_required
def before_allocation(request, pk: int):
    """Close or step down a family on the pre-allocation list (step-up is the step-up page)."""
    episode = _episode(request, pk)
    if not request.user.has_perm("cases.end_before_allocation", episode):
        raise PermissionDenied
    _logged(request, episode, "close or step down before allocation")
    form = BeforeAllocationForm(_posted(request), initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            now = timezone.now()
            try:
                if data["outcome"] == form.CLOSE:
                    services.before_allocation_close(
                        episode=episode,
                        reason=data["reason"],
                        note=data["note"],
                        by=request.user,
                        now=now,
                        expected_version=data["version"],
                    )
                    message = f"{episode.reference} was closed from the pre-allocation list."
                else:
                    services.before_allocation_step_down(
                        episode=episode,
                        support=data["support"],
                        by=request.user,
                        now=now,
                        expected_version=data["version"],
                    )
                    message = f"{episode.reference} was stepped down to universal or community support."
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, version=episode.version)
                status = 409
            else:
                messages.success(request, message)
                return redirect("episodes:episode_detail", pk=episode.pk)
    context = {
        "episode": episode,
        "family": episode.family,
        "form": form,
        "waiting": episode.state == S.AWAITING_ALLOCATION,
    }
    return render(request, "episodes/transfer_before_allocation.html", context, status=status)


def _posted(request):
    """The submitted answers (even none at all, so an empty submit is judged), or None for a GET."""
    return request.POST if request.method == "POST" else None
