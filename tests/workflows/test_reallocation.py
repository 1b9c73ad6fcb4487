"""A team leader hands an open episode to another practitioner; its clocks follow the case."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts import roles
from cases.models import Episode
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.workflows.helpers import NOW, make_episode
from workflows import episode_services as es
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
S = Episode.State


def test_reallocation_moves_the_case_and_its_open_clocks(users, team):
    episode, _children = make_episode(users, team, state=S.FIRST_VISIT)
    other = make_user("coach2", roles.PRACTITIONER, team)
    open_before = Deadline.objects.filter(episode=episode, stopped_at__isnull=True)
    assert open_before.exists() and set(open_before.values_list("assignee", flat=True)) == {users["coach"].pk}
    episode.refresh_from_db()
    es.episode_allocate(
        episode=episode,
        practitioner=other,
        by=users["teamlead"],
        now=NOW + timedelta(days=1),
        expected_version=episode.version,
        reason="Coach on long-term leave",
    )
    episode.refresh_from_db()
    assert episode.lead_professional == other
    assert episode.state == S.FIRST_VISIT
    open_after = Deadline.objects.filter(episode=episode, stopped_at__isnull=True)
    assert set(open_after.values_list("assignee", flat=True)) == {other.pk}
    assert open_after.count() == open_before.count()
    with pytest.raises(WorkflowError, match="already the lead professional"):
        es.episode_allocate(episode=episode, practitioner=other, by=users["teamlead"], now=NOW + timedelta(days=2))


def test_episode_page_offers_reallocation_to_the_team_leader_only(client, users, team):
    episode, _children = make_episode(users, team, state=S.ALLOCATED)
    client.force_login(users["teamlead"])
    assert (
        b"Reallocate to another practitioner"
        in client.get(reverse("episodes:episode_detail", args=[episode.pk])).content
    )
    client.force_login(users["coach"])
    assert b"Reallocate" not in client.get(reverse("episodes:episode_detail", args=[episode.pk])).content
