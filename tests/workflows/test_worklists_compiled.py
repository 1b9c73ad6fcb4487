"""My work, my cases and the home pages read the user's own rows with SQL compiled once per user shape
(ADR 75, `workflows.compiled_reads`): every read equals the ORM's, for every role and combination of
roles, users with no team or no service, and two users of one shape who each get their own rows."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from accounts import roles
from cases.models import PlannedVisit
from deadlines.models import Alert
from oversight import home_selectors as hs
from oversight import selectors as sel
from oversight.models import Supervision, SupervisionAction
from tests.cases.test_scope_compiled import world  # noqa: F401  (the fixture: every reach shape)
from tests.conftest import make_user
from tests.earlyhelp.test_home import SATURDAY, clocks_on
from tests.oversight.helpers import make_episode
from workflows import compiled_reads, list_rows

pytestmark = pytest.mark.django_db

INSTANTS = [SATURDAY + timedelta(hours=h) for h in (-24 * 400, -1, 13, 24 * 30)]
COUNTS = (None, {"breached": 0, "overdue": 0}, {"breached": 1, "overdue": 0}, {"breached": 1, "overdue": 2})


def fields(obj) -> dict | None:
    if obj is None:
        return None
    out = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    out.update({k: v for k, v in obj.__dict__.items() if k in ("status", "first_limit")})
    return out


@pytest.fixture
def work(world, team, other_team, service):  # noqa: F811
    """Each user leads a case in their team's family and one elsewhere, with clocks, a planned visit, a task
    and an alert; a second practitioner of the coach's shape has their own."""
    people = dict(world)
    people["second coach"] = make_user("coach-two", roles.PRACTITIONER, team)
    supervisor = people["teamlead"]
    for n, (name, user) in enumerate(people.items()):
        if not user.is_active:
            continue
        for where in (team, other_team):
            episode = make_episode(where, lead=user)
            clocks_on(episode, where, prefix=f"{n}{where.pk}")
            PlannedVisit.objects.create(
                episode=episode,
                family=episode.family,
                planned_at=SATURDAY - timedelta(days=1),
                visitor=user,
                created_at=SATURDAY,
                created_by=user,
            )
            supervision = Supervision.objects.create(
                practitioner=user, supervisor=supervisor, held_on=date(2026, 11, 16), notes="n", recorded_at=SATURDAY
            )
            SupervisionAction.objects.create(
                supervision=supervision, episode=episode, text=f"Task {name}", assignee=user, due_on=date(2026, 11, 20)
            )
            Alert.objects.create(
                deadline=episode.deadlines.first(), level="due_soon", recipient=user, created_at=SATURDAY
            )
    for user in people.values():
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
    return people


def test_my_work_and_my_cases_are_the_orm_s_for_every_shape(work):
    seen = 0
    for name, user in work.items():
        orm_cases = list(sel.my_open_cases(user).values_list(*list_rows.CASE_COLUMNS)[:200])
        orm_tasks = list(sel.my_tasks(user).values_list("pk"))
        items = sel.my_work_items(user)
        assert [(i.episode_pk, i.due, i.maximum, i.deadline_pk) for i in items if i.kind == "case"] == [
            (r[0], r[7], r[8], r[6]) for r in orm_cases
        ], name
        assert sorted(i.task_pk for i in items if i.kind == "task") == sorted(r[0] for r in orm_tasks), name
        assert compiled_reads.user_rows("my cases", user, list_rows.my_case_values) == list(
            list_rows.my_case_values(user)
        ), name
        for now in INSTANTS:
            orm_visits = list(
                sel.visible_per_row(
                    PlannedVisit.objects.filter(
                        visitor=user,
                        note__isnull=True,
                        cancelled_at__isnull=True,
                        planned_at__lte=now + sel.PLANNED_VISITS_AHEAD,
                    ),
                    user,
                    "episode__family_id",
                )
                .exclude(episode__state="closed")
                .select_related("episode__family", "visitor")
                .order_by("planned_at", "pk")[:50]
            )
            visits = sel.my_planned_visits(user, now=now)
            assert [fields(v) for v in visits] == [fields(v) for v in orm_visits], (name, now)
            assert [fields(v.episode.family) for v in visits] == [fields(v.episode.family) for v in orm_visits]
        alerts = sel.my_alerts(user)
        orm_alerts = list(
            Alert.objects.filter(recipient=user, read_at__isnull=True)
            .select_related("deadline", "contact")
            .order_by("-created_at", "-id")[:5]
        )
        assert [(fields(a), fields(a.deadline)) for a in alerts] == [
            (fields(a), fields(a.deadline)) for a in orm_alerts
        ]
        seen += bool(orm_cases) + bool(orm_tasks)
    assert seen >= 10
    # Two users of one shape: each their own rows.
    one, two = work["coach"], work["second coach"]
    assert compiled_reads.user_shape(one) == compiled_reads.user_shape(two)
    mine = {i.episode_pk for i in sel.my_work_items(one)}
    theirs = {i.episode_pk for i in sel.my_work_items(two)}
    assert mine and theirs and not mine & theirs


def test_the_home_reads_are_the_orm_s_for_every_shape(work):
    clocks_of = {
        "my cases": hs.my_case_clocks,
        "team": hs.team_clocks,
        "service": hs.service_clocks,
        "front door": hs.front_door_clocks,
        "step-ups": hs.step_up_clocks,
    }
    found = 0
    for name, user in work.items():
        for turn, now in enumerate(INSTANTS[1:3]):
            for key, of in clocks_of.items():
                # Each SQL (user shape x section x branches) at one of the two instants, the other half at the other.
                for counts in COUNTS[turn::2]:
                    compiled = hs.most_urgent_clocks_of(key, user, of, now=now, counts=counts)
                    orm = hs.most_urgent_clocks(of(user), now=now, counts=counts)
                    assert [fields(d) for d in compiled] == [fields(d) for d in orm], (name, key, now, counts)
                    assert [fields(d.episode.family) if d.episode_id else None for d in compiled] == [
                        fields(d.episode.family) if d.episode_id else None for d in orm
                    ]
                    found += len(compiled)
            orm_visits = (
                PlannedVisit.objects.filter(
                    visitor=user, planned_at__lte=now, note__isnull=True, cancelled_at__isnull=True
                )
                .filter(episode__in=hs.my_case_episodes(user).values("pk"))
                .count()
            )
            assert hs.unrecorded_visit_count(user, now=now) == orm_visits, (name, now)
        assert hs.awaiting_allocation_count(user) == (hs.awaiting_allocation(user).count() if user.team_id else 0)
    assert found >= 100


def test_the_sign_off_counts_are_the_orm_s(work, team):
    from cases.models import ClosureReason, ClosureRequest, StepUp

    for n, episode in enumerate(make_episode(team) for _ in range(3)):
        if n:
            ClosureRequest.objects.create(
                episode=episode, requested_at=SATURDAY, requested_by=work["coach"], summary="s", child_voice="v",
                proposed_reason=ClosureReason.GOALS_MET, status="pending", records_up_to_date=True,
            )  # fmt: skip
        StepUp.objects.create(
            episode=episode, proposed_at=SATURDAY, proposed_by=work["coach"], concern=StepUp.Concern.INCREASING_RISK,
            reason="Worse", multi_agency_views="Agreed", family_views="Unsure",
            sent_at=SATURDAY if n == 2 else None, sent_by=work["manager"] if n == 2 else None,
        )  # fmt: skip
    for name, user in work.items():
        expected_team = {"closures": 0, "step_ups": 0}
        expected_service = {"closures": 0, "step_ups_to_send": 0, "step_ups_to_decide": 0}
        visible = sel.family_visible_exists(user, "episode__family_id")
        if visible is not None:
            closures = ClosureRequest.objects.filter(status="pending").filter(visible)
            undecided = StepUp.objects.filter(decided_at__isnull=True).filter(visible)
            if user.team_id:
                expected_team = {
                    "closures": closures.filter(episode__team_id=user.team_id).count(),
                    "step_ups": undecided.filter(episode__team_id=user.team_id).count(),
                }
            expected_service = {
                "closures": closures.count(),
                "step_ups_to_send": undecided.filter(sent_at__isnull=True).count(),
                "step_ups_to_decide": undecided.filter(sent_at__isnull=False).count(),
            }
        if user.team_id:
            assert hs.team_sign_off_counts(user) == expected_team, name
        assert hs.service_sign_off_counts(user) == expected_service, name
    assert hs.team_sign_off_counts(work["teamlead"]) == {"closures": 2, "step_ups": 3}


def test_a_second_read_compiles_no_sql(work):
    coach = work["coach"]
    first = (
        sel.my_work_items(coach),
        hs.most_urgent_clocks_of("my cases", coach, hs.my_case_clocks, now=SATURDAY, counts=None),
    )
    for _ in range(2):  # every read of the block below, compiled before it
        list_rows.my_cases(coach, now=SATURDAY)
        sel.my_planned_visits(coach, now=SATURDAY)
        sel.my_alerts(coach)
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        again = (
            sel.my_work_items(coach),
            hs.most_urgent_clocks_of("my cases", coach, hs.my_case_clocks, now=SATURDAY, counts=None),
        )
        list_rows.my_cases(coach, now=SATURDAY)
        sel.my_planned_visits(coach, now=SATURDAY)
        sel.my_alerts(coach)
    assert calls == []
    assert again[0] == first[0]
    assert [d.pk for d in again[1]] == [d.pk for d in first[1]]


def test_a_read_taking_the_user_other_than_as_a_parameter_is_read_by_the_orm(users):
    """A value of the user that is not among the parameters the stand-ins show: compiled, it would stay the
    first stand-in's value for every user of the shape (here an `exclude` would then exclude nobody)."""
    from accounts.models import User

    def others(user):  # the user's name: not an id, so not a parameter the stand-ins change
        return User.objects.exclude(username=user.username).values_list("pk").order_by("pk")

    one, two = users["coach"], make_user("coach-three", roles.PRACTITIONER, users["coach"].team)
    for user in (one, two):
        assert compiled_reads.user_rows("text id", user, others) == list(others(user))
    assert compiled_reads.user_shape(one) == compiled_reads.user_shape(two)


def test_ids_the_driver_wraps_or_puts_in_an_array_are_read_by_the_orm(users):
    from deadlines.models import OpenClockCount

    def mine(user):
        return OpenClockCount.objects.exclude(assignee_id=user.pk).values_list("pk").order_by("pk")

    def in_array(user):
        return OpenClockCount.objects.filter(assignee_id__in=[user.pk, 0]).values_list("pk").order_by("pk")

    OpenClockCount.objects.create(team_id=1, assignee_id=users["coach"].pk, rule_id="R", status="on_time", n=1)
    OpenClockCount.objects.create(team_id=1, assignee_id=users["teamlead"].pk, rule_id="R", status="on_time", n=1)
    for user in (users["coach"], users["duty"]):
        assert compiled_reads.user_rows("wrapped id", user, mine) == list(mine(user))
        assert compiled_reads.user_rows("array id", user, in_array) == list(in_array(user))
