"""Early Help's side of a step-up accepted with wraparound: confirming the wraparound worker.

Rulebook B 7.3: once social care accept the case and ask Early Help to continue alongside them,
the manager takes the practitioner out of the key worker role and allocates the case as
"wraparound". Recording that here stops B16 (the wraparound request screened and allocated),
which the step-up decision started (ADR 0026).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html

from cases import selectors as case_selectors
from cases.access import log_access
from cases.models import AccessLog
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin
from kit.permissions import require_perm
from workflows import episode_selectors as selectors
from workflows import episode_services as services
from workflows.episode_forms import VersionMixin
from workflows.errors import CaseChanged, WorkflowError


class WraparoundWorkerForm(SafeTextMixin, VersionMixin, GdsForm):
    practitioner = forms.ChoiceField(label="Wraparound worker", widget=forms.RadioSelect)
    reason = forms.CharField(
        label="Reason for allocating above capacity",
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed only when you choose another practitioner who is at or above their caseload capacity",
    )

    def __init__(self, *args, practitioners: list, current_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_id = current_id
        self.practitioners = {str(p.pk): p for p in practitioners}
        self.fields["practitioner"].choices = [
            (
                str(p.pk),
                format_html(
                    "{} – {} of {} families{}",
                    p,
                    p.caseload,
                    p.caseload_capacity,
                    " (the key worker now)" if p.pk == current_id else "",
                ),
            )
            for p in practitioners
        ]
        self.fields["practitioner"].error_messages["required"] = "Choose the wraparound worker"
        self.fields["practitioner"].error_messages["invalid_choice"] = "Choose a practitioner of the team from the list"

    def clean(self):
        cleaned = super().clean()
        chosen = self.practitioners.get(cleaned.get("practitioner") or "")
        cleaned["practitioner_user"] = chosen
        changing = chosen is not None and chosen.pk != self.current_id
        if changing and chosen.caseload + 1 > chosen.caseload_capacity and not cleaned.get("reason"):
            self.add_error(
                "reason",
                format_html(
                    "{} has {} of {} families: give the reason for allocating above capacity",
                    chosen,
                    chosen.caseload,
                    chosen.caseload_capacity,
                ),
            )
        return cleaned


@login_required
def wraparound_confirm(request, pk: int):
    """Confirm the wraparound worker (GET: the form, or why there is nothing to confirm; POST: record it)."""
    episode = selectors.visible_episode(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    require_perm(request.user, "cases.allocate_episode", episode)
    if request.method == "GET":
        what = f"episode {episode.reference}: wraparound worker"
        log_access(request, action=AccessLog.Action.VIEW, what=what, family=episode.family)
    step_up = services.wraparound_step_up(episode)
    practitioners = selectors.practitioners_with_caseload(episode.team_id) if step_up else []
    initial = {"version": episode.version, "practitioner": str(episode.lead_professional_id or "")}
    form = WraparoundWorkerForm(
        request.POST or None, practitioners=practitioners, current_id=episode.lead_professional_id, initial=initial
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            worker = form.cleaned_data["practitioner_user"]
            try:
                services.wraparound_worker_confirm(
                    episode=episode,
                    practitioner=worker,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=form.cleaned_data["version"],
                )
            except WorkflowError as exc:
                form.add_error(None, str(exc))
                if isinstance(exc, CaseChanged):  # the next submit is against the latest
                    data = form.data.copy()
                    data["version"] = str(case_selectors.record_as_saved(episode).version)
                    form.data = data
                status = 409
            else:
                messages.success(request, f"{worker} is confirmed as the wraparound worker for {episode.reference}.")
                return redirect("episodes:episode_detail", pk=episode.pk)
        elif step_up is None:
            status = 409  # nothing to confirm (the page says why), not a bad choice
    return render(
        request,
        "episodes/wraparound_confirm.html",
        {
            "episode": episode,
            "family": episode.family,
            "form": form,
            "step_up": step_up,
            "practitioners": practitioners,
            "nothing_to_confirm": "" if step_up else services.why_not_wraparound(episode),
        },
        status=status,
    )
