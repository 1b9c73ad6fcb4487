"""Hidden characters: bidirectional controls in names and file names, control characters anywhere.

A right-to-left override (U+202E) makes "Smith\u202eexe.pdf" read "Smithfdp.exe", and a name can be
made to read as another. Every form of the product refuses them in its one-line answers (names of
people, families, users, agencies and referrers, titles); an uploaded file's name is refused too.
"""

from __future__ import annotations

import importlib

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cases.forms import AgencyForm, ContactForm, NewFamilyForm, PersonForm
from cases.models import Person
from kit.forms import BIDI_CONTROLS_MESSAGE, SafeTextMixin
from tests.factories import NOW, family_with_children

pytestmark = pytest.mark.django_db

BIDI = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]

APPS = ("kit", "accounts", "cases", "deadlines", "oversight", "workflows", "earlyhelp", "partners")
FORM_MODULES = [
    "kit.forms",
    "accounts.forms",
    "cases.forms",
    "deadlines.forms",
    "oversight.forms",
    "workflows.episode_forms",
    "accounts.views",
    "workflows.family_views",
    "deadlines.views",
    "oversight.views",
    "oversight.views_data_protection",
    "workflows.views",
    "workflows.episode_views",
    "earlyhelp.views",
    "partners.forms",
    "workflows.partner_forms",
]

# Forms without the check, and why. Anything else that takes answers must refuse hidden characters.
WITHOUT_THE_CHECK = {
    "kit.forms.GdsForm": "a base class: each form built on it is checked here",
    "kit.forms.GdsModelForm": "a base class: each form built on it is checked here",
    "accounts.forms.SignInForm": "a username and password are only compared, never stored or shown",
    "accounts.forms.TokenForm": "six digits, checked as such",
    "accounts.forms.EnrolmentCodeForm": "a one-time code, only compared with the one issued",
    "oversight.forms.FilterForm": "GET filters of dates and choices from lists: no free text",
    "oversight.forms.BoardFilterForm": "GET filters of choices from lists",
    "oversight.forms.PeriodFilterForm": "GET filters of dates and choices from lists",
}


def product_forms() -> list[type]:
    for module in FORM_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
    found, todo = set(), [forms.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in APPS and not sub.__name__.endswith("Mixin"):
                found.add(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def test_every_form_of_the_product_refuses_hidden_characters():
    found = product_forms()
    assert len(found) > 30
    missing = [
        f"{form.__module__}.{form.__qualname__}"
        for form in found
        if not issubclass(form, SafeTextMixin) and f"{form.__module__}.{form.__qualname__}" not in WITHOUT_THE_CHECK
    ]
    assert not missing, f"forms without SafeTextMixin (add it, or say why not in WITHOUT_THE_CHECK): {missing}"


def person_data(**changes) -> dict:
    return {"first_name": "Ava", "last_name": "Quillon", "sex": "F", "ethnicity": "NOBT", **changes}


@pytest.mark.parametrize("char", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_names_with_a_bidi_control_are_refused_in_every_name_field(char, users, team):
    from accounts.forms import UserForm
    from workflows.episode_forms import DocumentForm

    family, children = family_with_children(1, team=team)
    name = f"Smith{char}exe.pdf"
    cases = [
        (PersonForm(person_data(first_name=name, relationship="parent"), now=NOW), "first_name"),
        (PersonForm(person_data(last_name=name, relationship="parent"), now=NOW), "last_name"),
        (NewFamilyForm(person_data(family_name=name), now=NOW), "family_name"),
        (NewFamilyForm(person_data(first_name=name, family_name="The Quillon household"), now=NOW), "first_name"),
        (AgencyForm({"agency": name, "contact_name": "Ms Reed"}), "agency"),
        (AgencyForm({"agency": "Exampleton Primary", "contact_name": name}), "contact_name"),
        (
            ContactForm(
                {"referrer_name": name, "referrer_agency": name, "presenting_needs": "Needs"},
                family=family,
                now=timezone.now(),
            ),
            "referrer_name",
        ),
        (UserForm({"username": "newworker", "first_name": name, "last_name": "Reed"}), "first_name"),
        (UserForm({"username": "newworker", "first_name": "Jo", "last_name": name}), "last_name"),
        (DocumentForm({"kind": "consent", "title": name}), "title"),
    ]
    for form, field in cases:
        assert not form.is_valid()
        assert BIDI_CONTROLS_MESSAGE in form.errors.get(field, []), (type(form).__name__, field, form.errors)


def test_free_text_keeps_the_marks_needed_to_write_right_to_left(users, team):
    family, children = family_with_children(1, team=team)
    now = timezone.localtime()
    form = ContactForm(
        {
            "received_date_0": now.day,
            "received_date_1": now.month,
            "received_date_2": now.year,
            "received_time": "00:00",
            "route": "email",
            "source": "2A",
            "subjects": [children[0].pk],
            "presenting_needs": "Mum wrote \u200fשלום\u200f in her message",
            "consent_status": "not_sought",
        },
        family=family,
        now=timezone.now(),
    )
    assert form.is_valid(), form.errors


def test_a_bidi_control_in_a_name_is_a_message_and_nothing_is_saved(client, users, team):
    family, _ = family_with_children(1, team=team)
    client.force_login(users["coach"])
    response = client.post(
        reverse("cases:person_add", args=[family.pk]),
        person_data(first_name="Ava\u202e", relationship="parent"),
    )
    assert response.status_code == 400  # a form with errors, as on every action page (ADR 22)
    assert "change the direction of the text" in response.content.decode()
    assert 'value="Ava\u202e"' in response.content.decode()  # what was typed comes back
    assert not Person.objects.filter(last_name="Quillon").exists()


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200f", "\x00"], ids=["RLO", "RLI", "RLM", "NUL"])
def test_a_file_name_with_hidden_characters_is_refused(char, users, team, settings, tmp_path):
    from tests.workflows.helpers import S, make_episode
    from workflows import episode_services as es
    from workflows.episode_forms import DocumentForm
    from workflows.errors import WorkflowError

    settings.MEDIA_ROOT = tmp_path
    name = f"report{char}fdp.exe.pdf"
    problem = es.document_problem(name=name, size=12, head=b"%PDF-1.7\n...")
    assert problem and "file name" in problem
    form = DocumentForm({"kind": "consent", "title": ""}, {"file": SimpleUploadedFile(name, b"%PDF-1.7\n...")})
    assert not form.is_valid()
    assert problem in form.errors["file"]
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    with pytest.raises(WorkflowError):
        es.document_upload(
            episode=episode,
            file=SimpleUploadedFile(name, b"%PDF-1.7\n..."),
            kind="consent",
            title="",
            by=users["coach"],
            now=timezone.now(),
        )


def test_the_duplicate_reason_is_asked_for_whatever_the_page_posts(client, users):
    """ "Matches found" is worked out on the server from the child's details, not read from the form."""
    existing, children = family_with_children(1)
    child = children[0]
    client.force_login(users["mash"])
    data = {
        "matches_found": "0",
        "new-family_name": "A new household",
        "new-first_name": child.first_name,
        "new-last_name": child.last_name,
        "new-date_of_birth_0": child.date_of_birth.day,
        "new-date_of_birth_1": child.date_of_birth.month,
        "new-date_of_birth_2": child.date_of_birth.year,
        "new-sex": "F",
        "new-ethnicity": "NOBT",
    }
    response = client.post(reverse("cases:contact_create"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "say why none of them is this family" in body
    assert existing.name in body  # the match is shown, to record the contact against it instead
    assert not Person.objects.filter(first_name=child.first_name).exclude(pk=child.pk).exists()
