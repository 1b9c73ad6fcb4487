"""Rulebooks as versioned records and their editor (ADR 0034)."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from deadlines import versions
from deadlines.calendar import LONDON, build_calendar, end_of_local_day
from deadlines.models import Deadline, RulebookVersion
from deadlines.rulebook import DEFAULT_DIRECTORY, load_rulebook, parse_rulebook
from deadlines.services import active_rulebooks, deadline_record_event, file_rulebooks
from deadlines.tasks import recompute_rulebook
from tests.factories import ContactFactory, DeadlineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.deadlines.urls")]

CAL = build_calendar()


@pytest.fixture(autouse=True)
def fresh_versions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions", "step-up"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"
    versions.forget(none_published=True)
    yield
    # The test's versions are gone with its transaction.
    versions.forget(none_published=True)


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


# --- Versions and the loader -------------------------------------------------------------------


def test_without_versions_the_files_are_the_rulebooks():
    assert active_rulebooks() is file_rulebooks()
    assert all(book.version is None for book in active_rulebooks())


def test_starting_a_draft_stores_the_file_as_version_1_and_copies_it(users):
    now = timezone.now()
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    first = RulebookVersion.objects.get(slug="family-solutions", number=1)
    assert first.state == RulebookVersion.State.PUBLISHED
    assert first.effective_at == now.replace(second=0, microsecond=0)
    assert (draft.number, draft.state, draft.data) == (2, RulebookVersion.State.DRAFT, first.data)
    # Starting again returns the same draft rather than a second one.
    assert versions.draft_start(_book(), by=users["manager"], now=now).pk == draft.pk
    # Version 1 is the file: the rules in force are the same.
    assert versions.version_rulebook(first).rules == _book().rules


def test_new_clocks_follow_the_published_version_and_earlier_ones_the_old(users):
    now = timezone.now()
    before = ContactFactory()
    old_due = _b2_due(before, now - timedelta(hours=1))
    published = _publish_b2_maximum(users["admin"], now)
    assert published.number == 2 and published.published_by == users["admin"]
    start = now + timedelta(minutes=1)
    new_due = _b2_due(ContactFactory(), start)
    local = start.astimezone(LONDON).date() + timedelta(days=2)
    assert new_due.astimezone(LONDON).date() == local
    # The clock started before the effective time kept its three days.
    assert Deadline.objects.get(contact=before, rule_id="B2").due_at == old_due
    # A late-recorded event from before the version took effect follows the old one.
    early = now - timedelta(hours=2)
    late = _b2_due(ContactFactory(), early)
    assert late.astimezone(LONDON).date() == early.astimezone(LONDON).date() + timedelta(days=3)
    assert next(b for b in active_rulebooks(start) if b.slug == "family-solutions").version == 2
    # Before version 1 was stored (when the draft was started) the file was in force: the same rules.
    assert next(b for b in active_rulebooks(now - timedelta(hours=1)) if b.slug == "family-solutions").version is None


def test_a_version_published_for_later_applies_from_then(users):
    now = timezone.now()
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    draft = versions.rule_save(
        draft,
        rule_id="B2",
        table=_b2_table(draft, maximum={"amount": 2, "unit": "calendar_days"}),
        edit_version=draft.edit_version,
        by=users["admin"],
        calendar=CAL,
    )
    later = now + timedelta(days=7)
    versions.draft_publish(
        draft, edit_version=draft.edit_version, effective_at=later, open_clocks="keep", reason="r", by=None, now=now
    )
    assert next(b for b in active_rulebooks(now) if b.slug == "family-solutions").version == 1
    assert next(b for b in active_rulebooks(later) if b.slug == "family-solutions").version == 2


# Three days after each Thursday the clocks change: "a day earlier" is 23 or 25 hours earlier, not 24.
@pytest.mark.parametrize(
    "moment", [datetime(2027, 3, 25, 12, 0, tzinfo=LONDON), datetime(2027, 10, 28, 12, 0, tzinfo=LONDON)]
)
def test_recompute_moves_open_clocks_and_is_idempotent(users, eager_celery, django_capture_on_commit_callbacks, moment):
    with time_machine.travel(moment, tick=False):
        now = timezone.now()
        contact = ContactFactory()
        old_due = _b2_due(contact, now - timedelta(hours=1))
        with django_capture_on_commit_callbacks(execute=True):
            _publish_b2_maximum(users["admin"], now, open_clocks="recompute")
        moved = Deadline.objects.get(contact=contact, rule_id="B2").due_at
        assert moved == end_of_local_day(old_due.astimezone(LONDON).date() - timedelta(days=1))
        assert recompute_rulebook("family-solutions") == 0  # a second run changes nothing


# --- Validation: nothing saved half-done --------------------------------------------------------


def test_expected_longer_than_maximum_is_refused_and_nothing_is_saved(users):
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    before = (draft.data, draft.edit_version)
    with pytest.raises(versions.RulebookRefused, match="longer than the maximum"):
        versions.rule_save(
            draft,
            rule_id="B2",
            table=_b2_table(draft, expected={"amount": 5, "unit": "working_days"}),
            edit_version=draft.edit_version,
            by=users["admin"],
            calendar=CAL,
        )
    draft.refresh_from_db()
    assert (draft.data, draft.edit_version) == before


def test_an_unknown_event_is_refused_by_the_loader_check(users):
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    with pytest.raises(versions.RulebookRefused, match="unknown event 'contact_recieved'"):
        versions.rule_save(
            draft,
            rule_id="B2",
            table=_b2_table(draft, starts_on=["contact_recieved"]),
            edit_version=draft.edit_version,
            by=users["admin"],
            calendar=CAL,
        )


def test_a_stale_edit_is_refused(users):
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    stale = draft.edit_version
    versions.rule_save(
        draft, rule_id="B2", table=_b2_table(draft, title="First"), edit_version=stale, by=users["admin"], calendar=CAL
    )
    with pytest.raises(versions.EditConflict):
        versions.rule_save(
            draft,
            rule_id="B2",
            table=_b2_table(draft, title="Second"),
            edit_version=stale,
            by=users["manager"],
            calendar=CAL,
        )
    draft.refresh_from_db()
    assert _b2_table(draft)["title"] == "First"


def test_retiring_and_adding_rules(users):
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    draft = versions.rule_retire(draft, rule_id="B2", edit_version=draft.edit_version, by=users["admin"])
    assert "B2" not in versions.version_rulebook(draft).rules
    table = {
        "id": "B99",
        "title": "New",
        "starts_on": ["contact_received"],
        "stops_on": ["decision_made"],
        "maximum": {"amount": 1, "unit": "working_days"},
        "applies_to": "contact",
    }
    draft = versions.rule_save(
        draft, rule_id=None, table=table, edit_version=draft.edit_version, by=users["admin"], calendar=CAL
    )
    assert versions.version_rulebook(draft).rules["B99"].title == "New"
    with pytest.raises(versions.RulebookRefused, match="already a rule B99"):
        versions.rule_save(
            draft, rule_id=None, table=table, edit_version=draft.edit_version, by=users["admin"], calendar=CAL
        )


def test_publishing_needs_a_reason_and_cannot_recompute_for_later(users):
    now = timezone.now()
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    with pytest.raises(versions.RulebookRefused, match="why"):
        versions.draft_publish(
            draft, edit_version=draft.edit_version, effective_at=now, open_clocks="keep", reason=" ", by=None, now=now
        )
    with pytest.raises(versions.RulebookRefused, match="takes effect now"):
        versions.draft_publish(
            draft,
            edit_version=draft.edit_version,
            effective_at=now + timedelta(days=1),
            open_clocks="recompute",
            reason="r",
            by=None,
            now=now,
        )
    draft.refresh_from_db()
    assert draft.state == RulebookVersion.State.DRAFT


# --- Preview ----------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 11, 26, 4, 0, tzinfo=LONDON), tick=False)
def test_preview_counts_open_clocks_that_would_move_and_breach(users):
    now = timezone.now()  # pinned: Thursday 04:00, so the clock started Monday 16:00 (old due Thursday 16:00)
    contact = ContactFactory()
    started = now - timedelta(days=2, hours=12)
    DeadlineFactory(
        contact=contact,
        rule_id="B2",
        started_at=started,
        expected_at=started + timedelta(days=1),
        due_at=started + timedelta(days=3),
    )
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    draft = versions.rule_save(
        draft,
        rule_id="B2",
        table=_b2_table(draft, maximum={"amount": 2, "unit": "calendar_days"}),
        edit_version=draft.edit_version,
        by=users["admin"],
        calendar=CAL,
    )
    result = versions.preview(draft, in_force_book=_book(), now=now, calendar=CAL)
    assert (result.open_clocks, result.moved, result.breached) == (1, 1, 1)
    (rule_id, _title, rows) = result.changed_rules[0]
    assert rule_id == "B2" and len(rows) == 10
    assert all(new < old for _label, _start, old, new in rows)


def test_example_starts_include_a_bank_holiday_and_both_clock_changes():
    examples = dict(versions.example_starts(timezone.now(), CAL))
    assert len(examples) == 10
    holiday = next(start for label, start in examples.items() if label.startswith("A bank holiday"))
    assert holiday.date() in CAL.non_working
    forward = examples["The night the clocks go forward"]
    assert (forward + timedelta(hours=3)).utcoffset() != forward.utcoffset()


# --- TOML export and import --------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["families-first", "family-solutions", "step-up"])
def test_export_reads_back_as_the_same_rulebook(slug):
    original = load_rulebook(DEFAULT_DIRECTORY / f"{slug}.toml")
    with original.path.open("rb") as fh:
        data = tomllib.load(fh)
    again = parse_rulebook(tomllib.loads(versions.to_toml(data)), slug=slug, path=original.path, origin="t")
    assert (again.rules, again.title, again.steps, again.source) == (
        original.rules,
        original.title,
        original.steps,
        original.source,
    )


def test_import_refuses_bad_toml_and_makes_a_draft_of_a_good_file(users):
    with pytest.raises(versions.RulebookRefused, match="not valid TOML"):
        versions.draft_import(_book(), text="title = ", by=users["admin"], now=timezone.now())
    text = (DEFAULT_DIRECTORY / "family-solutions.toml").read_text(encoding="utf-8")
    huge = text.replace(
        'maximum = { amount = 3, unit = "calendar_days" }',
        'maximum = { amount = 99999999999, unit = "calendar_days" }',
        1,
    )
    with pytest.raises(versions.RulebookRefused, match="Rule B2: 99999999999 calendar days is too long"):
        versions.draft_import(_book(), text=huge, by=users["admin"], now=timezone.now())
    assert not RulebookVersion.objects.exists()
    text = (
        (DEFAULT_DIRECTORY / "family-solutions.toml")
        .read_text(encoding="utf-8")
        .replace(
            'maximum = { amount = 3, unit = "calendar_days" }', 'maximum = { amount = 2, unit = "calendar_days" }', 1
        )
    )
    draft = versions.draft_import(_book(), text=text, by=users["admin"], now=timezone.now())
    assert draft.number == 2
    assert str(versions.version_rulebook(draft).rules["B2"].maximum) == "2 calendar days"


# --- Pages -------------------------------------------------------------------------------------


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


def test_only_administrators_and_managers_reach_the_editor(client, users):
    for role, status in (("coach", 403), ("teamlead", 403), ("manager", 200), ("admin", 200)):
        client.force_login(users[role])
        assert client.get(reverse("deadlines:editor_rulebooks")).status_code == status


def test_editing_b2_in_the_browser_previewing_and_publishing(client, users):
    client.force_login(users["manager"])
    response = client.post(reverse("deadlines:editor_draft_start", args=["family-solutions"]))
    assert response.status_code == 302
    draft = versions.draft_of("family-solutions")
    url = reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"])
    assert client.get(url).status_code == 200
    assert client.post(url, _rule_post(draft)).status_code == 302
    preview = client.get(reverse("deadlines:editor_preview", args=["family-solutions"]))
    assert preview.status_code == 200
    assert b"examples-B2" in preview.content
    draft.refresh_from_db()
    response = client.post(
        reverse("deadlines:editor_preview", args=["family-solutions"]),
        {"open_clocks": "keep", "reason": "Council agreed", "edit_version": draft.edit_version, "effective_at": ""},
    )
    assert response.status_code == 302
    published = RulebookVersion.objects.get(slug="family-solutions", number=2)
    assert published.state == "published" and published.published_by == users["manager"]
    page = client.get(reverse("deadlines:editor_rulebook", args=["family-solutions"]))
    assert b"Council agreed" in page.content
    export = client.get(reverse("deadlines:editor_export", args=["family-solutions", 2]))
    assert 'maximum = { amount = 2, unit = "calendar_days" }' in export.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"starts_on": ["contact_recieved"]}, "starts_on", "is not an event the system records"),
        ({"expected_amount": "5", "expected_unit": "calendar_days"}, "expected_amount", "longer than the maximum"),
        ({"maximum_unit": "fortnights"}, "maximum_unit", "Select a valid choice"),
        ({"maximum_amount": "2", "maximum_unit": "end_of_next_working_day"}, "maximum_amount", "takes the amount 1"),
        ({"maximum_amount": "900", "maximum_unit": "hours"}, "maximum_amount", "too long for a maximum: use days"),
        ({"maximum_amount": "9000", "maximum_unit": "working_days"}, "maximum_amount", "too long for a maximum"),
        ({"maximum_amount": "", "maximum_unit": "calendar_days"}, "maximum_amount", "Enter the amount"),
        ({"stops_on": []}, "stops_on", "at least one event that stops"),
        ({"escalate_to": ["mash_lead"]}, "escalate_to", "told of a breach anyway"),
        ({"exempt_routes": "DART!"}, "exempt_routes", "lowercase route names"),
    ],
)
def test_bad_input_re_renders_with_a_message_and_saves_nothing(client, users, changes, field, message):
    client.force_login(users["admin"])
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    before = draft.data
    response = client.post(
        reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"]), _rule_post(draft, **changes)
    )
    assert response.status_code == 200
    assert any(message in str(e) for e in response.context["form"].errors.get(field, [])), response.context[
        "form"
    ].errors
    draft.refresh_from_db()
    assert draft.data == before


def test_a_concurrent_edit_is_refused_with_409_and_keeps_what_was_typed(client, users):
    client.force_login(users["admin"])
    draft = versions.draft_start(_book(), by=users["admin"], now=timezone.now())
    stale = _rule_post(draft, title="Typed by the administrator")
    versions.rule_save(
        draft,
        rule_id="B2",
        table=_b2_table(draft, title="Saved by the manager"),
        edit_version=draft.edit_version,
        by=users["manager"],
        calendar=CAL,
    )
    response = client.post(reverse("deadlines:editor_rule_edit", args=["family-solutions", "B2"]), stale)
    assert response.status_code == 409
    assert b"Typed by the administrator" in response.content
    assert b"Someone else changed this draft" in response.content
    draft.refresh_from_db()
    assert _b2_table(draft)["title"] == "Saved by the manager"


def test_the_command_stores_the_files_as_version_1_once():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("rulebook_versions", "--seed", stdout=out)
    assert "Stored as version 1: family-solutions, step-up" in out.getvalue()
    call_command("rulebook_versions", "--seed", stdout=out)
    assert RulebookVersion.objects.count() == 2
    assert {b.version for b in active_rulebooks()} == {1}


def test_clocks_kept_on_their_version_stay_there_through_a_calendar_recompute(users):
    from deadlines.services import deadlines_recompute_open

    now = timezone.now()
    before = ContactFactory()
    old_due = _b2_due(before, now - timedelta(hours=1))
    _publish_b2_maximum(users["admin"], now)
    after = ContactFactory()
    new_due = _b2_due(after, now + timedelta(minutes=1))
    assert Deadline.objects.get(contact=after, rule_id="B2").rulebook_version == 2
    # A closure day far away: the recompute runs over every open clock, each with its own version.
    deadlines_recompute_open(now=now, calendar=build_calendar(closure_days=[now.date() + timedelta(days=300)]))
    assert Deadline.objects.get(contact=before, rule_id="B2").due_at == old_due
    assert Deadline.objects.get(contact=after, rule_id="B2").due_at == new_due


def test_recompute_on_publishing_moves_the_clocks_to_the_new_version(
    users, eager_celery, django_capture_on_commit_callbacks
):
    now = timezone.now()
    contact = ContactFactory()
    _b2_due(contact, now - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        _publish_b2_maximum(users["admin"], now, open_clocks="recompute")
    assert Deadline.objects.get(contact=contact, rule_id="B2").rulebook_version == 2


def test_reading_the_rulebooks_asks_the_database_only_when_a_version_was_published(users, django_assert_num_queries):
    now = timezone.now()
    with django_assert_num_queries(0):  # none published anywhere: the files, no query
        assert active_rulebooks(now) is file_rulebooks()
    _publish_b2_maximum(users["admin"], now)
    with django_assert_num_queries(1):  # this process published: it reads the versions once
        assert active_rulebooks(now)[0].version == 2
    with django_assert_num_queries(0):
        assert active_rulebooks(now)[0].version == 2


def test_a_scheduled_version_can_be_withdrawn_before_it_takes_effect(client, users):
    now = timezone.now()
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    later = now + timedelta(days=7)
    scheduled = versions.draft_publish(
        draft, edit_version=draft.edit_version, effective_at=later, open_clocks="keep", reason="r", by=None, now=now
    )
    client.force_login(users["manager"])
    url = reverse("deadlines:editor_version_retire", args=["family-solutions", scheduled.number])
    assert client.post(url).status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.state == RulebookVersion.State.RETIRED
    assert next(b for b in active_rulebooks(later) if b.slug == "family-solutions").version == 1
    # Version 1 is in force: it cannot be withdrawn.
    client.post(reverse("deadlines:editor_version_retire", args=["family-solutions", 1]))
    assert RulebookVersion.objects.get(slug="family-solutions", number=1).state == RulebookVersion.State.PUBLISHED


def test_the_rule_titles_kept_per_process_follow_a_published_edit(users):
    from oversight.selectors import rule_choices, rule_titles

    titles = rule_titles()
    assert rule_titles() is titles  # kept per process: not recomputed from the rulebooks per request
    assert titles["B2"] == "Acknowledgement sent to the original referrer"
    now = timezone.now()
    draft = versions.draft_start(_book(), by=users["admin"], now=now)
    draft = versions.rule_save(
        draft,
        rule_id="B2",
        table=_b2_table(draft, title="Acknowledged to whoever referred"),
        edit_version=draft.edit_version,
        by=users["admin"],
        calendar=CAL,
    )
    versions.draft_publish(
        draft, edit_version=draft.edit_version, effective_at=now, open_clocks="keep", reason="r", by=None, now=now
    )
    # The next request sees the published title, in the titles and in the filters' choices.
    assert rule_titles()["B2"] == "Acknowledged to whoever referred"
    assert ("B2", "B2: Acknowledged to whoever referred") in rule_choices()
