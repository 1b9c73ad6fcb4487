"""Correspondence pages: the council's templates, and compose → preview → send from a record.

Thin views: form → service → message/redirect; a refused send (WorkflowError) re-renders with what
was typed and a 409. Every page showing a family's record is logged.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases import selectors as case_selectors
from cases.access import log_access, visible_contact_or_404
from cases.models import AccessLog, CorrespondenceTemplate, Message
from kit.permissions import require_role
from workflows import correspondence_services as letters
from workflows import episode_selectors
from workflows.correspondence_forms import MessageForm, TemplateForm
from workflows.correspondence_pdf import letter_pdf
from workflows.errors import WorkflowError

REFERENCE = re.compile(r"^\s*([CE])0*(\d{1,9})\s*$", re.IGNORECASE)


# --- The council's templates ----------------------------------------------------------------------


@login_required
def template_list(request):
    require_role(request.user, *letters.TEMPLATE_EDITORS)
    templates = list(letters.templates_all())
    return render(request, "correspondence/template_list.html", {"templates": templates})


@login_required
def template_edit(request, kind: str):
    require_role(request.user, *letters.TEMPLATE_EDITORS)
    if kind not in CorrespondenceTemplate.Kind.values:
        raise Http404("No such kind of letter")
    template = letters.template_for(kind)
    preview = None
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "save":
            try:
                letters.template_save(
                    template=template,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(request, f"The {template.get_kind_display().lower()} template was saved.")
                return redirect("episodes:letter_templates")
        else:
            preview, error = _template_preview(request, kind, form.cleaned_data)
            if error:
                form.add_error("preview_reference", error)
                status = 400
    else:
        form = TemplateForm(initial={"subject": template.subject, "body": template.body})
    context = {
        "template": template,
        "form": form,
        "preview": preview,
        "merge_fields": letters.MERGE_FIELDS,
        "versions": list(template.history.select_related("history_user").order_by("-history_date")[:20]),
    }
    return render(request, "correspondence/template_edit.html", context, status=status)


def _template_preview(request, kind: str, data: dict) -> tuple[dict | None, str]:
    """The edited wording filled in from a record the user may see (the view is logged)."""
    reference = data.get("preview_reference") or ""
    if not reference:
        return None, "Enter a contact or episode reference to preview the template on"
    match = REFERENCE.match(reference)
    if match is None:
        return None, "Enter a reference like C0000012 or E0000034"
    letter, number = match.group(1).upper(), int(match.group(2))
    contact = episode = None
    if letter == "C":
        contact = case_selectors.contacts_visible_to(request.user).select_related("family").filter(pk=number).first()
    else:
        episode = episode_selectors.visible_episode(request.user, number)
    record = contact or episode
    if record is None:
        return None, "There is no record with that reference that you can see"
    if kind not in letters.kinds_for(contact=contact, episode=episode):
        return None, (
            "This letter is sent from an episode: give an episode reference"
            if contact is not None
            else "This letter is sent from a contact: give a contact reference"
        )
    what = f"letter template preview on {record.reference}"
    log_access(request, action=AccessLog.Action.VIEW, what=what, family=record.family)
    now = timezone.now()
    name, _email = letters.recipient_for(kind, contact=contact, episode=episode)
    values = letters.merge_values(
        kind=kind, contact=contact, episode=episode, recipient_name=name, by=request.user, now=now
    )
    return {
        "record": record,
        "subject": letters.render(data["subject"], values),
        "body": letters.render(data["body"], values),
    }, ""


# --- Compose, preview and send from a record -------------------------------------------------------


@login_required
def contact_letter(request, pk: int):
    contact = visible_contact_or_404(request.user, pk)
    letters.require_sender(request.user, contact=contact)
    return _compose(request, contact=contact)


@login_required
def episode_letter(request, pk: int):
    episode = episode_selectors.visible_episode(request.user, pk)
    if episode is None:
        raise Http404("No such episode")
    letters.require_sender(request.user, episode=episode)
    return _compose(request, episode=episode)


def _compose(request, *, contact=None, episode=None):
    record = contact or episode
    family = record.family
    kinds = letters.kinds_for(contact=contact, episode=episode)
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    context = {
        "contact": contact,
        "episode": episode,
        "family": family,
        "record": record,
        "kinds": [(k, CorrespondenceTemplate.Kind(k).label) for k in kinds],
        "back": _record_url(contact=contact, episode=episode),
    }
    if kind not in kinds:
        if request.method == "GET":
            log_access(request, action=AccessLog.Action.VIEW, what=f"letters from {record.reference}", family=family)
        return render(request, "correspondence/choose.html", context, status=200 if request.method == "GET" else 400)
    context["kind"] = kind
    context["kind_label"] = CorrespondenceTemplate.Kind(kind).label
    context["address"] = case_selectors.address_for_letter(family)
    now = timezone.now()
    if request.method == "GET":
        log_access(request, action=AccessLog.Action.VIEW, what=f"letter from {record.reference}", family=family)
        try:
            initial = letters.compose(kind=kind, by=request.user, now=now, contact=contact, episode=episode)
        except WorkflowError as exc:
            messages.error(request, str(exc))
            return redirect(context["back"])
        context["form"] = MessageForm(initial=initial)
        return render(request, "correspondence/compose.html", context)
    form = MessageForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "correspondence/compose.html", context, status=400)
    data = form.cleaned_data
    if request.POST.get("action") != "send":
        context["preview"] = {
            **data,
            "html": letters.email_html(Message(subject=data["subject"], body=data["body"])),
        }
        return render(request, "correspondence/compose.html", context)
    try:
        message = letters.message_send(
            kind=kind,
            channel=data["channel"],
            recipient_name=data["recipient_name"],
            recipient_email=data.get("recipient_email") or "",
            subject=data["subject"],
            body=data["body"],
            by=request.user,
            now=now,
            contact=contact,
            episode=episode,
        )
    except WorkflowError as exc:
        form.add_error(None, str(exc))
        return render(request, "correspondence/compose.html", context, status=409)
    if message.channel == Message.Channel.POST:
        messages.success(request, "The letter is ready to print and post. It is recorded as sent.")
        return redirect("episodes:message_detail", pk=message.pk)
    messages.success(request, f"The e-mail to {message.recipient_email} is being sent.")
    return redirect(context["back"])


def _record_url(*, contact=None, episode=None) -> str:
    from django.urls import reverse

    if contact is not None:
        return reverse("cases:contact_detail", args=[contact.pk])
    return reverse("episodes:episode_detail", args=[episode.pk])


# --- One message -----------------------------------------------------------------------------------


def _message(request, pk: int) -> Message:
    message = letters.message_visible_to(request.user, pk)
    if message is None:
        raise Http404("No such letter")
    return message


@login_required
def message_detail(request, pk: int):
    message = _message(request, pk)
    log_access(request, action=AccessLog.Action.VIEW, what=f"letter {message.pk}", family=message.family)
    context = {
        "message": message,
        "family": message.family,
        "back": _record_url(contact=message.contact, episode=message.episode),
        "can_retry": message.status == Message.Status.FAILED
        and letters.may_send(request.user, contact=message.contact, episode=message.episode),
    }
    return render(request, "correspondence/message_detail.html", context)


@login_required
def message_pdf(request, pk: int):
    message = _message(request, pk)
    if message.channel != Message.Channel.POST:
        raise Http404("Only a letter for the post is printed")
    log_access(request, action=AccessLog.Action.EXPORT, what=f"printed letter {message.pk}", family=message.family)
    response = HttpResponse(letter_pdf(message), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="letter-{message.pk}.pdf"'
    return response


@login_required
@require_POST
def message_retry(request, pk: int):
    message = _message(request, pk)
    letters.require_sender(request.user, contact=message.contact, episode=message.episode)
    try:
        letters.message_retry(message=message, by=request.user, now=timezone.now())
    except WorkflowError as exc:
        context = {
            "message": message,
            "family": message.family,
            "back": _record_url(contact=message.contact, episode=message.episode),
            "error": str(exc),
        }
        return render(request, "correspondence/message_detail.html", context, status=409)
    messages.success(request, "The e-mail is being sent again.")
    return redirect("episodes:message_detail", pk=message.pk)


# --- Development only ------------------------------------------------------------------------------


@login_required
def dev_mail(request):
    """What the local SMTP server of `make run` received (DEBUG only; production has no such page)."""
    if not settings.DEBUG:
        raise Http404("Only in development")
    context = {"mails": letters.local_mail(), "directory": letters.local_mail_dir()}
    return render(request, "correspondence/dev_mail.html", context)
