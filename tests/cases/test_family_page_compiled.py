"""The family page's reads run SQL compiled once and give what the ORM gives (ADR 63)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from cases import selectors
from cases.models import AgencyInvolvement
from tests.workflows.helpers import S, make_episode

pytestmark = pytest.mark.django_db

READS = {
    "memberships": (selectors._family_memberships, ("person",)),
    "contacts": (selectors._family_contacts, ("decided_by", "allocated_team")),
    "episodes": (selectors._family_episodes, ("team", "lead_professional")),
    "agencies": (selectors._family_agencies, ()),
    "consents": (selectors._family_consents, ("given_by", "withdrawn_told_by")),
}


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_family_page_reads_are_the_orms_and_compile_nothing_after_the_first(users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    family = episode.family
    AgencyInvolvement.objects.create(family=family, agency="School", role="DSL")
    other, _ = make_episode(users, team, state=S.ALLOCATED)
    selectors.family_page(other.family)  # the first family page of the process compiles
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        page = selectors.family_page(family)
    assert calls == []
    for name, (build, related) in READS.items():
        orm = list(build(family.pk))
        if name == "contacts":
            orm = [c for c in orm if c.is_open] + [c for c in orm if not c.is_open]
            got = page["open_contacts"] + page["past_contacts"]
        else:
            got = page[name]
        assert [_fields(o) for o in got] == [_fields(o) for o in orm], name
        assert got or name in ("contacts", "consents"), name
        for obj, want in zip(got, orm, strict=True):
            for field in related:
                assert obj._meta.get_field(field).is_cached(obj), (name, field)
                assert (getattr(obj, field) and _fields(getattr(obj, field))) == (
                    getattr(want, field) and _fields(getattr(want, field))
                )
