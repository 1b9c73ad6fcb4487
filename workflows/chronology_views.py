"""The printable family chronology and its PDF (ADR 37): scoped to who may see the family, logged."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from cases.access import log_access, visible_family_or_404
from cases.models import AccessLog
from kit.forms import GdsForm, SafeTextMixin, date_field
from kit.permissions import require_perm
from workflows.case_file import case_file_pdf
from workflows.chronology import chronology_pdf, family_chronology, filters_described


class ChronologyFilterForm(SafeTextMixin, GdsForm):
    date_from = date_field("From", required=False)
    date_to = date_field("To", required=False)
    kinds = forms.MultipleChoiceField(
        label="Only these kinds of entry",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose none to print every kind",
    )

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k, k) for k in kinds]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The 'to' date must be the same as or after the 'from' date")
        return cleaned


def _filtered(request, family_pk: int):
    """(family, chronology, form): the filters from the query string; bad filters show all, with the errors."""
    family = visible_family_or_404(request.user, family_pk)
    everything = family_chronology(family)
    form = ChronologyFilterForm(request.GET or None, kinds=everything.kinds)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return (
            family,
            family_chronology(
                family, date_from=data.get("date_from"), date_to=data.get("date_to"), kinds=data.get("kinds") or ()
            ),
            form,
        )
    return family, everything, form


@login_required
def family_chronology_print(request, family_pk: int):
    family, chronology, form = _filtered(request, family_pk)
    log_access(
        request, action=AccessLog.Action.VIEW, what=f"family {family.reference}: chronology to print", family=family
    )
    query = request.GET.urlencode()
    context = {
        "family": family,
        "chronology": chronology,
        "form": form,
        "filters": filters_described(chronology),
        "pdf_url": reverse("episodes:family_chronology_pdf", args=[family.pk]) + (f"?{query}" if query else ""),
        "now": timezone.now(),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "episodes/family_chronology.html", context, status=status)


@login_required
def family_chronology_download(request, family_pk: int):
    family, chronology, form = _filtered(request, family_pk)
    if form.is_bound and form.errors:
        return family_chronology_print(request, family_pk)
    now = timezone.now()
    log_access(
        request,
        action=AccessLog.Action.DOWNLOAD,
        what=f"family {family.reference}: chronology PDF ({filters_described(chronology).lower()})",
        family=family,
    )
    response = HttpResponse(
        chronology_pdf(chronology, printed_by=request.user, now=now), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="chronology-{family.reference}.pdf"'
    return response


@login_required
def family_case_file_download(request, family_pk: int):
    """The full case file as a PDF, for a transfer (ADR 0038): the family's team leader or the service's
    managers; one DOWNLOAD row in the access log."""
    family = visible_family_or_404(request.user, family_pk)
    require_perm(request.user, "cases.export_case_file", family)
    now = timezone.now()
    log_access(
        request, action=AccessLog.Action.DOWNLOAD, what=f"family {family.reference}: case file PDF", family=family
    )
    response = HttpResponse(case_file_pdf(family, printed_by=request.user, now=now), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="case-file-{family.reference}.pdf"'
    return response
