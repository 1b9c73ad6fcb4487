"""The board's open-case figures and lists as they were computed on read before ADR 56: the reference
the stored risk level and latest decision are compared with (`test_board_same_figures.py`).

A frozen copy of `oversight.selectors`' `with_risk`, `board_episode_counts`, `board_long_open`,
`board_no_oversight`, `board_high_risk` and `risk_names` at 1e0f4e8 (three risk subqueries per case,
the latest decision a subquery, every case of the user's scope). Do not "improve" this file: it is
the definition of the expected output. (Only its annotations `risk_level` and `last_decision_at` are
renamed `old_risk_level` and `old_last_decision_at`: the episode now has fields of those names.)
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.models import Team
from cases.models import AssessmentRisk, Episode, RiskIndicator
from cases.selectors import episodes_visible_to
from oversight.models import ManagersDecision
from oversight.selectors import month_cutoffs, month_start

S = Episode.State


def _months_band(cutoffs: dict[int, datetime]):
    return Case(
        *[When(opened_at__lt=cutoffs[n], then=Value(n)) for n in (12, 9, 6, 3)],
        default=Value(0),
        output_field=IntegerField(),
    )


def _open_episodes(user, *, team: Team, practitioner_id: int | None) -> QuerySet[Episode]:
    qs = episodes_visible_to(user).filter(team=team).exclude(state=S.CLOSED)
    if practitioner_id:
        qs = qs.filter(lead_professional_id=practitioner_id)
    return qs


def _decided_this_month(now: datetime) -> Exists:
    return Exists(ManagersDecision.objects.filter(episode=OuterRef("pk"), recorded_at__gte=month_start(now)))


def with_risk(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    sources = {
        "opening": RiskIndicator.objects.filter(contact_id=OuterRef("contact_id")),
        "later": RiskIndicator.objects.filter(
            contact__family_id=OuterRef("family_id"), contact__received_at__gte=OuterRef("opened_at")
        ),
        "assessed": AssessmentRisk.objects.filter(assessment__episode=OuterRef("pk")),
    }

    def names(qs):
        return Subquery(
            qs.filter(level=RiskIndicator.Level.HIGH)
            .order_by()
            .annotate(g=Value(1))
            .values("g")
            .annotate(names=StringAgg("indicator", delimiter=",", distinct=True, order_by="indicator"))
            .values("names"),
            output_field=CharField(),
        )

    annotations = {}
    for key, qs in sources.items():
        annotations[f"risk_{key}"] = Subquery(qs.order_by("-level").values("level")[:1])
        annotations[f"high_{key}"] = names(qs)
    return episodes.annotate(**annotations).annotate(
        old_risk_level=Greatest(*[Coalesce(f"risk_{key}", 0) for key in sources])
    )


def board_episode_counts(user, *, team: Team, now: datetime, practitioner_id: int | None = None) -> dict:
    cutoffs = month_cutoffs(timezone.localdate(now))
    qs = with_risk(_open_episodes(user, team=team, practitioner_id=practitioner_id)).annotate(
        band=_months_band(cutoffs), decided=_decided_this_month(now)
    )
    return qs.aggregate(
        open=Count("pk"),
        band_3=Count("pk", filter=Q(band=3)),
        band_6=Count("pk", filter=Q(band=6)),
        band_9=Count("pk", filter=Q(band=9)),
        band_12=Count("pk", filter=Q(band=12)),
        no_oversight=Count("pk", filter=Q(decided=False)),
        high_risk=Count("pk", filter=Q(old_risk_level__gte=RiskIndicator.Level.MEDIUM)),
    )


def board_long_open(user, *, team: Team, now: datetime, practitioner_id: int | None = None) -> QuerySet[Episode]:
    cutoffs = month_cutoffs(timezone.localdate(now))
    return (
        _open_episodes(user, team=team, practitioner_id=practitioner_id)
        .filter(opened_at__lt=cutoffs[3])
        .annotate(band=_months_band(cutoffs))
        .order_by("opened_at", "pk")
    )


def _last_decision_at():
    return Subquery(
        ManagersDecision.objects.filter(episode=OuterRef("pk")).order_by("-recorded_at").values("recorded_at")[:1]
    )


def board_no_oversight(user, *, team: Team, now: datetime, practitioner_id: int | None = None) -> QuerySet[Episode]:
    return (
        _open_episodes(user, team=team, practitioner_id=practitioner_id)
        .filter(~_decided_this_month(now))
        .annotate(old_last_decision_at=_last_decision_at())
        .order_by(F("old_last_decision_at").asc(nulls_first=True), "opened_at", "pk")
    )


def board_high_risk(user, *, team: Team, practitioner_id: int | None = None) -> QuerySet[Episode]:
    return (
        with_risk(episodes_visible_to(user).filter(team=team).exclude(state=S.CLOSED))
        .filter(
            Q(lead_professional_id=practitioner_id) if practitioner_id else Q(),
            old_risk_level__gte=RiskIndicator.Level.MEDIUM,
        )
        .order_by("-old_risk_level", "opened_at", "pk")
    )


def risk_names(episode: Episode) -> str:
    labels = dict(RiskIndicator.Indicator.choices)
    codes = set()
    for key in ("opening", "later", "assessed"):
        codes |= set(filter(None, (getattr(episode, f"high_{key}", "") or "").split(",")))
    return ", ".join(str(labels.get(c, c)) for c in sorted(codes))


def board_partner_led(user, *, team: Team, practitioner_id: int | None = None) -> QuerySet[Episode]:
    return (
        _open_episodes(user, team=team, practitioner_id=practitioner_id)
        .filter(partner_organisation__isnull=False)
        .order_by("opened_at", "pk")
    )
