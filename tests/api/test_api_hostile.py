"""Hostile input to the API's parameters and to the API clients pages never causes a 500 (ADR 46)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from accounts import roles
from api import services
from tests.security.test_hostile_input import HOSTILE, fuzz_page

pytestmark = pytest.mark.django_db

PARAMETERS = {
    "api:family_list": ["cursor", "page_size"],
    "api:contact_list": ["received_from", "received_to", "state", "cursor", "page_size"],
    "api:episode_list": ["state", "open", "cursor"],
    "api:deadline_list": ["status", "open", "rule_id", "cursor"],
    "api:annex_a_list_1": ["as_at", "offset", "limit"],
    "api:annex_a_list_2": ["as_at", "offset", "limit"],
    "api:timeliness": ["date_from", "date_to", "group"],
}


def test_hostile_query_parameters_never_cause_a_500(client, users, service, settings):
    settings.API_RATE_LIMIT = ""  # hypothesis makes hundreds of calls
    token = services.api_client_create(
        name="Fuzz", role=roles.MANAGER, team=None, service=service, by=users["admin"], now=timezone.now()
    ).token

    @examples(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def run(data):
        for name, params in PARAMETERS.items():
            query = {param: data.draw(HOSTILE, label=param) for param in params}
            response = client.get(reverse(name), query, HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code < 500, (name, query)

    run()


def test_hostile_values_on_the_new_client_form_never_cause_a_500(client, users):
    client.force_login(users["admin"])
    fuzz_page(client, reverse("api_clients:client_create"))


def test_hostile_tokens_are_a_401_never_a_500(client, users):
    @examples(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(token=HOSTILE)
    def run(token):
        try:
            header = f"Bearer ehapi_{token}"
            response = client.get(reverse("api:family_list"), HTTP_AUTHORIZATION=header)
        except (ValueError, UnicodeEncodeError):
            return  # not a header a client could send
        assert response.status_code == 401

    run()
