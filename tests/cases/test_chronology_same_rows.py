"""The family chronology's rows are the same whichever way they are read (ADR 49, ADR 57).

The reference is the chronology as the ORM builds it: a UNION ALL of every source's queryset
(`selectors.chronology_union`) and then its authors by id, which is what `selectors.chronology` ran
before ADR 49. `selectors.chronology` (what the family page, the printable chronology and the case
file show) must give exactly those rows, in that order, with their authors, for every family of a
small generated council and of the permission tests' world (one of every record, with a letter never
sent, a partner's update and the decisions made), at several lengths (the cut at `limit` included);
between them every source of the chronology has rows.

The council is generated once for the module and rolled back after it (tests/module_data.py, ADR 0070):
the tests only read it, each in its own savepoint with its own copies of the families.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from cases import selectors
from cases.models import Family, Message
from tests.conftest import make_users
from tests.factories import ServiceFactory, TeamFactory
from tests.module_data import fresh, made_once
from tooling.generator import generate

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)


def reference(family: Family, *, limit: int) -> list[dict]:
    """The chronology as the ORM union gives it: the implementation before ADR 49."""
    rows = list(selectors.chronology_union(family, limit=limit))
    authors = User.objects.in_bulk({row[3] for row in rows if row[3]})
    return [{"at": at, "kind": kind, "text": text, "by": authors.get(by)} for at, kind, text, by in rows]


def make_council() -> list[Family]:
    """A generated council and the permission tests' world, in the `users` and `team` fixtures' records."""
    from tests.security.world import add_oversight_records, add_partner_records, build_world

    service = ServiceFactory(name="Early Help")
    team = TeamFactory(name="Northfield Family Hub", service=service)
    front_door_team = TeamFactory(name="Front Door", service=service, kind="front_door")
    users = make_users(team, front_door_team, service)
    generate(families=40, seed=7, today=TODAY, stream=io.StringIO(), access_log=False)
    world = add_partner_records(add_oversight_records(build_world(users, team), users), users)
    now = timezone.now()
    Message.objects.create(  # a letter written but never sent: its own source
        family=world["family"],
        episode=world["episode"],
        kind="closure_letter",
        channel="post",
        recipient_name="The family",
        address="1 Lantern Row",
        subject="Early Help has ended",
        body="Thank you.",
        status="failed",
        failure_reason="No address",
        created_at=now,
        created_by=users["coach"],
    )
    world["escalation"].__class__.objects.filter(pk=world["escalation"].pk).update(
        resolved_at=now, resolved_by=users["manager"], outcome="Agreed"
    )
    return list(Family.objects.order_by("pk"))


@pytest.fixture(scope="module")
def module_council(django_db_setup, django_db_blocker) -> list[Family]:
    with made_once(django_db_blocker, make_council) as families:
        yield families


@pytest.fixture
def council(module_council, db) -> list[Family]:
    return fresh(module_council)


def test_the_chronology_is_the_unions_rows_for_every_family(council):
    compared, has_rows = 0, None
    for family in council:
        for limit in (1, 50, 2000):
            got = selectors.chronology(family, limit=limit)
            assert got == reference(family, limit=limit), (family.pk, limit)
            compared += len(got)
        # Whether each source has rows for some family: a source is asked again only until it has had some.
        branches = selectors.chronology_sources(family)
        has_rows = [False] * len(branches) if has_rows is None else has_rows
        has_rows = [seen or branch.exists() for seen, branch in zip(has_rows, branches, strict=True)]
    assert compared > 1000
    assert all(has_rows), f"sources with no rows: {[i for i, seen in enumerate(has_rows) if not seen]}"


def test_the_rows_are_newest_first_with_their_authors(council):
    rows = max((selectors.chronology(f, limit=2000) for f in council[-5:]), key=len)
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    assert any(isinstance(r["by"], User) for r in rows)
    assert {r["kind"] for r in rows} >= {"Contact received", "Episode opened"}


def test_the_chronology_costs_one_query_whatever_the_family(council):
    """The rows and their authors' names in one query (ADR 57); the authors print as before."""
    for family in (council[0], council[-1]):
        with CaptureQueriesContext(connection) as ctx:
            rows = selectors.chronology(family, limit=100)
            shown = [str(r["by"]) for r in rows if r["by"]]
        assert len(ctx.captured_queries) == 1
        expected = reference(family, limit=100)
        assert shown == [str(r["by"]) for r in expected if r["by"]]
        assert any(shown) or not any(r["by"] for r in expected)


def test_a_source_that_reads_more_than_the_familys_id_is_built_for_each_family(council, monkeypatch):
    """A source filtering on another column of the family cannot share one compiled SQL: it is caught
    when the SQL is first compiled (the two stand-in families give different parameters), and the
    chronology is then built by the ORM for each family, as before."""
    from cases.models import Contact

    def by_postcode(family):
        return selectors.chronology_rows(
            Contact.objects.filter(family__postcode=family.postcode, family=family),
            at="received_at",
            kind="Contact at this postcode",
            text="presenting_needs",
        )

    monkeypatch.setattr(selectors, "_EXTRA_SOURCES", [*selectors._extra_chronology_sources(), by_postcode])
    for family in council[:3]:
        got = selectors.chronology(family, limit=2000)
        assert got == reference(family, limit=2000)
        assert any(r["kind"] == "Contact at this postcode" for r in got) == family.contacts.exists()
    assert None in selectors._compiled_chronologies.values()  # noted as not shareable
