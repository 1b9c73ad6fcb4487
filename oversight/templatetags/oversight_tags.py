"""Small display helpers for the oversight pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import mark_safe

from kit.markup import format_html

register = template.Library()


@register.simple_tag
def case_link(episode) -> str:
    """A case in a table row: the family's name linked to the episode, its reference below. The markup
    of includes/case_link.html, built here: a template rendered per row is what made long tables slow
    (ADR 49)."""
    return format_html(
        '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-body-s">{}</span>',
        reverse("episodes:episode_detail", args=[episode.pk]),
        episode.family.name,
        episode.reference,
    )


@register.filter
def duration_text(value) -> str:
    """A time taken, readably: "3 days 4 hours", "5 hours 10 minutes", "40 minutes"; "–" for none."""
    if not isinstance(value, timedelta):
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    return unit(minutes, "minute")


def _local(value):
    from django.utils import timezone

    if isinstance(value, datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    return value


@register.filter
def day_text(value, today=None) -> str:
    """A date as GOV.UK writes it: "20 December", with the year when it is not this year
    ("20 December 2021"). `today` is a date or datetime (the page's `now`); "–" for none."""
    from django.utils import timezone

    value = _local(value)
    if not isinstance(value, date):
        return "–"
    this_year = (_local(today) if today else timezone.localdate()).year
    text = f"{value.day} {value:%B}"
    return text if value.year == this_year else f"{text} {value.year}"


@register.filter
def when_text(value, today=None) -> str:
    """A moment as "20 December 2021, 23:59" (no year when it is this year); "–" for none."""
    value = _local(value)
    if not isinstance(value, datetime):
        return day_text(value, today)
    return f"{day_text(value, today)}, {value:%H:%M}"


@register.filter
def prepared_in_background(table: str) -> bool:
    """Whether this table's CSV is prepared by a worker (oversight.exports.BACKGROUND)."""
    from oversight.exports import BACKGROUND

    return table in BACKGROUND


def _field(row, key):
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


NUMERIC = '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'


@register.simple_tag
def timeliness_cells(row) -> str:
    """A row's four timeliness cells (run; met the expected time; met the maximum; still open): the
    markup of includes/timeliness_cells.html, built here rather than a template per row (ADR 49, 56)."""
    if not row:
        return mark_safe(  # noqa: S308 (constant markup)
            NUMERIC.format("0") + NUMERIC.format("–") + NUMERIC.format("–") + NUMERIC.format("0")
        )

    def judged(limit: str) -> str:
        if not _field(row, f"judged_{limit}"):
            return format_html(NUMERIC, "–")
        return format_html(
            '<td class="govuk-table__cell govuk-table__cell--numeric">{} of {}<br><strong>{}%</strong></td>',
            localize(_field(row, f"met_{limit}")),
            localize(_field(row, f"judged_{limit}")),
            localize(_field(row, f"pct_{limit}")),
        )

    return format_html(
        "{}\n{}\n{}\n{}",
        format_html(NUMERIC, localize(_field(row, "run"))),
        judged("expected"),
        judged("maximum"),
        format_html(NUMERIC, localize(_field(row, "open"))),
    )
