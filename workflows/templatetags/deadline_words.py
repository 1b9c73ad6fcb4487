"""How late or how soon a clock is, in the one wording of `presenters.deadline_words`: `{% load deadline_words %}`.

- `{% clock_words clock [now] %}`: a clock with its derived `status` (the episode and contact pages).

The triage queue's "Time left" is written with its row, in Python (`workflows.list_rows.time_left`).
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from kit.templatetags.ui import govuk_tag
from workflows.presenters import deadline_words

register = template.Library()

# Simple tags building the markup of includes/tag.html in Python (`govuk_tag`), not inclusion tags: they
# sit in table rows (the episode page's clocks), and a template rendered per row is what made the triage
# queue's template slow (ADR 49).


@register.simple_tag
def clock_words(clock, now=None):
    """A clock's words; `now` defaults to the moment of drawing (the status was derived a moment before)."""
    now = now or timezone.now()
    words = deadline_words(clock.status, expected_at=clock.expected_at, due_at=clock.due_at, now=now)
    return govuk_tag(words["text"], words["colour"])
