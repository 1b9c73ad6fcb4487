"""The filters of the boards, the dashboard and the reports, read from the query string.

Each checks who may use it first (a team outside the user's scope is a 404, never another team's
board); a filter value that does not validate is ignored (the page says why). Shared by the pages
(oversight/views.py) and their CSV exports (oversight/exports.py).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import router
from django.http import Http404
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from accounts import roles
from accounts.models import Team, User
from kit.params import int_param
from kit.permissions import require_role
from oversight import selectors
from oversight.forms import DATE_PARTS, BoardFilterForm, PeriodFilterForm


@dataclass
class BoardFilters:
    team: Team
    teams: list[Team]
    members: list[User]
    practitioner_id: int | None
    rule_id: str
    form: BoardFilterForm
    status: str = ""

    @property
    def practitioner(self) -> User | None:
        return next((u for u in self.members if u.pk == self.practitioner_id), None)

    @property
    def rule_options(self) -> SafeString:
        """The rule filter's options, the chosen rule selected (see `rule_options`)."""
        return rule_options(self.rule_id)


# The rule filter's options for the rulebooks in force: (their titles, each option's value and markup).
_rule_options: list[tuple[dict, list[tuple[str, str, str]]]] = []


def rule_options(selected: str) -> SafeString:
    """`<option>` for every rule (`selectors.rule_choices()`), its label escaped and cut to 32 characters
    as `|truncatechars:32` did in the template, `selected` on the chosen one. The escaped, truncated
    labels are made once per set of rulebooks in force (`rule_titles()` is the same object until a
    publication changes them): cutting 40 labels was a tenth of the board's template."""
    titles = selectors.rule_titles()
    if not _rule_options or _rule_options[0][0] is not titles:
        made = [
            (value, f'<option value="{escape(value)}"', f">{escape(Truncator(label).chars(32))}</option>")
            for value, label in selectors.rule_choices()
        ]
        _rule_options[:] = [(titles, made)]
    made = _rule_options[0][1]
    return mark_safe(
        "".join(f"{start} selected{end}" if value == selected else start + end for value, start, end in made)
    )  # noqa: S308 - escaped above


def board_filters(request) -> BoardFilters:
    """The team and filters of a board request. A team outside the user's scope is a 404."""
    user = request.user
    require_role(user, roles.TEAM_LEADER, roles.MANAGER)
    teams = list(selectors.teams_for_board(user))
    if not teams:
        raise PermissionDenied
    team = teams[0] if user.team_id is None else next((t for t in teams if t.pk == user.team_id), teams[0])
    if request.GET.get("team"):
        # A team that is not a number, or not one of the user's, is a 404: never another team's board.
        team_id = int_param(request.GET, "team")
        team = next((t for t in teams if t.pk == team_id), None)
        if team is None:
            raise Http404
    members = list(User.objects.filter(team=team, is_active=True).order_by("first_name", "last_name", "username"))
    form = BoardFilterForm(
        request.GET or None,
        teams=teams,
        practitioners=members,
        rules=selectors.rule_choices(),
        statuses=selectors.BUCKETS,
    )
    data = form.valid_or_empty() if form.is_bound else {}
    return BoardFilters(
        team=team,
        teams=teams,
        members=members,
        practitioner_id=data.get("practitioner"),
        rule_id=data.get("rule") or "",
        form=form,
        status=data.get("status") or "",
    )


@dataclass
class PeriodFilters:
    period: selectors.Period
    team_id: int | None
    rule_id: str
    acknowledged: str
    teams: list[Team]
    form: PeriodFilterForm
    # What the From and To date inputs show: what was typed, else the period's dates.
    date_inputs: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def markup(self, *, with_rule: bool = False, with_acknowledged: bool = False) -> SafeString:
        """The filter form of oversight/includes/period_filter.html, byte for byte, written here (the
        dashboard's pages, ADR 80): the include cost a dashboard request more than its queries."""
        return period_filter_markup(self, with_rule=with_rule, with_acknowledged=with_acknowledged)


def period_filters(request, *, roles_allowed=(roles.MANAGER,)) -> PeriodFilters:
    user = request.user
    require_role(user, *roles_allowed)
    if user.has_role(roles.MANAGER):
        if not selectors.service_id_of(user):
            raise PermissionDenied
        teams = _service_teams(selectors.service_id_of(user))
    else:
        teams = list(Team.objects.filter(pk=user.team_id))
        if not teams:
            raise PermissionDenied
    form = PeriodFilterForm(
        request.GET or None, teams=teams, rules=selectors.rule_choices(), today=timezone.localdate()
    )
    data = form.valid_or_empty() if form.is_bound else {}
    period = form.period() if form.is_bound else selectors.default_period(timezone.localdate())
    return PeriodFilters(
        period=period,
        team_id=data.get("team"),
        rule_id=data.get("rule") or "",
        acknowledged=data.get("acknowledged") or "no",
        teams=teams,
        form=form,
        date_inputs=[
            ("start", "From", _date_input(request.GET, "start", period.start)),
            ("end", "To", _date_input(request.GET, "end", period.end)),
        ],
    )


def _service_teams(service_id: int) -> list[Team]:
    """`list(Team.objects.filter(service_id=service_id).order_by("name"))`, its SQL compiled once (the
    service as a one-id array, as `oversight.selectors` passes ids) and run with the service's id."""
    from kit.compiled_sql import compiled_instances

    def build(service_ids):
        return Team.objects.filter(selectors.int_in("service_id", service_ids)).order_by("name")

    stand_ins = (([-1_710_590_001],), ([-1_710_590_002],))
    return compiled_instances(
        ("service teams by name",), build, stand_ins, ([service_id],), using=router.db_for_read(Team)
    )


def _date_input(query, name: str, shown) -> dict[str, str]:
    typed = {part: query.get(f"{name}-{part}", "") for part in DATE_PARTS}
    if any(typed.values()):
        return typed
    return {"day": str(shown.day), "month": str(shown.month), "year": str(shown.year)}


# oversight/includes/period_filter.html's text, in the pieces its tags leave (ADR 80).
_DATE_PART = (
    '          <div class="govuk-date-input__item"><div class="govuk-form-group"><label class="govuk-label '
    'govuk-date-input__label" for="{name}-{part}">{label}</label><input class="govuk-input govuk-date-input__input '
    'govuk-input--width-{width}" id="{name}-{part}" name="{name}-{part}" type="text" inputmode="numeric" '
    'value="{value}"></div></div>\n'
)
_DATE_PART_LABELS = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))
_DATE_INPUT_START = (
    '\n    <div class="govuk-form-group">\n      <fieldset class="govuk-fieldset" role="group">\n'
    '        <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{legend}</legend>\n'
    '        <div class="govuk-date-input" id="{name}">\n'
)
_DATE_INPUT_END = "        </div>\n      </fieldset>\n    </div>\n    "
_SELECT = (
    '\n    <div class="govuk-form-group">\n      <label class="govuk-label" for="{name}">{label}</label>\n'
    '      <select class="govuk-select" id="{name}" name="{name}">{options}</select>\n    </div>\n    '
)
_FORM_END = (
    '\n    <div class="govuk-form-group"><button type="submit" class="govuk-button govuk-button--secondary '
    'govuk-!-margin-bottom-0" data-module="govuk-button">Show</button></div>\n  </div>\n</form>\n'
)


def _option(value, label, selected: bool) -> str:
    # Django's `escape` is `html.escape(str(value))` behind a lazy-string wrapper: a team's option costs
    # a few microseconds less without it, and the filter lists every team of the service (ADR 85).
    chosen = " selected" if selected else ""
    return f'<option value="{html.escape(str(value))}"{chosen}>{html.escape(str(label))}</option>'


def period_filter_markup(f: PeriodFilters, *, with_rule: bool = False, with_acknowledged: bool = False) -> SafeString:
    """oversight/includes/period_filter.html rendered for `f` (with its `with_rule` and
    `with_acknowledged`), written with f-strings: every value escaped as the template escapes it, the
    rule options those of `rule_options` (labels cut once per set of rulebooks in force)."""
    out = ['<form method="get" novalidate>\n  <div class="eh-filter-row">\n    ']
    for name, legend, typed in f.date_inputs:
        name = escape(name)
        out.append(_DATE_INPUT_START.format(legend=escape(legend), name=name))
        for part, label, width in _DATE_PART_LABELS:
            value = escape(typed.get(part, ""))
            out.append(_DATE_PART.format(name=name, part=part, label=label, width=width, value=value))
        out.append(_DATE_INPUT_END)
    out.append("\n    ")
    if len(f.teams) > 1:
        teams = "".join(_option(t.pk, t.name, t.pk == f.team_id) for t in f.teams)
        out.append(_SELECT.format(name="team", label="Team", options='<option value="">All teams</option>' + teams))
    out.append("\n    ")
    if with_rule:
        options = '<option value="">All rules</option>' + rule_options(f.rule_id)
        out.append(_SELECT.format(name="rule", label="Rule", options=options))
    out.append("\n    ")
    if with_acknowledged:
        choices = f.form.fields["acknowledged"].choices
        options = "".join(_option(value, label, value == f.acknowledged) for value, label in choices)
        out.append(_SELECT.format(name="acknowledged", label="Breaches", options=options))
    out.append(_FORM_END)
    return mark_safe("".join(out))  # noqa: S308 - every value escaped above
