"""Episodes at a given point of the workflow, reached through the real services at pinned times.

The building is `EpisodeJourneyFactory` (tests/factories.py); this keeps the workflow tests' short form.
"""

from __future__ import annotations

from datetime import datetime

from cases.models import Episode
from kit.time import LONDON
from tests.factories import NOW, EpisodeJourneyFactory, S, children_of, full_assessment, write_plan

__all__ = ["LONDON", "NOW", "S", "full_assessment", "make_episode", "write_plan"]


def make_episode(
    users, team, *, state=S.AWAITING_ALLOCATION, at: datetime = NOW, origin=Episode.Origin.FRONT_DOOR, **family
):
    """An episode opened at `at`, walked forward an hour a step to `state`; returns (episode, children)."""
    episode = EpisodeJourneyFactory(
        users=users, team=team, state=state, at=at, origin=origin, **{f"family__{k}": v for k, v in family.items()}
    )
    return episode, children_of(episode.family)
