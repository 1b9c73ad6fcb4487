"""TOTP two-factor, break-glass access and the 'who has viewed this record' page."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import enrolment_code_issue
from cases.models import AccessLog
from tests.factories import family_with_children

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


class TestTwoFactor:
    def test_managers_must_set_up_and_verify_a_code(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        client.force_login(users["manager"])
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:two_factor"))
        page = client.get(response["Location"])
        assert b"You need an enrolment code" in page.content and b"Key:" not in page.content
        issued = enrolment_code_issue(user=users["manager"], by=users["admin"], now=timezone.now())
        page = client.post(reverse("accounts:two_factor"), {"code": issued.code})
        assert b"Set up two-factor sign-in" in page.content
        device = TOTPDevice.objects.get(user=users["manager"])
        bad = client.post(reverse("accounts:two_factor"), {"token": "12ab56"})
        assert b"Enter the 6 digits of the code" in bad.content
        wrong = client.post(
            reverse("accounts:two_factor"), {"token": "000000" if current_code(device) != "000000" else "111111"}
        )
        assert b"That code is not right" in wrong.content
        device.refresh_from_db()
        device.throttle_reset()  # a failure makes django-otp wait before the next try
        ok = client.post(reverse("accounts:two_factor"), {"token": current_code(device), "next": "/"})
        assert ok.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/").status_code == 200

    def test_practitioners_need_no_code_unless_all_are_required(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        client.force_login(users["coach"])
        assert client.get("/").status_code == 200
        settings.TWO_FACTOR_REQUIRED = "all"
        assert client.get("/").status_code == 302

    def test_next_cannot_send_the_user_off_site(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        client.force_login(users["manager"])
        device = TOTPDevice.objects.create(user=users["manager"], name="Authenticator app", confirmed=True)
        response = client.post(
            reverse("accounts:two_factor"), {"token": current_code(device), "next": "https://evil.example/"}
        )
        assert response["Location"] == "/"


class TestBreakGlass:
    def test_out_of_scope_family_needs_a_reason_and_is_logged(self, client, users, other_team):
        family, _ = family_with_children(1, team=other_team)
        client.force_login(users["coach"])
        url = reverse("cases:family_detail", args=[family.pk])
        response = client.get(url)
        assert response.status_code == 404
        assert family.name.encode() not in response.content
        assert b"break-glass" in response.content
        short = client.post(reverse("cases:break_glass"), {"reference": family.reference, "reason": "need it"})
        assert b"Give a fuller reason" in short.content
        missing = client.post(reverse("cases:break_glass"), {"reference": "F9999999", "reason": "x" * 30})
        assert b"There is no family with that reference" in missing.content
        reason = "Police called out of hours about the children; lead professional unavailable."
        response = client.post(reverse("cases:break_glass"), {"reference": family.reference, "reason": reason})
        assert response.status_code == 302
        page = client.get(url)
        assert page.status_code == 200
        assert family.name.encode() in page.content
        row = AccessLog.objects.get(family_id_logged=family.pk)
        assert row.break_glass_reason == reason and row.user == users["coach"]

    def test_administrators_and_outsiders_cannot_break_glass(self, client, users):
        for username in ("admin", "outsider"):
            client.force_login(users[username])
            assert client.get(reverse("cases:break_glass")).status_code == 403

    def test_manager_sees_who_viewed_the_record_including_break_glass(self, client, users, team, other_team):
        family, _ = family_with_children(1, team=team)
        client.force_login(users["coach"])
        client.get(reverse("cases:family_detail", args=[family.pk]))
        client.force_login(users["manager"])
        response = client.get(reverse("cases:family_access_log", args=[family.pk]))
        assert response.status_code == 200
        assert str(users["coach"]).encode() in response.content
        client.force_login(users["coach"])
        assert client.get(reverse("cases:family_access_log", args=[family.pk])).status_code == 403
