"""CSV exports of every table on the boards, the dashboard and the reports, with the page's filters.

Each export is streamed (`StreamingHttpResponse` over `QuerySet.iterator`), so a large table never
sits in memory, and logged in the access log as an export.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import roles
from cases.access import log_access, log_shown
from cases.models import AccessLog
from cases.selectors import TEAM_ROLES
from cases.services import access_log_record, access_log_record_many, client_ip
from kit import jobs
from kit.jobs import job_fail
from kit.models import BackgroundJob
from kit.permissions import require_role
from oversight import selectors
from oversight.board_filter import board_filter
from oversight.filters import period_filters

logger = logging.getLogger(__name__)


class Echo:
    """A file-like object that hands back what is written, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> object:
    """Dates in local time as dd/mm/yyyy; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value, selectors.LONDON).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 3600, 1)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: Iterable[tuple]
    what: str
    # The ids of the families the rows name (a values_list over the same query): each is logged.
    families: Iterable[int] = ()
    # The query the rows come from, for a background export's progress bar (its count is the total).
    counted: object = None


def _family_ids(qs, field: str = "family_id"):
    """The distinct family ids of an export's query, read in SQL before the rows stream."""
    return qs.order_by().exclude(**{f"{field}__isnull": True}).values_list(field, flat=True).distinct()


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _subject(d) -> str:
    if d.episode_id:
        return f"E{d.episode_id:07d}"
    if d.contact_id:
        return f"C{d.contact_id:07d}"
    return _name(d.worker)


# --- Board ---------------------------------------------------------------------------------------


def _board(request, now) -> tuple:
    f = board_filter(request)
    return f, request.user, f.team


# The large tables (BACKGROUND) read value tuples, not model instances (ADR 51): the names of the
# family, the people and the acknowledgement come joined in the same query, so a row costs a few
# microseconds of Python whatever the number of rows.
_PERSON = ("first_name", "last_name", "username")
_SUBJECT = ("episode_id", "contact_id", *(f"worker__{f}" for f in _PERSON))


def _full_name(first: str | None, last: str | None, username: str | None) -> str:
    """`_name` on a user's columns: the full name, else the username; "" for nobody."""
    if username is None:
        return ""
    return f"{first} {last}".strip() or username


def _subject_of(episode_id, contact_id, *worker) -> str:
    """`_subject` on the row's columns."""
    if episode_id:
        return f"E{episode_id:07d}"
    if contact_id:
        return f"C{contact_id:07d}"
    return _full_name(*worker)


def board_deadlines(request, now) -> Table:
    f, user, team = _board(request, now)
    qs = selectors.board_deadlines(
        user, team=team, now=now, practitioner_id=f.practitioner_id, rule_id=f.rule_id, status=f.status
    )
    columns = (
        "bucket",
        "rule_id",
        "title",
        *_SUBJECT,
        "family__name",
        *(f"assignee__{f}" for f in _PERSON),
        "started_at",
        "expected_at",
        "due_at",
    )
    labels = selectors.BUCKET_LABELS

    def rows():
        for bucket, rule_id, title, *rest in qs.values_list(*columns).iterator(chunk_size=2000):
            subject, (family, first, last, username, started, expected, due) = rest[:5], rest[5:]
            yield (
                labels[bucket],
                rule_id,
                title,
                _subject_of(*subject),
                family or "",
                _full_name(first, last, username) or "Not allocated (team)",
                started,
                expected,
                due,
            )

    header = ("Status", "Rule", "Timescale", "Case", "Family", "Practitioner", "Started", "Expected by", "Due by")
    return Table(header, rows(), f"team board timescales, {team}", _family_ids(qs), counted=qs)


def board_by_practitioner(request, now) -> Table:
    f, user, team = _board(request, now)
    qs = selectors.board_deadlines(
        user, team=team, now=now, practitioner_id=f.practitioner_id, rule_id=f.rule_id, status=f.status
    )
    summary = selectors.board_deadline_summary(qs)
    keys = [k for k, _ in selectors.BUCKETS]
    rows = [(r["name"], *[r[k] for k in keys], r["total"]) for r in summary["by_practitioner"]]
    header = ("Practitioner", *[label for _, label in selectors.BUCKETS], "Total")
    return Table(header, rows, f"team board timescales by practitioner, {team}")


def board_pre_allocation(request, now) -> Table:
    f, user, team = _board(request, now)
    qs = selectors.board_pre_allocation(user, team=team, now=now)
    rows = (
        (
            e.reference,
            e.family.name,
            e.opened_at,
            e.last_duty_contact_at,
            "Yes" if e.weekly_contact_due else "No",
            e.last_duty_contact_text or "",
        )
        for e in qs.iterator(chunk_size=2000)
    )
    header = ("Case", "Family", "Waiting since", "Last duty contact", "Weekly contact due", "Last duty contact note")
    return Table(header, rows, f"pre-allocation list, {team}", _family_ids(qs))


def _caseload_rows(people) -> Iterator[tuple]:
    for p in people:
        yield (
            _name(p),
            p.team.name if p.team_id else "",
            p.caseload,
            p.capacity,
            selectors.percent(p.caseload, p.capacity),
            dict(selectors.CASELOAD_BANDS)[selectors.caseload_band(p.caseload, p.capacity)],
            p.last_supervised_on,
        )


CASELOAD_HEADER = ("Practitioner", "Team", "Open cases", "Capacity", "% of capacity", "Band", "Last supervised")


def board_caseload(request, now) -> Table:
    f, user, team = _board(request, now)
    people = selectors.caseloads(team_ids=[team.pk], practitioner_id=f.practitioner_id)
    return Table(CASELOAD_HEADER, _caseload_rows(people.iterator(chunk_size=500)), f"caseloads, {team}")


def _episode_row(e, *extra) -> tuple:
    return (e.reference, e.family.name, _name(e.lead_professional), e.get_state_display(), e.opened_at, *extra)


EPISODE_HEADER = ("Case", "Family", "Lead professional", "Stage", "Opened")


def board_long_open(request, now) -> Table:
    f, user, team = _board(request, now)
    labels = dict(selectors.MONTH_BANDS)
    qs = selectors.board_long_open(user, team=team, now=now, practitioner_id=f.practitioner_id)
    rows = (_episode_row(e, labels.get(e.band, "")) for e in qs.iterator(chunk_size=2000))
    return Table((*EPISODE_HEADER, "Open for"), rows, f"cases open over 3 months, {team}", _family_ids(qs))


def board_no_oversight(request, now) -> Table:
    f, user, team = _board(request, now)
    qs = selectors.board_no_oversight(user, team=team, now=now, practitioner_id=f.practitioner_id)
    rows = (_episode_row(e, e.last_decision_at) for e in qs.iterator(chunk_size=2000))
    what = f"cases without oversight this month, {team}"
    return Table((*EPISODE_HEADER, "Last Managers Decision"), rows, what, _family_ids(qs))


def board_high_risk(request, now) -> Table:
    f, user, team = _board(request, now)
    levels = {1: "Low", 2: "Medium", 3: "High"}
    qs = selectors.board_high_risk(user, team=team, practitioner_id=f.practitioner_id)
    rows = (
        _episode_row(e, levels.get(e.risk_level, ""), selectors.risk_names(e)) for e in qs.iterator(chunk_size=2000)
    )
    header = (*EPISODE_HEADER, "Highest risk", "High-risk indicators")
    return Table(header, rows, f"highest-risk cases, {team}", _family_ids(qs))


def board_deactivated(request, now) -> Table:
    f, user, team = _board(request, now)
    qs = selectors.board_deactivated(user, team=team)
    rows = (_episode_row(e) for e in qs.iterator(chunk_size=2000))
    return Table(EPISODE_HEADER, rows, f"cases held by deactivated staff, {team}", _family_ids(qs))


def board_escalations(request, now) -> Table:
    f, user, team = _board(request, now)
    return _escalations(user, [team.pk], f"open escalations, {team}")


def _escalations(user, team_ids, what) -> Table:
    qs = selectors.open_escalations(user, team_ids=team_ids)
    rows = (
        (
            x.episode.reference,
            x.episode.family.name,
            x.episode.team.name,
            x.get_about_display(),
            x.disagreement,
            x.escalated_to,
            x.raised_at,
            _name(x.raised_by),
        )
        for x in qs.iterator(chunk_size=2000)
    )
    header = ("Case", "Family", "Team", "About", "Disagreement", "Escalated to", "Raised", "Raised by")
    return Table(header, rows, what, _family_ids(qs, "episode__family_id"))


# --- Dashboard -----------------------------------------------------------------------------------


def dashboard_breaches(request, now) -> Table:
    f = period_filters(request)
    qs = selectors.service_breaches(
        request.user, now=now, team_id=f.team_id, rule_id=f.rule_id, acknowledged=f.acknowledged, period=f.period
    )
    # At most one acknowledgement a clock (a unique constraint), so joining it adds no row.
    ack = "acknowledgements__"
    columns = (
        "rule_id",
        "title",
        *_SUBJECT,
        "family__name",
        "team__name",
        *(f"assignee__{f}" for f in _PERSON),
        "started_at",
        "due_at",
        f"{ack}at",
        *(f"{ack}by__{f}" for f in _PERSON),
        f"{ack}comment",
    )

    def rows():
        values = qs.prefetch_related(None).values_list(*columns)
        for rule_id, title, *rest in values.iterator(chunk_size=2000):
            subject, rest = rest[:5], rest[5:]
            family, team, first, last, username, started, due, acked_at, by_first, by_last, by_username, comment = rest
            yield (
                rule_id,
                title,
                _subject_of(*subject),
                family or "",
                team or "",
                _full_name(first, last, username),
                started,
                due,
                acked_at,
                _full_name(by_first, by_last, by_username),
                comment or "",
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


def dashboard_escalations(request, now) -> Table:
    f = period_filters(request)
    return _escalations(request.user, [f.team_id] if f.team_id else [t.pk for t in f.teams], "open escalations")


TIMELINESS_HEADER = (
    "Clocks run",
    "Judged against expected time",
    "Met within expected time",
    "% within expected time",
    "Judged against maximum",
    "Met within maximum",
    "% within maximum",
    "Still running",
    "Median time taken (hours)",
)


def _timeliness_values(r) -> tuple:
    return (
        r["run"],
        r["judged_expected"],
        r["met_expected"],
        r["pct_expected"],
        r["judged_maximum"],
        r["met_maximum"],
        r["pct_maximum"],
        r["open"],
        r["median"],
    )


def _clocks(request, now, roles_allowed=(roles.MANAGER,)):
    f = period_filters(request, roles_allowed=roles_allowed)
    return f, selectors.timeliness_clocks(request.user, period=f.period, team_id=f.team_id, rule_id=f.rule_id)


def timeliness_rule(request, now) -> Table:
    f, clocks = _clocks(request, now, roles_allowed=(roles.MANAGER, roles.TEAM_LEADER))
    rows = [(r["rule_id"], r["title"], *_timeliness_values(r)) for r in selectors.timeliness_by_rule(clocks, now=now)]
    return Table(("Rule", "Timescale", *TIMELINESS_HEADER), rows, f"timeliness by rule, {f.period}")


def timeliness_team(request, now) -> Table:
    f, clocks = _clocks(request, now)
    rows = [(r["team__name"] or "", *_timeliness_values(r)) for r in selectors.timeliness_by_team(clocks, now=now)]
    return Table(("Team", *TIMELINESS_HEADER), rows, f"timeliness by team, {f.period}")


def timeliness_month(request, now) -> Table:
    f, clocks = _clocks(request, now)
    rows = [
        (r["month"].strftime("%B %Y"), *_timeliness_values(r))
        for r in selectors.timeliness_by_month(clocks, now=now, period=f.period)
    ]
    return Table(("Month", *TIMELINESS_HEADER), rows, f"timeliness by month, {f.period}")


def dashboard_caseload(request, now) -> Table:
    f = period_filters(request)
    people = selectors.caseloads(team_ids=[f.team_id] if f.team_id else [t.pk for t in f.teams])
    return Table(CASELOAD_HEADER, _caseload_rows(people.iterator(chunk_size=500)), "caseloads across the service")


def caseload_distribution(request, now) -> Table:
    f = period_filters(request)
    people = list(selectors.caseloads(team_ids=[f.team_id] if f.team_id else [t.pk for t in f.teams]))
    dist = selectors.caseload_distribution(people)
    rows = [(b["label"], b["count"], b["pct"]) for b in dist["bands"]]
    return Table(("Caseload against capacity", "Practitioners", "% of practitioners"), rows, "caseload distribution")


def contacts_weekly(request, now) -> Table:
    f = period_filters(request)
    weeks = selectors.contacts_by_week(request.user, period=f.period)
    labels = [label for _, label in selectors.DECISIONS]
    rows = [(w["week"], w["received"], *w["decisions"], w["undecided"]) for w in weeks]
    header = ("Week beginning", "Contacts received", *labels, "Not yet decided")
    return Table(header, rows, f"contacts and decisions per week, {f.period}")


# --- Reports -------------------------------------------------------------------------------------

REPORT_ROLES = (roles.MANAGER, roles.TEAM_LEADER)


def outcomes_assessment(request, now) -> Table:
    f = period_filters(request, roles_allowed=REPORT_ROLES)
    data = selectors.outcomes_at_assessment(request.user, period=f.period, team_id=f.team_id)
    rows = [(r["label"], *r["levels"], r["with_need"]) for r in data]
    header = ("Outcome area", *[label for _, label in selectors.NEED_LEVELS], "Families with a need")
    return Table(header, rows, f"outcomes at assessment, {f.period}")


def outcomes_closure(request, now) -> Table:
    f = period_filters(request, roles_allowed=REPORT_ROLES)
    data = selectors.outcomes_at_closure(request.user, period=f.period, team_id=f.team_id)
    rows = [
        (
            r["label"],
            r["need_at_assessment"],
            r["with_outcome"],
            r["achieved"],
            r["progress"],
            r["no_change"],
            r["not_reviewed"],
            r["pct_achieved"],
        )
        for r in data["areas"]
    ]
    header = (
        "Outcome area",
        "Families with a need at assessment",
        "Families with a plan outcome in this area",
        "Achieved",
        "Some or good progress",
        "No change or worse",
        "Not reviewed",
        "% achieved",
    )
    return Table(header, rows, f"outcomes at closure, {f.period}")


def closure_reasons(request, now) -> Table:
    f = period_filters(request, roles_allowed=REPORT_ROLES)
    data = selectors.outcomes_at_closure(request.user, period=f.period, team_id=f.team_id)
    rows = [(r["label"], r["count"]) for r in data["reasons"]]
    return Table(("Reason the episode ended", "Episodes"), rows, f"closure reasons, {f.period}")


def my_work(request, now) -> Table:
    require_role(request.user, *TEAM_ROLES)

    items = selectors.my_work_items(request.user, limit=10_000)
    families = {item.family_id for item in items if item.family_id}

    def rows():
        for item in items:
            if item.kind == "case":
                yield (
                    "Case",
                    item.reference,
                    item.family_name,
                    f"{item.rule}: {item.title}" if item.rule else "",
                    item.due,
                )
            else:
                yield ("Supervision task", item.reference, item.family_name, item.text, item.due_on)

    return Table(("Kind", "Case", "Family", "What", "Due"), rows(), "my work", families)


EXPORTS: dict[str, Callable] = {
    "board-timescales": board_deadlines,
    "board-by-practitioner": board_by_practitioner,
    "board-pre-allocation": board_pre_allocation,
    "board-caseloads": board_caseload,
    "board-long-open": board_long_open,
    "board-no-oversight": board_no_oversight,
    "board-high-risk": board_high_risk,
    "board-deactivated": board_deactivated,
    "board-escalations": board_escalations,
    "breaches": dashboard_breaches,
    "escalations": dashboard_escalations,
    "timeliness-by-rule": timeliness_rule,
    "timeliness-by-team": timeliness_team,
    "timeliness-by-month": timeliness_month,
    "caseloads": dashboard_caseload,
    "caseload-distribution": caseload_distribution,
    "contacts-by-week": contacts_weekly,
    "outcomes-at-assessment": outcomes_assessment,
    "outcomes-at-closure": outcomes_closure,
    "closure-reasons": closure_reasons,
    "my-work": my_work,
}


@login_required
def export_csv(request, table: str):
    build = EXPORTS.get(table)
    if build is None:
        raise Http404
    now = timezone.now()
    result: Table = build(request, now)  # checks who may see it, with the page's filters
    family_ids = set(result.families)
    if family_ids:
        # An export is a view of every family it names: one row each, so each family's log shows it.
        log_shown(
            request, [(pk, None) for pk in family_ids], what=f"CSV: {result.what}", action=AccessLog.Action.EXPORT
        )
    else:
        log_access(request, action=AccessLog.Action.EXPORT, what=f"CSV: {result.what}")
    writer = csv.writer(Echo())

    def stream():
        yield "\ufeff"  # so Excel reads the file as UTF-8
        yield writer.writerow(result.header)
        for row in result.rows:
            yield writer.writerow([cell(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}-{timezone.localdate(now).isoformat()}.csv"'
    return response


# --- Large tables as background jobs -------------------------------------------------------------

# The tables whose rows grow with the data (a row per clock): the page's link offers to prepare them
# in the background, as a file to download when ready, rather than streaming them on a request thread.
BACKGROUND = {"board-timescales", "breaches"}
JOB_KIND = "csv-export"
PROGRESS_EVERY = 2000


def write_rows(handle, result: Table, *, progress) -> int:
    writer = csv.writer(handle)
    handle.write("\ufeff")  # so Excel reads the file as UTF-8
    writer.writerow(result.header)
    written = 0
    for row in result.rows:
        writer.writerow([cell(v) for v in row])
        written += 1
        if written % PROGRESS_EVERY == 0:
            progress(written)
    return written


def _job_request(job: BackgroundJob) -> HttpRequest:
    """The export's request as it was asked for: its owner and the page's filters."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(job.params.get("query", ""))
    request.user = job.owner
    request.META["REMOTE_ADDR"] = job.params.get("ip") or ""
    return request


def csv_export_build(*, job_id: int, now: datetime) -> None:
    """Write a table's CSV to the job's private file, reporting progress; safe to run twice.

    The rows are read with `QuerySet.iterator` and written as they come (bounded memory). Each family
    the rows name is written to the access log as exported, as the streamed download does; fetching
    the file is logged again as a download (`_log_download`)."""
    job = BackgroundJob.objects.select_related("owner").filter(pk=job_id).first()
    if job is None or job.state == BackgroundJob.State.DONE:
        return
    build = EXPORTS.get(job.params.get("table", ""))
    if build is None or job.owner is None or not job.owner.is_active:
        job_fail(job_id, now=now, message="This export can no longer be prepared: ask for it again from its page")
        return
    request = _job_request(job)
    try:
        result: Table = build(request, now)
    except (PermissionDenied, Http404):
        job_fail(job_id, now=now, message="You may no longer export this table")
        return
    total = result.counted.count() if result.counted is not None else 0
    jobs.job_begin(job_id, total=total, now=timezone.now(), message=f"Writing {total} rows" if total else "")
    relative, absolute = jobs.job_file_path(job_id, ".csv")
    try:
        with absolute.open("w", newline="", encoding="utf-8") as handle:
            written = write_rows(
                handle,
                result,
                progress=lambda n: jobs.job_advance(
                    job_id, done=min(n, total), now=timezone.now(), message=f"{n} rows written"
                ),
            )
        family_ids = set(result.families)
        subjects = [(pk, None) for pk in family_ids]
        what = f"CSV: {result.what}"
        if subjects:
            access_log_record_many(
                user=job.owner,
                action=AccessLog.Action.EXPORT,
                what=what,
                at=timezone.now(),
                subjects=subjects,
                ip_address=client_ip(request),
            )
        else:
            at = timezone.now()
            access_log_record(
                user=job.owner, action=AccessLog.Action.EXPORT, what=what, at=at, ip_address=client_ip(request)
            )
    except Exception:
        logger.exception("CSV export job %s failed", job_id)
        absolute.unlink(missing_ok=True)
        jobs.job_fail(
            job_id,
            now=timezone.now(),
            message="The file could not be prepared (the error is logged for your system administrator). Ask for it "
            "again; if it fails again, tell your system administrator.",
        )
        raise
    jobs.job_finish(
        job_id,
        now=timezone.now(),
        file_path=relative,
        file_name=f"{job.params['table']}-{timezone.localdate(now).isoformat()}.csv",
        result={"rows": written, "what": result.what},
        message=f"{written} rows ready to download",
    )


@jobs.on_download(JOB_KIND)
def _log_download(request, job) -> None:
    log_access(request, action=AccessLog.Action.DOWNLOAD, what=f"CSV: {job.result.get('what', job.title)}"[:200])


@login_required
@require_http_methods(["GET", "POST"])
def export_prepare(request, table: str):
    """A large table's CSV, prepared by a worker: the page asks, the POST starts it, the job page follows."""
    build = EXPORTS.get(table)
    if build is None or table not in BACKGROUND:
        raise Http404
    now = timezone.now()
    result: Table = build(request, now)  # checks who may see it, with the page's filters (nothing is read yet)
    if request.method == "POST":
        job = _queue_csv_export(request, table=table, what=result.what, now=now)
        return redirect("jobs:detail", job.pk)
    return render(
        request,
        "oversight/export_prepare.html",
        {"table": table, "what": result.what, "querystring": request.GET.urlencode()},
    )


@transaction.atomic
def _queue_csv_export(request, *, table: str, what: str, now: datetime) -> BackgroundJob:
    from oversight.tasks import build_csv_export

    job = jobs.job_create(
        kind=JOB_KIND,
        title=f"CSV of {what}"[:200],
        owner=request.user,
        now=now,
        params={"table": table, "query": request.GET.urlencode(), "ip": client_ip(request) or ""},
    )
    transaction.on_commit(partial(build_csv_export.delay, job.pk), robust=True)
    return job
