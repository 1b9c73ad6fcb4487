"""Amending a saved visit, assessment or plan, and what each amendment changed (ADR 37)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from cases.access import log_access
from cases.models import AccessLog
from workflows import amend_selectors, amend_services
from workflows import episode_selectors as selectors
from workflows.amend_forms import AmendForm
from workflows.episode_views import EpisodeAction


class AmendRecord(EpisodeAction):
    """The author (or their team leader) corrects a record; the original stays in its history."""

    form_class = AmendForm
    permission = "cases.amend_record"
    button = "Save the amendment"
    intro = (
        "The record keeps what it said before. Anyone who may see it can see what was changed, by whom, when and why."
    )

    def permission_target(self):
        self.kind = self.kwargs["record_kind"]
        self.record = amend_selectors.amendable_record(self.episode, self.kind, self.kwargs["record_pk"])
        if self.record is None:
            raise Http404("No such record")
        self.spec = amend_services.AMENDABLE[self.kind]
        return self.record

    def before(self):
        problem = amend_services.why_not_amend(self.kind, self.record)
        if problem:
            return self.back(problem)
        self.title = f"Amend the {self.spec.name}"
        self.summary_rows = [("Record", str(self.record))]
        return None

    def initial(self) -> dict:
        return AmendForm.initial_from(self.kind, self.record)

    def form_kwargs(self) -> dict:
        return {"kind": self.kind, "record": self.record}

    def perform(self, data):
        return amend_services.amend_record(
            kind=self.kind, record=self.record, changes=self.form.changes(), reason=data["reason"], **self.by_now()
        )

    def get_success_message(self) -> str:
        return f"The {self.spec.name} was amended. What it said before is kept in its history."

    def success_url(self) -> str:
        return reverse("episodes:amend_changes", args=[self.episode.pk, self.kind, self.record.pk])


amend_record = AmendRecord.as_view()


@login_required
def amend_changes(request, pk: int, record_kind: str, record_pk: int):
    """What each amendment of a record changed, field by field: for anyone who may see the episode."""
    episode = selectors.visible_episode(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    record = amend_selectors.amendable_record(episode, record_kind, record_pk)
    if record is None:
        raise Http404("No such record")
    spec = amend_services.AMENDABLE[record_kind]
    log_access(
        request,
        action=AccessLog.Action.VIEW,
        what=f"episode {episode.reference}: amendments of the {spec.name} {record}",
        family=episode.family,
    )
    context = {
        "episode": episode,
        "family": episode.family,
        "record": record,
        "record_name": spec.name,
        "amendments": amend_selectors.amendments_of(record_kind, record),
        "can_amend": request.user.has_perm("cases.amend_record", record)
        and not amend_services.why_not_amend(record_kind, record),
        "kind": record_kind,
    }
    return render(request, "episodes/amend_changes.html", context)
