"""A family member's own address can be changed after they were added, confidential addresses kept back."""

import pytest
from django.urls import reverse

from cases import selectors
from cases.models import AccessLog, Membership, Person
from tests.factories import FamilyFactory, PersonFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"address_line_1": "3 Elm Road", "address_line_2": "", "town": "Leeds", "postcode": "ls1 4ap"}


@pytest.fixture
def member(team):
    family = FamilyFactory(team=team)
    person = PersonFactory(first_name="Robin", last_name="Hart")
    Membership.objects.create(family=family, person=person, relationship="parent")
    return family, person


def url(family, person):
    return reverse("cases:person_address", args=[family.pk, person.pk])


def test_the_family_page_links_to_the_change(client, users, member):
    family, person = member
    client.force_login(users["coach"])
    body = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert url(family, person) in body


def test_a_member_moves_out_and_back_and_history_keeps_both(client, users, member):
    family, person = member
    client.force_login(users["coach"])
    page = client.get(url(family, person))
    assert page.status_code == 200
    assert AccessLog.objects.filter(user=users["coach"], family_id_logged=family.pk, what__contains="address").exists()
    response = client.post(url(family, person), ADDRESS)
    assert response.status_code == 302 and response["Location"] == reverse("cases:family_detail", args=[family.pk])
    person.refresh_from_db()
    assert (person.address_line_1, person.town, person.postcode) == ("3 Elm Road", "Leeds", "LS1 4AP")
    body = client.get(response["Location"]).content.decode()
    assert "The address of Robin Hart was changed." in body and "Lives at 3 Elm Road" in body
    # Back with the family: the address is emptied.
    client.post(url(family, person), {"address_line_1": "", "town": "", "postcode": ""})
    person.refresh_from_db()
    assert person.address_line_1 == "" and person.postcode == ""
    latest = person.history.order_by("-history_date", "-history_id")
    assert [h.address_line_1 for h in latest[:2]] == ["", "3 Elm Road"]
    assert latest[0].history_user == users["coach"]


def test_the_form_refuses_a_bad_postcode_and_an_address_without_its_first_line(client, users, member):
    family, person = member
    client.force_login(users["teamlead"])
    response = client.post(url(family, person), {**ADDRESS, "postcode": "not a postcode"})
    assert response.status_code == 400
    assert response.content.decode().count("govuk-error-summary__list") == 1
    response = client.post(url(family, person), {**ADDRESS, "address_line_1": ""})
    assert response.status_code == 400 and "Enter the first line of their address" in response.content.decode()
    person.refresh_from_db()
    assert person.address_line_1 == ""


def test_a_person_of_another_family_or_outside_scope_is_not_found(client, users, member, other_team):
    family, person = member
    elsewhere = FamilyFactory(team=other_team)
    client.force_login(users["coach"])
    assert client.get(url(elsewhere, person)).status_code == 404  # not a member of that family
    assert client.post(url(elsewhere, person), ADDRESS).status_code == 404
    stranger = PersonFactory()
    assert client.get(url(family, stranger)).status_code == 404
    client.force_login(users["admin"])
    assert client.get(url(family, person)).status_code == 404
    assert client.post(url(family, person), ADDRESS).status_code == 404
    person.refresh_from_db()
    assert person.address_line_1 == ""


def test_marking_an_address_confidential_keeps_it_off_the_family_page_tag(client, users, member):
    family, person = member
    client.force_login(users["coach"])
    client.post(url(family, person), {**ADDRESS, "address_confidential": "on"})
    person.refresh_from_db()
    assert person.address_confidential
    body = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert "Confidential address" in body and "Lives at 3 Elm Road" not in body


@pytest.mark.parametrize("whose", ["person", "family"])
def test_a_confidential_address_is_neither_shown_nor_changed_by_those_who_may_not_see_it(
    client, users, member, monkeypatch, whose
):
    family, person = member
    Person.objects.filter(pk=person.pk).update(address_line_1="9 Secret Row", address_confidential=whose == "person")
    if whose == "family":
        type(family).objects.filter(pk=family.pk).update(address_confidential=True)
    monkeypatch.setattr(selectors, "can_see_confidential_address", lambda user: False)
    client.force_login(users["coach"])
    page = client.get(url(family, person))
    assert page.status_code == 403 and "9 Secret Row" not in page.content.decode()
    assert client.post(url(family, person), ADDRESS).status_code == 403
    person.refresh_from_db()
    assert person.address_line_1 == "9 Secret Row"
    family_page = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert url(family, person) not in family_page


def test_those_who_may_see_a_confidential_address_can_change_it(client, users, member):
    family, person = member
    Person.objects.filter(pk=person.pk).update(address_line_1="9 Secret Row", address_confidential=True)
    client.force_login(users["teamlead"])
    assert "9 Secret Row" in client.get(url(family, person)).content.decode()
    assert client.post(url(family, person), {**ADDRESS, "address_confidential": "on"}).status_code == 302
    person.refresh_from_db()
    assert person.address_line_1 == "3 Elm Road" and person.address_confidential


def test_hostile_input_never_500s(client, users, member):
    family, person = member
    client.force_login(users["coach"])
    for value in ("x" * 5000, "\x00", "<script>alert(1)</script>", "\u202e"):
        response = client.post(url(family, person), {**ADDRESS, "address_line_1": value, "town": value})
        assert response.status_code in (302, 400), value[:20]
    assert client.get(reverse("cases:person_address", args=[family.pk, 10**12])).status_code == 404
