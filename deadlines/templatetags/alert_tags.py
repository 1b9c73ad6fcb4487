"""`rows|alert_groups`: the alerts page's rows grouped by case, most urgent first (ADR 0028)."""

from django import template

from deadlines.selectors import alert_groups as _alert_groups

register = template.Library()


@register.filter
def alert_groups(rows):
    return _alert_groups(list(rows))
