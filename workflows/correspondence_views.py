"""Correspondence pages: the council's templates, and compose → preview → send from a record.

The pages that change something are built on the one action view (workflows/actions.py, ADR 22):
form → service → message/redirect; a refused save or send (WorkflowError) re-renders with what was
typed and a 409. A preview is the `pending()` step: a valid form shown filled in, nothing saved or
sent. Read-only pages (the template list, one message, its PDF, the development mailbox) are
functions. Every page showing a family's record is logged.
"""

from __future__ import annotations

import hmac
import json
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cases import selectors as case_selectors
from cases.access import log_access, visible_contact_or_404
from cases.models import AccessLog, CorrespondenceTemplate, Message
from kit.permissions import require_role
from workflows import correspondence_services as letters
from workflows import episode_selectors
from workflows.actions import ActionView
from workflows.correspondence_forms import LetterKindForm, MessageForm, TemplateForm
from workflows.correspondence_notify import receipt_time as notify_receipt_time
from workflows.correspondence_pdf import letter_pdf
from workflows.errors import WorkflowError

REFERENCE = re.compile(r"^\s*([CE])0*(\d{1,9})\s*$", re.IGNORECASE)


# --- The council's templates ----------------------------------------------------------------------


@login_required
def template_list(request):
    require_role(request.user, *letters.TEMPLATE_EDITORS)
    templates = list(letters.templates_all())
    return render(request, "correspondence/template_list.html", {"templates": templates})


class TemplateEdit(ActionView):
    """One kind's wording: "Preview" fills it in from a record the user may see; "Save" keeps a new version."""

    form_class = TemplateForm
    permission_first = True  # who may edit templates is asked before which kind
    success_message = "The {kind} template was saved."

    def check_permission(self, target) -> None:
        require_role(self.request.user, *letters.TEMPLATE_EDITORS)

    def get_object(self) -> CorrespondenceTemplate:
        kind = self.kwargs["kind"]
        if kind not in CorrespondenceTemplate.Kind.values:
            raise Http404("No such kind of letter")
        return letters.template_for(kind)

    def initial(self) -> dict:
        return {"subject": self.object.subject, "body": self.object.body}

    def page(self, form, *, status: int = 200, preview: dict | None = None) -> HttpResponse:
        template = self.object
        context = {
            "template": template,
            "form": form,
            "preview": preview,
            "merge_fields": letters.MERGE_FIELDS,
            "versions": list(template.history.select_related("history_user").order_by("-history_date")[:20]),
        }
        return render(self.request, "correspondence/template_edit.html", context, status=status)

    def pending(self, data: dict) -> HttpResponse | None:
        if self.request.POST.get("action") == "save":
            return None
        preview, error = _template_preview(self.request, self.object.kind, data, now=self.now)
        if error:
            self.form.add_error("preview_reference", error)
            return self.page(self.form, status=400)
        return self.page(self.form, preview=preview)

    def perform(self, data: dict) -> CorrespondenceTemplate:
        return letters.template_save(template=self.object, **self.from_form("subject", "body"), **self.by_now())

    def message_names(self) -> dict:
        return {**super().message_names(), "kind": self.object.get_kind_display().lower()}

    def success_url(self) -> str:
        return reverse("episodes:letter_templates")


template_edit = TemplateEdit.as_view()


def _template_preview(request, kind: str, data: dict, *, now) -> tuple[dict | None, str]:
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


class LetterAction(ActionView):
    """Write to or about a family from one record: choose the kind, compose, preview ("Check it before you
    send it"), send. The kind comes from the query (the chooser's links) or the form; without a kind of this
    record the chooser is the page. `contact` / `episode` name the record; subclasses look it up."""

    form_class = MessageForm
    contact = None
    episode = None

    def check_permission(self, target) -> None:
        letters.require_sender(self.request.user, contact=self.contact, episode=self.episode)

    def context(self) -> dict:
        record = self.object
        kinds = letters.kinds_for(contact=self.contact, episode=self.episode)
        return {
            "contact": self.contact,
            "episode": self.episode,
            "family": record.family,
            "record": record,
            "kinds": [(k, CorrespondenceTemplate.Kind(k).label) for k in kinds],
            "back": _record_url(contact=self.contact, episode=self.episode),
        }

    def before(self) -> HttpResponse | None:
        record, request = self.object, self.request
        self.kind = request.POST.get("kind") or request.GET.get("kind") or ""
        is_get = request.method != "POST"
        if self.kind not in letters.kinds_for(contact=self.contact, episode=self.episode):
            if is_get:
                what = f"letters from {record.reference}"
                log_access(request, action=AccessLog.Action.VIEW, what=what, family=record.family)
            context = self.context()
            context["kind_form"] = LetterKindForm(None if is_get else request.POST, kinds=context["kinds"])
            context["kind_form"].is_valid()  # a POST without a kind of this record: "Choose what to send"
            return render(request, "correspondence/choose.html", context, status=200 if is_get else 400)
        if is_get:
            what = f"letter from {record.reference}"
            log_access(request, action=AccessLog.Action.VIEW, what=what, family=record.family)
            try:
                self.composed = letters.compose(
                    kind=self.kind,
                    by=request.user,
                    now=self.now,
                    contact=self.contact,
                    episode=self.episode,
                    person=self.person(),
                )
            except WorkflowError as exc:  # nothing to write yet (no template, no recipient): say why, go back
                messages.error(request, str(exc))
                return redirect(self.failure_url())
        return None

    def initial(self) -> dict:
        return self.composed

    def writes_to_family(self) -> bool:
        return self.kind not in letters.TO_REFERRER + letters.TO_PARTNER

    def person(self):
        """The family member chosen (the form's field, or `?person=` from a link), if one of this family."""
        if not self.writes_to_family():
            return None
        if not hasattr(self, "_person"):
            chosen = self.request.POST.get("person") or self.request.GET.get("person") or ""
            self._person = next((p for p in self.people() if str(p.pk) == chosen.strip()), None)
        return self._person

    def people(self) -> list:
        if not hasattr(self, "_people"):
            self._people = letters.addressees(self.object.family) if self.writes_to_family() else []
        return self._people

    def form_kwargs(self) -> dict:
        person = self.person()
        return {
            **super().form_kwargs(),
            "people": [(p.pk, str(p)) for p in self.people()],
            "addresses": letters.address_options(self.object.family, person) if person is not None else [],
        }

    def page(self, form, *, status: int = 200, preview: dict | None = None) -> HttpResponse:
        person = self.person()
        options = letters.address_options(self.object.family, person)
        context = {
            **self.context(),
            "kind": self.kind,
            "kind_label": CorrespondenceTemplate.Kind(self.kind).label,
            "address": options[0][1] if len(options) == 1 else None,
            "addresses": dict(options),
            "form": form,
        }
        if preview is not None:
            context["preview"] = preview
            if preview.get("address_choice"):
                context["address"] = dict(options).get(preview["address_choice"])
        return render(self.request, "correspondence/compose.html", context, status=status)

    def pending(self, data: dict) -> HttpResponse | None:
        if self.request.POST.get("action") == "send":
            return None
        html = letters.email_html(Message(subject=data["subject"], body=data["body"]))
        return self.page(self.form, preview={**data, "html": html})

    def perform(self, data: dict) -> Message:
        return letters.message_send(
            kind=self.kind,
            recipient_email=data.get("recipient_email") or "",
            person=self.person(),
            address_choice=data.get("address_choice") or "",
            **self.from_form("channel", "recipient_name", "subject", "body"),
            **self.by_now(),
            contact=self.contact,
            episode=self.episode,
        )

    def get_success_message(self) -> str:
        if self.result.via == Message.Via.PRINT:
            return "The letter is ready to print and post. It is recorded as sent."
        if self.result.channel == Message.Channel.POST:
            return "The letter is being sent to GOV.UK Notify, which prints and posts it."
        return f"The e-mail to {self.result.recipient_email} is being sent."

    def failure_url(self) -> str:
        return _record_url(contact=self.contact, episode=self.episode)

    def success_url(self) -> str:
        if self.result.via == Message.Via.PRINT:
            return reverse("episodes:message_detail", args=[self.result.pk])
        return self.failure_url()


class ContactLetter(LetterAction):
    def get_object(self):
        self.contact = visible_contact_or_404(self.request.user, self.kwargs["pk"])
        return self.contact


class EpisodeLetter(LetterAction):
    def get_object(self):
        self.episode = episode_selectors.visible_episode(self.request.user, self.kwargs["pk"])
        if self.episode is None:
            raise Http404("No such episode")
        return self.episode


contact_letter = ContactLetter.as_view()
episode_letter = EpisodeLetter.as_view()


def _record_url(*, contact=None, episode=None) -> str:
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


class MessageRetry(ActionView):
    """The "Send again" button of an e-mail that failed; a refusal is the message page, with why, as a 409."""

    post_only = True
    success_message = "The e-mail is being sent again."

    def get_object(self) -> Message:
        return _message(self.request, self.kwargs["pk"])

    def check_permission(self, target) -> None:
        letters.require_sender(self.request.user, contact=target.contact, episode=target.episode)

    def perform(self, data: dict) -> Message:
        return letters.message_retry(message=self.object, **self.by_now())

    def refused(self, exc: WorkflowError) -> HttpResponse:
        message = self.object
        context = {
            "message": message,
            "family": message.family,
            "back": _record_url(contact=message.contact, episode=message.episode),
            "error": str(exc),
        }
        return render(self.request, "correspondence/message_detail.html", context, status=409)

    def success_url(self) -> str:
        return reverse("episodes:message_detail", args=[self.object.pk])


message_retry = MessageRetry.as_view()


# --- Development only ------------------------------------------------------------------------------


@login_required
def dev_mail(request):
    """What the local SMTP server of `make run` received (DEBUG only; production has no such page)."""
    if not settings.DEBUG:
        raise Http404("Only in development")
    context = {"mails": letters.local_mail(), "directory": letters.local_mail_dir()}
    return render(request, "correspondence/dev_mail.html", context)


# --- GOV.UK Notify's delivery receipts -------------------------------------------------------------


@csrf_exempt
@require_POST
@never_cache
def notify_receipt(request):
    """Notify's callback: one delivery receipt, authenticated by the bearer token set in Notify
    (`NOTIFY_CALLBACK_TOKEN`). Not a page: no session, no sign-in; without the token (or with none
    configured) it is a 401. A receipt for a notification that is not ours is acknowledged and ignored,
    so Notify does not keep sending it."""
    token = settings.NOTIFY_CALLBACK_TOKEN
    given = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return JsonResponse({"error": "a valid bearer token is required"}, status=401)
    try:
        receipt = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        receipt = None
    if not isinstance(receipt, dict) or not isinstance(receipt.get("status"), str):
        return JsonResponse({"error": "a JSON receipt with a status is required"}, status=400)
    now = timezone.now()
    message = letters.apply_status(
        provider_id=str(receipt.get("id") or "")[:64],
        reference=str(receipt.get("reference") or "")[:64],
        status=receipt["status"],
        at=notify_receipt_time(receipt, now=now),
        now=now,
    )
    return JsonResponse({"result": "applied" if message is not None else "not ours"})
