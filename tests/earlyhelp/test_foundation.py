"""The skeleton: configuration, health, sign-in, navigation and security headers (roles: tests/accounts)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import time_machine
from django.urls import reverse

from tests.bytecode import cached_bytecode
from tests.conftest import PASSWORD, ROOT


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "EARLYHELP_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    # A command that cannot reach its database fails after 1 s of waiting for the pool, not 10 (ADR 0065).
    env["DATABASE_POOL_TIMEOUT"] = "1"
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    for name in [k for k, v in env_overrides.items() if v is None]:
        env.pop(name, None)
    # Each command reads its bytecode from .data/pycache rather than compiling Django again (ADR 0070).
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=cached_bytecode(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestConfiguration:
    def test_missing_secret_key_with_debug_off_stops_with_one_sentence(self):
        result = run_manage("check")
        assert result.returncode == 2
        assert result.stderr.strip().startswith("earlyhelp cannot start: SECRET_KEY is not set")
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_unreachable_database_stops_with_one_sentence(self):
        # Through the connection pool, as in production (waiting 1 s for each connection, run_manage).
        result = run_manage(
            "check_stack", DEBUG="true", DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere", DATABASE_POOL="true"
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "the database at postgresql://postgres@127.0.0.1:1/nowhere (DATABASE_URL) does not answer" in (
            result.stderr
        )
        assert "after 1.00 sec" in result.stderr  # the pool waited DATABASE_POOL_TIMEOUT (psycopg_pool's words)

    def test_makemigrations_check_needs_no_secrets_on_a_bare_checkout(self):
        result = run_manage("makemigrations", "--check", "--dry-run", DATABASE_URL=None, REDIS_URL=None)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No changes detected" in result.stdout

    def test_non_postgres_database_url_is_refused(self):
        result = run_manage("check", DEBUG="true", DATABASE_URL="sqlite:///db.sqlite3")
        assert result.returncode == 2
        assert "DATABASE_URL must start with postgresql://" in result.stderr

    def test_bad_boolean_is_named(self):
        result = run_manage("check", DEBUG="maybe")
        assert result.returncode == 2
        assert "DEBUG must be true or false" in result.stderr

    def test_settings_are_secure_by_default(self):
        from django.conf import settings

        assert settings.TIME_ZONE == "Europe/London"
        assert settings.USE_TZ is True
        assert settings.SESSION_COOKIE_HTTPONLY is True
        assert settings.SESSION_COOKIE_AGE == 12 * 3600
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        assert settings.AUTH_USER_MODEL == "accounts.User"

    def test_deploy_check_is_clean_with_production_settings(self):
        result = run_manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-value-0123456789",
            ALLOWED_HOSTS="earlyhelp.example.gov.uk",
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
class TestHealthz:
    def test_all_services_answer(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["checks"] == {"database": {"ok": True}, "redis": {"ok": True}, "celery_broker": {"ok": True}}

    def test_redis_down_gives_503(self, client, settings):
        from earlyhelp.celery import app

        settings.REDIS_URL = "redis://127.0.0.1:1/0"
        old = app.conf.broker_url
        app.conf.broker_url = settings.REDIS_URL
        try:
            response = client.get("/healthz")
        finally:
            app.conf.broker_url = old
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["celery_broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
class TestSignIn:
    def test_sign_in_page_renders(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert b"govuk-frontend.min.css" in response.content

    def test_anonymous_home_redirects_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")

    def test_wrong_password_keeps_username_and_explains(self, client, users):
        response = client.post(reverse("login"), {"username": "coach", "password": "wrong"})
        assert response.status_code == 200
        assert b"Enter a correct username and password" in response.content
        assert b'value="coach"' in response.content

    def test_five_failures_lock_the_account(self, client, users):
        for _ in range(5):
            client.post(reverse("login"), {"username": "coach", "password": "wrong"})
        response = client.post(reverse("login"), {"username": "coach", "password": PASSWORD})
        assert response.status_code == 429
        assert b"Your account is locked" in response.content

    def test_deactivated_user_cannot_sign_in(self, client, users):
        users["coach"].is_active = False
        users["coach"].save()
        response = client.post(reverse("login"), {"username": "coach", "password": PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    @pytest.mark.parametrize(
        ("username", "expected", "absent"),
        [
            ("mash", "Triage queue", "Users"),
            ("coach", "My work", "Dashboard"),
            ("teamlead", "Team board", "Users"),
            ("manager", "Dashboard", "Users"),
            ("admin", "Users", "Triage queue"),
        ],
    )
    def test_navigation_depends_on_role(self, client, users, username, expected, absent):
        client.force_login(users[username])
        response = client.get("/")
        assert response.status_code == 200
        nav = response.content.decode().split('id="navigation"')[1].split("</ul>")[0]
        if expected == "Users" or _route_exists(expected):
            assert f">{expected}<" in nav
        assert f">{absent}<" not in nav

    def test_sessions_end_after_idle_time(self, client, users, settings):
        client.force_login(users["coach"])
        with time_machine.travel("2026-11-23 09:00 +0000", tick=False):
            assert client.get("/").status_code == 200
        with time_machine.travel("2026-11-23 09:31 +0000", tick=False):
            response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")

    def test_security_headers(self, client, users):
        client.force_login(users["coach"])
        response = client.get("/")
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert "no-store" in response["Cache-Control"]

    def test_unknown_page_uses_the_service_404(self, client, users, settings):
        settings.DEBUG = False
        client.force_login(users["coach"])
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content


def _route_exists(label: str) -> bool:
    from django.urls import NoReverseMatch

    from earlyhelp.navigation import NAV_ITEMS

    for item in NAV_ITEMS:
        if item.label == label:
            try:
                reverse(item.url_name)
                return True
            except NoReverseMatch:
                return False
    return False
