"""The one settings module: everything a deployment changes comes from the environment.

Secure by default: DEBUG is off unless DEBUG=true is set (the run command sets it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from earlyhelp.config import database_from_url, env_bool, env_int, env_list, env_str, redis_database_for_worker

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or env_bool("EARLYHELP_TESTING", False)

DEBUG = env_bool("DEBUG", False)

# Writing migration files needs no secret, database or broker: `manage.py makemigrations` (and its
# --check in CI hooks) works on a bare checkout. Anything that serves or touches data still refuses
# to start without them.
OFFLINE_COMMAND = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] == ["makemigrations"]

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING or OFFLINE_COMMAND:
        SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set it to a long random value (DEBUG is off, so there is no development default)."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if (DEBUG or TESTING) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_forms_gds",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_celery_beat",
    "kit",
    "earlyhelp",
    "accounts",
    "cases",
    "workflows",
    "deadlines",
    "oversight",
    "partners",
    "imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session (its key comes from a cookie) and every view: see earlyhelp/input_guard.py.
    "earlyhelp.input_guard.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "earlyhelp.middleware.SecurityHeadersMiddleware",
    "earlyhelp.middleware.PartnerBoundaryMiddleware",
    "earlyhelp.middleware.TwoFactorRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "earlyhelp.urls"
WSGI_APPLICATION = "earlyhelp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # The `date` filter written directly for the formats the templates use (ADR 0077).
            "builtins": ["kit.templatetags.fast_date"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "earlyhelp.context_processors.navigation",
                "deadlines.context_processors.alerts",
            ],
        },
    }
]

# --- Database: PostgreSQL only, through psycopg 3 with Django's connection pool.
# DATABASE_URL is the application's role; migrations run with the owner role's URL in its place.
DATABASE_URL = env_str("DATABASE_URL", "postgresql://offline@127.0.0.1:1/offline" if OFFLINE_COMMAND else None)
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: use `make run` / `make test` (which start an embedded PostgreSQL) "
        "or set it to postgresql://user:password@host:5432/dbname."
    )
_db = database_from_url(DATABASE_URL)
if env_bool("DATABASE_POOL", not (TESTING or OFFLINE_COMMAND)):
    _db["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),  # seconds a request waits for a connection
    }
else:
    _db["CONN_MAX_AGE"] = 0
_db["OPTIONS"]["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
# PostgreSQL's JIT misjudges the access-scope subqueries and adds up to a second to page queries.
# Tests do not test durability after a server crash: their commits return before the WAL reaches the disk
# (synchronous_commit=off; what a transaction sees, and when, is unchanged), ADR 0066.
_db["OPTIONS"]["options"] = env_str(
    "DATABASE_OPTIONS", "-c jit=off -c synchronous_commit=off" if TESTING else "-c jit=off"
)
DATABASES = {"default": _db}
# The compiled reads found by id or key that ask for it (kit.compiled_sql.prepared_cursor: the signed-in
# user, the session, a family's records and chronology) run as prepared statements of the connection:
# parsed once per connection and planned once (ADR 82). Other queries are bound client-side as Django does
# by default. Prepared statements belong to a server session: turn this off behind a pooler that shares
# server connections between transactions (PgBouncer's transaction mode).
PREPARED_READS = env_bool("DATABASE_PREPARED_READS", True)
if PREPARED_READS:
    # Planned once, not once per run: only reads whose best plan is the same for every value are prepared
    # (ADR 82), and PostgreSQL's own choice (`auto`) kept re-planning the family's chronology on every
    # request (its generic plan's estimate above the custom plans', 3 ms of planning for a 1.4 ms read at
    # 200,000 families). The access log's prepared INSERT has one plan whatever its values; statements with
    # parameters are otherwise only PL/pgSQL's (the triggers' lookups by key), whose plans do not depend on
    # the key either (ADR 90).
    _db["OPTIONS"]["options"] += " -c plan_cache_mode=force_generic_plan"
# The role the application connects as (DATABASE_URL's user in production): it owns nothing and may only
# add to the access log. `manage.py grant_app_role`, run by the migrating owner role, grants it (ADR 13).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and result backend, and the cache.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:1/0" if OFFLINE_COMMAND else None)
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set: use `make run` / `make test` (which start an embedded Redis) "
        "or set it to redis://host:6379/0."
    )
if TESTING and os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers (pytest-xdist) each use their own Redis database, as each has its own
    # test database: gw0 the one given, gw1 the next, and so on (ADR 27).
    REDIS_URL = redis_database_for_worker(REDIS_URL, os.environ["PYTEST_XDIST_WORKER"])
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "earlyhelp"),
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "Europe/London"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No task is ever queued with an ETA beyond this, or Redis would deliver it twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False
ALERT_SCAN_INTERVAL_SECONDS = env_int("ALERT_SCAN_INTERVAL_SECONDS", 300, minimum=30)
# A breach still open this many hours after its maximum is escalated to the service's managers.
ALERT_ESCALATE_AFTER_HOURS = env_int("ALERT_ESCALATE_AFTER_HOURS", 24, minimum=1)
EARLYHELP_DIGEST_HOUR = env_int("EARLYHELP_DIGEST_HOUR", 7)  # Europe/London hour the daily digest goes out
EARLYHELP_BASE_URL = env_str("EARLYHELP_BASE_URL", "")  # prefix for links in alert emails

# --- Accounts and sign-in.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "accounts.backends.AuthenticationOnlyBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
# Lock the account, not the address: a council office shares one public IP address.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# TOTP two-factor sign-in: "all" users, "managers" (managers, duty managers, administrators) or "none".
# Unless "none", superuser and staff accounts must use it too, whatever their roles.
TWO_FACTOR_REQUIRED = env_str("TWO_FACTOR_REQUIRED", "none" if (DEBUG or TESTING) else "managers")
if TWO_FACTOR_REQUIRED not in {"all", "managers", "none"}:
    raise ImproperlyConfigured(f"TWO_FACTOR_REQUIRED must be all, managers or none, not {TWO_FACTOR_REQUIRED!r}.")
OTP_TOTP_ISSUER = env_str("SERVICE_NAME", "earlyhelp")
# An authenticator is set up only with a single-use enrolment code from an administrator (or
# create_administrator), valid for this long.
TWO_FACTOR_ENROLMENT_HOURS = env_int("TWO_FACTOR_ENROLMENT_HOURS", 72, minimum=1)
# Django's own admin is off unless enabled; when on, it needs a verified TOTP code as well as the password.
DJANGO_ADMIN_ENABLED = env_bool("DJANGO_ADMIN_ENABLED", False)
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Sessions end after an idle time and SESSION_MAX_HOURS after sign-in whatever the activity
# (earlyhelp/middleware.py: the cookie's own age is renewed whenever the session is saved).
# Django's database sessions, read with one fixed SELECT (earlyhelp/sessions.py, ADR 67).
SESSION_ENGINE = "earlyhelp.sessions"
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_MAX_SECONDS = env_int("SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG and not TESTING)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if (DEBUG or TESTING) else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not (DEBUG or TESTING))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation: England, Europe/London, stored in UTC.
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files: GOV.UK Frontend from npm, served by whitenoise.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
GOVUK_FRONTEND_DIR = BASE_DIR / "node_modules" / "govuk-frontend" / "dist" / "govuk"
STATICFILES_DIRS = [BASE_DIR / "static", ("govuk", GOVUK_FRONTEND_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The precompiled GOV.UK CSS asks for its fonts and images under /assets/.
WHITENOISE_ROOT = GOVUK_FRONTEND_DIR if GOVUK_FRONTEND_DIR.exists() else None
WHITENOISE_USE_FINDERS = DEBUG or TESTING
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
# Files background jobs write (exports, import reports): never served directly, only through the job's
# download page to the user who started it (kit/jobs.py).
PRIVATE_FILES_ROOT = Path(env_str("PRIVATE_FILES_ROOT", str(BASE_DIR / ".data" / "private")))
# The largest document a practitioner may upload to an episode, in megabytes.
EARLYHELP_MAX_DOCUMENT_MB = env_int("EARLYHELP_MAX_DOCUMENT_MB", 10, minimum=1)

CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "earlyhelp@localhost")
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# Seconds to wait for the mail server: an unreachable one fails the message instead of hanging a worker.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# The council's name at the top of a printed letter (workflows.correspondence_services.letter_pdf).
EARLYHELP_COUNCIL_NAME = env_str("EARLYHELP_COUNCIL_NAME", "")
# A TrueType font for printed letters (names in any script); DejaVu Sans where the system has it.
EARLYHELP_LETTER_FONT = env_str("EARLYHELP_LETTER_FONT", "")
# GOV.UK Notify (ADR 39): set NOTIFY_API_KEY and e-mail and letters go through Notify instead of the
# mail server and the practitioner's printer. One Notify template per channel, whose text is
# ((subject)) and ((body)) (a letter's address lines are Notify's own address_line_1..7).
NOTIFY_API_KEY = env_str("NOTIFY_API_KEY", "")
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_EMAIL_TEMPLATE_ID = env_str("NOTIFY_EMAIL_TEMPLATE_ID", "")
NOTIFY_LETTER_TEMPLATE_ID = env_str("NOTIFY_LETTER_TEMPLATE_ID", "")
# The bearer token Notify sends with each delivery receipt (set the same in Notify's callback settings).
NOTIFY_CALLBACK_TOKEN = env_str("NOTIFY_CALLBACK_TOKEN", "")
NOTIFY_TIMEOUT = env_int("NOTIFY_TIMEOUT", 20, minimum=1)

SERVICE_NAME = env_str("SERVICE_NAME", "Early Help case management")
EARLYHELP_RULEBOOKS = env_list("EARLYHELP_RULEBOOKS", ["families-first", "family-solutions", "step-up"])
# One council's procedure per service (deadlines/procedures.py, ADR 0019): each service names its
# rulebook on the "Procedures" page; a service that names none, and a contact whose service is
# unknown, uses this one. The shared rulebooks (step-up) apply alongside every procedure.
EARLYHELP_DEFAULT_RULEBOOK = env_str("EARLYHELP_DEFAULT_RULEBOOK", "family-solutions")
EARLYHELP_SHARED_RULEBOOKS = env_list("EARLYHELP_SHARED_RULEBOOKS", ["step-up"])
# Where the rulebook files are read from; empty means the ones shipped in deadlines/rulebooks/.
EARLYHELP_RULEBOOK_DIR = env_str("EARLYHELP_RULEBOOK_DIR", "")

# One console handler. Refused requests (4xx) are logged as one line, not a traceback
# (earlyhelp/log_filters.py); server errors keep theirs. The "django" logger writes to this handler
# only, so that under DEBUG a message is not printed twice (Django's own console handler as well).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_on_one_line": {"()": "earlyhelp.log_filters.RefusalsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals_on_one_line"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# How long the oversight dashboard and board keep a computed figure (0: compute on every view).
OVERSIGHT_AGGREGATE_CACHE_SECONDS = env_int("OVERSIGHT_AGGREGATE_CACHE_SECONDS", 300)

# Data protection: how long family records are kept (oversight/data_protection.py).
RETENTION_RULE = env_str("RETENTION_RULE", "youngest_child_age:25")

# Ofsted Annex A (oversight/annex_a.py): the template's labels ("a) WBRI") or bare codes ("WBRI"), and
# whether List 2 includes children whose Early Help episode has no assessment yet (blank start date).
ANNEX_A_VALUES = env_str("ANNEX_A_VALUES", "labels")
if ANNEX_A_VALUES not in {"labels", "codes"}:
    raise ImproperlyConfigured(f"ANNEX_A_VALUES must be labels or codes, not {ANNEX_A_VALUES!r}.")
ANNEX_A_LIST_2_UNASSESSED = env_str("ANNEX_A_LIST_2_UNASSESSED", "exclude")
if ANNEX_A_LIST_2_UNASSESSED not in {"exclude", "include"}:
    raise ImproperlyConfigured(
        f"ANNEX_A_LIST_2_UNASSESSED must be exclude or include, not {ANNEX_A_LIST_2_UNASSESSED!r}."
    )

# --- The read API (ADR 46): Django REST Framework, its OpenAPI schema and Swagger UI served from
# drf-spectacular-sidecar's static files (no CDN: the Content-Security-Policy allows 'self' only).
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar", "api"]
# Calls per API client (DRF throttling, counted in the Redis cache): "600/minute", "20000/day"; empty: no limit.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/minute")
# OAuth 2.0 client credentials (ADR 54): how long an access token from /api/v1/oauth/token/ lasts, and the
# calls to that endpoint allowed from one address (wrong secrets included); a client's own calls to it
# also count towards its API_RATE_LIMIT.
API_ACCESS_TOKEN_SECONDS = env_int("API_ACCESS_TOKEN_SECONDS", 3600, minimum=60)
API_TOKEN_RATE_LIMIT = env_str("API_TOKEN_RATE_LIMIT", "60/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.authentication.PerClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Early Help read API",
    "DESCRIPTION": (
        "Read-only access for the council's business-intelligence and partner systems. Each client acts as "
        "one role (in a team or service) and sees exactly what a person in that role sees; every call is in "
        "the access log. Send `Authorization: Bearer <token>`: the client's own token, or an access token "
        "from `POST /api/v1/oauth/token/` (OAuth 2.0 client credentials, with the client id and secret). "
        "Lists are cursor-paginated (follow `next`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Single sign-on over OpenID Connect (ADR 47), with mozilla-django-oidc. On when OIDC_RP_CLIENT_ID
# is set. The provider's endpoints (e.g. Microsoft Entra ID's, from its .well-known/openid-configuration).
INSTALLED_APPS += ["mozilla_django_oidc"]
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False  # never: accounts and their roles are made on the users pages only
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
LOGIN_REDIRECT_URL_FAILURE = "/sign-in/refused/"
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
# The name on the button: "Sign in with <name>".
SSO_PROVIDER_NAME = env_str("SSO_PROVIDER_NAME", "your council account")
# `amr` values (RFC 8176) that mean the provider checked a second factor; the session then counts as
# two-factor verified. Entra ID sends "mfa".
SSO_MFA_AMR_VALUES = env_list("SSO_MFA_AMR_VALUES", ["mfa", "otp", "hwk", "sms", "fido"])
# Off: the sign-in page offers only single sign-on, and no password signs anyone in (ADR 47).
PASSWORD_SIGN_IN = env_bool("PASSWORD_SIGN_IN", True)
if not PASSWORD_SIGN_IN and not SSO_ENABLED:
    raise ImproperlyConfigured("PASSWORD_SIGN_IN is off but single sign-on is not set up (OIDC_RP_CLIENT_ID).")
AUTHENTICATION_BACKENDS += ["accounts.sso.SingleSignOnBackend"]
