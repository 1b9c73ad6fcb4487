"""`{% letters_written contact=... %}` / `{% letters_written episode=... %}`: the messages written
from a record, with their status, on its page (one query; the page's view is already logged)."""

from django import template

from workflows.correspondence_services import messages_of

register = template.Library()


@register.inclusion_tag("correspondence/includes/messages.html")
def letters_written(contact=None, episode=None):
    return {"letters": list(messages_of(contact=contact, episode=episode)[:50])}
