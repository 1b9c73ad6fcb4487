"""Django's `conditional_escape` and `format_html` without their lazy-string wrappers (ADR 89).

Django wraps `conditional_escape` and `escape` in `keep_lazy`: every call checks each argument for a lazy
translation string and builds the result through two more function calls. `format_html` calls
`conditional_escape` once per value. Pages that write their rows in Python (the team board, the
dashboard, the lists: ADRs 74, 81, 83, 85, 86) made tens of thousands of such calls a minute, about a
tenth of their Python time. These give the same characters:

- `escaped(value)`: a value with markup (`__html__`: `SafeString`, a form's widget) as that markup, any
  other value's text escaped by `html.escape` (which is what Django's `escape` does, quotes included).
  A lazy translation string is a value without `__html__`: its text, escaped, as Django gives once the
  lazy result is formatted.
- `conditional_escape(value)`: the same, marked safe.
- `format_html(format_string, *args, **kwargs)`: `format_string` with every value `escaped`, marked safe.
  A call with no values, which would escape nothing, is refused (`TypeError`), as Django 6.0 refuses it
  (5.2 warns that it will).

`tests/kit/test_markup.py` holds each to Django's for every kind of value.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString


def escaped(value) -> str:
    """`conditional_escape(value)` as text."""
    if type(value) is str:  # most values: plain text, which has no `__html__`
        return escape(value)
    html = getattr(value, "__html__", None)
    return html() if html is not None else escape(str(value))


def conditional_escape(value) -> SafeString:
    """Django's `conditional_escape(value)`."""
    return SafeString(escaped(value))


def format_html(format_string: str, *args, **kwargs) -> SafeString:
    """Django's `format_html(format_string, *args, **kwargs)`."""
    if not (args or kwargs):
        raise TypeError("args or kwargs must be provided.")
    return SafeString(format_string.format(*[escaped(a) for a in args], **{k: escaped(v) for k, v in kwargs.items()}))
