"""The rulebook editor (ADR 0034): drafts, rules, preview, publishing, export and import.

Thin: forms check what was typed, deadlines.versions decides and writes. Administrators and EH
managers (`deadlines.edit_rulebooks`). A draft changed by someone else meanwhile is refused with 409
and the page shows again with what was typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from deadlines import versions
from deadlines.calendar_source import current_calendar
from deadlines.editor_forms import EditVersionForm, ImportForm, PublishForm, RuleForm, initial_from_table
from deadlines.models import RulebookVersion
from deadlines.rulebook import Rulebook
from deadlines.services import active_rulebooks, file_rulebooks
from kit.permissions import require_perm

PERM = "deadlines.edit_rulebooks"


def _file_book(slug: str) -> Rulebook:
    for book in file_rulebooks():
        if book.slug == slug:
            return book
    raise Http404("No such rulebook")


def _in_force(slug: str, now) -> Rulebook:
    return next(b for b in active_rulebooks(now) if b.slug == slug)


def _no_draft(request, slug: str):
    """The rulebook's page, when its draft has gone (published or discarded, perhaps by someone else)."""
    messages.info(request, "This rulebook has no draft now: it may have been published or discarded. Start a draft.")
    return redirect("deadlines:editor_rulebook", slug=slug)


def _refused(form, exc: versions.RulebookRefused) -> int:
    """Put the refusal on the form; 409 when someone else changed the draft meanwhile."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)
    return 409 if isinstance(exc, versions.EditConflict) else 200


def _rule_rows(book: Rulebook) -> list[dict]:
    return [{"rule": rule, "summary": versions.rule_summary(rule)} for rule in book.rules.values()]


@login_required
def rulebook_list(request):
    require_perm(request.user, PERM)
    now = timezone.now()
    rows = []
    for book in active_rulebooks(now):
        rows.append({"book": book, "draft": versions.draft_of(book.slug)})
    return render(request, "deadlines/editor_list.html", {"rows": rows})


@login_required
def rulebook_detail(request, slug: str):
    require_perm(request.user, PERM)
    _file_book(slug)
    now = timezone.now()
    book = _in_force(slug, now)
    history = RulebookVersion.objects.filter(slug=slug).select_related("author", "published_by")
    return render(
        request,
        "deadlines/editor_rulebook.html",
        {
            "book": book,
            "rows": _rule_rows(book),
            "history": history,
            "draft": versions.draft_of(slug),
            "now": now,
        },
    )


@login_required
@require_POST
def draft_start(request, slug: str):
    require_perm(request.user, PERM)
    versions.draft_start(_file_book(slug), by=request.user, now=timezone.now())
    return redirect("deadlines:editor_draft", slug=slug)


@login_required
def draft_detail(request, slug: str):
    require_perm(request.user, PERM)
    _file_book(slug)
    draft = versions.draft_of(slug)
    if draft is None:
        return _no_draft(request, slug)
    book = versions.version_rulebook(draft)
    return render(
        request,
        "deadlines/editor_draft.html",
        {"book": book, "draft": draft, "rows": _rule_rows(book)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, slug: str, rule_id: str | None = None):
    require_perm(request.user, PERM)
    _file_book(slug)
    draft = versions.draft_of(slug)
    if draft is None:
        return _no_draft(request, slug)
    adding = rule_id is None
    table = {}
    if not adding:
        table = next((t for t in draft.data.get("rule", []) if t.get("id") == rule_id), None)
        if table is None:
            raise Http404("No such rule in this draft")
    initial = initial_from_table(table or {"applies_to": "episode"}, draft.edit_version)
    status = 200
    if request.method == "POST":
        form = RuleForm(request.POST, initial=initial, adding=adding)
        if form.is_valid():
            try:
                versions.rule_save(
                    draft,
                    rule_id=rule_id,
                    table=form.table(),
                    edit_version=form.cleaned_data["edit_version"],
                    by=request.user,
                    calendar=current_calendar(),
                )
            except versions.RulebookRefused as exc:
                status = _refused(form, exc)
            else:
                messages.success(request, f"Rule {form.cleaned_data['id']} saved in draft version {draft.number}")
                return redirect("deadlines:editor_draft", slug=slug)
    else:
        form = RuleForm(initial=initial, adding=adding)
    return render(
        request,
        "deadlines/editor_rule_form.html",
        {"form": form, "draft": draft, "rule_id": rule_id, "slug": slug},
        status=status,
    )


@login_required
@require_POST
def rule_retire(request, slug: str, rule_id: str):
    require_perm(request.user, PERM)
    _file_book(slug)
    draft = versions.draft_of(slug)
    if draft is None:
        return _no_draft(request, slug)
    form = EditVersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The page was out of date: try again")
        return redirect("deadlines:editor_draft", slug=slug)
    try:
        versions.rule_retire(draft, rule_id=rule_id, edit_version=form.cleaned_data["edit_version"], by=request.user)
    except versions.RulebookRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rule {rule_id} retired in draft version {draft.number}")
    return redirect("deadlines:editor_draft", slug=slug)


@login_required
@require_POST
def draft_discard(request, slug: str):
    require_perm(request.user, PERM)
    _file_book(slug)
    draft = versions.draft_of(slug)
    if draft is None:
        return _no_draft(request, slug)
    form = EditVersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The page was out of date: try again")
        return redirect("deadlines:editor_draft", slug=slug)
    try:
        versions.draft_discard(draft, edit_version=form.cleaned_data["edit_version"], by=request.user)
    except versions.RulebookRefused as exc:
        messages.error(request, exc.message)
        return redirect("deadlines:editor_draft", slug=slug)
    messages.success(request, f"Draft version {draft.number} discarded")
    return redirect("deadlines:editor_rulebook", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def draft_preview(request, slug: str):
    """What the draft would change, and the form that publishes it."""
    require_perm(request.user, PERM)
    _file_book(slug)
    draft = versions.draft_of(slug)
    if draft is None:
        return _no_draft(request, slug)
    now = timezone.now()
    status = 200
    if request.method == "POST":
        form = PublishForm(request.POST, initial={"edit_version": draft.edit_version})
        if form.is_valid():
            try:
                published = versions.draft_publish(
                    draft,
                    edit_version=form.cleaned_data["edit_version"],
                    effective_at=form.cleaned_data["effective_at"] or now,
                    open_clocks=form.cleaned_data["open_clocks"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=now,
                )
            except versions.RulebookRefused as exc:
                status = _refused(form, exc)
            else:
                messages.success(
                    request,
                    f"Version {published.number} published: it applies to clocks started from "
                    f"{timezone.localtime(published.effective_at):%-d %B %Y %H:%M}",
                )
                if published.recompute_job_id:
                    # The open clocks move in the background: watch them, and read what moved at the end.
                    return redirect("jobs:detail", published.recompute_job_id)
                return redirect("deadlines:editor_rulebook", slug=slug)
    else:
        form = PublishForm(initial={"edit_version": draft.edit_version, "open_clocks": "keep"})
    try:
        result = versions.preview(draft, in_force_book=_in_force(slug, now), now=now, calendar=current_calendar())
    except versions.RulebookRefused as exc:
        result, form_error = None, exc.message
    else:
        form_error = ""
    return render(
        request,
        "deadlines/editor_preview.html",
        {"draft": draft, "preview": result, "problem": form_error, "form": form, "slug": slug},
        status=status,
    )


@login_required
def version_export(request, slug: str, number: int):
    """A version as a TOML file, to share or keep in version control."""
    require_perm(request.user, PERM)
    _file_book(slug)
    version = get_object_or_404(RulebookVersion, slug=slug, number=number)
    response = HttpResponse(versions.to_toml(version.data), content_type="application/toml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-version-{number}.toml"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def draft_import(request, slug: str):
    require_perm(request.user, PERM)
    book = _file_book(slug)
    if request.method == "POST":
        form = ImportForm(request.POST)
        if form.is_valid():
            try:
                draft = versions.draft_import(book, text=form.cleaned_data["text"], by=request.user, now=timezone.now())
            except versions.RulebookRefused as exc:
                _refused(form, exc)
            else:
                messages.success(request, f"Imported as draft version {draft.number}: check it, preview and publish")
                return redirect("deadlines:editor_draft", slug=slug)
    else:
        form = ImportForm()
    return render(request, "deadlines/editor_import.html", {"form": form, "slug": slug, "book": book})


@login_required
@require_POST
def version_retire(request, slug: str, number: int):
    """Call off a published version before it takes effect."""
    require_perm(request.user, PERM)
    _file_book(slug)
    version = RulebookVersion.objects.filter(slug=slug, number=number).first()
    if version is None:
        messages.error(request, f"This rulebook has no version {number}")
        return redirect("deadlines:editor_rulebook", slug=slug)
    try:
        versions.version_retire(version, by=request.user, now=timezone.now())
    except versions.RulebookRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Version {number} withdrawn: it will not take effect")
    return redirect("deadlines:editor_rulebook", slug=slug)
