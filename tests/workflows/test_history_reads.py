"""Pages that read a record's history find its historical model once per process (`kit.history.history_model`):
simple-history's `Model.history` builds a new manager class on every read (`Manager.from_queryset`, a walk of
the queryset class's members), which cost the family page about half a millisecond per request."""

from __future__ import annotations

import pytest
import time_machine
from django.db.models.manager import BaseManager
from django.urls import reverse

from tests.workflows.helpers import S, make_episode
from tests.workflows.test_amend import LATER, es_amend, visit_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


@pytest.fixture
def manager_classes_made(monkeypatch):
    made = []
    original = BaseManager.from_queryset.__func__

    def counted(cls, queryset_class, class_name=None):
        made.append((cls.__name__, queryset_class.__name__))
        return original(cls, queryset_class, class_name)

    monkeypatch.setattr(BaseManager, "from_queryset", classmethod(counted))
    return made


def test_the_family_and_episode_pages_make_no_manager_class(client, users, team, pinned, manager_classes_made):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
    note = visit_note(episode, users["coach"])
    es_amend(note, users["coach"])  # an amended record: the episode's pages read the amendments' history
    client.force_login(users["coach"])
    urls = [
        reverse("cases:family_detail", args=[episode.family_id]),
        reverse("episodes:episode_detail", args=[episode.pk]),
        reverse("episodes:episode_notes", args=[episode.pk]),
    ]
    for url in urls:
        client.get(url)  # a process's first visit may find the historical model
    manager_classes_made.clear()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    assert manager_classes_made == []
    assert "Wrong date" in client.get(urls[2]).content.decode()  # the amendment is still read and shown
