"""Alerts: one per deadline, level and recipient, ever; caught up after outages; delivered once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections

from deadlines import alerts as alerts_module
from deadlines.alerts import ALERTS_LOCK_ID, alerts_deliver, alerts_raise, digest_send
from deadlines.models import Alert, Deadline, DigestDelivery
from deadlines.tasks import raise_alerts
from tests.deadlines.conftest import london

T0 = london(2026, 3, 2, 9, 0)  # Monday


@pytest.fixture(autouse=True)
def _no_escalation_here(settings):
    # The escalation after ALERT_ESCALATE_AFTER_HOURS is tested in test_routing.py; here it
    # would add a third level to every count.
    settings.ALERT_ESCALATE_AFTER_HOURS = 100_000


@pytest.fixture
def episode(make_episode, users):
    return make_episode(opened_at=T0, lead=users["coach"])


def clock(subject, *, rule_id="B2", start=T0, expected=timedelta(days=1), due=timedelta(days=3), **fields) -> Deadline:
    """A deadline row on an episode (or a contact), as the service would have written it."""
    values = {
        "rulebook": "test",
        "rule_id": rule_id,
        "title": f"Rule {rule_id}",
        "started_at": start,
        "expected_at": None if expected is None else start + expected,
        "due_at": None if due is None else start + due,
        "family_id": subject.family_id,
        "team_id": subject.team_id if hasattr(subject, "lead_professional") else None,
    }
    if hasattr(subject, "lead_professional"):
        values.update(episode=subject, assignee_id=subject.lead_professional_id)
    else:
        values.update(contact=subject)
    if "team" in fields:
        del values["team_id"]
    values.update(fields)
    return Deadline.objects.create(**values)


def alert_set(**filters) -> set[tuple[str, str, str]]:
    return {
        (a.deadline.rule_id, a.level, a.recipient.username)
        for a in Alert.objects.filter(**filters).select_related("deadline", "recipient")
    }


# --- detection -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_level_alerts_once_ever_overdue_to_who_acts_breach_to_the_escalation_too(episode, users):
    # An overdue alert goes to the role that acts only (by default the lead
    # professional); a breach to it and the escalation (by default the team leader).
    d = clock(episode)
    assert alerts_raise(now=T0 + timedelta(hours=23)) == 0
    assert alerts_raise(now=T0 + timedelta(days=1, seconds=1)) == 1
    assert alert_set() == {("B2", "overdue", "coach")}
    for hours in (1, 5, 30):  # later runs while it stays overdue: nothing new
        assert alerts_raise(now=T0 + timedelta(days=1, hours=hours)) == 0
    assert alerts_raise(now=T0 + timedelta(days=3, seconds=1)) == 1
    assert alerts_raise(now=T0 + timedelta(days=30)) == 0
    assert alert_set() == {
        ("B2", "overdue", "coach"),
        ("B2", "breached", "coach"),
        ("B2", "breached", "teamlead"),
    }
    d.refresh_from_db()
    assert d.overdue_alerted_at == T0 + timedelta(days=1, seconds=1)
    assert d.breach_alerted_at == T0 + timedelta(days=3, seconds=1)


@pytest.mark.django_db
def test_the_unique_constraint_is_the_last_line_of_defence(episode):
    d = clock(episode)
    alerts_raise(now=T0 + timedelta(days=5))
    before = Alert.objects.count()
    # As if a claim were lost (a restored backup, a hand edit): the job runs again, no duplicates.
    Deadline.objects.filter(pk=d.pk).update(breach_alerted_at=None)
    assert alerts_raise(now=T0 + timedelta(days=6)) == 1
    assert Alert.objects.count() == before


@pytest.mark.django_db
def test_a_deadline_past_both_limits_at_once_gets_only_the_breach_alert(episode):
    d = clock(episode)
    assert alerts_raise(now=T0 + timedelta(days=4)) == 1
    assert {a.level for a in Alert.objects.all()} == {"breached"}
    d.refresh_from_db()
    assert d.overdue_alerted_at is not None  # claimed, so it never comes back as stale news


@pytest.mark.django_db
def test_an_aim_is_flagged_overdue_and_never_breached(episode):
    clock(episode, rule_id="A11", flag_only=True, expected=timedelta(days=180), due=None)
    clock(episode, rule_id="X1", flag_only=True, expected=timedelta(days=1), due=timedelta(days=2))
    alerts_raise(now=T0 + timedelta(days=400))
    assert {(a.deadline.rule_id, a.level) for a in Alert.objects.all()} == {("A11", "overdue"), ("X1", "overdue")}


@pytest.mark.django_db
def test_stopped_clocks_never_alert(episode):
    clock(episode, stopped_at=T0 + timedelta(hours=1), stop_reason="met")
    clock(episode, rule_id="B3", stopped_at=T0 + timedelta(days=10), stop_reason="met")  # met late
    assert alerts_raise(now=T0 + timedelta(days=30)) == 0
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_awaiting_allocation_goes_to_the_team_leader_and_front_door_to_the_mash_lead(
    make_episode, make_contact, users, front_door_team
):
    waiting = make_episode(opened_at=T0)  # no lead professional yet
    clock(waiting, rule_id="A4", expected=None, due=timedelta(hours=24))
    contact = make_contact(received_at=T0)
    clock(contact, rule_id="A1", expected=None, due=timedelta(hours=24), team=front_door_team)
    users["coach"].is_active = False  # a leaver is not alerted
    users["coach"].save()
    inactive = make_episode(opened_at=T0, lead=users["coach"])
    clock(inactive, rule_id="B8", expected=None, due=timedelta(days=2))
    assert alerts_raise(now=T0 + timedelta(days=3)) == 3
    assert alert_set() == {
        ("A4", "breached", "teamlead"),
        ("A1", "breached", "mashlead"),
        ("B8", "breached", "teamlead"),
    }


@pytest.mark.django_db
def test_a_missed_stretch_alerts_every_breach_once_on_the_next_run(episode, make_episode, users):
    # Breaches falling due every few hours over three days while beat was down.
    rows = [clock(episode, rule_id=f"R{i}", expected=None, due=timedelta(hours=5 * i + 1)) for i in range(15)]
    last_due = max(r.due_at for r in rows)
    with time_machine.travel(T0, tick=False) as traveller:
        assert raise_alerts() == 0
        traveller.move_to(T0 + timedelta(days=3, hours=2))  # skip three days; run once
        assert last_due < T0 + timedelta(days=3, hours=2)
        assert raise_alerts() == 15
        assert raise_alerts() == 0
    assert Alert.objects.filter(level="breached").count() == 15 * 2
    assert set(Alert.objects.values_list("created_at", flat=True)) == {T0 + timedelta(days=3, hours=2)}


@pytest.mark.django_db
def test_batches_cover_everything_past_its_limit(episode):
    for i in range(23):
        clock(episode, rule_id=f"R{i}", expected=None, due=timedelta(minutes=i))
    assert alerts_raise(now=T0 + timedelta(hours=1), batch_size=5) == 23
    assert Alert.objects.count() == 46


@pytest.mark.django_db
def test_the_advisory_lock_makes_a_second_run_return_0(episode, django_db_blocker):
    clock(episode, expected=None, due=timedelta(hours=1))
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [ALERTS_LOCK_ID])
        assert alerts_raise(now=T0 + timedelta(days=1)) == 0
        assert not Alert.objects.exists()
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ALERTS_LOCK_ID])
    finally:
        holder.close()
    assert alerts_raise(now=T0 + timedelta(days=1)) == 1


def _run_in_threads(target, n: int = 2) -> list:
    """Run `target()` in n threads released together; each thread uses its own DB connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def many_breaches(transactional_db, make_episode, users):
    episode = make_episode(opened_at=T0, lead=users["coach"])
    Deadline.objects.bulk_create(
        Deadline(
            rulebook="test",
            rule_id=f"R{i}",
            title="x",
            episode=episode,
            family_id=episode.family_id,
            team_id=episode.team_id,
            assignee=users["coach"],
            started_at=T0,
            expected_at=T0 + timedelta(hours=1),
            due_at=T0 + timedelta(hours=2),
        )
        for i in range(300)
    )
    return 300


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_raise_exactly_one_alert_per_level_and_recipient(many_breaches):
    now = T0 + timedelta(hours=1, minutes=30)  # overdue, not yet breached
    results = _run_in_threads(lambda: alerts_raise(now=now, batch_size=20), n=4)
    assert sum(results) == many_breaches  # the lock let one run; the others got 0 or found nothing
    assert Alert.objects.count() == many_breaches  # overdue: to the lead professional only
    later = T0 + timedelta(hours=3)
    results = _run_in_threads(lambda: alerts_raise(now=later, batch_size=20), n=4)
    assert sum(results) == many_breaches
    assert Alert.objects.filter(level="breached").count() == many_breaches * 2
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_without_the_lock_the_conditional_claims_alone_never_double_alert(many_breaches):
    # Defence in depth: the lock is bypassed and four claimers race over the same rows.
    now = T0 + timedelta(hours=3)
    results = _run_in_threads(lambda: alerts_module._raise_level("breached", now=now, batch_size=7), n=4)
    assert sum(results) == many_breaches
    assert Alert.objects.count() == many_breaches * 2
    assert Deadline.objects.filter(breach_alerted_at__isnull=True).count() == 0
    connections.close_all()


# --- delivery --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivery_emails_each_alert_once(episode, users, mailoutbox):
    clock(episode, expected=None, due=timedelta(hours=1))
    alerts_raise(now=T0 + timedelta(hours=2))
    assert alerts_deliver(now=T0 + timedelta(hours=2, minutes=1)) == 2
    assert alerts_deliver(now=T0 + timedelta(hours=2, minutes=2)) == 0
    assert sorted(m.to[0] for m in mailoutbox) == sorted([users["coach"].email, users["teamlead"].email])
    message = mailoutbox[0]
    assert message.subject == f"Breached: B2 Rule B2 (E{episode.pk:07d})"
    assert "Maximum: 2 March 2026, 10:00" in message.body
    assert episode.family.name not in message.body + message.subject  # emails name no family
    assert not Alert.objects.filter(emailed_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_failed_email_stays_unsent_the_others_go_and_the_error_is_raised(episode, users, mailoutbox, monkeypatch):
    clock(episode, expected=None, due=timedelta(hours=1))
    alerts_raise(now=T0 + timedelta(hours=2))
    real_send = alerts_module.send_mail

    def flaky(subject, body, sender, to, **kwargs):
        if to == [users["coach"].email]:
            raise ConnectionRefusedError("SMTP server down")
        return real_send(subject, body, sender, to, **kwargs)

    monkeypatch.setattr(alerts_module, "send_mail", flaky)
    with pytest.raises(ConnectionRefusedError):
        alerts_deliver(now=T0 + timedelta(hours=3))
    assert [m.to for m in mailoutbox] == [[users["teamlead"].email]]
    unsent = Alert.objects.get(emailed_at__isnull=True)
    assert unsent.recipient == users["coach"]

    monkeypatch.setattr(alerts_module, "send_mail", real_send)
    assert alerts_deliver(now=T0 + timedelta(hours=4)) == 1
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_a_recipient_without_an_email_address_is_settled_in_app_only(episode, users, mailoutbox):
    users["teamlead"].email = ""
    users["teamlead"].save()
    clock(episode, expected=None, due=timedelta(hours=1))
    alerts_raise(now=T0 + timedelta(hours=2))
    assert alerts_deliver(now=T0 + timedelta(hours=3)) == 1
    assert not Alert.objects.filter(emailed_at__isnull=True).exists()
    assert len(mailoutbox) == 1


# --- digest ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_daily_digest_for_each_team_leader_once_a_working_day(episode, users, cal, mailoutbox, settings):
    settings.EARLYHELP_DIGEST_HOUR = 7
    friday = london(2026, 3, 6, 7, 30)
    clock(episode, rule_id="B8", start=friday - timedelta(days=5), expected=None, due=timedelta(days=2))  # breached
    clock(episode, rule_id="B2", start=friday - timedelta(days=2), expected=timedelta(days=1), due=timedelta(days=3))
    clock(episode, rule_id="B9", start=friday, expected=None, due=timedelta(days=2, hours=12))  # Sunday
    clock(episode, rule_id="B10", start=friday, expected=None, due=timedelta(days=28))  # not yet
    clock(episode, rule_id="B11", start=friday - timedelta(days=9), expected=None, due=timedelta(days=1),
          stopped_at=friday - timedelta(days=8), stop_reason="met")  # fmt: skip

    assert digest_send(now=london(2026, 3, 6, 6, 59), calendar=cal) == 0  # before 07:00
    assert digest_send(now=friday, calendar=cal) == 1
    assert digest_send(now=friday + timedelta(hours=3), calendar=cal) == 0  # once a day
    assert digest_send(now=london(2026, 3, 7, 9, 0), calendar=cal) == 0  # Saturday: no digest
    (message,) = mailoutbox
    assert message.to == [users["teamlead"].email]
    body = message.body
    assert "Breached (past the maximum): 1\n  - B8" in body
    assert "Overdue (past the expected time): 1\n  - B2" in body
    # Friday's digest looks to the end of the next working day, Monday, so Sunday's B9 is in it.
    assert "Falling due by 9 March 2026, 23:59: 1\n  - B9" in body
    assert "B2 Rule B2, E" in body and "(maximum 7 March 2026, 07:30)" in body
    assert "B10" not in body and "B11" not in body
    assert DigestDelivery.objects.get(recipient=users["teamlead"]).items == 3
    assert DigestDelivery.objects.get(recipient=users["mashlead"]).items == 0  # nothing to say: no email
    assert digest_send(now=london(2026, 3, 9, 8, 0), calendar=cal) == 1  # Monday's


@pytest.mark.django_db
def test_one_claim_statement_claims_at_most_one_batch(episode):
    # Regression: `WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` may claim everything.
    for i in range(23):
        clock(episode, rule_id=f"R{i}", expected=None, due=timedelta(minutes=i))
    with connection.cursor() as cursor:
        cursor.execute(alerts_module.detection_sql("breached"), {"now": T0 + timedelta(hours=1), "batch": 5})
        claimed = cursor.fetchall()
    assert len(claimed) == 5
    assert Deadline.objects.filter(breach_alerted_at__isnull=False).count() == 5
    # The earliest limits first, so a backlog is worked through oldest first.
    assert set(Deadline.objects.filter(breach_alerted_at__isnull=False).values_list("rule_id", flat=True)) == {
        "R0", "R1", "R2", "R3", "R4",
    }  # fmt: skip
