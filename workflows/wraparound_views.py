"""Early Help's side of a step-up accepted with wraparound: confirming the wraparound worker.

Rulebook B 7.3: once social care accept the case and ask Early Help to continue alongside them,
the manager takes the practitioner out of the key worker role and allocates the case as
"wraparound". Recording that here stops B16 (the wraparound request screened and allocated),
which the step-up decision started (ADR 0026).
"""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.utils.html import format_html

from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin
from workflows import episode_selectors as selectors
from workflows import episode_services as services
from workflows.episode_forms import VersionMixin
from workflows.episode_views import EpisodeAction


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


class WraparoundConfirm(EpisodeAction):
    """Confirm the wraparound worker (GET: the form, or why there is nothing to confirm; POST: record it)."""

    form_class = WraparoundWorkerForm
    permission = "cases.allocate_episode"
    versioned = True

    def before(self):
        self.step_up = services.wraparound_step_up(self.episode)
        if self.step_up is None:  # nothing to confirm: the page says why (409 to a POST: not a bad choice)
            return self.page(None, status=409 if self.request.method == "POST" else 200)
        return None

    def form_kwargs(self) -> dict:
        self.practitioners = selectors.practitioners_with_caseload(self.episode.team_id)
        return {"practitioners": self.practitioners, "current_id": self.episode.lead_professional_id}

    def initial(self) -> dict:
        return {**super().initial(), "practitioner": str(self.episode.lead_professional_id or "")}

    def perform(self, data):
        services.wraparound_worker_confirm(
            episode=self.episode,
            practitioner=data["practitioner_user"],
            **self.from_form("reason"),
            expected_version=data["version"],
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        worker = self.form.cleaned_data["practitioner_user"]
        return f"{worker} is confirmed as the wraparound worker for {self.episode.reference}."

    def page(self, form, *, status: int = 200):
        episode = self.episode
        return render(
            self.request,
            "episodes/wraparound_confirm.html",
            {
                "episode": episode,
                "family": episode.family,
                "form": form,
                "step_up": self.step_up,
                "practitioners": getattr(self, "practitioners", []),
                "nothing_to_confirm": "" if self.step_up else services.why_not_wraparound(episode),
                "refused": status == 409 and self.step_up is None,
            },
            status=status,
        )


wraparound_confirm = WraparoundConfirm.as_view()
