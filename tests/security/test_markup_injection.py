"""Stored and reflected HTML injection: data never comes back as markup, on any page or form.

A world whose every free-text value is hostile (names of children, adults, families, users, teams
and agencies, outcomes, actions, reasons, notes, locations...) is walked through every URL of the
app, as a role that can see it; every POST form of every page is then sent invalid data so that
its errors render too. Each HTML page is parsed and must hold no tag or attribute that came from data.
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django import forms
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import DatabaseError, models, transaction
from django.template import Context, Template
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import roles
from cases.episode_models import Draft
from cases.models import AccessLog, PlanAction, PlanOutcome
from kit.forms import GdsForm, SafeDateInputField
from tests.conftest import make_user
from tests.factories import PersonFactory
from tests.security.matrix import all_url_names, url_for
from tests.security.world import add_oversight_records, add_partner_records, build_world

pytestmark = pytest.mark.django_db

HOSTILE = [
    "<script>alert(1)</script>",
    '<meta http-equiv=refresh content="1;url=/?phished=1">',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
]

# Roles tried in turn until one may see the page (a first guess by the page's name saves requests).
ROLE_ORDER = ["coach", "teamlead", "manager", "mash", "mashlead", "duty", "dutymanager", "admin"]
FIRST_GUESS = {
    "accounts:user": "admin",
    "deadlines:closure_day": "admin",
    "oversight:": "manager",
    "cases:contact_": "mash",
    "cases:triage": "mash",
    "cases:family_access_log": "manager",
    "episodes:step_up_decide": "dutymanager",
    "episodes:sign_off": "manager",
    "episodes:closure_decide": "manager",
}


def roles_for(name: str) -> list[str]:
    guess = next((role for prefix, role in FIRST_GUESS.items() if name.startswith(prefix)), None)
    return [guess, *(r for r in ROLE_ORDER if r != guess)] if guess else ROLE_ORDER


# Pages no role renders with this world (GET is refused: POST-only actions answer 405, and these).
NOT_RENDERED = {
    "episodes:meeting_new",  # only for an episode waiting for its team-around-the-family meeting
    "oversight:retention_family",  # redirects: the family is not past its retention period
    "oversight:annex_a_download",  # a workbook, not a page: 404 until one has been built
    "jobs:download",  # a file, not a page: 404 until the job has finished (tests/kit/test_jobs.py)
    "episodes:dev_mail",  # development only: 404 unless DEBUG is on (tested in test_correspondence)
    # The read API answers a token only, in JSON (hostile parameters: tests/api/test_api_hostile.py).
    "api:annex_a_list_1",
    "api:annex_a_list_2",
    "api:contact_detail",
    "api:contact_list",
    "api:deadline_detail",
    "api:deadline_list",
    "api:episode_detail",
    "api:episode_list",
    "api:family_detail",
    "api:family_list",
    "api:timeliness",
    # Partner pages answer partner users only: walked as partner users of two agencies in
    # tests/security/test_partner_matrix.py, hostile input in tests/partners/test_portal.py.
    "partners:family_detail",
    "partners:family_list",
    "partners:home",
    "partners:invitation",
    "partners:request_detail",
    "partners:request_discard",
    "partners:request_edit",
    "partners:request_list",
    "partners:request_new",
    "partners:two_factor",
    "partners:update_new",
    # ADR 52: walked with hostile records as the partner lead in tests/partners/test_partner_lead.py.
    "partners:episode_list",
    "partners:episode_detail",
    "partners:episode_visit_new",
    "partners:episode_assessment",
    "partners:episode_plan",
    "partners:episode_outcome_new",
    "partners:episode_planning_meeting",
    "partners:episode_plan_activate",
    "partners:episode_review_new",
    "partners:episode_review_invite",
    "partners:episode_closure",
    "partners:review_invitation_list",
    "partners:review_invitation",
    "imports:detail",  # an import job's page: the world's job is an export (tests/imports/test_imports.py)
    # Single sign-on: 404 unless configured (tests/accounts/test_single_sign_on.py).
    "sso_callback",
    "sso_start",
}

# Search pages show their results only when asked.
QUERIES = {
    "cases:search": {"q": HOSTILE[0]},
    "cases:contact_create": {"find-last_name": HOSTILE[0]},
    "episodes:step_down_find": {"q": HOSTILE[0]},
}

# Fields that hold codes, keys or identifiers, not free text (they are validated on the way in).
NOT_FREE_TEXT = {
    "password",
    "postcode",
    "nhs_number",
    "upn",
    "last_name_key",
    "first_name_key",
    "state_before_request",
    "meeting_kind",
    "content_type",
    "rulebook",
    "rule_id",
}


class MarkupFinder(HTMLParser):
    """Every tag and attribute that could run script or move the page elsewhere."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            stripped = "".join(ch for ch in (value or "") if ch > " ").lower()
            if name in {"href", "src", "action", "formaction", "xlink:href", "data"} and stripped.startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
        names = {name for name, _ in attrs}
        if tag == "meta" and "http-equiv" in names:
            self.problems.append("<meta http-equiv>")
        if tag == "script":
            self._in_script = True
        if tag in {"iframe", "object", "embed", "base"}:
            self.problems.append(f"<{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>{data[:40]}")


def markup_problems(html: str) -> list[str]:
    finder = MarkupFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


class PostForms(HTMLParser):
    """The POST forms of a page: their action and the names of their fields."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._fields = {}
            self.forms.append((attrs.get("action") or "", self._fields))
        elif self._fields is not None and tag in {"input", "select", "textarea"}:
            name = attrs.get("name")
            if name and name != "csrfmiddlewaretoken":
                self._fields[name] = attrs.get("type") or tag

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None


def post_forms(html: str, path: str) -> list[tuple[str, dict[str, str]]]:
    """(where it posts, fields) for each POST form of the page but signing out."""
    parser = PostForms()
    parser.feed(html)
    return [(action or path, fields) for action, fields in parser.forms if fields and action != reverse("logout")]


def fits(value: str, max_length: int | None) -> bool:
    return max_length is None or len(value) <= max_length


def make_everything_hostile(values: list[str]) -> int:
    """Put a hostile value in every free-text column of every row, a different one field by field."""
    changed = 0
    for label in ("accounts", "cases", "deadlines", "oversight"):
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Historical") or model in (AccessLog, Draft):
                continue
            fields = [
                f
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField) and not f.choices and f.name not in NOT_FREE_TEXT
            ]
            if not fields:
                continue
            for row_number, row in enumerate(model.objects.order_by("pk")):
                for field_number, field in enumerate(fields):
                    suffix = f" {row.pk}" if field.unique or field.name == "username" else ""
                    candidates = [v + suffix for v in values if fits(v + suffix, field.max_length)]
                    if not candidates:
                        continue
                    setattr(row, field.attname, candidates[(row_number + field_number) % len(candidates)])
                    changed += 1
                try:
                    with transaction.atomic():
                        model.objects.filter(pk=row.pk).update(**{f.attname: getattr(row, f.attname) for f in fields})
                except DatabaseError:
                    break  # an append-only table (a trigger refuses UPDATE): its rows stay as services wrote them
    return changed


@pytest.fixture
def hostile_world(users, team, other_team):
    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    world = add_partner_records(add_oversight_records(build_world(users, team), users), users)
    family, outcome, now = world["family"], world["outcome"], timezone.now()
    # One child and one outcome per hostile value, so that every label built from them is drawn.
    for value in HOSTILE:
        child = PersonFactory(first_name=value, last_name=value)
        family.memberships.create(person=child, relationship="child")
        world["contact"].subjects.add(child)
        extra = PlanOutcome.objects.create(
            plan=outcome.plan, number=outcome.number + 1 + HOSTILE.index(value), area="health", description=value
        )
        PlanAction.objects.create(outcome=extra, what=value, who=value, by_when=now.date() + timedelta(days=7))
    AccessLog.objects.create(
        at=now,
        user=users["coach"],
        action="view",
        family_id_logged=family.pk,
        what=HOSTILE[1],
        break_glass_reason=HOSTILE[2],
    )
    Draft.objects.create(
        user=users["coach"],
        form_key="assessment",
        episode=world["episode"],
        object_key=str(world["episode"].pk),
        data={"family_history": HOSTILE[0], "child_voice": HOSTILE[2], "version": HOSTILE[4]},
        updated_at=now,
    )
    from deadlines import versions

    versions.forget(none_published=True)
    rulebook_draft(users)
    assert make_everything_hostile(HOSTILE) > 100
    return world


def rulebook_draft(users):
    """A draft of the rulebook, so that the editor's pages are drawn (and posted to) like every other;
    made again before each editor page, as the walk's hostile posts may discard or publish it."""
    from deadlines import versions
    from deadlines.services import file_rulebooks

    book = next(b for b in file_rulebooks() if b.slug == "family-solutions")
    return versions.draft_start(book, by=users["admin"], now=timezone.now())


def test_no_hostile_value_survives_as_markup_on_any_page_or_form(client, users, hostile_world):
    problems: list[str] = []
    not_rendered = set()
    for name, kwarg_names in all_url_names():
        if name.startswith("deadlines:editor_"):
            rulebook_draft(users)
        path = url_for(name, kwarg_names, hostile_world)
        for role in roles_for(name):
            client.force_login(users[role])
            if name in QUERIES:  # a search is POSTed, then shown at its own URL (ADR 0036)
                response = client.post(path, QUERIES[name], follow=True)
            else:
                response = client.get(path)
            assert response.status_code < 500, f"GET {path} as {role}: {response.status_code}"
            if response.status_code in (200, 405):  # 405: a POST-only action, with no page of its own
                break
        if response.status_code != 200:
            if response.status_code != 405:
                not_rendered.add(name)
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        problems += [f"GET {name}: {p}" for p in markup_problems(html)]
        for action, fields in post_forms(html, path):
            # Every answer hostile: text is refused where it must be a date, a number or a choice,
            # and the page comes back with what was typed and the errors (which quote it).
            data = {field: HOSTILE[i % len(HOSTILE)] for i, field in enumerate(fields) if fields[field] != "file"}
            posted = client.post(action, data)
            assert posted.status_code < 500, f"POST {action} as {role}: {posted.status_code}"
            if posted.status_code == 302:
                posted = client.get(posted["Location"])
            if "html" in posted.get("Content-Type", ""):
                problems += [f"POST {name}: {p}" for p in markup_problems(posted.content.decode())]
    assert not_rendered <= NOT_RENDERED, f"no role could open {sorted(not_rendered - NOT_RENDERED)}"
    # Saved answers come back in the confirmation banner: it prints them as text too.
    family = hostile_world["family"].pk
    client.force_login(users["coach"])
    person = {"first_name": HOSTILE[1], "last_name": HOSTILE[4], "relationship": "child", "sex": "U"}
    for path, data, shown in [
        (reverse("cases:person_add", args=[family]), {**person, "ethnicity": "NOBT"}, HOSTILE[1]),
        (reverse("cases:agency_add", args=[family]), {"agency": HOSTILE[2], "role": HOSTILE[0]}, HOSTILE[2]),
    ]:
        response = client.post(path, data, follow=True)
        html = response.content.decode()
        assert escape(shown) in html, path
        problems += [f"POST {path}: {p}" for p in markup_problems(html)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def named_world(users, team):
    return build_world(users, team)


@pytest.mark.parametrize("value", HOSTILE)
def test_names_and_outcomes_in_labels_are_text(client, users, named_world, value):
    """The forms that build labels from a child's name or an outcome (the tester's finding)."""
    world = named_world
    child = world["child"]
    type(child).objects.filter(pk=child.pk).update(first_name=value, last_name=value)
    PlanOutcome.objects.filter(pk=world["outcome"].pk).update(description=value)
    type(users["coach"]).objects.filter(pk=users["coach"].pk).update(first_name=value, last_name=value)
    episode = world["episode"].pk
    pages = {
        "coach": [
            reverse("episodes:note_new", args=[episode]),
            reverse("episodes:assessment", args=[episode]),
            reverse("episodes:review_new", args=[episode]),
            reverse("episodes:plan", args=[episode]),
        ],
        "teamlead": [reverse("episodes:allocate", args=[episode])],
        "mash": [reverse("cases:contact_record", args=[world["family"].pk])],
    }
    for username, urls in pages.items():
        client.force_login(users[username])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert not markup_problems(html), (url, markup_problems(html))
            assert value not in html or value == HOSTILE[3], url


class EveryKindOfField(GdsForm):
    text = forms.CharField(max_length=5)
    area = forms.CharField(widget=forms.Textarea)
    tick = forms.BooleanField()
    ticks = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    radio = forms.ChoiceField(widget=forms.RadioSelect)
    select = forms.ChoiceField()
    when = SafeDateInputField(require_all_fields=False)
    upload = forms.FileField()

    def __init__(self, *args, value: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.value = value
        for field in self.fields.values():
            field.label = value
            field.help_text = value
            if isinstance(field, forms.ChoiceField):
                field.choices = [(value, value)]

    def clean_area(self):
        raise forms.ValidationError(self.value)


@pytest.mark.parametrize("value", HOSTILE)
def test_every_kind_of_gds_field_prints_label_hint_choices_and_errors_as_text(value):
    form = EveryKindOfField({"text": value, "area": value, "ticks": ["x"], "radio": "x", "when_0": value}, value=value)
    assert not form.is_valid()
    form.add_error(None, value)
    html = Template("{% load crispy_forms_tags crispy_forms_gds %}{% error_summary form %}{% crispy form %}").render(
        Context({"form": form})
    )
    assert not markup_problems(html), markup_problems(html)
    assert value not in html or value == HOSTILE[3]


def test_no_gds_template_in_use_marks_label_legend_hint_or_error_safe():
    """If crispy-forms-gds is upgraded, a template of it that prints data raw must be overridden again."""
    from pathlib import Path

    import crispy_forms_gds

    root = Path(crispy_forms_gds.__file__).parent / "templates"
    raw = ("label|safe", "help_text|safe", "legend|safe", "error|safe", "choice.1|safe", "hint|safe")
    for path in sorted(root.rglob("*.html")):
        source = get_template(str(path.relative_to(root))).template.source.replace(" ", "")
        found = [r for r in raw if r in source]
        assert not found, f"{path.relative_to(root)} prints {found}: override it in templates/ without |safe"
