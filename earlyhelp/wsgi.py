import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")

from earlyhelp.startup import fail_clearly, freeze_what_was_loaded, warm_templates  # noqa: E402

with fail_clearly():
    application = get_wsgi_application()

if os.environ.get("EARLYHELP_WARM_TEMPLATES", "true").lower() not in ("0", "false", "no", "off"):
    warm_templates()  # each web worker compiles the templates before its first request (ADR 89)
if os.environ.get("EARLYHELP_GC_FREEZE", "true").lower() not in ("0", "false", "no", "off"):
    freeze_what_was_loaded()  # the collector leaves what every request needs alone (ADR 89)
