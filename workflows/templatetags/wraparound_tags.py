"""The episode page's "Confirm the wraparound worker" button (workflows/wraparound_views.py)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def wraparound_to_confirm(context) -> bool:
    """Whether this user should see the button: the episode continues as wraparound after a step-up
    whose wraparound worker is not confirmed yet, and they may allocate its cases.

    Read from the step-ups the episode page already has (no query of its own).
    """
    episode, request = context.get("episode"), context.get("request")
    if episode is None or request is None or episode.state != episode.State.WRAPAROUND:
        return False
    waiting = any(s.awaits_wraparound_worker for s in context.get("step_ups") or ())
    return waiting and request.user.has_perm("cases.allocate_episode", episode)
