"""The settings the benchmark smoke test collects static files with (ADR 0065): the production settings with
Django's manifest storage in place of whitenoise's compressing one.

The server the smoke test starts (DEBUG off) reads the same manifest, `staticfiles.json`, with the same hashed
names and rewritten CSS references; what it does not get is the gzip and Brotli copy of every file, which took
about 60 CPU-seconds on every run and which no page, and no test, reads.
"""

from earlyhelp.settings import *  # noqa: F403
from earlyhelp.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
