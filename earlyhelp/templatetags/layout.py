"""The base layout's tags: `{% load layout %}`.

- `{% fixed_url "name" %}`: `{% url "name" %}` for a URL without arguments, reversed once per name,
  URL configuration and script prefix and kept per process (ADR 67). The layout draws five such links
  on every page; `{% url %}` reverses each on every request.
"""

from __future__ import annotations

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()

# (name, urlconf, script prefix) -> the reversed URL. A deployment under a path prefix, or a test with
# its own URLs, gets its own entries; the cap only guards the memory (the layout names five).
_URLS: dict[tuple, str] = {}


@register.simple_tag
def fixed_url(name: str) -> str:
    key = (name, get_urlconf(), get_script_prefix())
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= 256:
            _URLS.clear()
        url = _URLS[key] = reverse(name)
    return url
