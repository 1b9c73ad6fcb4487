"""The family and episode pages' scope checks are compiled once per reach shape (ADR 67) and find
exactly what the ORM's `families_visible_to` / `episodes_visible_to` found, for every role."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from accounts import roles
from cases import access, selectors
from cases.models import Episode, Family, FamilyReach
from tests.conftest import make_user
from tests.factories import EpisodeFactory, FamilyFactory, ServiceFactory, TeamFactory
from workflows.episode_selectors import visible_episode

pytestmark = pytest.mark.django_db
K = FamilyReach.Kind


@pytest.fixture
def world(users, team, other_team, front_door_team, service):
    """A family reached only through each kind of reach row, for this team or user and for others, an
    episode in each, and users whose reach has every shape (several roles, no team, no service)."""
    elsewhere = ServiceFactory(name="Elsewhere")
    far_team = TeamFactory(name="Far Hub", service=elsewhere)
    reaches = [
        {"kind": K.TEAM, "team": team, "service": service},
        {"kind": K.TEAM, "team": other_team, "service": service},
        {"kind": K.TEAM, "team": far_team, "service": elsewhere},
        {"kind": K.MEETING, "team": team, "service": service},
        {"kind": K.ROUTED, "team": team, "service": service},
        {"kind": K.LEAD, "user": users["coach"]},
        {"kind": K.LEAD, "user": users["duty"]},
        {"kind": K.CREATOR, "user": users["mash"]},
        {"kind": K.FRONT},
        {},  # reached by nobody
    ]
    for reach in reaches:
        family = FamilyFactory(team=far_team)
        EpisodeFactory(family=family, team=far_team, children=0)
        FamilyReach.objects.filter(family=family).delete()  # only the row below opens it
        if reach:
            FamilyReach.objects.create(family=family, **reach)
    people = dict(users)
    people["mash and coach"] = make_user("mash-coach", roles.MASH_OFFICER, team)
    people["mash and coach"].groups.add(*users["coach"].groups.all())
    people["leader and manager"] = make_user("lead-manager", roles.TEAM_LEADER, team, service=service)
    people["leader and manager"].groups.add(*users["manager"].groups.all())
    people["coach without a team"] = make_user("teamless", roles.PRACTITIONER, None)
    people["manager without a service"] = make_user("serviceless", roles.MANAGER, None)
    people["inactive coach"] = make_user("gone", roles.PRACTITIONER, team, is_active=False)
    for user in people.values():
        user._role_names = frozenset(user.groups.values_list("name", flat=True))
    return people


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} if obj else None


def test_the_family_in_scope_is_the_orm_s_for_every_shape(world):
    shapes = set()
    for name, user in world.items():
        shapes.add(found[0] if (found := selectors.reach_shape(user)) else None)
        for family in Family.objects.order_by("pk"):
            orm = selectors.families_visible_to(user).select_related("team").filter(pk=family.pk).first()
            compiled = selectors.family_in_scope(user, family.pk)
            assert fields(compiled) == fields(orm), (name, family.pk)
            if orm is not None:
                assert fields(compiled.team) == fields(orm.team)
                assert access.visible_family_or_404(user, family.pk) == orm
            else:
                with pytest.raises(Http404):
                    access.visible_family_or_404(user, family.pk)
        assert selectors.family_in_scope(user, -1) is None
    assert len(shapes) >= 7, shapes  # front door, team, team leader, lead, service, combinations, none
    assert any(selectors.families_visible_to(u).exists() for u in world.values())


@pytest.mark.parametrize("visits", [False, True])
@pytest.mark.parametrize("assessment", [False, True])
def test_the_visible_episode_is_the_orm_s_for_every_shape(world, visits, assessment):
    related = ["family", "team", "lead_professional", "contact", "allocated_by"]
    if assessment:
        related += ["assessment__completed_by", "plan"]
    seen = 0
    for name, user in world.items():
        for episode in Episode.objects.order_by("pk"):
            orm_qs = selectors.episodes_visible_to(user).select_related(*related)
            if visits:
                from workflows.episode_selectors import planned_visits_subquery

                orm_qs = orm_qs.annotate(planned_visits_json=planned_visits_subquery())
            orm = orm_qs.filter(pk=episode.pk).first()
            got = visible_episode(user, episode.pk, with_planned_visits=visits, with_assessment_and_plan=assessment)
            assert fields(got) == fields(orm), (name, episode.pk)
            if orm is None:
                continue
            seen += 1
            for rel in ("family", "team", "lead_professional", "contact", "allocated_by"):
                assert fields(getattr(got, rel)) == fields(getattr(orm, rel)), rel
                assert Episode._meta.get_field(rel).is_cached(got)
            if visits:
                assert got.planned_visits_json == orm.planned_visits_json
    assert seen >= 10


def test_a_second_check_compiles_no_sql(world):
    coach, manager = world["coach"], world["manager"]
    family = Family.objects.order_by("pk").first()
    episode = Episode.objects.order_by("pk").first()
    for user in (coach, manager, world["mashlead"]):  # the first check of a shape compiles
        selectors.family_in_scope(user, family.pk)
        visible_episode(user, episode.pk, with_assessment_and_plan=True)
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        for user in (coach, manager):
            assert selectors.family_in_scope(user, family.pk) == family  # reached through the team
            assert visible_episode(user, episode.pk, with_assessment_and_plan=True) == episode
        assert selectors.family_in_scope(world["mash"], family.pk) is None  # the same shape as...
    assert compiled == []  # ...the first check of each shape, which compiled it


def test_the_episode_page_reads_its_episode_in_one_query(users, team):
    episode = EpisodeFactory(team=team, allocated=True, lead_professional=users["coach"])
    visible_episode(users["coach"], episode.pk, with_planned_visits=True)  # compiles the shape
    with CaptureQueriesContext(connection) as captured:
        assert visible_episode(users["coach"], episode.pk, with_planned_visits=True).pk == episode.pk
    assert len(captured.captured_queries) == 1
