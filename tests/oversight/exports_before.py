"""The two large CSV tables as they were built before session 5 (ADR 51): the reference for
`test_exports_equivalence.py`. Model instances with their relations joined and the acknowledgements
prefetched, a row at a time. A frozen copy: do not "improve" it."""

from __future__ import annotations

from oversight import selectors
from oversight.exports import Table
from oversight.filters import board_filters, period_filters


def _family_ids(qs, field: str = "family_id"):
    return qs.order_by().exclude(**{f"{field}__isnull": True}).values_list(field, flat=True).distinct()


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _subject(d) -> str:
    if d.episode_id:
        return f"E{d.episode_id:07d}"
    if d.contact_id:
        return f"C{d.contact_id:07d}"
    return _name(d.worker)


def board_deadlines(request, now) -> Table:
    f = board_filters(request)
    user, team = request.user, f.team
    qs = selectors.board_deadlines(
        user, team=team, now=now, practitioner_id=f.practitioner_id, rule_id=f.rule_id, status=f.status
    )
    rows = (
        (
            selectors.BUCKET_LABELS[d.bucket],
            d.rule_id,
            d.title,
            _subject(d),
            d.family.name if d.family_id else "",
            _name(d.assignee) or "Not allocated (team)",
            d.started_at,
            d.expected_at,
            d.due_at,
        )
        for d in qs.iterator(chunk_size=2000)
    )
    header = ("Status", "Rule", "Timescale", "Case", "Family", "Practitioner", "Started", "Expected by", "Due by")
    return Table(header, rows, f"team board timescales, {team}", _family_ids(qs), counted=qs)


def dashboard_breaches(request, now) -> Table:
    f = period_filters(request)
    qs = selectors.service_breaches(
        request.user, now=now, team_id=f.team_id, rule_id=f.rule_id, acknowledged=f.acknowledged, period=f.period
    )

    def rows():
        for d in qs.iterator(chunk_size=1000):
            ack = next(iter(d.acknowledgements.all()), None)
            yield (
                d.rule_id,
                d.title,
                _subject(d),
                d.family.name if d.family_id else "",
                d.team.name if d.team_id else "",
                _name(d.assignee),
                d.started_at,
                d.due_at,
                ack.at if ack else None,
                _name(ack.by) if ack else "",
                ack.comment if ack else "",
            )

    header = (
        "Rule",
        "Timescale",
        "Case",
        "Family",
        "Team",
        "Practitioner",
        "Started",
        "Due by (maximum)",
        "Acknowledged",
        "Acknowledged by",
        "Comment",
    )
    return Table(header, rows(), "breaches across the service", _family_ids(qs), counted=qs)
