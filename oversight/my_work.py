"""My work and the supervision list as the pages show them: each line's display values written once,
in Python (ADR 58).

The lines are read as values (no model instance); here each gets its links (URL patterns reversed once
per page, `kit.links`), its dates, its due time with its tag and its words, so the templates print them
inline with no tag, include or URL reversal per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from django.db.models import QuerySet
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.timezone import template_localtime

from accounts.models import User
from cases.models import Episode, PlannedVisit
from deadlines.models import Alert, Deadline
from kit.dates import long_date
from kit.links import href_for
from kit.markup import format_html
from kit.templatetags.fast_date import date as date_filter
from kit.templatetags.ui import status_tag
from oversight.selectors import WorkItem, full_name
from workflows.row_markup import deadline_link_html, due_html, text

OVERDUE = SafeString(' <strong class="govuk-tag govuk-tag--orange">Overdue</strong>')
WHY = SafeString('<span class="govuk-visually-hidden">, why is this due?</span>')
WEEKLY_CONTACT_DUE = SafeString(' <strong class="govuk-tag govuk-tag--red">Weekly contact due</strong>')


@dataclass(slots=True)
class WorkLine:
    kind: str  # "case" or "task"
    family_id: int | None
    family_name: str
    reference: str
    case_href: str  # "" for a task about no one case
    what: str  # a case: its next clock (markup) or the words for none; a task: its text
    due: str  # markup
    set_by: str = ""
    held_on: str = ""
    short_text: str = ""  # a task's first words, for the button's hidden label
    done_href: str = ""


def work_lines(items: list[WorkItem], *, now: datetime) -> list[WorkLine]:
    episode_href, clock_href = href_for("episodes:episode_detail"), href_for("deadlines:clock_explain")
    done_href = href_for("oversight:task_done")
    lines = []
    for item in items:
        case_href = episode_href(item.episode_pk) if item.episode_pk else ""
        if item.kind == "case":
            lines.append(
                WorkLine(
                    kind="case",
                    family_id=item.family_id,
                    family_name=item.family_name,
                    reference=item.reference,
                    case_href=case_href,
                    what=(
                        SafeString(deadline_link_html(clock_href(item.deadline_pk), item.rule, item.title))
                        if item.rule
                        else "No timescale running"
                    ),
                    due=SafeString(due_html(item.due, item.maximum, now)),
                )
            )
        else:
            lines.append(
                WorkLine(
                    kind="task",
                    family_id=item.family_id,
                    family_name=item.family_name,
                    reference=item.reference,
                    case_href=case_href,
                    what=item.text,
                    due=SafeString(escape(long_date(item.due_on)) + (OVERDUE if item.due < now else "")),
                    set_by=item.set_by,
                    held_on=long_date(item.held_on),
                    short_text=Truncator(item.text).words(8, truncate=" …"),
                    done_href=done_href(item.task_pk),
                )
            )
    return lines


# My work's table rows, written once here as the template's loop wrote them (the same HTML): fifty lines
# of a dozen variables each were most of the template's time (ADR 81). Each row is one `str.format`, each
# value escaped by `workflows.row_markup.text` as `{{ }}` escaped it (ADR 83: `format_html` per cell cost
# more than the rows' read).
_CASE_LINK = '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-body-s">{}</span>'
_CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
_CASE_CELL = (
    '\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell">{}</td>\n    '
    '\n      <td class="govuk-table__cell">{}</td>\n      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell"></td>\n    \n    </tr>\n  '
)
_TASK_CELL = (
    '\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell">{}</td>\n    '
    '\n      <td class="govuk-table__cell">Supervision task: {}<br>'
    '<span class="govuk-body-s">Set by {} on {}</span></td>\n'
    '      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell"><form method="post" action="{}" class="eh-inline-form">{}'
    '<button type="submit" class="govuk-button govuk-button--secondary eh-button--small" data-module="govuk-button">'
    'Mark done<span class="govuk-visually-hidden">: {}</span></button></form></td>\n    \n    </tr>\n  '
)
_NO_WORK = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">'
    "You have no open cases or tasks.</td></tr>\n  "
)
_NOT_ONE_CASE = "Not about one case"


def work_rows_markup(lines: list[WorkLine], *, csrf_token: Callable[[], str]) -> SafeString:
    """My work's table rows (the `<tr>`s of its body), or the row saying there is nothing; `csrf_token()`
    gives the form token a task's "Mark done" posts (`django.middleware.csrf.get_token`)."""
    if not lines:
        return _NO_WORK
    token = None
    out = []
    for line in lines:
        case = (
            _CASE_LINK.format(text(line.case_href), text(line.family_name), text(line.reference))
            if line.case_href
            else _NOT_ONE_CASE
        )
        if line.kind == "case":
            out.append(_CASE_CELL.format(case, text(line.what), text(line.due)))
        else:
            if token is None:
                token = _CSRF_INPUT.format(text(csrf_token()))
            out.append(
                _TASK_CELL.format(
                    case,
                    text(line.what),
                    text(line.set_by),
                    text(line.held_on),
                    text(line.due),
                    text(line.done_href),
                    token,
                    text(line.short_text),
                )
            )
    return SafeString("".join(out))


@dataclass(slots=True)
class WaitingLine:
    """A family on the pre-allocation list, as a duty worker's My work shows it."""

    pk: int
    family_id: int
    family_name: str
    case_href: str
    opened_on: str
    last_duty_contact_at: datetime | None
    last_duty_contact_text: str | None
    weekly_contact_due: bool
    last_contact: str  # markup: its date (or "None yet") and the tag when the weekly contact is due

    @property
    def reference(self) -> str:
        return Episode.reference_of(self.pk)


def waiting_lines(episodes: QuerySet[Episode], *, limit: int) -> list[WaitingLine]:
    """The first `limit` of `selectors.board_pre_allocation`'s episodes as lines, from one query of values."""
    episode_href = href_for("episodes:episode_detail")
    values = episodes.values_list(
        "pk",
        "family_id",
        "family__name",
        "opened_at",
        "last_duty_contact_at",
        "last_duty_contact_text",
        "weekly_contact_due",
    )[:limit]
    return [
        WaitingLine(
            pk=pk,
            family_id=family_id,
            family_name=family_name,
            case_href=episode_href(pk),
            opened_on=long_date(opened_at),
            last_duty_contact_at=last_at,
            last_duty_contact_text=last_text,
            weekly_contact_due=due,
            last_contact=SafeString(
                escape(long_date(last_at) if last_at else "None yet") + (WEEKLY_CONTACT_DUE if due else "")
            ),
        )
        for pk, family_id, family_name, opened_at, last_at, last_text, due in values
    ]


@dataclass(slots=True)
class SupervisedLine:
    """A practitioner on the supervision list: when last supervised, and their supervision clock."""

    pk: int
    name: str
    team: str
    last_supervised: str
    next_due: str  # markup: the clock's due date linked to why it is due, with its status; – if none
    record_href: str


def supervised_lines(practitioners: QuerySet[User], *, now: datetime) -> list[SupervisedLine]:
    """`selectors.caseloads` (practitioners with `last_supervised_on`) as lines, with each one's open
    worker clock: two queries of values. When a practitioner has more than one open clock, the line
    shows the one due last (as the list always has)."""
    people = list(
        practitioners.values_list("pk", "first_name", "last_name", "username", "team__name", "last_supervised_on")
    )
    clocks = (
        Deadline.objects.open()
        .filter(worker_id__in=[p[0] for p in people])
        .with_status(now)
        .order_by("due_at")
        .values_list("worker_id", "pk", "due_at", "status")
    )
    due = {worker_id: (pk, due_at, status) for worker_id, pk, due_at, status in clocks}
    clock_href, record_href = href_for("deadlines:clock_explain"), href_for("oversight:supervision_new")
    lines = []
    for pk, first, last, username, team, last_supervised in people:
        clock = due.get(pk)
        next_due = "–"
        if clock:
            next_due = format_html(
                '<a class="govuk-link" href="{}">{}{}</a> {}',
                clock_href(clock[0]),
                long_date(clock[1]) if clock[1] else "",
                WHY,
                status_tag(clock[2]),
            )
        lines.append(
            SupervisedLine(
                pk=pk,
                name=full_name(first, last, username),
                team=team or "",
                last_supervised=long_date(last_supervised) if last_supervised else "Not recorded",
                next_due=next_due,
                record_href=record_href(pk),
            )
        )
    return lines


_SUPERVISED_ROW = (
    '\n    <tr class="govuk-table__row">\n      <th scope="row" class="govuk-table__header">{0}</th>\n'
    '      <td class="govuk-table__cell">{1}</td>\n      <td class="govuk-table__cell">{2}</td>\n'
    '      <td class="govuk-table__cell">{3}</td>\n      <td class="govuk-table__cell"><a class="govuk-link" '
    'href="{4}">Record supervision<span class="govuk-visually-hidden"> of {0}</span></a></td>\n    </tr>\n  '
).format
_NO_SUPERVISEES = (
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">You supervise no practitioners.'
    "</td></tr>\n  "
)


def supervised_rows_markup(lines: list[SupervisedLine]) -> SafeString:
    """The supervision list's table rows, the same characters as its template's loop wrote (each value escaped
    as `{{ }}` escaped it): a manager's list is every practitioner of the service (about 400 at 200,000
    families), and the loop's five lookups and filters a row were most of the page's time."""
    if not lines:
        return SafeString(_NO_SUPERVISEES)
    return SafeString(
        "".join(
            _SUPERVISED_ROW(text(p.name), text(p.team), text(p.last_supervised), text(p.next_due), text(p.record_href))
            for p in lines
        )
    )


# My work's planned visits and alerts, written as the template's loops wrote them (ADR 83).
_DATE_TIME = "j F Y, H:i"
_VISIT_ROW = (
    '\n    <tr class="govuk-table__row">\n      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n      <td class="govuk-table__cell">{}</td>\n'
    '      <td class="govuk-table__cell">{}</td>\n    </tr>\n  '
)
_NO_VISITS = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="4">'
    "You have no planned visits to record.</td></tr>\n  "
)
_TO_RECORD = ' <strong class="govuk-tag govuk-tag--orange">To record</strong>'
_RECORD_LINK = (
    '<a class="govuk-link" href="{}?planned={}">Record this visit<span class="govuk-visually-hidden"> of {}</span></a>'
)


def _when(value: datetime) -> str:
    """`{{ value|date:"j F Y, H:i" }}`: in the current time zone, escaped."""
    return escape(date_filter(template_localtime(value), _DATE_TIME))


def visit_rows_markup(visits: list[PlannedVisit], *, now: datetime) -> SafeString:
    """My planned visits' table rows (`selectors.my_planned_visits`, their episodes and families loaded)."""
    if not visits:
        return _NO_VISITS
    episode_href, note_href = href_for("episodes:episode_detail"), href_for("episodes:note_new")
    out = []
    for visit in visits:
        episode = visit.episode
        when = _when(visit.planned_at)
        due = visit.planned_at <= now
        seeing = f": {text(visit.seeing)}" if visit.seeing else ""
        out.append(
            _VISIT_ROW.format(
                _CASE_LINK.format(text(episode_href(episode.pk)), text(episode.family.name), text(episode.reference)),
                text(visit.get_kind_display()) + seeing,
                when + (_TO_RECORD if due else ""),
                _RECORD_LINK.format(text(note_href(visit.episode_id)), text(visit.pk), when) if due else "",
            )
        )
    return SafeString("".join(out))


_ALERT_END = ' <span class="govuk-body-s">({})</span></li>'


def alert_items_markup(alerts: list[Alert]) -> SafeString:
    """My alerts' list items (`selectors.my_alerts`, their clocks loaded)."""
    if not alerts:
        return SafeString("")
    message_href, contact_href = href_for("episodes:message_detail"), href_for("cases:contact_detail")
    clock_href = href_for("deadlines:clock_explain")
    out = []
    for alert in alerts:
        if alert.level == Alert.Level.MESSAGE_FAILED:
            item = (
                '<li><strong class="govuk-tag govuk-tag--red">Not delivered</strong> <a class="govuk-link" '
                f'href="{text(message_href(alert.message_id))}">'
                "A letter or e-mail you sent could not be delivered</a>"
            )
        elif alert.level == Alert.Level.NEW_CONTACT:
            item = (
                '<li><strong class="govuk-tag govuk-tag--blue">New contact</strong> <a class="govuk-link" '
                f'href="{text(contact_href(alert.contact_id))}">'
                "A new contact arrived on your family</a>"
            )
        else:
            if alert.level in (Alert.Level.BREACHED, Alert.Level.ESCALATED):
                tag = f'<strong class="govuk-tag govuk-tag--red">{text(alert.get_level_display())}</strong>'
            else:
                tag = '<strong class="govuk-tag govuk-tag--orange">Overdue</strong>'
            item = (
                f'<li>{tag} <a class="govuk-link" href="{text(clock_href(alert.deadline_id))}">'
                f"{text(alert.deadline.rule_id)}: {text(alert.deadline.title)}</a>"
            )
        out.append(item + _ALERT_END.format(_when(alert.created_at)))
    return SafeString("".join(out))


_WAITING_ROW = (
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell">{}</td><td class="govuk-table__cell">{}</td>'
    '<td class="govuk-table__cell">{}</td></tr>\n  '
)
_NONE_WAITING = SafeString(
    '\n    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="3">'
    "No families are waiting.</td></tr>\n  "
)


def waiting_rows_markup(lines: list[WaitingLine]) -> SafeString:
    """A duty worker's "Families waiting for allocation" table rows, as the template's loop wrote them."""
    if not lines:
        return _NONE_WAITING
    return SafeString(
        "".join(
            _WAITING_ROW.format(
                _CASE_LINK.format(text(line.case_href), text(line.family_name), text(line.reference)),
                text(line.opened_on),
                text(line.last_contact),
            )
            for line in lines
        )
    )
