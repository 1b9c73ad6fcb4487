"""`{% amended_line "note" n %}`: under a shown record, "amended on … by …" with a link to what changed,
and a link to amend it for whoever may. The episode's amendments are read once per page (ADR 37)."""

from __future__ import annotations

from django import template

from workflows import amend_selectors, amend_services

register = template.Library()


@register.inclusion_tag("episodes/includes/amended.html", takes_context=True)
def amended_line(context, kind: str, record):
    episode = context.get("episode")
    if record is None or episode is None or kind not in amend_services.AMENDABLE:
        return {}
    cache = context.render_context
    key = ("amendment_marks", episode.pk)
    if key not in cache:
        cache[key] = amend_selectors.amendment_marks(episode)
    if getattr(record, "episode_id", None) == episode.pk:
        record.episode = episode  # the permission reads the episode's team: no query per record
    user = context.get("user") or getattr(context.get("request"), "user", None)
    can_amend = bool(
        user is not None
        and user.has_perm("cases.amend_record", record)
        and not amend_services.why_not_amend(kind, record)
    )
    return {
        "mark": cache[key].get((kind, record.pk)),
        "can_amend": can_amend,
        "kind": kind,
        "record": record,
        "episode_pk": episode.pk,
        "name": amend_services.AMENDABLE[kind].name,
    }
