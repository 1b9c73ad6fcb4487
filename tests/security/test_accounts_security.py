"""Administrators and two-factor, enrolment codes, role history,
the Django admin, and the absolute session limit."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.urls import clear_url_caches, reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import EnrolmentCode, RoleChange, TwoFactorReset, User
from accounts.services import enrolment_code_issue
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

TWO_FACTOR = "/account/two-factor/"


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrolled_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def verify(client, device: TOTPDevice) -> None:
    device.throttle_reset()
    response = client.post(TWO_FACTOR, {"token": current_code(device), "next": "/"})
    assert response.status_code == 302, response.content


def signed_in_as(client, user, *, verified: bool):
    client.force_login(user)
    if verified:
        verify(client, TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrolled_device(user))
    return client


@pytest.fixture
def django_admin(settings):
    """The Django admin's URLs exist only when DJANGO_ADMIN_ENABLED was on as the URLconf loaded."""
    import earlyhelp.urls

    def load(enabled: bool) -> None:
        settings.DJANGO_ADMIN_ENABLED = enabled
        importlib.reload(earlyhelp.urls)
        clear_url_caches()

    yield load
    load(False)


@pytest.fixture
def superuser(db):
    user = User.objects.create_superuser("root", "root@example.invalid", PASSWORD)
    return user


# --- Item 3: superusers, staff and the Django admin ---------------------------------------------


class TestAdministratorsNeedTwoFactor:
    @pytest.mark.parametrize("mode", ["managers", "all"])
    def test_superuser_and_staff_without_roles_must_verify(self, client, superuser, settings, mode):
        settings.TWO_FACTOR_REQUIRED = mode
        staff = make_user("staffer", None, is_staff=True)
        for account in (superuser, staff):
            client.force_login(account)
            response = client.get("/")
            assert response.status_code == 302
            assert response["Location"].startswith(TWO_FACTOR)
            verify(client, enrolled_device(account))
            assert client.get("/").status_code == 200

    def test_two_factor_off_means_off(self, client, superuser, settings):
        settings.TWO_FACTOR_REQUIRED = "none"
        client.force_login(superuser)
        assert client.get("/").status_code == 200

    def test_django_admin_is_not_served_unless_enabled(self, client, superuser, django_admin, settings):
        settings.TWO_FACTOR_REQUIRED = "none"
        django_admin(False)
        signed_in_as(client, superuser, verified=True)
        assert client.get("/django-admin/").status_code == 404
        assert client.get("/django-admin/login/").status_code == 404
        assert client.get("/django-admin/otp_totp/totpdevice/").status_code == 404

    def test_enabled_django_admin_needs_a_verified_code_not_just_the_password(
        self, client, superuser, django_admin, settings
    ):
        settings.TWO_FACTOR_REQUIRED = "none"  # so the admin site's own check is what is tested
        django_admin(True)
        device = enrolled_device(superuser)
        client.force_login(superuser)  # signed in with the password only
        assert client.get("/django-admin/").status_code == 302
        client.logout()
        login = "/django-admin/login/?next=/django-admin/"
        password_only = client.post(login, {"username": "root", "password": PASSWORD, "next": "/django-admin/"})
        assert password_only.status_code == 200
        assert client.get("/django-admin/").status_code == 302
        with_code = client.post(
            login,
            {
                "username": "root",
                "password": PASSWORD,
                "otp_device": device.persistent_id,
                "otp_token": current_code(device),
                "next": "/django-admin/",
            },
        )
        assert with_code.status_code == 302, with_code.context["form"].errors
        assert client.get("/django-admin/").status_code == 200
        # Authenticators are not managed in the Django admin at all.
        assert client.get("/django-admin/otp_totp/totpdevice/").status_code == 404

    def test_nobody_changes_their_own_roles_in_the_django_admin(self, client, superuser, django_admin, settings):
        settings.TWO_FACTOR_REQUIRED = "none"
        django_admin(True)
        signed_in_as(client, superuser, verified=True)
        url = f"/django-admin/accounts/user/{superuser.pk}/change/"
        manager_group = Group.objects.get_or_create(name=roles.MANAGER)[0]
        response = client.post(url, admin_change_data(client, url, groups=[manager_group.pk]))
        assert response.status_code == 200
        assert b"You cannot change your own roles" in response.content
        assert not superuser.groups.exists()


def admin_change_data(client, url: str, **changes) -> dict:
    """The Django admin's user change form as it stands, with `changes`, ready to post."""
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")}
    data["groups"] = [group.pk for group in form.initial.get("groups", [])]
    data.pop("last_login", None)
    joined = timezone.localtime(data.pop("date_joined"))
    data.update(date_joined_0=f"{joined:%Y-%m-%d}", date_joined_1=f"{joined:%H:%M:%S}")
    for flag in ("is_active", "is_staff", "is_superuser"):
        if data.pop(flag, False):
            data[flag] = "on"
    data.update(changes)
    return data


# --- Item 14: enrolment needs a code ------------------------------------------------------------


class TestEnrolment:
    def test_without_a_code_no_secret_is_shown_and_no_authenticator_made(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        client.force_login(users["manager"])
        page = client.get(client.get("/")["Location"])
        assert page.status_code == 200
        assert b"enrolment code" in page.content
        assert b"Key:" not in page.content and b"otpauth" not in page.content and b"data:image" not in page.content
        assert not TOTPDevice.objects.filter(user=users["manager"]).exists()
        # Posting a TOTP code or nonsense instead of a code does not get round it either.
        for data in ({"token": "123456"}, {"code": "AAAA-BBBB-CCCC-DDDD"}, {"code": "\x00"}, {"code": "x" * 500}):
            response = client.post(TWO_FACTOR, data)
            # A NUL is refused at the door (earlyhelp.input_guard) before the page sees it.
            assert response.status_code == (400 if "\x00" in data.get("code", "") else 200)
            assert b"Key:" not in response.content
        assert client.get("/").status_code == 302

    def test_a_valid_code_works_once_for_its_own_account(self, client, users, settings):
        from django.test import Client

        settings.TWO_FACTOR_REQUIRED = "managers"
        manager = users["manager"]
        issued = enrolment_code_issue(user=manager, by=users["admin"], now=timezone.now())
        assert issued.code not in "".join(EnrolmentCode.objects.values_list("code_hash", flat=True))
        # Someone else's code is refused.
        other = Client()
        other.force_login(users["dutymanager"])
        assert b"Key:" not in other.post(TWO_FACTOR, {"code": issued.code}).content
        # The link fills the code in; posting it shows the secret, once.
        client.force_login(manager)
        assert issued.code.encode() in client.get(issued.link.split("testserver")[-1]).content
        setup = client.post(TWO_FACTOR, {"code": issued.code.lower().replace("-", " ")})
        assert b"Key:" in setup.content
        thief = Client()
        thief.force_login(manager)
        again = thief.post(TWO_FACTOR, {"code": issued.code})
        assert b"Key:" not in again.content and b"has been used or has expired" in again.content
        assert b"Key:" not in thief.get(TWO_FACTOR).content
        device = TOTPDevice.objects.get(user=manager)
        assert not device.confirmed
        done = client.post(TWO_FACTOR, {"token": current_code(device), "next": "/"})
        assert done.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/").status_code == 200
        assert b"Key:" not in client.get(TWO_FACTOR).content  # now it only asks for the code

    def test_an_expired_code_is_refused(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        settings.TWO_FACTOR_ENROLMENT_HOURS = 72
        issued = enrolment_code_issue(
            user=users["manager"], by=users["admin"], now=timezone.now() - timedelta(hours=73)
        )
        client.force_login(users["manager"])
        response = client.post(TWO_FACTOR, {"code": issued.code})
        assert b"has been used or has expired" in response.content
        assert b"Key:" not in response.content

    def test_a_new_code_cancels_the_previous_one(self, client, users):
        first = enrolment_code_issue(user=users["manager"], by=users["admin"], now=timezone.now())
        enrolment_code_issue(user=users["manager"], by=users["admin"], now=timezone.now())
        client.force_login(users["manager"])
        assert b"Key:" not in client.post(TWO_FACTOR, {"code": first.code}).content

    def test_a_new_account_gets_a_code_shown_once_and_emailed(self, client, users, team):
        client.force_login(users["admin"])
        response = client.post(
            reverse("accounts:user_create"),
            {
                "username": "newcoach",
                "first_name": "Nia",
                "last_name": "Hart",
                "email": "nia@example.invalid",
                "team": team.pk,
                "working_pattern": "full_time",
                "roles": [roles.PRACTITIONER],
                "new_password": "a-long-enough-passphrase",
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        page = client.get(response["Location"])
        code = page.context["issued"]["code"]
        assert code.encode() in page.content
        assert code.encode() not in client.get(response["Location"]).content  # shown once
        (message,) = [m for m in mail.outbox if m.to == ["nia@example.invalid"]]
        assert code in message.body
        assert EnrolmentCode.objects.filter(user__username="newcoach", used_at=None).count() == 1


# --- Item 3: resetting someone's two-factor -----------------------------------------------------


class TestTwoFactorReset:
    def test_reset_needs_a_reason_is_recorded_and_the_owner_is_emailed(self, client, users, settings):
        settings.TWO_FACTOR_REQUIRED = "managers"
        from django.test import Client

        manager = users["manager"]
        owner = signed_in_as(Client(), manager, verified=True)
        admin = signed_in_as(client, users["admin"], verified=True)
        url = reverse("accounts:user_two_factor", args=[manager.pk])
        assert admin.get(url).status_code == 200
        for reason in ("", "lost it", " " * 40):
            response = admin.post(url, {"reason": reason})
            assert response.status_code == 200
            assert b"Give a reason" in response.content or b"Give a fuller reason" in response.content
        assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
        assert not TwoFactorReset.objects.exists() and not mail.outbox
        reason = "Phone lost on a home visit; she rang the duty line from her desk phone."
        done = admin.post(url, {"reason": reason})
        assert done.status_code == 302
        account_page = admin.get(done["Location"])
        assert not TOTPDevice.objects.filter(user=manager).exists()
        reset = TwoFactorReset.objects.get(user=manager)
        assert (reset.reset_by, reset.reason, reset.devices_removed) == (users["admin"], reason, 1)
        (message,) = mail.outbox
        assert message.to == [manager.email]
        assert reason in message.body and str(users["admin"]) in message.body
        assert account_page.context["issued"]["code"] in message.body
        # The owner's session is no longer verified: they need the new code.
        assert owner.get("/").status_code == 302
        # The reset shows on the account's page.
        assert reason.encode() in admin.get(reverse("accounts:user_edit", args=[manager.pk])).content

    def test_nobody_resets_their_own_and_only_administrators_reset(self, client, users):
        client.force_login(users["admin"])
        own = client.post(
            reverse("accounts:user_two_factor", args=[users["admin"].pk]), {"reason": "x" * 30 + " new phone"}
        )
        assert b"You cannot reset your own two-factor sign-in" in own.content
        assert not TwoFactorReset.objects.exists()
        for username in ("manager", "coach", "outsider"):
            client.force_login(users[username])
            url = reverse("accounts:user_two_factor", args=[users["teamlead"].pk])
            assert client.post(url, {"reason": "x" * 40}).status_code == 403

    def test_reset_command_for_the_last_administrator(self, users, capsys):
        enrolled_device(users["admin"])
        call_command("reset_two_factor", "admin", reason="Only administrator lost their phone; ticket 4411.")
        out = capsys.readouterr().out
        assert "Removed 1 authenticator" in out and "code:" in out
        assert TwoFactorReset.objects.get(user=users["admin"]).source == RoleChange.Source.COMMAND
        assert mail.outbox[0].to == [users["admin"].email]
        with pytest.raises(CommandError):
            call_command("reset_two_factor", "admin", reason="short")


class TestCreateAdministrator:
    def test_creates_an_administrator_not_a_superuser_who_enrols_at_first_sign_in(
        self, client, settings, monkeypatch, capsys
    ):
        settings.TWO_FACTOR_REQUIRED = "managers"
        monkeypatch.setenv("EARLYHELP_ADMINISTRATOR_PASSWORD", "first-admin-passphrase")
        call_command("create_administrator", "chief", email="chief@example.invalid", no_input=True)
        out = capsys.readouterr().out
        chief = User.objects.get(username="chief")
        assert chief.role_names == {roles.ADMINISTRATOR}
        assert not chief.is_superuser and not chief.is_staff
        link = next(line.strip() for line in out.splitlines() if "?code=" in line)
        signed_in = client.post(reverse("login"), {"username": "chief", "password": "first-admin-passphrase"})
        assert signed_in.status_code == 302
        assert client.get("/")["Location"].startswith(TWO_FACTOR)
        code = link.split("code=")[1]
        assert b"Key:" in client.post(TWO_FACTOR, {"code": code}).content
        verify(client, TOTPDevice.objects.get(user=chief))
        assert client.get(reverse("accounts:user_list")).status_code == 200
        with pytest.raises(CommandError):
            call_command("create_administrator", "chief", email="chief@example.invalid", no_input=True)
        monkeypatch.setenv("EARLYHELP_ADMINISTRATOR_PASSWORD", "short")
        with pytest.raises(CommandError):
            call_command("create_administrator", "chief2", email="chief2@example.invalid", no_input=True)


# --- Item 6: role changes ---------------------------------------------------------------------


def _edit_data(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "team": user.team_id or "",
        "service": user.service_id or "",
        "working_pattern": user.working_pattern,
        "caseload_capacity_override": "",
        "is_active": "on",
        "roles": sorted(user.role_names),
        "version": user.version,
    }
    data.update(changes)
    return data


class TestRoleChanges:
    def test_an_administrator_cannot_change_their_own_roles_or_team(self, client, users, team):
        admin = users["admin"]
        client.force_login(admin)
        url = reverse("accounts:user_edit", args=[admin.pk])
        for changes, message in (
            ({"roles": [roles.ADMINISTRATOR, roles.MANAGER]}, b"You cannot change your own roles"),
            ({"roles": []}, b"You cannot change your own roles"),
            ({"team": team.pk}, b"You cannot change your own team"),
        ):
            response = client.post(url, _edit_data(admin, **changes))
            assert response.status_code == 200
            assert message in response.content
        admin.refresh_from_db()
        assert set(admin.groups.values_list("name", flat=True)) == {roles.ADMINISTRATOR}
        assert admin.team is None
        assert not RoleChange.objects.filter(user=admin).exclude(source=RoleChange.Source.OTHER).exists()
        # Their other details they may change.
        assert client.post(url, _edit_data(admin, job_title="Systems administrator")).status_code == 302

    def test_form_change_is_recorded_once_from_what_to_what(self, client, users, other_team):
        coach = users["coach"]
        client.force_login(users["admin"])
        response = client.post(
            reverse("accounts:user_edit", args=[coach.pk]),
            _edit_data(coach, roles=[roles.TEAM_LEADER], team=other_team.pk),
        )
        assert response.status_code == 302
        changes = RoleChange.objects.filter(user=coach, source=RoleChange.Source.USERS_PAGES)
        by_what = {c.what: c for c in changes}
        assert set(by_what) == {"roles", "team"}
        assert (by_what["roles"].before, by_what["roles"].after) == (roles.PRACTITIONER, roles.TEAM_LEADER)
        assert (by_what["team"].before, by_what["team"].after) == ("Northfield Family Hub", "Southbank Family Hub")
        assert all(c.changed_by == users["admin"] for c in changes)
        page = client.get(reverse("accounts:user_edit", args=[coach.pk]))
        assert b"Role, team and password history" in page.content and b"Southbank Family Hub" in page.content

    def test_a_password_set_by_an_administrator_is_recorded_and_told_to_the_owner(
        self, client, users, django_capture_on_commit_callbacks
    ):
        coach = users["coach"]
        client.force_login(users["admin"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("accounts:user_edit", args=[coach.pk]), _edit_data(coach, new_password="a-new-long-passphrase")
            )
        assert response.status_code == 302
        assert RoleChange.objects.get(user=coach, what="password").changed_by == users["admin"]
        (message,) = mail.outbox
        assert message.to == [coach.email] and str(users["admin"]) in message.body

    def test_direct_changes_in_a_shell_are_recorded(self, users, team):
        coach = users["coach"]
        manager_group = Group.objects.get_or_create(name=roles.MANAGER)[0]
        coach.groups.add(manager_group)
        manager_group.user_set.remove(coach)
        coach.groups.clear()
        coach.team = None
        coach.save()
        coach.is_superuser = True
        coach.save(update_fields=["is_superuser"])
        rows = list(RoleChange.objects.filter(user=coach).order_by("id").values_list("what", "before", "after"))
        assert rows[-5:] == [
            ("roles", roles.PRACTITIONER, f"{roles.MANAGER}, {roles.PRACTITIONER}"),
            ("roles", f"{roles.MANAGER}, {roles.PRACTITIONER}", roles.PRACTITIONER),
            ("roles", roles.PRACTITIONER, ""),
            ("team", "Northfield Family Hub", ""),
            ("superuser", "no", "yes"),
        ]
        assert set(RoleChange.objects.filter(user=coach).values_list("source", flat=True)) == {"other"}

    def test_django_admin_changes_are_recorded_with_who(self, client, superuser, users, django_admin, settings):
        settings.TWO_FACTOR_REQUIRED = "none"
        django_admin(True)
        signed_in_as(client, superuser, verified=True)
        coach = users["coach"]
        url = f"/django-admin/accounts/user/{coach.pk}/change/"
        data = admin_change_data(client, url, groups=[Group.objects.get_or_create(name=roles.MANAGER)[0].pk])
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        change = RoleChange.objects.exclude(source=RoleChange.Source.OTHER).get(user=coach)
        assert (change.before, change.after) == (roles.PRACTITIONER, roles.MANAGER)
        assert (change.changed_by, change.source) == (superuser, RoleChange.Source.DJANGO_ADMIN)

    def test_granting_a_role_that_sees_families_alerts_the_services_managers(
        self, client, users, service, django_capture_on_commit_callbacks
    ):
        outsider = users["outsider"]
        outsider.service = service
        outsider.save()
        client.force_login(users["admin"])
        url = reverse("accounts:user_edit", args=[outsider.pk])
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, _edit_data(outsider, roles=[roles.DUTY_WORKER]))
        change = RoleChange.objects.get(user=outsider, what="roles")
        assert change.managers_alerted == "manager"
        (message,) = mail.outbox
        assert message.to == [users["manager"].email]
        assert roles.DUTY_WORKER in message.body and str(users["admin"]) in message.body
        # Administrator alone sees no family: no alert.
        mail.outbox.clear()
        outsider.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, _edit_data(outsider, roles=[roles.DUTY_WORKER, roles.ADMINISTRATOR]))
        assert not mail.outbox

    def test_shell_grants_alert_managers_too(self, users, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            users["outsider"].groups.add(Group.objects.get_or_create(name=roles.MANAGER)[0])
        assert [m.to for m in mail.outbox] == [[users["manager"].email]]

    def test_role_history_is_append_only(self, users):
        change = RoleChange.objects.filter(user=users["coach"]).first()
        with pytest.raises(DatabaseError), transaction.atomic():
            RoleChange.objects.filter(pk=change.pk).update(after="Administrator")
        with pytest.raises(DatabaseError), transaction.atomic():
            RoleChange.objects.filter(pk=change.pk).delete()

    def test_two_administrators_do_not_overwrite_each_other(self, client, users):
        from django.test import Client

        coach = users["coach"]
        second_admin = make_user("admin2", roles.ADMINISTRATOR)
        first = client
        first.force_login(users["admin"])
        second = Client()
        second.force_login(second_admin)
        url = reverse("accounts:user_edit", args=[coach.pk])
        stale = _edit_data(coach, job_title="Senior family coach")
        assert first.post(url, _edit_data(coach, roles=[roles.TEAM_LEADER])).status_code == 302
        response = second.post(url, stale)
        assert response.status_code == 200
        assert b"changed by someone else" in response.content
        assert b"Senior family coach" in response.content  # what they typed is kept
        coach = User.objects.get(pk=coach.pk)
        assert coach.role_names == {roles.TEAM_LEADER} and coach.job_title != "Senior family coach"
        # Submitting again (against the latest version) saves.
        again = second.post(url, {**stale, "version": response.context["form"].data["version"]})
        assert again.status_code == 302


# --- Item 10: the absolute session limit --------------------------------------------------------


class TestAbsoluteSessionLimit:
    START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def test_signed_out_at_the_limit_from_sign_in_whatever_the_activity(self, client, users, settings):
        settings.SESSION_MAX_SECONDS = 2 * 3600
        settings.SESSION_IDLE_SECONDS = 30 * 60
        with time_machine.travel(self.START, tick=False) as traveller:
            client.force_login(users["coach"])
            for _ in range(5):  # active every 20 minutes up to 1 h 40
                traveller.shift(timedelta(minutes=20))
                assert client.get("/").status_code == 200
            traveller.move_to(self.START + timedelta(hours=1, minutes=59))
            assert client.get("/").status_code == 200
            traveller.move_to(self.START + timedelta(hours=2, minutes=1))
            response = client.get("/")
            assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
            page = client.get(response["Location"])
            assert b"signed in more than 2 hours ago" in page.content
            assert client.get("/").status_code == 302  # the session is gone, not only this request

    def test_a_session_without_a_sign_in_time_is_ended(self, client, users):
        client.force_login(users["coach"])
        session = client.session
        del session["signed_in_at"]
        session.save()
        assert client.get("/").status_code == 302
