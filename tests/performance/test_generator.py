"""generate_data at a small N: proportions, determinism, refusal, and pages that render on it."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import roles
from accounts.models import User
from cases.models import AccessLog, CaseNote, Contact, Episode, Family, Membership, Person
from deadlines.models import Alert, Deadline
from tooling.generator import GeneratorError, generate

TODAY = date(2026, 11, 30)
N = 200


def _generate(n: int = N, **kwargs):
    return generate(families=n, seed=7, today=TODAY, stream=io.StringIO(), **kwargs)


def _fingerprint() -> str:
    """What the data says, without the ids of staff (their sequence is not rolled back)."""
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql in (
            "SELECT id, name, postcode, town FROM cases_family ORDER BY id",
            "SELECT id, first_name, last_name, date_of_birth, nhs_number FROM cases_person ORDER BY id",
            "SELECT id, family_id, received_at, route, state, decision, decided_at FROM cases_contact ORDER BY id",
            "SELECT id, family_id, state, opened_at, closed_at FROM cases_episode ORDER BY id",
            "SELECT id, episode_id, kind, happened_at FROM cases_casenote ORDER BY id",
            "SELECT id, rule_id, started_at, expected_at, due_at, stopped_at, breach_alerted_at"
            " FROM deadlines_deadline ORDER BY id",
            "SELECT id, at, action, family_id_logged FROM cases_accesslog ORDER BY id",
        ):
            cursor.execute(sql)
            digest.update(repr(cursor.fetchall()).encode())
    return digest.hexdigest()


@pytest.mark.django_db
def test_row_counts_are_in_the_issues_proportions():
    result = _generate()
    families = Family.objects.count()
    assert families == N == result.families
    per_family = {
        "people": Person.objects.count() / N,  # 600,000 for 200,000
        "contacts": Contact.objects.count() / N,  # 700,000
        "episodes": Episode.objects.count() / N,  # 150,000
        "notes": CaseNote.objects.count() / N,  # 5,000,000
        "access log": AccessLog.objects.count() / N,  # 20,000,000
    }
    assert 2.6 <= per_family["people"] <= 3.5, per_family
    assert 3.0 <= per_family["contacts"] <= 4.0, per_family
    assert 0.55 <= per_family["episodes"] <= 0.95, per_family
    assert 18 <= per_family["notes"] <= 33, per_family
    assert 85 <= per_family["access log"] <= 115, per_family
    assert Membership.objects.count() == Person.objects.count()
    # Clocks: a large share still open (live work and tasks never recorded), today's boards busy.
    deadlines = Deadline.objects.count()
    open_ = Deadline.objects.filter(stopped_at__isnull=True).count()
    assert deadlines >= 25 * N
    assert 3 * N <= open_ <= 7 * N  # ≈1,000,000 open of 200,000 families
    assert 0.05 <= open_ / deadlines <= 0.3
    assert Deadline.objects.breached(result_now()).exists()
    assert Alert.objects.exists()
    # Every crossing before "now" was already claimed: the alert job has nothing to do.
    now = result_now()
    assert not Deadline.objects.filter(stopped_at__isnull=True, due_at__lt=now, flag_only=False,
                                       breach_alerted_at__isnull=True).exists()  # fmt: skip
    assert not Deadline.objects.filter(
        stopped_at__isnull=True, expected_at__lt=now, overdue_alerted_at__isnull=True
    ).exists()
    # Episodes in (nearly) every state; staff scaled down but every role present.
    states = set(Episode.objects.values_list("state", flat=True))
    assert {Episode.State.CLOSED, Episode.State.PLAN_ACTIVE} <= states
    for role in (roles.MASH_OFFICER, roles.EH_MASH_LEAD, roles.PRACTITIONER, roles.TEAM_LEADER, roles.MANAGER):
        assert User.objects.filter(groups__name=role).exists(), role
    # Fictional people only: every postcode in the unused ZZ area.
    assert not Family.objects.exclude(postcode__startswith="ZZ").exists()
    # The indexes and foreign keys dropped for the load are back.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'deadlines_deadline'")
        assert cursor.fetchone()[0] >= 14
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'cases_casenote'::regclass AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 3


def result_now():
    from tooling.generator import generation_now

    return generation_now(TODAY)


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_data():
    prints = []
    for _ in range(2):
        with transaction.atomic():
            _generate(60)
            prints.append(_fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1]
    with transaction.atomic():
        generate(families=60, seed=8, today=TODAY, stream=io.StringIO())
        assert _fingerprint() != prints[0]
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_refuses_a_database_that_has_families_unless_appending():
    Family.objects.create(name="The Existing household")
    with pytest.raises(GeneratorError, match="already has families"):
        _generate(5)
    with pytest.raises(CommandError, match="already has families"):
        call_command("generate_data", "--families", "5", stderr=io.StringIO())
    _generate(5, append=True, access_log=False)
    assert Family.objects.count() == 6
    assert not AccessLog.objects.exists()


@pytest.mark.django_db
def test_generated_data_renders_the_pages_people_use():
    _generate(40)
    client = Client()
    mash = User.objects.filter(groups__name=roles.MASH_OFFICER).first()
    client.force_login(mash)
    assert client.get("/front-door/").status_code == 200
    for family in Family.objects.order_by("pk")[:5]:
        response = client.get(f"/families/{family.pk}/")
        assert response.status_code == 200
        assert family.name in response.content.decode()
    person = Person.objects.order_by("pk").first()
    assert client.post("/search/", {"q": person.last_name}, follow=True).status_code == 200
    episode = Episode.objects.exclude(lead_professional=None).order_by("-pk").first()
    client.force_login(episode.lead_professional)
    assert client.get(f"/episodes/{episode.pk}/").status_code == 200
    assert client.get("/my-cases/").status_code == 200


@pytest.mark.django_db
def test_statistics_are_taken_before_rows_are_derived_from_the_copied_tables():
    """The reach, board and clock-count rows are derived in SQL from tables COPYed in the same
    transaction; PostgreSQL plans those statements from the tables' statistics, which a fresh COPY
    has none of (at 200,000 families `board.rebuild` then scanned every risk indicator per episode
    and did not finish). Every written table is analysed before the first derived statement."""
    with CaptureQueriesContext(connection) as ctx:
        _generate(20, access_log=False, analyze=False)
    sql = [q["sql"] for q in ctx.captured_queries]
    board_update = next(
        i for i, s in enumerate(sql) if s.lstrip().startswith("WITH t AS") and "UPDATE cases_episode" in s
    )
    analysed = {s.split()[1].strip('"') for s in sql[:board_update] if s.startswith("ANALYZE ")}
    assert {"cases_riskindicator", "cases_contact", "cases_assessment", "cases_episode"} <= analysed
    assert "cases_assessmentrisk" in analysed


@pytest.mark.django_db
def test_each_contact_s_earliest_open_due_time_is_filled_and_the_clocks_triggers_are_on_again():
    """The load turns the clocks' contact triggers off (a lookup per clock on a table without indexes)
    and fills `earliest_due_at` once: it must equal what the triggers keep, and they must be on after."""
    from django.db import connection
    from django.db.models import Min, Q

    from cases.models import Contact

    _generate(12, access_log=False)
    expected = dict(
        Contact.objects.annotate(
            earliest=Min("deadlines__due_at", filter=Q(deadlines__stopped_at__isnull=True))
        ).values_list("pk", "earliest")
    )
    assert any(expected.values())
    assert dict(Contact.objects.values_list("pk", "earliest_due_at")) == expected
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'deadlines_deadline'::regclass"
            " AND NOT tgisinternal AND tgenabled = 'D'"
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_staff_of_gives_a_bigger_council_s_teams_and_staff_to_fewer_families():
    """`--staff-of 200000`: the 25 teams and ~400 staff of the 200,000-family council, with 10 families (the
    growth benchmarks compare the pages listing teams and staff like with like, BENCHMARKS.md)."""
    from accounts.models import Team

    call_command("generate_data", "--families", "10", "--staff-of", "200000", "--skip-access-log", stderr=io.StringIO())
    assert Family.objects.count() == 10
    assert Team.objects.exclude(kind=Team.Kind.FRONT_DOOR).count() == 24
    assert User.objects.filter(groups__name=roles.PRACTITIONER).count() == 312
    with pytest.raises(CommandError, match="--staff-of must be at least 1"):
        call_command("generate_data", "--families", "5", "--staff-of", "0", "--append", stderr=io.StringIO())
