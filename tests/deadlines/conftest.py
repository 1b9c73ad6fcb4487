"""Fixtures for the timescale engine: real families, contacts and episodes, and pinned times."""

from __future__ import annotations

from datetime import datetime

import pytest

from cases.models import Contact, Episode, Family
from deadlines.calendar import LONDON, build_calendar
from deadlines.models import Deadline
from deadlines.rulebook import load_rulebooks
from tests.factories import ContactFactory, EpisodeFactory

CAL = build_calendar()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture
def cal():
    return CAL


@pytest.fixture(scope="session")
def book_a():
    return load_rulebooks(["families-first"])


@pytest.fixture(scope="session")
def book_b():
    return load_rulebooks(["family-solutions"])


@pytest.fixture(scope="session")
def book_c():
    return load_rulebooks(["step-up"])


@pytest.fixture(scope="session")
def all_books():
    return load_rulebooks(["families-first", "family-solutions", "step-up"])


@pytest.fixture
def family(db, team):
    return Family.objects.create(name="The Test household", team=team)


@pytest.fixture
def make_contact(family):
    def make(*, received_at: datetime, route: str = "email", created_by=None, allocated_team=None) -> Contact:
        return ContactFactory(
            family=family,
            received_at=received_at,
            route=route,
            presenting_needs="x",
            created_by=created_by,
            allocated_team=allocated_team,
        )

    return make


@pytest.fixture
def make_episode(family, team):
    def make(*, opened_at: datetime, contact: Contact | None = None, lead=None, team_=None) -> Episode:
        return EpisodeFactory(
            family=family, team=team_ or team, opened_at=opened_at, contact=contact, lead_professional=lead
        )

    return make


def open_rules(**subject) -> list[str]:
    return sorted(Deadline.objects.filter(stopped_at__isnull=True, **subject).values_list("rule_id", flat=True))


def latest(rule_id: str, **subject) -> Deadline:
    return Deadline.objects.filter(rule_id=rule_id, **subject).order_by("-cycle", "-id").first()
