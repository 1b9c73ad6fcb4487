"""The episode summary's closure requests, step-ups and escalations come in one query (not three) as
JSON, and are read back as the instances the ORM gives, users and all (ADR 63)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import ClosureReason, ClosureRequest, Escalation, StepUp
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_selectors as selectors

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _records(users, episode) -> None:
    coach, manager = users["coach"], users["manager"]
    for n, status in enumerate((ClosureRequest.Status.RETURNED, ClosureRequest.Status.PENDING)):
        ClosureRequest.objects.create(
            episode=episode, requested_at=NOW + n * H, requested_by=coach, summary=f"Summary {n} ✓",
            child_voice="Happy", proposed_reason=ClosureReason.GOALS_MET, status=status, records_up_to_date=True,
            decided_at=NOW + (n + 0.5) * H if status == ClosureRequest.Status.RETURNED else None,
            decided_by=manager if status == ClosureRequest.Status.RETURNED else None,
            return_reason="Upload the plan" if status == ClosureRequest.Status.RETURNED else "",
        )  # fmt: skip
    StepUp.objects.create(
        episode=episode, proposed_at=NOW + 2 * H, proposed_by=coach, concern=StepUp.Concern.INCREASING_RISK,
        reason="Worse", multi_agency_views="Agreed", family_views="Unsure", sent_at=NOW + 3 * H, sent_by=manager,
        wraparound=None,
    )  # fmt: skip
    Escalation.objects.create(
        episode=episode, about=Escalation.About.STEP_UP, disagreement="Threshold", escalated_to="Ops lead",
        raised_at=NOW + 4 * H, raised_by=coach,
    )  # fmt: skip


@pytest.mark.parametrize("with_records", [True, False], ids=["records", "none"])
def test_the_records_read_with_the_episode_are_the_orms(users, team, with_records):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    if with_records:
        _records(users, episode)
    loaded = selectors.visible_episode(users["coach"], episode.pk, with_assessment_and_plan=True)
    with CaptureQueriesContext(connection) as ctx:
        summary = selectors.episode_summary(loaded, now=NOW + 5 * H)
    by_orm = {
        "closure_requests": ClosureRequest.objects.filter(episode=episode).order_by("-requested_at"),
        "step_ups": StepUp.objects.filter(episode=episode).order_by("-proposed_at"),
        "escalations": Escalation.objects.filter(episode=episode).order_by("-raised_at"),
    }
    for name, related in (
        ("closure_requests", ("requested_by", "decided_by")),
        ("step_ups", ("proposed_by", "sent_by", "decided_by")),
        ("escalations", ("raised_by", "resolved_by")),
    ):
        orm = {name: list(by_orm[name].select_related(*related)[:20])}
        assert [_fields(r) for r in summary[name]] == [_fields(r) for r in orm[name]], name
        assert len(summary[name]) == (({"closure_requests": 2}.get(name, 1)) if with_records else 0)
        for got, want in zip(summary[name], orm[name], strict=True):
            for field in related:
                assert type(got)._meta.get_field(field).is_cached(got), (name, field)
                assert (getattr(got, field) and _fields(getattr(got, field))) == (
                    getattr(want, field) and _fields(getattr(want, field))
                )
    if with_records:
        assert [c.status for c in summary["closure_requests"]] == ["pending", "returned"]  # newest first
        assert summary["step_ups"][0].status == "With the duty manager"
    tables = [f'"{m._meta.db_table}"' for m in (ClosureRequest, StepUp, Escalation)]
    reading = [q["sql"] for q in ctx.captured_queries if any(t in q["sql"] for t in tables)]
    assert len(reading) == 1 and all(t in reading[0] for t in tables)  # one query for the three


def test_the_episode_page_shows_them(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    _records(users, episode)
    client.force_login(users["coach"])
    page = client.get(reverse("episodes:episode_detail", args=[episode.pk])).content.decode()
    assert "Waiting for sign-off" in page and "Returned" in page and "Upload the plan" in page
    assert "With the duty manager" in page and "Threshold" in page and "(to Ops lead)" in page


def test_read_by_the_orm_when_the_sql_cannot_be_compiled_once(users, team, monkeypatch):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    _records(users, episode)
    compiled = selectors.summary_records(episode)
    monkeypatch.setattr(selectors, "compiled_once", lambda *args, **kwargs: None)
    by_orm = selectors.summary_records(episode)
    for name in ("closure_requests", "step_ups", "escalations"):
        assert [_fields(r) for r in by_orm[name]] == [_fields(r) for r in compiled[name]] != []
