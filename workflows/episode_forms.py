"""Forms of the episode pages. Each re-renders with what was typed and says what is wrong."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Team
from cases.models import (
    CaseNote,
    ClosureReason,
    ClosureRequest,
    Communication,
    Document,
    Escalation,
    NeedLevel,
    OutcomeArea,
    PlannedVisit,
    ReviewProgress,
    RiskIndicator,
    StepUp,
)
from kit.dates import long_datetime
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin, date_field, parse_time
from kit.time import LONDON, london_date
from workflows.episode_services import ASSESSMENT_TEXT_FIELDS, document_problem


def _text(label: str, *, required: bool = True, rows: int = 4, help_text: str = "", **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        **kwargs,
    )


def restore_draft(form: forms.Form) -> forms.Form:
    """Show a restored draft as it was typed: it is judged when submitted, not before."""
    form._errors = ErrorDict()
    return form


def draft_querydict(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in (data or {}).items():
        if isinstance(values, list):
            query.setlist(key, [str(v) for v in values])
        else:
            query[key] = str(values)
    return query


class VersionMixin(forms.Form):
    """The version of the record the page was drawn from: a later save by someone else is caught."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class WhenMixin(forms.Form):
    """A date and a 24-hour time, combined in Europe/London, never in the future."""

    when_date_label = "Date"
    when_time_label = "Time"

    def add_when_fields(self, *, now: datetime) -> None:
        self.now = now
        self.fields["when_date"] = date_field(self.when_date_label)
        self.fields["when_time"] = forms.CharField(
            label=self.when_time_label, max_length=5, help_text="24-hour clock, for example 14:30"
        )

    def clean_when_time(self):
        return parse_time(self.cleaned_data.get("when_time", ""))

    def clean_when(self, cleaned: dict) -> None:
        day, at = cleaned.get("when_date"), cleaned.get("when_time")
        if day and at:
            when = datetime.combine(day, at, tzinfo=LONDON)
            if when > self.now:
                self.add_error("when_date", "The date and time must not be in the future")
            cleaned["when"] = when


class AllocateForm(SafeTextMixin, VersionMixin, GdsForm):
    practitioner = forms.ChoiceField(label="Lead professional", widget=forms.RadioSelect)
    reason = _text(
        "Reason for allocating above capacity",
        required=False,
        rows=3,
        help_text="Needed only when the practitioner is at or above their caseload capacity",
    )

    def __init__(self, *args, practitioners: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.practitioners = {str(p.pk): p for p in practitioners}
        self.fields["practitioner"].choices = [
            (str(p.pk), format_html("{} – {} of {} families", p, p.caseload, p.caseload_capacity))
            for p in practitioners
        ]
        self.fields["practitioner"].error_messages["required"] = "Choose the lead professional"

    def clean(self):
        cleaned = super().clean()
        chosen = self.practitioners.get(cleaned.get("practitioner") or "")
        cleaned["practitioner_user"] = chosen
        if chosen is not None and chosen.caseload + 1 > chosen.caseload_capacity and not cleaned.get("reason"):
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


class CaseNoteForm(SafeTextMixin, WhenMixin, GdsForm):
    """A visit or contact; for each child: seen, spoken to, and their own words."""

    when_date_label = "Date it happened"
    when_time_label = "Time it happened"

    kind = forms.ChoiceField(label="What kind of contact was it?", widget=forms.RadioSelect)
    purpose = _text("Purpose", required=False, rows=2)
    present = _text("Who was there", required=False, rows=2)
    details = _text("What happened", rows=6, error_messages={"required": "Write what happened"})
    actions = _text("Actions agreed", required=False, rows=3)
    analysis = _text("Analysis: what this means for the children", required=False, rows=4)

    planned_visit = forms.ChoiceField(label="Which planned visit is this?", required=False, widget=forms.RadioSelect)

    def __init__(self, *args, kinds: list[str], children: list, now: datetime, planned: list = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.add_when_fields(now=now)
        self.children = children
        self.planned = {str(v.pk): v for v in planned}
        if self.planned:
            self.fields["planned_visit"].choices = [
                (pk, f"{v.get_kind_display()} planned for {long_datetime(timezone.localtime(v.planned_at))}")
                for pk, v in self.planned.items()
            ] + [("", "None of these: it was not planned")]
        else:
            del self.fields["planned_visit"]
        self.fields["kind"].choices = [(k, CaseNote.Kind(k).label) for k in kinds]
        self.fields["kind"].error_messages["required"] = "Choose what kind of contact it was"
        if len(kinds) == 1:
            self.fields["kind"].initial = kinds[0]
        for child in children:
            self.fields[f"child_{child.pk}_seen"] = forms.BooleanField(
                label=format_html("{} was seen", child.first_name), required=False
            )
            self.fields[f"child_{child.pk}_spoken"] = forms.BooleanField(
                label=format_html("{} was spoken to (alone if appropriate)", child.first_name), required=False
            )
            self.fields[f"child_{child.pk}_views"] = _text(
                format_html("{}'s views, in their own words", child.first_name), required=False, rows=3
            )
        # Put the fields in the order a worker writes them up.
        order = ["planned_visit", "kind", "when_date", "when_time", "purpose", "present", "details"]
        order += [f"child_{c.pk}_{part}" for c in children for part in ("seen", "spoken", "views")]
        order += ["actions", "analysis"]
        self.order_fields(order)

    # Seed 003, 10.2: every visit highlights these; a draft may be partial, the saved record may not.
    VISIT_MINIMUM = {
        "purpose": "the purpose of the visit",
        "present": "who was there",
        "details": "what happened",
        "actions": "the actions agreed",
        "analysis": "your analysis of the visit",
    }

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        cleaned["planned_visit_obj"] = self.planned.get(cleaned.get("planned_visit") or "")
        if cleaned.get("kind") in CaseNote.IN_PERSON_KINDS:
            self.clean_visit_minimum(cleaned)
        return cleaned

    def clean_visit_minimum(self, cleaned: dict) -> None:
        """A visit is saved only with its minimum content; each gap is named on its own field."""
        missing = []
        for name, what in self.VISIT_MINIMUM.items():
            if name in self.errors:
                continue
            if not (cleaned.get(name) or "").strip():
                missing.append(what)
                self.add_error(name, f"A visit record needs {what}")
        views = [f"child_{c.pk}_views" for c in self.children]
        if views and not any((cleaned.get(name) or "").strip() for name in views):
            missing.append("the views of the child or young person")
            self.add_error(views[0], "A visit record needs the views of the child or young person, in their own words")
        if missing:
            self.add_error(
                None,
                "This visit cannot be saved as final yet. Missing: "
                + "; ".join(missing)
                + ". Your draft is kept while you finish it.",
            )

    def child_parts(self):
        from workflows.episode_services import ChildPart

        parts = []
        for child in self.children:
            seen = self.cleaned_data.get(f"child_{child.pk}_seen", False)
            spoken = self.cleaned_data.get(f"child_{child.pk}_spoken", False)
            views = self.cleaned_data.get(f"child_{child.pk}_views", "")
            if seen or spoken or views:
                parts.append(ChildPart(child=child, seen=seen, spoken_to=spoken, views=views))
        return parts


ASSESSMENT_LABELS = {
    "family_history": "The family's history",
    "previous_interventions": "Previous help and interventions",
    "agency_views": "What each agency involved thinks",
    "family_views": "What the family thinks",
    "child_voice": "The child's voice",
    "recommendation": "Recommendation",
}


class AssessmentForm(SafeTextMixin, VersionMixin, GdsForm):
    def __init__(self, *args, children: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.children = children
        for name in ASSESSMENT_TEXT_FIELDS:
            self.fields[name] = _text(ASSESSMENT_LABELS[name], required=False, rows=5)
        for child in children:
            self.fields[f"child_{child.pk}_needs"] = _text(
                format_html("{}'s developmental needs", child.first_name), required=False, rows=3
            )
            self.fields[f"child_{child.pk}_voice"] = _text(
                format_html("{}'s views, in their own words", child.first_name), required=False, rows=3
            )
        for area, label in OutcomeArea.choices:
            self.fields[f"need_{area}"] = forms.TypedChoiceField(
                label=f"Need: {label}", choices=NeedLevel.choices, coerce=int, initial=0, required=False
            )
            self.fields[f"need_{area}_note"] = forms.CharField(label=f"{label}: note", required=False, max_length=2000)
        for indicator, label in RiskIndicator.Indicator.choices:
            self.fields[f"risk_{indicator}"] = forms.TypedChoiceField(
                label=f"Risk: {label}", choices=RiskIndicator.Level.choices, coerce=int, initial=0, required=False
            )
            self.fields[f"risk_{indicator}_note"] = forms.CharField(
                label=f"{label}: note", required=False, max_length=2000
            )

    def sections(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in ASSESSMENT_TEXT_FIELDS}

    def child_sections(self) -> dict:
        return {
            c: (self.cleaned_data.get(f"child_{c.pk}_needs", ""), self.cleaned_data.get(f"child_{c.pk}_voice", ""))
            for c in self.children
        }

    def needs(self) -> dict[str, tuple[int, str]]:
        return {
            a: (self.cleaned_data.get(f"need_{a}") or 0, self.cleaned_data.get(f"need_{a}_note", ""))
            for a in OutcomeArea.values
        }

    def risks(self) -> dict[str, tuple[int, str]]:
        return {
            i: (self.cleaned_data.get(f"risk_{i}") or 0, self.cleaned_data.get(f"risk_{i}_note", ""))
            for i in RiskIndicator.Indicator.values
        }

    @staticmethod
    def initial_from(assessment) -> dict:
        if assessment is None:
            return {"version": 0}
        initial = {name: getattr(assessment, name) for name in ASSESSMENT_TEXT_FIELDS}
        initial["version"] = assessment.version
        for row in assessment.children.all():
            initial[f"child_{row.child_id}_needs"] = row.developmental_needs
            initial[f"child_{row.child_id}_voice"] = row.child_voice
        for row in assessment.needs.all():
            initial[f"need_{row.area}"] = row.level
            initial[f"need_{row.area}_note"] = row.note
        for row in assessment.risks.all():
            initial[f"risk_{row.indicator}"] = row.level
            initial[f"risk_{row.indicator}_note"] = row.note
        return initial


class TeamMeetingForm(SafeTextMixin, WhenMixin, VersionMixin, GdsForm):
    when_date_label = "Date of the meeting"
    when_time_label = "Start time"

    attendees = _text(
        "Who attended",
        rows=4,
        help_text="One per line: name, role and agency",
        error_messages={"required": "List who attended the meeting"},
    )
    notes = _text("What was agreed", required=False, rows=5)

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_when_fields(now=now)
        self.order_fields(["when_date", "when_time", "attendees", "notes"])

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        return cleaned


class PlanForm(SafeTextMixin, VersionMixin, GdsForm):
    if_not_working = _text(
        "What happens if the plan is not working",
        rows=4,
        help_text="For example, when the team around the family will meet again and who will be told",
        required=False,
    )
    # Seed 003, 9.1: saved as typed; the plan is made active only once it is written.
    child_voice = _text(
        "The child's voice",
        rows=4,
        help_text="What the children said they want to change, in their own words. Needed to make the plan active.",
        required=False,
    )


class OutcomeForm(SafeTextMixin, VersionMixin, GdsForm):
    area = forms.ChoiceField(
        label="Outcome area", choices=[("", "Choose an area")] + list(OutcomeArea.choices), required=False
    )
    description = _text("What will be different (specific)", rows=3, required=False)
    how_measured = _text("How progress will be measured", rows=3, required=False)
    by_when = date_field("By when", required=False)


class ActionForm(SafeTextMixin, VersionMixin, GdsForm):
    what = _text("What will be done", rows=3, required=False)
    who = forms.CharField(label="Who is responsible", max_length=200, required=False)
    by_when = date_field("By when", required=False)
    done_on = date_field("Date done (when it is done)", required=False)
    note = _text("Progress, or why it was not done", rows=2, required=False)
    partner_assignee = forms.ModelChoiceField(
        label="Held by someone at a partner agency (optional)",
        queryset=None,
        required=False,
        empty_label="Nobody at a partner agency",
        help_text="They see this action in the partner portal",
    )

    def __init__(self, *args, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if partners is None or not partners.exists():
            del self.fields["partner_assignee"]  # no partner agency in the team around the family
        else:
            self.fields["partner_assignee"].queryset = partners
            self.fields["partner_assignee"].label_from_instance = lambda u: (
                f"{u.get_full_name()} ({u.partner_organisation})"
            )


class ReviewForm(SafeTextMixin, WhenMixin, GdsForm):
    when_date_label = "Date of the review meeting"
    when_time_label = "Start time"

    attendees = _text("Who attended", rows=3, help_text="One per line: name, role and agency")
    summary = _text("What has changed since the plan started or the last review", rows=5)
    family_views = _text("What the family thinks", required=False, rows=3)
    child_voice = _text("The child's voice", rows=3, help_text="What the children said about how things are")
    next_review_on = date_field("Date of the next review")

    def __init__(self, *args, outcomes: list, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_when_fields(now=now)
        self.outcomes = outcomes
        for outcome in outcomes:
            self.fields[f"outcome_{outcome.pk}"] = forms.TypedChoiceField(
                label=format_html("Progress on Outcome {}: {}", outcome.number, outcome.description[:80]),
                choices=ReviewProgress.Rating.choices,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Say what progress has been made on outcome {outcome.number}"},
            )
            self.fields[f"outcome_{outcome.pk}_comment"] = forms.CharField(
                label=f"Outcome {outcome.number}: comment", required=False, max_length=MAX_TEXT
            )
        order = ["when_date", "when_time", "attendees"]
        order += [f"outcome_{o.pk}{suffix}" for o in outcomes for suffix in ("", "_comment")]
        order += ["summary", "family_views", "child_voice", "next_review_on"]
        self.order_fields(order)

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        nxt, when = cleaned.get("next_review_on"), cleaned.get("when")
        if nxt and when and nxt <= when.date():
            self.add_error("next_review_on", "The next review must be after this one")
        return cleaned

    def progress(self) -> dict[int, tuple[int, str]]:
        return {
            o.pk: (self.cleaned_data[f"outcome_{o.pk}"], self.cleaned_data.get(f"outcome_{o.pk}_comment", ""))
            for o in self.outcomes
        }


class ClosureRequestForm(SafeTextMixin, VersionMixin, GdsForm):
    summary = _text("Closure summary", rows=6, required=False, help_text="What was achieved and what support continues")
    family_views = _text("What the family thinks about the case closing", rows=4, required=False)
    child_voice = _text("The child's voice at closure", rows=4, required=False)
    proposed_reason = forms.ChoiceField(
        label="Why the case should close", choices=ClosureReason.choices, widget=forms.RadioSelect, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in ClosureRequest.CHECKLIST.items():
            self.fields[name] = forms.BooleanField(label=label, required=False)
        self.order_fields([*ClosureRequest.CHECKLIST, "summary", "family_views", "child_voice", "proposed_reason"])

    # Seed 003, 8.2 and 9.1: a closure records the summary, the family's views and the child's voice.
    CLOSURE_MINIMUM = {
        "summary": "Write the closure summary",
        "family_views": "Record what the family thinks about the case closing",
        "child_voice": "Record the child's voice at closure",
    }

    def clean(self):
        cleaned = super().clean()
        for name, message in self.CLOSURE_MINIMUM.items():
            if name not in self.errors and not (cleaned.get(name) or "").strip():
                self.add_error(name, message)
        return cleaned

    def checklist(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name in ClosureRequest.CHECKLIST}


class ClosureSignOffForm(SafeTextMixin, VersionMixin, GdsForm):
    ended_on = date_field("End date")
    reason = forms.ChoiceField(label="Reason the episode ends", choices=ClosureReason.choices, widget=forms.RadioSelect)
    letter_recipient = forms.CharField(label="Closure letter to", max_length=200)
    letter_method = forms.ChoiceField(label="How the letter is sent", choices=Communication.Method.choices)
    partners = forms.CharField(
        label="Partners told the case is closing",
        max_length=200,
        help_text="For example: Exampleton Primary School, health visitor. Write 'none involved' if there are none.",
    )


class ClosureReturnForm(SafeTextMixin, GdsForm):
    return_reason = _text("Why the case is not ready to close", rows=4)


class DeclineForm(SafeTextMixin, VersionMixin, GdsForm):
    reason = _text(
        "What the family said",
        rows=4,
        help_text="Include how they were told what support is still open to them",
        error_messages={"required": "Record what the family said"},
    )


class StepUpProposeForm(SafeTextMixin, VersionMixin, GdsForm):
    concern = forms.ChoiceField(label="What is the concern?", choices=StepUp.Concern.choices, widget=forms.RadioSelect)
    reason = _text("Reason for concern", rows=5, help_text="What has and has not changed over the last 6 weeks")
    multi_agency_views = _text("Views of the agencies involved", rows=4)
    family_views = _text("The family's views", rows=3)


class StepUpSendForm(SafeTextMixin, GdsForm):
    next_step = forms.ChoiceField(label="Next step", choices=StepUp.NextStep.choices, widget=forms.RadioSelect)
    parenting = forms.ChoiceField(
        label="Are the safeguarding concerns attributable to parenting?",
        choices=StepUp.Parenting.choices,
        widget=forms.RadioSelect,
    )
    judgement = _text("Your professional judgement", rows=5)


class StepUpDecideForm(SafeTextMixin, GdsForm):
    decision = forms.ChoiceField(label="Decision", choices=StepUp.Decision.choices, widget=forms.RadioSelect)
    wraparound = forms.ChoiceField(
        label="If accepted: does Early Help continue as wraparound support?",
        choices=[("yes", "Yes, Early Help continues as wraparound support"), ("no", "No, Early Help closes")],
        widget=forms.RadioSelect,
        required=False,
    )
    notes = _text("Management oversight: the decision and the action required", rows=5)
    focused_plan_note = _text(
        "If returned: the family meeting and what the focused plan must address", rows=3, required=False
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == StepUp.Decision.ACCEPTED and not cleaned.get("wraparound"):
            self.add_error("wraparound", "Say whether Early Help continues as wraparound support or closes")
        if cleaned.get("decision") == StepUp.Decision.RETURNED and not cleaned.get("focused_plan_note"):
            self.add_error("focused_plan_note", "Say when the family meeting is and what the focused plan must address")
        cleaned["wraparound_bool"] = {"yes": True, "no": False}.get(cleaned.get("wraparound") or "")
        return cleaned


class StepDownForm(SafeTextMixin, GdsForm):
    team = forms.ModelChoiceField(label="Early Help team", queryset=Team.objects.none())
    social_care_assessment_date = date_field(
        "Date of the social care assessment", help_text="The latest Child and Family Assessment. For example, 27 3 2026"
    )
    summary = _text("Social care's involvement and why the family is stepped down", rows=5)

    def __init__(self, *args, now: datetime, **kwargs):
        self.today = london_date(now)
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.exclude(kind__in=["front_door", "duty"]).order_by("name")

    def clean_social_care_assessment_date(self):
        value = self.cleaned_data.get("social_care_assessment_date")
        if value and value > self.today:
            raise forms.ValidationError("The date must be today or in the past")
        return value


class EscalationForm(SafeTextMixin, GdsForm):
    about = forms.ChoiceField(
        label="What is the disagreement about?",
        choices=[(v, label) for v, label in Escalation.About.choices if v != Escalation.About.ROUTING],
        widget=forms.RadioSelect,
    )
    disagreement = _text("What the disagreement is", rows=4)
    escalated_to = forms.CharField(label="Operational lead it is escalated to", max_length=200)


class EscalationOutcomeForm(SafeTextMixin, GdsForm):
    outcome = _text("Outcome agreed by the operational leads", rows=4)


class DocumentForm(SafeTextMixin, GdsForm):
    kind = forms.ChoiceField(label="What kind of document is it?", choices=Document.Kind.choices)
    title = forms.CharField(label="Title", max_length=200, required=False, help_text="Leave blank to use the file name")
    file = forms.FileField(label="File", help_text="PDF, Word, OpenDocument, Excel, text, PNG or JPEG, up to 10 MB")

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return upload
        upload.seek(0)
        head = upload.read(2048)
        upload.seek(0)
        problem = document_problem(name=upload.name or "", size=upload.size or 0, head=head)
        if problem:
            raise forms.ValidationError(problem)
        return upload


class PlanCopyForm(SafeTextMixin, WhenMixin, GdsForm):
    when_date_label = "Date sent or handed over"
    when_time_label = "Time"

    recipient = forms.CharField(label="Sent to", max_length=200, help_text="The parent or carer's name")
    method = forms.ChoiceField(label="How", choices=Communication.Method.choices)
    checked = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_when_fields(now=now)
        self.order_fields(["recipient", "method", "when_date", "when_time"])

    def clean(self):
        cleaned = super().clean()
        self.clean_when(cleaned)
        return cleaned


class PlannedVisitForm(SafeTextMixin, GdsForm):
    """A visit to plan: when (today or later), what kind, who visits and whom they will see."""

    when_date = date_field("Date of the visit")
    when_time = forms.CharField(label="Time of the visit", max_length=5, help_text="24-hour clock, for example 14:30")
    kind = forms.ChoiceField(label="What kind of visit?", widget=forms.RadioSelect, choices=PlannedVisit.KIND_CHOICES)
    visitor = forms.ChoiceField(label="Who will visit?")
    seeing = _text("Who will be seen", required=False, rows=2, help_text="For example: Mum, Sam and Lily")

    def __init__(self, *args, visitors: list, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.visitors = {str(u.pk): u for u in visitors}
        self.fields["visitor"].choices = [(pk, str(u)) for pk, u in self.visitors.items()]
        self.fields["kind"].error_messages["required"] = "Choose what kind of visit it is"
        self.fields["visitor"].error_messages["required"] = "Choose who will visit"

    def clean_when_time(self):
        return parse_time(self.cleaned_data.get("when_time", ""))

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("when_date"), cleaned.get("when_time")
        if day and at:
            if day < timezone.localdate(self.now):
                self.add_error(
                    "when_date", "The visit must be today or later: to record a past visit, record the visit"
                )
            cleaned["when"] = datetime.combine(day, at, tzinfo=LONDON)
        cleaned["visitor_user"] = self.visitors.get(cleaned.get("visitor") or "")
        return cleaned


class PlannedVisitCancelForm(SafeTextMixin, GdsForm):
    reason = _text("Why is the visit cancelled?", rows=3, error_messages={"required": "Say why the visit is cancelled"})
