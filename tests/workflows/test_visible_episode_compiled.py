"""The episode page's scope check, compiled once per shape of scope (ADR 0067), answers as the ORM does.

`visible_episode` reads the episode through `cases.selectors.scoped_first`: SQL compiled once per shape
of reach, the user's id, team and service put in as parameters. A second user of the same shape must
get their own scope, never the first one's.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from cases.selectors import episodes_visible_to
from kit import compiled_sql
from tests.conftest import make_user
from tests.factories import EpisodeFactory
from workflows import episode_selectors as selectors

pytestmark = pytest.mark.django_db

_RELATED = ("family", "team", "lead_professional", "contact", "allocated_by")


def _fields(episode) -> dict:
    out = {f.attname: getattr(episode, f.attname) for f in episode._meta.concrete_fields}
    for name in ("family", "team", "lead_professional", "contact", "allocated_by"):
        related = getattr(episode, name, None)
        out[name] = (
            None if related is None else {f.attname: getattr(related, f.attname) for f in related._meta.concrete_fields}
        )
    out["planned_visits_json"] = getattr(episode, "planned_visits_json", "not read")
    return out


@pytest.mark.parametrize("options", [(False, False), (True, False), (True, True)])
def test_each_role_sees_the_episodes_the_orm_shows_it(users, team, other_team, service, options):
    with_visits, with_plan = options
    ours = EpisodeFactory(team=team, allocated=True, lead_professional=users["coach"])
    theirs = EpisodeFactory(team=other_team)
    others = make_user("coach2", roles.PRACTITIONER, other_team)
    compiled_sql._compiled.clear()
    compiled_sql._compilers.clear()
    for user in [*users.values(), others]:
        for episode in (ours, theirs):
            kwargs = {"with_planned_visits": with_visits, "with_assessment_and_plan": with_plan}
            expected = episodes_visible_to(user).select_related(*_RELATED).filter(pk=episode.pk).first()
            found = selectors.visible_episode(user, episode.pk, **kwargs)
            assert (found is None) == (expected is None), (user.username, episode.pk)
            if found is not None:
                want = _fields(expected)
                want["planned_visits_json"] = _fields(found)["planned_visits_json"]  # not in the ORM read
                assert _fields(found) == want
    # The two practitioners share a shape (and so the SQL) but not a scope.
    assert selectors.visible_episode(users["coach"], theirs.pk) is None
    assert selectors.visible_episode(others, theirs.pk).pk == theirs.pk
    assert selectors.visible_episode(others, ours.pk) is None
    # Compiled, not refused: the scoped reads are in the process's compiled SQL.
    assert any(value is not None for value in compiled_sql._compiled.values())


def test_the_compiled_read_is_one_query(users, team):
    episode = EpisodeFactory(team=team, allocated=True, lead_professional=users["coach"])
    selectors.visible_episode(users["coach"], episode.pk, with_planned_visits=True)
    with CaptureQueriesContext(connection) as captured:
        assert selectors.visible_episode(users["coach"], episode.pk, with_planned_visits=True).pk == episode.pk
    assert len(captured.captured_queries) == 1
