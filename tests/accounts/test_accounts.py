"""Accounts: roles as groups, caseload capacity, the demo accounts and user administration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import roles
from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo_accounts


@pytest.mark.django_db
class TestRolesAndAccounts:
    def test_every_role_is_a_group(self):
        """The roles migration makes a group of every role. (Read from the migration itself: a
        transactional test run earlier on the same worker empties the tables, groups included.)"""
        import importlib

        from django.apps import apps as django_apps
        from django.contrib.auth.models import Group

        migration = importlib.import_module("accounts.migrations.0002_roles")
        assert set(migration.ROLES) >= set(roles.ALL_ROLES)
        migration.create_roles(django_apps, None)
        assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)

    def test_caseload_capacity_defaults_by_working_pattern(self, users):
        coach = users["coach"]
        assert coach.caseload_capacity == 20
        coach.working_pattern = "part_time"
        assert coach.caseload_capacity == 10
        coach.caseload_capacity_override = 15
        assert coach.caseload_capacity == 15

    def test_demo_accounts_are_idempotent_and_one_per_role(self):
        first = ensure_demo_accounts()
        second = ensure_demo_accounts()
        assert [u.pk for u in first] == [u.pk for u in second]
        assert {role for *_, role, _team in DEMO_ACCOUNTS} == set(roles.ALL_ROLES)
        assert first[0].check_password(DEMO_PASSWORD)


@pytest.mark.django_db
class TestUserAdministration:
    def test_admin_creates_a_practitioner_with_roles(self, client, users, team):
        client.force_login(users["admin"])
        response = client.post(
            reverse("accounts:user_create"),
            {
                "username": "newcoach",
                "first_name": "Nia",
                "last_name": "Wood",
                "email": "nia@example.invalid",
                "team": team.pk,
                "working_pattern": "part_time",
                "is_active": "on",
                "roles": [roles.PRACTITIONER],
                "new_password": "a-sufficiently-long-passphrase",
            },
        )
        assert response.status_code == 302, response.content
        from accounts.models import User

        created = User.objects.get(username="newcoach")
        assert created.role_names == {roles.PRACTITIONER}
        assert created.caseload_capacity == 10

    def test_weak_password_is_refused_and_form_keeps_input(self, client, users):
        client.force_login(users["admin"])
        response = client.post(
            reverse("accounts:user_create"),
            {"username": "weak", "first_name": "Wes", "working_pattern": "full_time", "new_password": "123"},
        )
        assert response.status_code == 200
        assert b"This password is too short" in response.content
        assert b'value="Wes"' in response.content

    def test_non_admin_cannot_manage_users(self, client, users):
        client.force_login(users["manager"])
        assert client.get(reverse("accounts:user_list")).status_code == 403
