import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")

from earlyhelp.startup import fail_clearly  # noqa: E402

with fail_clearly():
    application = get_wsgi_application()
