"""The family page's history of changes and partner updates, read with SQL compiled once, are the ORM's
(ADR 78): the same rows in the same order, with the users (and the partner organisation) cached on their
fields as `select_related` caches them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases import selectors
from cases.models import PartnerUpdate
from tests.partners.conftest import make_organisation, make_partner
from tests.workflows.helpers import S, make_episode

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict | None:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} if obj is not None else None


def test_history_and_partner_updates_are_the_orms(users, team):
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    family = episode.family
    for n in range(3):  # changes recorded by simple_history, one without a user
        family.language = f"Language {n}"
        family.save()
    school = make_organisation("Northfield School")
    teacher = make_partner("teacher", school)
    now = timezone.now()
    for n in range(2):
        PartnerUpdate.objects.create(
            family=family, organisation=school, kind=PartnerUpdate.Kind.choices[n][0], details=f"Update {n}",
            written_at=now + n * timedelta(minutes=5), written_by=teacher,
            acknowledged_at=now if n else None, acknowledged_by=users["coach"] if n else None,
        )  # fmt: skip
    other, _ = make_episode(users, team, state=S.ALLOCATED)
    selectors.family_page(other.family)  # compiles
    page = selectors.family_page(family)

    history = list(family.history.select_related("history_user").order_by("-history_date")[:20])
    assert len(history) >= 4
    assert [_fields(h) for h in page["history"]] == [_fields(h) for h in history]
    for got, want in zip(page["history"], history, strict=True):
        assert type(got)._meta.get_field("history_user").is_cached(got)
        assert _fields(got.history_user) == _fields(want.history_user)

    updates = list(selectors.partner_updates_of(family)[:50])
    assert [u.details for u in updates] == ["Update 1", "Update 0"]  # newest first
    assert [_fields(u) for u in page["partner_updates"]] == [_fields(u) for u in updates]
    for got, want in zip(page["partner_updates"], updates, strict=True):
        for name in ("organisation", "written_by", "acknowledged_by"):
            assert PartnerUpdate._meta.get_field(name).is_cached(got), name
            assert _fields(getattr(got, name)) == _fields(getattr(want, name)), name
