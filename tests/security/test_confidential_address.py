"""No outgoing document or export contains a confidential address (the commonest data breach)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Membership
from tests.factories import EpisodeFactory, FamilyFactory, PersonFactory

pytestmark = pytest.mark.django_db

SECRET_STREET = "7 Hiddenway Close"
SECRET_POSTCODE = "ZZ9 9ZZ"


@pytest.fixture
def hidden_family(team, users):
    family = FamilyFactory(
        team=team, address_line_1=SECRET_STREET, postcode=SECRET_POSTCODE, town="Safeton", address_confidential=True
    )
    child = PersonFactory(first_name="Robin")
    Membership.objects.create(family=family, person=child, relationship="child")
    episode = EpisodeFactory(
        plan_active=True,
        family=family,
        team=team,
        lead_professional=users["coach"],
        opened_at=timezone.now() - timedelta(days=30),
    )
    return family, child, episode


def assert_no_address(body: str):
    assert SECRET_STREET not in body
    assert SECRET_POSTCODE not in body
    assert "Safeton" not in body


def test_family_copy_and_its_sending_check_leave_the_address_out(client, users, hidden_family):
    family, _child, episode = hidden_family
    client.force_login(users["coach"])
    for name in ("episodes:family_copy", "episodes:family_copy_sent"):
        response = client.get(reverse(name, args=[episode.pk]))
        assert response.status_code == 200, name
        assert_no_address(response.content.decode())


def test_subject_access_export_withholds_the_address(client, users, hidden_family):
    _family, child, _episode = hidden_family
    client.force_login(users["manager"])
    response = client.get(reverse("oversight:subject_access", args=[child.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert_no_address(body)
    assert "[confidential address withheld]" in body


def test_staff_who_need_it_still_see_it_on_the_family_page(client, users, hidden_family):
    family, _child, _episode = hidden_family
    client.force_login(users["coach"])
    body = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert "Confidential address" in body and SECRET_STREET in body
