"""One view for every action on a record: a form in, one service call, a message and a redirect.

An action is a subclass that declares what differs and nothing else:

    class Decline(EpisodeAction):
        form_class = DeclineForm
        permission = "cases.work_on_episode"
        versioned = True
        title, button = "The family declines Early Help", "Close the episode"
        success_message = "{object.reference} is closed: the family declined Early Help."

        def perform(self, data):
            return services.family_declines(
                episode=self.object, reason=data["reason"], expected_version=data["version"], **self.by_now()
            )

The steps, in order, and what each answers (docs/adr/0022-one-action-view.md):

1. the HTTP method (`post_only`: a GET is 405, as `require_POST` did); signed out: to the sign-in page;
2. the record: `get_object()`, scoped (not visible: 404) and logged as the page it is;
3. the permission: `permission` (one name, or several of which any one will do), through
   `kit.permissions.require_perm`; `permission_first` checks it before the record is looked up;
4. `before()`: a page or redirect instead of the form (the record is closed, already decided, ...);
5. the form: POST data; else the user's autosaved draft (`draft_key`); else `initial()`;
   a GET renders the form page (`page()`), an invalid POST renders it with status 400;
6. `perform(data)`: the one service call. A `WorkflowError` is a refusal: `refused()` re-renders the
   form with what was typed and the reason, status 409; after `CaseChanged` the form carries the
   record's current version, so the next submit is judged against the latest. `refusal = "message"`
   is for buttons without a form page: the reason is flashed and the user goes back (`failure_url()`);
7. success: the draft is discarded, `success_message` (a format string over the view's names) is
   shown and the user goes to `success_url()`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View

from cases.models import Draft
from kit.permissions import require_perm
from kit.time import acting_at
from workflows import episode_services
from workflows.episode_forms import draft_querydict, restore_draft
from workflows.errors import CaseChanged, WorkflowError


class ActionView(View):
    """The shape every action shares; subclasses declare the form, the lookup, the call and the words."""

    form_class: ClassVar[type[forms.Form] | None] = None
    permission: ClassVar[str | tuple[str, ...]] = ""
    permission_first: ClassVar[bool] = False
    post_only: ClassVar[bool] = False
    draft_key: ClassVar[str] = ""
    refusal: ClassVar[str] = "form"  # or "message": flash the reason and go back
    success_message: ClassVar[str] = ""

    @classmethod
    def as_view(cls, **initkwargs):
        return login_required(super().as_view(**initkwargs))

    # --- The request, step by step ------------------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        allowed = ("post",) if self.post_only else ("get", "head", "post")
        if request.method.lower() not in allowed:
            return self.http_method_not_allowed(request, *args, **kwargs)
        self.now = timezone.now()
        if self.permission_first:
            self.check_permission(None)
        self.object = self.get_object()
        if not self.permission_first:
            self.check_permission(self.permission_target())
        early = self.before()
        if early is not None:
            return early
        self.form, self.draft = self.build_form()
        if request.method != "POST":
            return self.page(self.form)
        if self.form is not None and not self.form.is_valid():
            return self.page(self.form, status=400)
        data = self.form.cleaned_data if self.form is not None else {}
        pending = self.pending(data)
        if pending is not None:
            return pending
        try:
            self.result = self.perform(data)
        except WorkflowError as exc:
            return self.refused(exc)
        return self.done()

    # --- The record and who may act on it -----------------------------------------------------------

    def get_object(self) -> Any:
        """The record acted on, scoped to what the user may see (else Http404), logged if shown."""
        raise NotImplementedError

    def permission_target(self) -> Any:
        """What the permission looks at: the record, or None for a permission of the role alone."""
        return self.object

    def check_permission(self, target) -> None:
        names = (self.permission,) if isinstance(self.permission, str) else self.permission
        names = tuple(name for name in names if name)
        with acting_at(self.now):  # the one time this request reads: rules that depend on the date use it
            if not names or any(self.request.user.has_perm(name, target) for name in names[:-1]):
                return
        require_perm(self.request.user, names[-1], target, now=self.now)

    def before(self) -> HttpResponse | None:
        """A response instead of the form (a closed record, a decided request), or None to go on."""
        return None

    # --- The form -----------------------------------------------------------------------------------

    def initial(self) -> dict:
        return {}

    def form_kwargs(self) -> dict:
        """Keyword arguments every instance of the form takes (choices, `now`, a prefix)."""
        return {}

    def draft_object_key(self) -> str:
        return str(self.object.pk)

    def build_form(self) -> tuple[forms.Form | None, Draft | None]:
        """POST data; else the user's draft of this form (restored, not judged); else a fresh form."""
        if self.form_class is None:
            return None, None
        kwargs = self.form_kwargs()
        if self.request.method == "POST":
            return self.form_class(self.request.POST, self.request.FILES or None, **kwargs), None
        if self.draft_key:
            draft = Draft.objects.filter(
                user=self.request.user, form_key=self.draft_key, object_key=self.draft_object_key()
            ).first()
            if draft is not None:
                return restore_draft(self.form_class(draft_querydict(draft.data), **kwargs)), draft
        return self.form_class(initial=self.initial(), **kwargs), None

    def page(self, form, *, status: int = 200) -> HttpResponse:
        """The form page: as first drawn, with errors (400), or after a refusal (409)."""
        raise NotImplementedError

    # --- The service call and its answers -----------------------------------------------------------

    def pending(self, data: dict) -> HttpResponse | None:
        """A step between a valid form and the service (a page to check before sending), or None."""
        return None

    def perform(self, data: dict) -> Any:
        """The one service call; returns what the success message may name (`{result}`)."""
        raise NotImplementedError

    def from_form(self, *names: str) -> dict:
        """The named cleaned values, for a service whose arguments are named as the form's fields."""
        return {name: self.form.cleaned_data[name] for name in names}

    def by_now(self) -> dict:
        """The two arguments every service takes: who acts, and when."""
        return {"by": self.request.user, "now": self.now}

    def current_version(self) -> int | None:
        """After a refusal: reload the record; its version now, for the next submit (None: leave as typed)."""
        return None

    def refused(self, exc: WorkflowError) -> HttpResponse:
        version = self.current_version()
        if self.refusal == "message" or self.form is None:
            messages.error(self.request, str(exc))
            return redirect(self.failure_url())
        self.form.add_error(None, str(exc))
        if isinstance(exc, CaseChanged) and version is not None and self.form.is_bound:
            data = self.form.data.copy()
            data["version"] = str(version)
            self.form.data = data
        return self.page(self.form, status=409)

    def failure_url(self) -> str:
        return self.success_url()

    def message_names(self) -> dict:
        """The names a success message may use, e.g. "{result.title} was uploaded."."""
        data = self.form.cleaned_data if self.form is not None else {}
        return {"object": self.object, "result": self.result, "data": data}

    def get_success_message(self) -> str:
        return self.success_message.format(**self.message_names())

    def success_url(self) -> str:
        raise NotImplementedError

    def done(self) -> HttpResponse:
        if self.draft_key:
            episode_services.draft_discard(
                user=self.request.user, form_key=self.draft_key, object_key=self.draft_object_key()
            )
        messages.success(self.request, self.get_success_message())
        return redirect(self.success_url())
