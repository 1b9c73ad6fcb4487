"""Boards, dashboard, reports and oversight records. Thin: selectors read, services write.

Every page checks who may see it first; lists of families come from the scoped selectors, so a
record outside the user's scope is never shown; a bad filter value is reported and ignored.
"""

from __future__ import annotations

import functools
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from accounts import roles
from accounts.models import Team, User
from cases.access import families_in, log_access, log_shown, render_logged
from cases.models import AccessLog, Episode
from cases.selectors import TEAM_ROLES, episode_records, episodes_visible_to
from kit.markup import format_html
from kit.permissions import require_role
from kit.querystring import querystring
from oversight import board_rows, selectors, services
from oversight.board_filter import board_filter
from oversight.board_reads import board_totals, team_practitioners
from oversight.breach_rows import breach_cells
from oversight.charts import bar_chart, chart_markup, hbar_chart
from oversight.dashboard_rows import caseload_rows, team_rows
from oversight.filters import period_filters
from oversight.forms import (
    BreachAcknowledgeForm,
    ManagersDecisionForm,
    SupervisionActionForm,
    SupervisionForm,
)
from oversight.models import ManagersDecision, Supervision, SupervisionAction
from oversight.my_work import (
    alert_items_markup,
    supervised_lines,
    supervised_rows_markup,
    visit_rows_markup,
    waiting_lines,
    waiting_rows_markup,
    work_lines,
    work_rows_markup,
)
from oversight.templatetags.oversight_tags import day_text

ACTION_ROWS = 3


def _url_or_blank(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _filter_errors(request, form) -> None:
    """A filter that did not validate is ignored, and the user is told why."""
    if form.is_bound and not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)


# --- Team board ----------------------------------------------------------------------------------


def _board_filter_errors(request, f) -> None:
    """A board filter value that is not one of its choices is ignored, and the user is told why."""
    for error in f.errors:
        messages.error(request, error)


# How many rows the summary pages show of their most urgent list, and how many a list page holds.
URGENT_ROWS = 5
PAGE_ROWS = 20
# The board's "by rule" table: the rules with the most breaches; the others are in the Rule filter.
RULE_ROWS = 10
DASHBOARD_RULE_ROWS = 6


def _page(request, rows):
    return Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))


def _people_rows(f, summary: dict, practitioners: list[User]) -> list[dict]:
    """One row per person: the team's practitioners with their caseload, and anyone else holding clocks
    (a duty worker, the team itself). The person filtered on always has a row, even with nothing due."""
    counts = {r["assignee_id"]: r for r in summary["by_practitioner"]}
    zero = dict.fromkeys([*selectors.BUCKET_LABELS, "total"], 0)
    rows = []
    for p in practitioners:
        rows.append({"person": p, "name": p.get_full_name() or p.username, **zero, **counts.pop(p.pk, {})})
    chosen = f.practitioner
    if chosen is not None and not rows and chosen.pk not in counts:
        rows.append(
            {"person": None, "assignee_id": chosen.pk, "name": chosen.get_full_name() or chosen.username, **zero}
        )
    for r in counts.values():
        rows.append({"person": None, **r})
    return rows


@login_required
def team_board(request):
    """The team's work on one screen: counts by status, the most urgent timescales, then counts by
    practitioner, by rule and of each of the board's lists, each linking to its filtered list."""
    now = timezone.now()
    f = board_filter(request)
    _board_filter_errors(request, f)
    user, team = request.user, f.team
    filters = {"practitioner_id": f.practitioner_id, "rule_id": f.rule_id}
    # Counts from the summary rows (deadlines.counts): the same few hundred rows at any size.
    counts_ = selectors.board_counts(team=team, now=now, status=f.status, members=f.members, **filters)
    summary = {"by_practitioner": counts_["by_practitioner"], "totals": counts_["totals"]}
    # The team's practitioners read with SQL compiled once (ADR 74), narrow (ADR 84); the one chosen kept here.
    practitioners = [p for p in team_practitioners(team.pk) if not f.practitioner_id or p.pk == f.practitioner_id]
    for p in practitioners:
        p.band = selectors.caseload_band(p.caseload, p.capacity)
    counts = selectors.board_episode_counts(user, team=team, now=now, practitioner_id=f.practitioner_id)
    deadlines = selectors.board_timescales(
        user, team=team, now=now, totals=counts_["totals"], status=f.status, **filters
    )[:URGENT_ROWS]
    people = _people_rows(f, summary, practitioners)
    is_manager = user.has_role(roles.MANAGER)
    context = {
        "now": now,
        "team": team,
        "teams": f.teams,
        "members": f.members,
        "filters": f,
        "rules": selectors.rule_choices(),
        "buckets": selectors.BUCKETS,
        "querystring": querystring(request.GET),
        "list_query": querystring(request.GET, drop=("page", "list", "status")),
        # The rows' objects stay in the context (the access log finds the families shown in them);
        # the page prints their rows written once in Python (oversight.board_rows, ADR 79).
        "deadlines": deadlines,
        "deadline_rows": board_rows.timescale_rows_markup(deadlines, now),
        "member_options": board_rows.member_options(f.members, f.practitioner_id),
        "summary": summary,
        "bucket_labels": selectors.BUCKET_LABELS,
        "bucket_counts": [(k, label, summary["totals"][k]) for k, label in selectors.BUCKETS],
        "people": people,
        "people_rows": board_rows.people_rows_markup(people, now=now, team_pk=team.pk, is_manager=is_manager),
        "by_rule": counts_["by_rule"],
        "rule_rows_markup": board_rows.rule_rows_markup(
            counts_["by_rule"][:RULE_ROWS],
            team_pk=team.pk,
            is_manager=is_manager,
            practitioner_id=f.practitioner_id,
            status=f.status,
        ),
        "rule_rows": RULE_ROWS,
        "rule_rows_negative": -RULE_ROWS,
        "practitioners": practitioners,
        "counts": counts,
        "list_counts": selectors.board_list_counts(
            user, team=team, now=now, practitioner_id=f.practitioner_id, episode_counts=counts
        ),
        "month_bands": [(n, label, counts[f"band_{n}"]) for n, label in selectors.MONTH_BANDS],
        "is_manager": is_manager,
    }
    # Its only rows of families are the most urgent timescales (the rest are staff and figures).
    return _render_shown(request, "oversight/team_board.html", context, (deadlines,), what=f"team board: {team}")


def _board_list_rows(user, key: str, *, team, now, f):
    """The rows of one of the board's lists, in its order, or None for a list that does not exist."""
    who = {"practitioner_id": f.practitioner_id}
    if key == "timescales":
        # Counted from the summary rows, each page read along the indexes (constant cost, ADR 0050).
        filters = {"rule_id": f.rule_id, "status": f.status, **who}
        totals = board_totals(team=team, now=now, **filters)  # by bucket only (ADR 84)
        return selectors.board_timescales(user, team=team, now=now, totals=totals, **filters)
    if key in ("long-open", "no-oversight", "high-risk"):
        # Counted by the board's own figures (an index-only scan), each page's ids read along the index
        # holding the list's order, then scope checked on those rows only (ADR 56, 62).
        counts = selectors.board_episode_counts(user, team=team, now=now, **who)
        return selectors.board_case_rows(user, key, team=team, now=now, counts=counts, **who)
    if key == "unrecorded-visits":
        return selectors.board_unrecorded_visits(user, team=team, now=now, **who)
    if key == "deactivated":
        return selectors.board_deactivated(user, team=team)
    if key == "partner-led":
        return selectors.board_partner_led(user, team=team, **who)
    if key == "escalations":
        return selectors.open_escalations(user, team_ids=[team.pk], **who)
    return None


BOARD_LISTS = {
    "timescales": "Timescales needing attention",
    "long-open": "Cases open 3 months or more",
    "no-oversight": "Cases without management oversight this month",
    "high-risk": "Highest-risk cases",
    "unrecorded-visits": "Planned visits not yet recorded",
    "deactivated": "Cases held by deactivated staff",
    "partner-led": "Single-agency support led by partner agencies",
    "escalations": "Open escalations",
}


@login_required
def team_board_list(request):
    """One of the team board's lists in full, filtered like the board, 20 to a page, most urgent first."""
    now = timezone.now()
    f = board_filter(request)
    key = request.GET.get("list", "timescales")
    if key not in BOARD_LISTS:
        raise Http404
    _board_filter_errors(request, f)
    user, team = request.user, f.team
    page = _page(request, _board_list_rows(user, key, team=team, now=now, f=f))
    if key == "high-risk":
        for e in page.object_list:
            e.risk_names = selectors.risk_names(e)
    status_label = selectors.BUCKET_LABELS.get(f.status, "")
    context = {
        "now": now,
        "team": team,
        "teams": f.teams,
        "members": f.members,
        "filters": f,
        "rules": selectors.rule_choices(),
        "buckets": selectors.BUCKETS,
        "list_key": key,
        "title": status_label if key == "timescales" and status_label else BOARD_LISTS[key],
        "page": page,
        "page_rows": board_rows.timescale_rows_markup(page.object_list, now) if key == "timescales" else [],
        "member_options": board_rows.member_options(f.members, f.practitioner_id),
        "querystring": querystring(request.GET),
        "board_query": querystring(request.GET, drop=("page", "list")),
        "is_manager": user.has_role(roles.MANAGER),
    }
    return _render_shown(
        request, "oversight/team_board_list.html", context, (page,), what=f"team board list {key}: {team}"
    )


# --- Manager dashboard ---------------------------------------------------------------------------


def _month_label(day: date) -> str:
    return f"{day:%b}\n{day:%Y}"


@functools.lru_cache(maxsize=512)
def _short_title(title: str) -> str:
    """A rule's title cut to 40 characters as `|truncatechars:40` cuts it (a few rules' titles, cut once)."""
    return Truncator(title).chars(40)


def _month_chart(by_month: list[dict]):
    """The dashboard's and month by month's chart of timeliness by month, its markup written in Python
    (`chart_markup`, ADR 80)."""
    return chart_markup(
        bar_chart([(_month_label(m["month"]), m["pct_maximum"]) for m in by_month], maximum=100, unit="%"),
        chart_id="chart-month",
        title="Percent met within the maximum, by month the clock started",
    )


def _dashboard_figures(request, f, *, page_teams: list[Team] | None = None) -> dict:
    """What the dashboard and its drill-down pages share: breaches and timeliness from the summary
    rows (deadlines.counts), never cached. The service's figures come from the service's own rows
    (ADR 68), the same rows whatever the number of teams; with `page_teams` (the by-team page's 20
    teams), the figures of those teams only, from their own rows: their breaches in the period and their
    timeliness; the by-rule, by-month and whenever-breached figures, which that page does not show, empty."""
    now = timezone.now()
    user = request.user
    if page_teams is None:
        scope = {"team_id": f.team_id, "rule_id": f.rule_id, "teams": f.teams, "service_rows": True}
        narrow = {}, {}
    else:
        scope = {"team_id": None, "rule_id": f.rule_id, "teams": page_teams}
        # The by-team page shows its teams' breaches in the period and their timeliness, nothing else:
        # only those are read and summed (ADR 85).
        narrow = {"teams_in_period": True}, {"by_team_only": True}
    breaches = selectors.breach_summaries(user, now=now, period=f.period, **scope, **narrow[0])
    in_period = breaches["period"]
    timeliness = selectors.timeliness_summary(user, period=f.period, now=now, **scope, **narrow[1])
    return {
        "now": now,
        "filters": f,
        "period_filter": f.markup(with_rule=True, with_acknowledged=True),
        "period": f.period,
        "querystring": querystring(request.GET),
        "list_query": querystring(request.GET, drop=("page", "team", "rule")),
        "breach_total": in_period["breached"],
        "unacknowledged_total": in_period["unacknowledged"],
        "breaches_by_team": in_period["by_team"],
        "breaches_by_rule": in_period["by_rule"],
        "by_rule": timeliness["by_rule"],
        "by_team": timeliness["by_team"],
        "by_month": timeliness["by_month"],
        "timeliness_computed_at": timeliness["computed_at"],
        "timeliness_months": selectors.timeliness_months(f.period),
        "dashboard_pages": DASHBOARD_PAGES,
        # Every open breach of the service, whenever it breached: older ones are outside the period.
        "open_breaches": breaches["whenever"]["breached"],
    }


def _render_shown(request, template: str, context: dict, shown: tuple, *, what: str):
    """`render_logged` for a page whose families are all in `shown` (its rows of breaches and
    escalations): the same access-log rows, one view of each family shown, found by `families_in` on
    those rows after rendering instead of on the whole context (filters, charts, figures: hundreds of
    values and no family, about a millisecond a request, ADR 80)."""
    response = render(request, template, context)
    log_shown(request, [(pk, None) for pk in families_in(*shown)], what=what)
    return response


# The dashboard's drill-down pages: (url name, link text).
DASHBOARD_PAGES = (
    ("oversight:dashboard_rules", "By rule"),
    ("oversight:dashboard_teams", "By team"),
    ("oversight:dashboard_months", "Month by month"),
    ("oversight:dashboard_caseloads", "Caseloads"),
)


@login_required
def dashboard(request):
    """The service on one screen: breaches in the period (counts, the newest, the teams and rules with
    most), the timeliness trend, caseloads and contacts as charts; every table of figures is on a
    drill-down page (by rule, by team, month by month), each linked from here."""
    f = period_filters(request)
    _filter_errors(request, f.form)
    user = request.user
    context = _dashboard_figures(request, f)
    now = context["now"]
    team_ids = [t.pk for t in f.teams]
    in_period = {"breached": context["breach_total"], "unacknowledged": context["unacknowledged_total"]}
    breaches = selectors.ServiceBreaches(
        user,
        now=now,
        count=selectors.breach_count(in_period, f.acknowledged),
        teams=f.teams,
        acknowledged=f.acknowledged,
        period=f.period,
        team_id=f.team_id,
        rule_id=f.rule_id,
    )
    by_month = context["by_month"]
    context.update(
        {
            "breaches": breach_cells(breaches[:URGENT_ROWS], now=now, querystring=context["querystring"]),
            "rule_rows": DASHBOARD_RULE_ROWS,
            # The rules with most breaches, each title cut as `truncatechars:40` cut it, once per title.
            "top_rules": [
                {**r, "short_title": _short_title(r["title"])}
                for r in context["breaches_by_rule"][:DASHBOARD_RULE_ROWS]
            ],
            "rule_rows_negative": -DASHBOARD_RULE_ROWS,
            "trend": selectors.trend(by_month),
            "month_chart": _month_chart(by_month),
            **selectors.escalations_first(user, team_ids=team_ids, limit=URGENT_ROWS),
        }
    )
    return _render_shown(
        request,
        "oversight/dashboard.html",
        context,
        (context["breaches"], context["escalations"]),
        what="manager dashboard",
    )


@login_required
def dashboard_rules(request):
    """Every rule: breaches in the period and timeliness of the clocks started in its months, 20 to a page."""
    f = period_filters(request)
    _filter_errors(request, f.form)
    context = _dashboard_figures(request, f)
    breaches = {r["rule_id"]: r for r in context["breaches_by_rule"]}
    timeliness = {r["rule_id"]: r for r in context["by_rule"]}
    order = [rule_id for rule_id, _ in selectors.rule_choices()]
    titles = selectors.rule_titles()
    rows = [
        {
            "rule_id": rule_id,
            "title": titles.get(rule_id, rule_id),
            "breached": breaches.get(rule_id, {}).get("breached", 0),
            "unacknowledged": breaches.get(rule_id, {}).get("unacknowledged", 0),
            "timeliness": timeliness.get(rule_id),
        }
        for rule_id in [*order, *sorted((set(breaches) | set(timeliness)) - set(order))]
        if rule_id in breaches or rule_id in timeliness
    ]
    context["page"] = _page(request, rows)
    context["page_query"] = querystring(request.GET, drop=("page",))
    return render(request, "oversight/dashboard_rules.html", context)


@login_required
def dashboard_teams(request):
    """Every team: breaches in the period, timeliness, and caseloads against capacity, 20 to a page."""
    f = period_filters(request)
    _filter_errors(request, f.form)
    # The page's 20 teams first; then only their rows are read (ADR 68): the same cost at 3 or 300 teams.
    page = _page(request, [t for t in f.teams if not f.team_id or t.pk == f.team_id])
    context = _dashboard_figures(request, f, page_teams=list(page.object_list))
    breaches = {r["team_id"]: r for r in context["breaches_by_team"]}
    timeliness = {r["team_id"]: r for r in context["by_team"]}
    # Each team's caseload against capacity, summed in SQL: one row a team, not one a practitioner.
    caseload = selectors.team_caseloads(list(page.object_list))
    page.object_list = [
        {
            "team": team,
            "breached": breaches.get(team.pk, {}).get("breached", 0),
            "unacknowledged": breaches.get(team.pk, {}).get("unacknowledged", 0),
            "timeliness": timeliness.get(team.pk),
            "caseload": caseload.get(team.pk),
        }
        for team in page.object_list
    ]
    team_rows(page.object_list, rule_id=f.rule_id, list_query=context["list_query"])
    context["page"] = page
    context["page_query"] = querystring(request.GET, drop=("page",))
    return render(request, "oversight/dashboard_teams.html", context)


@login_required
def dashboard_caseloads(request):
    """Every practitioner of the service (or of the team chosen) with their open cases against
    capacity and last supervision, 20 to a page, and how many sit in each band of caseload. The
    dashboard links here instead of reading every practitioner's caseload itself (ADR 56). The bands
    and the number of practitioners are maintained counts (ADR 68); a page reads its 20 rows only."""
    f = period_filters(request)
    _filter_errors(request, f.form)
    team_ids = [f.team_id] if f.team_id else [t.pk for t in f.teams]
    distribution = selectors.caseload_band_counts(service_id=selectors.service_id_of(request.user), team_id=f.team_id)
    page = _page(request, selectors.CaseloadRows(team_ids=team_ids, count=distribution["total"]))
    labels = dict(selectors.CASELOAD_BANDS)
    for p in page.object_list:
        p.band = selectors.caseload_band(p.caseload, p.capacity)
        p.band_label = labels[p.band]
    now = timezone.now()
    caseload_rows(page.object_list, now=now)
    context = {
        "now": now,
        "filters": f,
        "period_filter": f.markup(with_rule=True, with_acknowledged=True),
        "period": f.period,
        "querystring": querystring(request.GET),
        "page_query": querystring(request.GET, drop=("page",)),
        "dashboard_pages": DASHBOARD_PAGES,
        "page": page,
        "distribution": distribution,
        "distribution_chart": chart_markup(
            hbar_chart([(b["label"], b["count"]) for b in distribution["bands"]]),
            chart_id="chart-caseload",
            title="Practitioners by open cases against capacity",
        ),
    }
    return render(request, "oversight/dashboard_caseloads.html", context)


@login_required
def dashboard_months(request):
    """Timeliness month by month with its trend, and contacts received each week, 20 weeks to a page."""
    f = period_filters(request)
    _filter_errors(request, f.form)
    context = _dashboard_figures(request, f)
    by_month = context["by_month"]
    weeks = selectors.contacts_by_week(request.user, period=f.period)
    context.update(
        {
            "trend": selectors.trend(by_month),
            "month_chart": _month_chart(by_month),
            "weeks": weeks,
            "weeks_chart": chart_markup(
                bar_chart([(f"{w['week']:%-d %b}", w["received"]) for w in weeks]),
                chart_id="chart-weeks",
                title="Contacts received each week",
            ),
            "page": _week_rows(_page(request, weeks), now=context["now"]),
            "page_query": querystring(request.GET, drop=("page",)),
            "decision_labels": [label for _, label in selectors.DECISIONS],
        }
    )
    return render(request, "oversight/dashboard_months.html", context)


_NUMBER_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric">{}</td>'


def _week_rows(page, *, now):
    """The page's weeks, each with its row's cells (`cells`) built here rather than by a loop of cells
    in the template (ADR 74): the week, received, each decision, not yet decided."""
    rows = []
    for w in page.object_list:
        numbers = [w["received"], *w["decisions"], w["undecided"]]
        cells = format_html('<th scope="row" class="govuk-table__header">{}</th>', day_text(w["week"], now))
        rows.append({**w, "cells": cells + mark_safe("".join(_NUMBER_CELL.format(int(n)) for n in numbers))})  # noqa: S308
    page.object_list = rows
    return page


@login_required
def dashboard_breaches(request):
    """The service's breaches in the period, filtered like the dashboard, newest first, 20 to a page."""
    now = timezone.now()
    f = period_filters(request)
    _filter_errors(request, f.form)
    # Counted from the summary rows, each page read along the index of maxima (constant cost, ADR 0050).
    scope = {"period": f.period, "team_id": f.team_id, "rule_id": f.rule_id}
    summary = selectors.breach_summaries(request.user, now=now, teams=f.teams, service_rows=True, **scope)["period"]
    breaches = selectors.ServiceBreaches(
        request.user,
        now=now,
        count=selectors.breach_count(summary, f.acknowledged),
        teams=f.teams,
        acknowledged=f.acknowledged,
        **scope,
    )
    page = _page(request, breaches)
    query = querystring(request.GET)
    page.object_list = breach_cells(list(page.object_list), now=now, querystring=query)
    context = {
        "now": now,
        "filters": f,
        "period_filter": f.markup(with_rule=True, with_acknowledged=True),
        "period": f.period,
        "page": page,
        "querystring": query,
    }
    return _render_shown(
        request, "oversight/dashboard_breaches.html", context, (page.object_list,), what="breaches across the service"
    )


@login_required
def breach_acknowledge(request, pk: int):
    require_role(request.user, roles.MANAGER)
    now = timezone.now()
    # Only breaches the manager could see on the dashboard: anything else is a 404.
    deadline = get_object_or_404(
        selectors.service_deadlines(request.user).select_related(
            "team", "family", "assignee", "episode", "contact", "worker"
        ),
        pk=pk,
    )
    acknowledgement = deadline.acknowledgements.select_related("by").first()
    if request.method == "GET" and deadline.family_id:
        log_access(request, action=AccessLog.Action.VIEW, what=f"breach {deadline.rule_id}", family=deadline.family)
    form = BreachAcknowledgeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.breach_acknowledge(
                    deadline=deadline, comment=form.cleaned_data["comment"], by=request.user, now=now
                )
            except services.OversightError as error:
                # Refused (already acknowledged by someone else, or not a breach): the comment stays typed.
                form.add_error(None, str(error))
                acknowledgement = deadline.acknowledgements.select_related("by").first()
                status = 409
            else:
                messages.success(request, f"The breach of {deadline.rule_id} was acknowledged.")
                return redirect(reverse("oversight:dashboard") + ("?" + request.GET.urlencode() if request.GET else ""))
    return render(
        request,
        "oversight/breach_acknowledge.html",
        {
            "deadline": deadline,
            "form": form,
            "acknowledgement": acknowledgement,
            "is_breach": services.is_breach(deadline, now),
            "now": now,
        },
        status=status,
    )


# --- Reports -------------------------------------------------------------------------------------


@login_required
def timeliness_report(request):
    now = timezone.now()
    f = period_filters(request, roles_allowed=(roles.MANAGER, roles.TEAM_LEADER))
    _filter_errors(request, f.form)
    clocks = selectors.timeliness_clocks(request.user, period=f.period, team_id=f.team_id, rule_id=f.rule_id)
    by_rule = selectors.timeliness_by_rule(clocks, now=now)
    return render(
        request,
        "oversight/timeliness_report.html",
        {
            "filters": f,
            "period": f.period,
            "by_rule": by_rule,
            "chart": hbar_chart(
                [(f"{r['rule_id']}: {r['title']}", r["pct_maximum"]) for r in by_rule], maximum=100, unit="%"
            ),
            "querystring": querystring(request.GET),
            "now": now,
        },
    )


@login_required
def outcomes_report(request):
    f = period_filters(request, roles_allowed=(roles.MANAGER, roles.TEAM_LEADER))
    _filter_errors(request, f.form)
    at_assessment = selectors.outcomes_at_assessment(request.user, period=f.period, team_id=f.team_id)
    at_closure = selectors.outcomes_at_closure(request.user, period=f.period, team_id=f.team_id)
    return render(
        request,
        "oversight/outcomes_report.html",
        {
            "filters": f,
            "period": f.period,
            "at_assessment": at_assessment,
            "at_closure": at_closure,
            "need_levels": [label for _, label in selectors.NEED_LEVELS],
            "assessment_chart": hbar_chart([(row["label"], row["with_need"]) for row in at_assessment]),
            "closure_chart": hbar_chart(
                [(row["label"], row["pct_achieved"]) for row in at_closure["areas"]], maximum=100, unit="%"
            ),
            "querystring": querystring(request.GET),
        },
    )


# --- My work -------------------------------------------------------------------------------------


@login_required
def my_work(request):
    user = request.user
    require_role(user, *TEAM_ROLES)
    now = timezone.now()
    items = work_lines(selectors.my_work_items(user), now=now)
    pre_allocation = (
        waiting_lines(selectors.board_pre_allocation(user, team=user.team, now=now), limit=100)
        if user.has_role(roles.DUTY_WORKER) and user.team_id
        else []
    )
    context = {
        "now": now,
        "items": items,
        "rows": work_rows_markup(items, csrf_token=lambda: get_token(request)),
        "cases": sum(1 for i in items if i.kind == "case"),
        "tasks": sum(1 for i in items if i.kind == "task"),
        "alerts": selectors.my_alerts(user),
        "alerts_url": _url_or_blank("deadlines:alerts"),
        "planned_visits": selectors.my_planned_visits(user, now=now),
        "pre_allocation": pre_allocation,
        "is_duty_worker": user.has_role(roles.DUTY_WORKER),
    }
    context["visit_rows"] = visit_rows_markup(context["planned_visits"], now=now)
    context["alert_items"] = alert_items_markup(context["alerts"])
    context["waiting_rows"] = waiting_rows_markup(pre_allocation) if context["is_duty_worker"] else ""
    response = render(request, "oversight/my_work.html", context)
    # The lines are values, not records: their families are added to those of the visits and alerts (the
    # only records in the context: walking the lines' fields found nothing and cost a walk a field).
    shown = families_in(context["alerts"], context["planned_visits"]) | {
        line.family_id for line in (*items, *pre_allocation) if line.family_id
    }
    log_shown(request, [(family_id, None) for family_id in sorted(shown)], what="my work")
    return response


@require_POST
@login_required
def task_done(request, pk: int):
    task = get_object_or_404(
        SupervisionAction.objects.select_related("supervision", "assignee__team").filter(
            pk__in=_tasks_visible_to(request.user)
        ),
        pk=pk,
    )
    try:
        services.task_complete(task=task, by=request.user, now=timezone.now())
    except services.OversightError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The task was marked done.")
    target = request.POST.get("next", "")
    if target.startswith("/oversight/") and "//" not in target:
        return redirect(target)
    return redirect("oversight:my_work")


def _tasks_visible_to(user):
    """Task ids a user may see: their own, those they set, and those of the people they supervise."""
    qs = SupervisionAction.objects.filter(Q(assignee=user) | Q(supervision__supervisor=user))
    if user.has_role(roles.TEAM_LEADER) and user.team_id:
        qs = SupervisionAction.objects.filter(
            Q(assignee=user) | Q(supervision__supervisor=user) | Q(assignee__team_id=user.team_id)
        )
    if user.has_role(roles.MANAGER) and selectors.service_id_of(user):
        qs = SupervisionAction.objects.filter(
            Q(assignee=user)
            | Q(supervision__supervisor=user)
            | Q(assignee__team__service_id=selectors.service_id_of(user))
        )
    return qs.values("pk")


# --- Managers Decisions --------------------------------------------------------------------------


def _visible_episode_or_404(user, pk: int) -> Episode:
    return get_object_or_404(
        episodes_visible_to(user).select_related("family", "team", "lead_professional", "contact"), pk=pk
    )


def _record_for(episode: Episode, choice: str):
    if not choice:
        return None
    kind, _, raw_pk = choice.partition(":")
    link = services.LINKS.get(kind)
    if link is None or not (raw_pk.isascii() and raw_pk.isdigit()):
        return None
    _, model = link
    return episode_records(model, episode).filter(pk=int(raw_pk)).first()


@login_required
def decision_new(request, pk: int):
    episode = _visible_episode_or_404(request.user, pk)
    if not services.may_record_decision(request.user, episode):
        raise PermissionDenied
    if request.method == "GET":
        what = f"episode {episode.reference}: managers decision"
        log_access(request, action=AccessLog.Action.VIEW, what=what, family=episode.family)
    choices = selectors.decision_choices(episode)
    initial = {}
    if request.method == "GET":
        oversees = request.GET.get("oversees", "")
        if oversees in ManagersDecision.Oversees.values:
            initial["oversees"] = oversees
        record = request.GET.get("record", "")
        if record in dict(choices):
            initial["record"] = record
    form = ManagersDecisionForm(request.POST or None, record_choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.managers_decision_record(
                episode=episode,
                oversees=data["oversees"],
                decision=data["decision"],
                rationale=data["rationale"],
                record=_record_for(episode, data["record"]),
                by=request.user,
                now=timezone.now(),
            )
        except services.OversightError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Managers Decision recorded on {episode.reference}.")
            return redirect(_url_or_blank("episodes:episode_detail", episode.pk) or reverse("oversight:dashboard"))
    return render(
        request,
        "oversight/decision_form.html",
        {
            "episode": episode,
            "family": episode.family,
            "form": form,
            "decisions": selectors.decisions_for_episode(episode),
            "episode_url": _url_or_blank("episodes:episode_detail", episode.pk),
        },
    )


# --- Supervision ---------------------------------------------------------------------------------


def _supervisees(user):
    """The practitioners this user supervises (their team's, or their service's for a manager), with
    their caseloads and last supervision: a queryset of `selectors.caseloads`."""
    if user.has_role(roles.MANAGER) and selectors.service_id_of(user):
        team_ids = list(Team.objects.filter(service_id=selectors.service_id_of(user)).values_list("pk", flat=True))
    elif user.has_role(roles.TEAM_LEADER) and user.team_id:
        team_ids = [user.team_id]
    else:
        return User.objects.none()
    return selectors.caseloads(team_ids=team_ids).exclude(pk=user.pk)


@login_required
def supervision_list(request):
    require_role(request.user, roles.TEAM_LEADER, roles.MANAGER)
    people = supervised_lines(_supervisees(request.user), now=timezone.now())
    recent = list(
        Supervision.objects.filter(practitioner_id__in=[p.pk for p in people])
        .select_related("practitioner", "supervisor")
        .order_by("-held_on", "-pk")[:20]
    )
    return render(
        request,
        "oversight/supervision_list.html",
        {"people": people, "people_rows": supervised_rows_markup(people), "recent": recent},
    )


def _case_choices(practitioner: User, user) -> list[tuple[str, str]]:
    episodes = (
        episodes_visible_to(user)
        .exclude(state=Episode.State.CLOSED)
        .filter(lead_professional=practitioner)
        .select_related("family")
        .order_by("family__name", "pk")[:200]
    )
    return [(str(e.pk), f"{e.family} ({e.reference})") for e in episodes]


@login_required
def supervision_new(request, practitioner_pk: int):
    user = request.user
    require_role(user, roles.TEAM_LEADER, roles.MANAGER)
    practitioner = get_object_or_404(User.objects.select_related("team"), pk=practitioner_pk, is_active=True)
    if not services.may_supervise(user, practitioner):
        raise Http404
    now = timezone.now()
    today = timezone.localdate(now)
    case_choices = _case_choices(practitioner, user)
    if request.method == "GET":
        # The case choices name the practitioner's families.
        shown = (
            episodes_visible_to(user)
            .filter(pk__in=[int(pk) for pk, _ in case_choices])
            .values_list("family_id", flat=True)
        )
        log_shown(request, [(family_id, None) for family_id in shown], what=f"supervision of {practitioner}")
    assignees = list(
        User.objects.filter(team_id=practitioner.team_id, is_active=True).order_by("first_name", "last_name")
    )
    assignee_choices = [(u.pk, u.get_full_name() or u.username) for u in assignees]
    form = SupervisionForm(request.POST or None, case_choices=case_choices, today=today)
    action_forms = [
        SupervisionActionForm(
            request.POST or None,
            prefix=f"action-{i}",
            case_choices=case_choices,
            assignee_choices=assignee_choices,
            today=today,
            initial={"assignee": practitioner.pk},
        )
        for i in range(ACTION_ROWS)
    ]
    if request.method == "POST":
        # Validate every row, so each shows its own errors.
        rows_valid = [a.is_valid() for a in action_forms]
        if form.is_valid() and all(rows_valid):
            by_pk = {str(e.pk): e for e in episodes_visible_to(user).filter(pk__in=[c for c, _ in case_choices])}
            people = {u.pk: u for u in assignees}
            actions = [
                services.ActionInput(
                    text=a.cleaned_data["text"],
                    assignee=people[a.cleaned_data["assignee"]],
                    due_on=a.cleaned_data["due_on"],
                    episode=by_pk.get(a.cleaned_data.get("episode") or ""),
                )
                for a in action_forms
                if not a.is_blank
            ]
            try:
                supervision = services.supervision_record(
                    practitioner=practitioner,
                    held_on=form.cleaned_data["held_on"],
                    notes=form.cleaned_data["notes"],
                    cases_discussed=[by_pk[c] for c in form.cleaned_data["cases_discussed"] if c in by_pk],
                    actions=actions,
                    by=user,
                    now=now,
                )
            except services.OversightError as error:
                form.add_error(None, str(error))
            else:
                plural = "s" if len(actions) != 1 else ""
                messages.success(request, f"Supervision of {practitioner} recorded with {len(actions)} action{plural}.")
                return redirect("oversight:supervision_detail", pk=supervision.pk)
    return render(
        request,
        "oversight/supervision_form.html",
        {
            "practitioner": practitioner,
            "form": form,
            "action_forms": action_forms,
            "all_errors": [
                (f, name, error)
                for f in [form, *action_forms]
                if f.is_bound
                for name, errors in f.errors.items()
                for error in errors
            ],
        },
    )


@login_required
def supervision_detail(request, pk: int):
    user = request.user
    supervision = get_object_or_404(Supervision.objects.select_related("practitioner__team", "supervisor"), pk=pk)
    if not (
        supervision.practitioner_id == user.pk
        or supervision.supervisor_id == user.pk
        or services.may_supervise(user, supervision.practitioner)
    ):
        raise Http404
    actions = list(
        supervision.actions.select_related("episode__family", "assignee", "done_by").order_by("due_on", "pk")
    )
    visible = set(
        episodes_visible_to(user)
        .filter(pk__in=[a.episode_id for a in actions if a.episode_id])
        .values_list("pk", flat=True)
    )
    cases = list(
        episodes_visible_to(user).filter(supervisions=supervision).select_related("family").order_by("family__name")
    )
    return render_logged(
        request,
        "oversight/supervision_detail.html",
        {"supervision": supervision, "actions": actions, "visible_cases": visible, "cases": cases},
        what=f"supervision {supervision.pk}",
    )
