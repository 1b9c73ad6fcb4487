"""What the scope check costs: the reach rows (ADR 43) against the sub-plan rule they replaced.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/earlyhelp_bench .venv/bin/python benchmarks/scope_plans.py

For one user per role (the busiest practitioner, their team leader, a manager, a front-door officer)
and three reads every page makes (the families the user may see, the open clocks of the board's
service the user may list, the contacts waiting in triage), it runs EXPLAIN ANALYZE with the scope
as it is now and as it was (`legacy_scope`, kept here and in tests/security/test_scope_reach.py's
comparison), and prints a Markdown table: median execution time of 3 runs, the rows, and whether
the plan scans a whole case table. Read-only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def legacy_scope(user):
    """The scope rule as sub-plans over episodes, contacts and meetings (before ADR 43)."""
    from django.db.models import Exists, OuterRef, Q

    from accounts import roles
    from accounts.models import Team
    from cases import selectors
    from cases.models import Contact, Episode, MeetingItem

    def waiting(teams: Q) -> Exists:
        return Exists(
            MeetingItem.objects.filter(
                contact__family=OuterRef("pk"),
                decided_at__isnull=True,
                meeting__invited_teams__in=Team.objects.filter(teams).values("pk"),
            )
        )

    if not user.is_authenticated or not user.is_active:
        return None
    names = user.role_names
    clauses: list[Q] = []
    if names & selectors.FRONT_DOOR:
        clauses += [Q(Exists(Contact.objects.filter(family=OuterRef("pk")))), Q(created_by_id=user.pk)]
    if names & selectors.TEAM_ROLES:
        if user.team_id:
            clauses.append(Q(team_id=user.team_id))
            clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), team_id=user.team_id))))
            if roles.TEAM_LEADER in names:
                clauses.append(Q(waiting(Q(pk=user.team_id))))
        clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), lead_professional_id=user.pk))))
    if names & selectors.SERVICE_ROLES:
        service_id = user.service_id_in_scope
        if service_id:
            teams = Team.objects.filter(service_id=service_id).values("pk")
            clauses.append(Q(team__service_id=service_id))
            clauses.append(Q(Exists(Episode.objects.filter(family=OuterRef("pk"), team__service_id=service_id))))
            routed = Contact.objects.filter(family=OuterRef("pk")).filter(
                Q(allocated_team__in=teams) | Q(created_by__team__in=teams)
            )
            clauses.append(Q(Exists(routed)))
            clauses.append(Q(waiting(Q(service_id=service_id))))
    if not clauses:
        return None
    scope = clauses[0]
    for clause in clauses[1:]:
        scope |= clause
    return scope


def _seq_scans(node: dict) -> set[str]:
    found = {node.get("Relation Name", "")} if node.get("Node Type") == "Seq Scan" else set()
    for child in node.get("Plans", []):
        found |= _seq_scans(child)
    return found


def _explain(queryset) -> tuple[float, int, bool]:
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    times, rows, scans = [], 0, False
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
        times.append(plan["Execution Time"])
        rows = plan["Plan"].get("Actual Rows", 0)
        scans = bool(_seq_scans(plan["Plan"]) & {"cases_family", "cases_contact", "cases_episode"})
    return sorted(times)[1], rows, scans


def main() -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    os.environ.setdefault("SECRET_KEY", "scope-plans-read-only")
    import django

    django.setup()
    from django.db.models import Count, Q

    from accounts import roles
    from accounts.models import User
    from cases import selectors
    from cases.models import Contact, Episode, Family
    from deadlines.models import Deadline
    from oversight import selectors as oversight

    practitioner = (
        User.objects.filter(groups__name=roles.PRACTITIONER, is_active=True)
        .annotate(n=Count("lead_episodes", filter=~Q(lead_episodes__state=Episode.State.CLOSED)))
        .order_by("-n", "pk")
        .first()
    )
    users = {
        "practitioner": practitioner,
        "team leader": User.objects.filter(groups__name=roles.TEAM_LEADER, team_id=practitioner.team_id).first(),
        "manager": User.objects.filter(groups__name=roles.MANAGER, is_active=True).order_by("pk").first(),
        "front door": User.objects.filter(groups__name=roles.MASH_OFFICER, is_active=True).order_by("pk").first(),
    }
    families = Family.objects.count()
    out = [
        f"Scope check at {families:,} families: median of 3 EXPLAIN ANALYZE runs, ms "
        "(legacy = the sub-plan rule before ADR 43; * = the plan scans a whole families, contacts or episodes table).",
        "",
        "| user | read | legacy ms | reach ms | rows |",
        "|---|---|---:|---:|---:|",
    ]
    for who, user in users.items():
        if user is None:
            continue
        user = User.objects.get(pk=user.pk)
        legacy = Family.objects.filter(legacy_scope(user))
        service = user.service_id_in_scope or (user.team.service_id if user.team_id else None)
        reads = {
            "families visible": (legacy.values("pk"), selectors.families_visible_to(user).values("pk")),
            "open clocks of the service, listed (board)": (
                Deadline.objects.filter(team__service_id=service, stopped_at__isnull=True).filter(
                    Q(family__isnull=True, worker__isnull=False) | Q(family_id__in=legacy.values("pk"))
                ),
                oversight.service_deadlines(user).filter(stopped_at__isnull=True),
            ),
            "contacts in triage": (
                Contact.objects.filter(
                    state__in=["received", "screening", "awaiting_consent"], family__in=legacy.values("pk")
                ),
                selectors.contacts_visible_to(user).filter(state__in=["received", "screening", "awaiting_consent"]),
            ),
        }
        for read, (old, new) in reads.items():
            old_ms, old_rows, old_scan = _explain(old)
            new_ms, new_rows, new_scan = _explain(new)
            assert old_rows == new_rows, (who, read, old_rows, new_rows)
            out.append(
                f"| {who} | {read} | {old_ms:.1f}{' *' if old_scan else ''} | {new_ms:.1f}{' *' if new_scan else ''} "
                f"| {new_rows:,} |"
            )
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
