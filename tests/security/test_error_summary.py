"""Every form, posted with bad input (nothing filled in), comes back with exactly one GOV.UK error summary.

The forms are found from the URL conf through the POST table of the permission matrix, so a new form
is covered as soon as it is placed there. Each is posted as the first role allowed to use it, in a
savepoint that is rolled back. An action that succeeds anyway redirects (nothing to summarise); a page
that comes back must show one summary, never two (the crispy-forms one and a second partial), and
never none when the form was refused.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from tests.security.matrix import all_url_names, url_for
from tests.security.test_permission_matrix import COLUMNS, EXPECTED_POST, POST_BODIES

pytestmark = pytest.mark.django_db

# Not empty (a view that binds its form to `request.POST or None` would take an empty POST for a GET), but
# no field filled in: every required field is missing.
BAD_INPUT = {"not-a-field": "x"}
# Pages with more than one form, or a form chosen by its button: post each one.
WHICH_FORM = {
    "accounts:two_factor": [{"code": ""}],
    "episodes:closure_decide": [{"sign_off": "1"}, {"return": "1"}],
}
SUMMARY = re.compile(r'class="govuk-error-summary["\s]')


def _first_allowed_role(name: str) -> str | None:
    tokens = dict(zip(COLUMNS, EXPECTED_POST[name].split(), strict=True))
    return next((role for role in COLUMNS if tokens[role] == "+"), None)


def posted_with_bad_input(client, users, world) -> dict[str, tuple[int, str, int]]:
    """name -> (status, content type, number of error summaries) of an empty POST as an allowed role."""
    client.raise_request_exception = False
    found: dict[str, tuple[int, str, int]] = {}
    for name, kwarg_names in all_url_names():
        role = _first_allowed_role(name) if name in EXPECTED_POST else None
        if role is None:
            continue  # no staff role posts it: the partner portal's forms (tests/security/test_partner_matrix.py)
        client.force_login(users[role])
        for index, which in enumerate(WHICH_FORM.get(name, [{}])):
            with transaction.atomic():
                body = {**POST_BODIES.get(name, {}), **BAD_INPUT, **which}
                response = client.post(url_for(name, kwarg_names, world), body)
                transaction.set_rollback(True)
            content_type = response.get("Content-Type", "")
            html = response.content.decode() if "text/html" in content_type else ""
            found[f"{name} (form {index + 1})" if index else name] = (
                response.status_code,
                content_type,
                len(SUMMARY.findall(html)),
            )
    return found


def test_every_form_posted_with_bad_input_shows_one_error_summary(client, users, world):
    found = posted_with_bad_input(client, users, world)
    wrong = []
    re_rendered = []
    for name, (status, content_type, summaries) in sorted(found.items()):
        if 300 <= status < 400 or "text/html" not in content_type:
            continue  # done (a redirect) or answered as data: no page to summarise errors on
        re_rendered.append(name)
        if status >= 500 or summaries != 1:
            wrong.append(f"{name}: status {status}, {summaries} error summaries")
    assert not wrong, "\n".join(wrong)
    # The check is only worth something if the forms really came back refused: most of them do.
    assert len(re_rendered) >= 30, re_rendered
