from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.roles import ROLE_DESCRIPTIONS


@require_GET
@never_cache
def healthz(request):
    """Whether the database, Redis and the Celery broker answer; 503 if any does not."""
    checks: dict[str, dict] = {}

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        checks["redis"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = {"ok": False, "error": exc.__class__.__name__}

    try:
        from earlyhelp.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["celery_broker"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001
        checks["celery_broker"] = {"ok": False, "error": exc.__class__.__name__}

    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


@login_required
def home(request):
    """The user's own work first (counts, then the most urgent few), then the navigation (ADR 0028)."""
    from cases.access import render_logged
    from earlyhelp.home import home_panels, home_sections

    user = request.user
    sections = home_sections(user, now=timezone.now())
    return render_logged(
        request,
        "home.html",
        {
            "roles": [(name, ROLE_DESCRIPTIONS[name]) for name in sorted(user.role_names) if name in ROLE_DESCRIPTIONS],
            "sections": sections,
            "panels": home_panels(user),
        },
        what="home page",
    )


def error_403(request, exception=None):
    return render(request, "errors/403.html", status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    return render(request, "errors/500.html", status=500)
