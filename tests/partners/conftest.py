"""Partner agencies and their people, for the partner portal's tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import PartnerOrganisation
from cases.models import AgencyInvolvement, Consent
from tests.conftest import make_user


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def make_organisation(name: str, kind: str = "school", source: str = "2A") -> PartnerOrganisation:
    return PartnerOrganisation.objects.create(
        name=name, kind=kind, contact_source=source, email=f"office@{kind}.example", registered_at=timezone.now()
    )


def make_partner(username: str, organisation: PartnerOrganisation, **extra):
    user = make_user(username, roles.PARTNER, None, partner_organisation=organisation, email=f"{username}@p.example")
    return user


def sign_in_partner(client, user) -> None:
    """Signed in and past two-factor (a confirmed authenticator and its current code)."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    device.throttle_reset()
    device.last_t = -1  # a code is accepted once: signing in again in the same 30 seconds needs this
    device.save(update_fields=["last_t"])
    response = client.post("/partners/two-factor/", {"token": current_code(device), "next": "/partners/"})
    assert response.status_code == 302, response.content


def in_team(family, organisation, *people, consent: bool = True) -> AgencyInvolvement:
    involvement = AgencyInvolvement.objects.create(
        family=family, organisation=organisation, agency=organisation.name, started_on=timezone.localdate()
    )
    involvement.named_users.set(people)
    if consent:
        Consent.objects.create(
            family=family,
            purpose=Consent.Purpose.SHARE,
            agency=organisation.name,
            status=Consent.Status.GIVEN,
            recorded_on=timezone.localdate(),
            given_by_name="Mum",
        )
    return involvement


@pytest.fixture
def agencies(db):
    Group.objects.get_or_create(name=roles.PARTNER)
    return {
        "school": make_organisation("Northfield Primary School", "school", "2A"),
        "health": make_organisation("Northfield Health Visiting", "health_visiting", "3B"),
    }


@pytest.fixture
def partners(agencies):
    """Two people at the school, one health visitor."""
    return {
        "teacher": make_partner("teacher", agencies["school"]),
        "head": make_partner("head", agencies["school"]),
        "visitor": make_partner("visitor", agencies["health"]),
    }
