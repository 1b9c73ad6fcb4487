"""The family page's chronology, read by its episodes' and contacts' ids, is the chronology (ADR 78).

The family page has read every episode and contact of the family before its chronology, so it gives their
ids and the records kept on them are read by those ids (`cases.selectors.of_family`), with no join to
the episodes or contacts. The rows must be exactly those of the ORM's union (the reference of
`test_chronology_same_rows`), for every family of the same council, at several lengths; the SQL keeps
the family's values as its only parameters (the constants are written into its text) and never joins
the episodes or contacts.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import selectors
from cases.models import Contact, Episode, Family
from tests.cases.test_chronology_same_rows import make_council, reference
from tests.module_data import fresh, made_once

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def module_council(django_db_setup, django_db_blocker) -> list[Family]:
    with made_once(django_db_blocker, make_council) as families:
        yield families


@pytest.fixture
def council(module_council, db) -> list[Family]:
    return fresh(module_council)


def ids_of(family: Family) -> dict:
    return {
        "episode_ids": list(Episode.objects.filter(family=family).values_list("pk", flat=True)),
        "contact_ids": list(Contact.objects.filter(family=family).values_list("pk", flat=True)),
    }


def test_read_by_ids_the_rows_are_the_unions_for_every_family(council):
    compared = 0
    for family in council:
        ids = ids_of(family)
        for limit in (1, 50, 2000):
            got = selectors.chronology(family, limit=limit, **ids)
            assert got == reference(family, limit=limit), (family.pk, limit)
            compared += len(got)
    assert compared > 1000


def test_another_familys_ids_read_nothing_of_this_family(council):
    """The ids decide which episodes' records are read: given none, the family's own direct records only."""
    family = max(council, key=lambda f: f.episodes.count())
    got = selectors.chronology(family, limit=2000, episode_ids=[], contact_ids=[])
    full = reference(family, limit=2000)
    assert len(got) < len(full)
    assert all(row in full for row in got)


def test_one_query_its_values_the_only_parameters_and_no_join(council):
    family = max(council, key=lambda f: f.episodes.count())
    ids = ids_of(family)
    with CaptureQueriesContext(connection) as ctx:
        selectors.chronology(family, limit=100, **ids)
    assert len(ctx.captured_queries) == 1
    compiled = selectors._compiled_chronologies[("default", 100, True, tuple(selectors._EXTRA_SOURCES))]
    assert compiled is not None
    assert sorted({kind for _, kind in compiled.slots}) == ["contact", "episode", "family"]
    assert compiled.sql.count("%s") == len(compiled.slots)
    assert 'JOIN "cases_episode"' not in compiled.sql and 'JOIN "cases_contact"' not in compiled.sql


def test_the_family_page_shows_the_same_chronology(council, client, django_user_model):
    family = max(council, key=lambda f: f.episodes.count())
    mash = django_user_model.objects.get(username="mash")
    client.force_login(mash)
    response = client.get(reverse("cases:family_detail", args=[family.pk]))
    assert response.status_code == 200
    assert response.context["chronology"] == reference(family, limit=100)
