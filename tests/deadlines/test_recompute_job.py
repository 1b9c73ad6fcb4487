"""Publishing with "recompute the open clocks": a background job with a progress bar and a report of
what moved, that carries on after an interruption; a clock explains itself with its own version; two
people editing one draft never overwrite each other silently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deadlines import services, versions
from deadlines.calendar import build_calendar
from deadlines.models import Deadline, RulebookVersion
from deadlines.services import deadline_record_event, file_rulebooks
from deadlines.tasks import recompute_rulebook
from kit.models import BackgroundJob
from tests.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.deadlines.urls")]

CAL = build_calendar()


@pytest.fixture(autouse=True)
def fresh_versions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions", "step-up"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"
    versions.forget(none_published=True)
    yield
    versions.forget(none_published=True)


# The editor tests' helpers (tests/deadlines/test_editor.py), kept here so neither imports the other.
def _book(slug="family-solutions"):
    return next(b for b in file_rulebooks() if b.slug == slug)


def _b2_table(draft, **changes):
    table = dict(next(t for t in draft.data["rule"] if t["id"] == "B2"))
    table.update(changes)
    return table


def _publish_b2_maximum(user, now, days=2, open_clocks="keep"):
    draft = versions.draft_start(_book(), by=user, now=now)
    draft = versions.rule_save(
        draft,
        rule_id="B2",
        table=_b2_table(draft, maximum={"amount": days, "unit": "calendar_days"}),
        edit_version=draft.edit_version,
        by=user,
        calendar=CAL,
    )
    return versions.draft_publish(
        draft,
        edit_version=draft.edit_version,
        effective_at=now,
        open_clocks=open_clocks,
        reason="Council agreed 2 days",
        by=user,
        now=now,
    )


def _b2_due(contact, at):
    deadline_record_event(event="contact_received", now=at, contact=contact, calendar=CAL)
    return Deadline.objects.get(contact=contact, rule_id="B2").due_at


def _rule_post(draft, **changes):
    data = {
        "title": "Acknowledgement sent to the original referrer",
        "applies_to": "contact",
        "starts_on": ["contact_received"],
        "stops_on": ["acknowledgement_sent"],
        "expected_amount": "1",
        "expected_unit": "working_days",
        "maximum_amount": "2",
        "maximum_unit": "calendar_days",
        "exempt_routes": "dart",
        "acts": "mash_lead",
        "escalate_to": ["eh_manager"],
        "source": "1.2 An acknowledgement email",
        "edit_version": str(draft.edit_version),
    }
    data.update(changes)
    return data


def _open_b2_clocks(n: int, now) -> list[Deadline]:
    contacts = [ContactFactory() for _ in range(n)]
    for contact in contacts:
        _b2_due(contact, now - timedelta(hours=1))
    return list(Deadline.objects.filter(contact__in=contacts, rule_id="B2").order_by("id"))


def _due_times(clocks) -> dict:
    return dict(Deadline.objects.filter(pk__in=[c.pk for c in clocks]).values_list("pk", "due_at"))


def test_publishing_with_recompute_sends_the_publisher_to_a_job_that_reports_what_moved(
    client, users, eager_celery, django_capture_on_commit_callbacks
):
    now = timezone.now()
    clocks = _open_b2_clocks(3, now)
    old = _due_times(clocks)
    client.force_login(users["manager"])
    draft = versions.draft_start(_book(), by=users["manager"], now=now)
    url = reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"])
    assert client.post(url, _rule_post(draft)).status_code == 302
    draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("deadlines:editor_preview", args=["family-solutions"]),
            {"open_clocks": "recompute", "reason": "Council agreed", "edit_version": draft.edit_version},
        )
    job = BackgroundJob.objects.get(kind="rulebook-recompute")
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert RulebookVersion.objects.get(slug="family-solutions", number=2).recompute_job == job
    job.refresh_from_db()
    assert (job.state, job.owner, job.percent) == ("done", users["manager"], 100)
    assert job.result["moved"] == 3 and job.result["checked"] >= 3
    assert {s["id"] for s in job.result["sample"]} >= {c.pk for c in clocks}
    assert all(due == old[pk] - timedelta(days=1) for pk, due in _due_times(clocks).items())
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "What moved" in body and "Moved to the new version's times" in body
    assert reverse("deadlines:clock_explain", args=[clocks[0].pk]) in body
    # Only the publisher sees the job.
    client.force_login(users["admin"])
    assert client.get(response["Location"]).status_code in (200, 404)  # a superuser admin may see it
    client.force_login(users["teamlead"])
    assert client.get(response["Location"]).status_code == 404


def test_running_the_task_twice_changes_nothing_the_second_time(users, django_capture_on_commit_callbacks):
    now = timezone.now()
    clocks = _open_b2_clocks(4, now)
    with django_capture_on_commit_callbacks(execute=False):
        published = _publish_b2_maximum(users["admin"], now, open_clocks="recompute")
    job_id = published.recompute_job_id
    assert recompute_rulebook("family-solutions", job_id) == 4
    moved = _due_times(clocks)
    # Delivered again (acks_late): it carries on after the last batch, so nothing moves twice.
    assert recompute_rulebook("family-solutions", job_id) == 4  # the report counts each clock once
    assert _due_times(clocks) == moved
    job = BackgroundJob.objects.get(pk=job_id)
    assert (job.state, job.result["moved"], job.result["checked"]) == ("done", 4, job.total)
    # A fresh job over the same clocks finds them already moved.
    assert (
        services.rulebook_recompute(
            job_id=BackgroundJob.objects.create(kind="rulebook-recompute", title="again", created_at=now).pk,
            slug="family-solutions",
            now=now,
            calendar=CAL,
        )["moved"]
        == 0
    )


def test_a_recompute_that_fails_half_way_carries_on_where_it_stopped(
    users, django_capture_on_commit_callbacks, monkeypatch
):
    now = timezone.now()
    clocks = _open_b2_clocks(6, now)
    old = _due_times(clocks)
    with django_capture_on_commit_callbacks(execute=False):
        published = _publish_b2_maximum(users["admin"], now, open_clocks="recompute")
    job_id = published.recompute_job_id
    real_advance = services.job_advance
    calls = []

    def dies_after_two_batches(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("the database went away")
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(services, "job_advance", dies_after_two_batches)
    with pytest.raises(ConnectionError):
        services.rulebook_recompute(job_id=job_id, slug="family-solutions", now=now, calendar=CAL, batch_size=2)
    job = BackgroundJob.objects.get(pk=job_id)
    half = job.result
    # Two batches saved with their checkpoint; the third rolled back with its failed record.
    assert job.state == "running" and half["checked"] == 4 and half["last_id"] > 0
    moved_before = sum(1 for pk, due in _due_times(clocks).items() if due != old[pk])
    assert moved_before == half["moved"]
    monkeypatch.setattr(services, "job_advance", real_advance)
    report = services.rulebook_recompute(job_id=job_id, slug="family-solutions", now=now, calendar=CAL, batch_size=2)
    assert report["moved"] == 6 and report["checked"] == BackgroundJob.objects.get(pk=job_id).total
    assert all(due == old[pk] - timedelta(days=1) for pk, due in _due_times(clocks).items())
    assert not Deadline.objects.filter(pk__in=[c.pk for c in clocks]).exclude(rulebook_version=2).exists()
    job.refresh_from_db()
    assert job.state == "done" and job.percent == 100


def test_a_task_that_fails_marks_its_job_failed_with_a_message(users, django_capture_on_commit_callbacks, monkeypatch):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        published = _publish_b2_maximum(users["admin"], now, open_clocks="recompute")

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("deadlines.tasks.rulebook_recompute", broken)
    with pytest.raises(RuntimeError):
        recompute_rulebook("family-solutions", published.recompute_job_id)
    job = BackgroundJob.objects.get(pk=published.recompute_job_id)
    assert job.state == "failed" and "carries on where it stopped" in job.message


# --- The clock explanation follows the clock's own version ------------------------------------


def test_a_clock_that_kept_version_1_explains_itself_with_version_1(client, users):
    now = timezone.now()
    kept = ContactFactory()
    _b2_due(kept, now - timedelta(hours=1))
    _publish_b2_maximum(users["admin"], now, days=2, open_clocks="keep")
    follows = ContactFactory()
    _b2_due(follows, now + timedelta(minutes=1))
    old_clock = Deadline.objects.get(contact=kept, rule_id="B2")
    new_clock = Deadline.objects.get(contact=follows, rule_id="B2")
    # The clock started before version 1 was stored follows the file (no version number): the same figures.
    assert old_clock.rulebook_version in (None, 1) and new_clock.rulebook_version == 2
    client.force_login(users["mash"])  # the front door sees every contact
    old_page = client.get(reverse("deadlines:clock_explain", args=[old_clock.pk]))
    new_page = client.get(reverse("deadlines:clock_explain", args=[new_clock.pk]))
    assert old_page.status_code == new_page.status_code == 200
    assert old_page.context["rulebook"].version == old_clock.rulebook_version
    assert new_page.context["rulebook"].version == 2
    assert old_page.context["rule"].maximum.amount == 3 and new_page.context["rule"].maximum.amount == 2
    assert "version 2" in new_page.content.decode() and "version 2" not in old_page.content.decode()


# --- Two people editing one draft ------------------------------------------------------------


@pytest.fixture
def two_sessions(client, users):
    from django.test import Client

    other = Client()
    client.force_login(users["admin"])
    other.force_login(users["manager"])
    return client, other


def test_two_sessions_saving_the_same_rule_the_second_is_refused(two_sessions, users):
    first, second = two_sessions
    versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    url = reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"])
    # Both open the form: each carries the draft's edit version as it was then.
    seen_first = first.get(url).context["form"].initial["edit_version"]
    seen_second = second.get(url).context["form"].initial["edit_version"]
    draft = versions.draft_of("family-solutions")
    assert first.post(url, _rule_post(draft, title="First", edit_version=seen_first)).status_code == 302
    response = second.post(url, _rule_post(draft, title="Second", edit_version=seen_second))
    assert response.status_code == 409 and b"Someone else changed this draft" in response.content
    draft.refresh_from_db()
    assert _b2_table(draft)["title"] == "First"


@pytest.mark.parametrize("second_does", ["retire", "discard", "publish", "add"])
def test_every_editor_form_refuses_a_draft_changed_since_it_was_opened(two_sessions, users, second_does):
    first, second = two_sessions
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    opened_at = draft.edit_version
    # The first session saves a change after the second opened its page.
    edit = reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"])
    assert first.post(edit, _rule_post(draft, title="First")).status_code == 302
    draft.refresh_from_db()
    data_after_first = draft.data
    if second_does == "retire":
        response = second.post(
            reverse("deadlines:editor_rule_retire", args=["family-solutions", "B3"]), {"edit_version": opened_at}
        )
    elif second_does == "discard":
        response = second.post(
            reverse("deadlines:editor_draft_discard", args=["family-solutions"]), {"edit_version": opened_at}
        )
    elif second_does == "publish":
        response = second.post(
            reverse("deadlines:editor_preview", args=["family-solutions"]),
            {"open_clocks": "keep", "reason": "Agreed", "edit_version": opened_at},
        )
        assert response.status_code == 409
    else:
        response = second.post(
            reverse("deadlines:editor_rule_add", args=["family-solutions"]),
            _rule_post(draft, edit_version=opened_at, id="B99", title="Added"),
        )
        assert response.status_code == 409
    assert b"Someone else changed this draft" in (
        response.content if response.status_code != 302 else second.get(response["Location"]).content
    )
    draft = RulebookVersion.objects.get(pk=draft.pk)
    assert draft.state == RulebookVersion.State.DRAFT and draft.data == data_after_first
