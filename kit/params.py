"""Values a view reads from a query string, parsed so that no input makes a 500.

`int_param` ignores what is not a plain number and clamps what is, so a filter can never overflow a
date or a database integer; `choice_param` keeps a value only if it is one of the choices.
"""

from __future__ import annotations

from collections.abc import Iterable

# The longest number of digits any parameter needs; longer is not a number we use (and Python
# refuses to convert more than 4,300 digits anyway).
MAX_DIGITS = 12


def int_param(
    query, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """A whole number from a query string: `default` when absent or not plain digits; clamped to the range."""
    raw = (query.get(name) or "").strip()
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits or len(digits) > MAX_DIGITS or not (digits.isascii() and digits.isdigit()):
        return default
    value = int(raw)
    if minimum is not None:
        value = max(value, minimum)
    if maximum is not None:
        value = min(value, maximum)
    return value


def choice_param(query, name: str, choices: Iterable[str], *, default: str = "") -> str:
    """A value from a query string if it is one of `choices`, else `default`."""
    value = query.get(name) or ""
    return value if value in set(choices) else default
