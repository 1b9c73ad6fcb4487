"""Demo data for `make run`: clearly fictional families (invented surnames, ZZ postcodes) with open work.

The council-scale generator builds the families and their history with its demo profile (ADR 0030):
one council's procedure, old work done, cases in every state in the demo team; a few contacts of
this morning are then recorded through the real services so the triage queue and its clocks are live.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from cases.models import Contact, Family, RiskIndicator
from kit.time import LONDON, london_date
from workflows import services

NEEDS = [
    "School reports attendance has fallen to 78% this term and the child seems withdrawn.",
    "Health visitor worried about the baby's weight and mum's low mood since the birth.",
    "Family at risk of eviction; rent arrears and the children are sharing one room.",
    "Police attended a verbal argument at the home; children were present but not hurt.",
    "Parent asked for help with their son's behaviour at home and school exclusions.",
]
REFERRERS = [
    ("Oakhurst Primary School", "Head of pastoral care", "2A"),
    ("Health visiting team", "Health visitor", "3B"),
    ("Housing options", "Tenancy support worker", "4"),
    ("Neighbourhood police team", "PCSO", "6"),
    ("", "Parent", "1A"),
]
MORNING_CONTACTS = 6  # new contacts waiting for the front door when the demo starts


def this_morning(now: datetime, rng: random.Random) -> datetime:
    """A moment this morning (from 07:30), or in the last four hours when it is earlier than that."""
    local = timezone.localtime(now, LONDON)
    start = local.replace(hour=7, minute=30, second=0, microsecond=0)
    if now - start < timedelta(minutes=30):
        start = now - timedelta(hours=4)
    return start + (now - start - timedelta(minutes=5)) * rng.random()


def record_demo_contacts(families: list[Family], *, by, now: datetime, seed: int = 7) -> list[Contact]:
    from tooling.generator.build import adult_on

    rng = random.Random(seed)
    contacts = []
    for family in families:
        agency, role, source = rng.choice(REFERRERS)
        children = [m.person for m in family.memberships.select_related("person") if m.is_child]
        # About the children under 18 today in England (a grown-up brother is not a child in need).
        today = london_date(now)
        children = [c for c in children if c.date_of_birth is None or today < adult_on(c.date_of_birth)]
        received = this_morning(now, rng)
        contacts.append(
            services.contact_receive(
                family=family,
                subjects=children,
                received_at=received,
                route=rng.choice(["email", "phone", "portal", "email"]),
                source=source,
                presenting_needs=rng.choice(NEEDS),
                referrer={"referrer_agency": agency, "referrer_role": role, "referrer_name": "Demo Referrer"},
                risks={
                    indicator: (rng.choice([0, 0, 1, 2, 3]), "")
                    for indicator, _label in RiskIndicator.Indicator.choices
                },
                consent={
                    "purpose": "early_help",
                    "status": rng.choice(["given", "not_sought"]),
                    "given_by_name": "Parent",
                    "recorded_on": london_date(received),
                },
                by=by,
                now=now,
            )
        )
    return contacts


def ensure_demo_families(count: int) -> int:
    """Create demo families once (running again creates nothing), with real open work.

    The council-scale generator builds the families, their contacts, episodes in every state,
    records and clocks; the demo accounts then take over the work of generated staff with the
    same role, so that each demo user signs in to a page that has something on it.
    """
    import io

    from accounts.demo import DEMO_PROCEDURE
    from accounts.models import User
    from deadlines.procedures import shared_rulebooks
    from tooling.generator import DEMO, generate

    if Family.objects.exists():
        return 0
    generate(
        families=count, seed=2026, access_log=False, fast_indexes=False, stream=io.StringIO(), profile=DEMO,
        rulebooks=(DEMO_PROCEDURE, *shared_rulebooks()),
    )  # fmt: skip
    adopt_generated_work()
    mash = User.objects.filter(username="mash").first()
    if mash is not None:
        quiet = Family.objects.exclude(contacts__state__in=Contact.OPEN_STATES).exclude(
            episodes__closed_at__isnull=True
        )
        record_demo_contacts(list(quiet.order_by("pk")[:MORNING_CONTACTS]), by=mash, now=timezone.now())
    return count


def adopt_generated_work() -> None:
    """Give each demo account the open work of the first generated user with its role (in its team if it has one)."""
    from accounts.demo import DEMO_ACCOUNTS
    from accounts.models import User
    from cases import reach
    from cases.models import Episode
    from deadlines.models import Alert, Deadline
    from tooling.generator.build import USERNAME_PREFIX

    for username, *_names, role, _team in DEMO_ACCOUNTS:
        demo = User.objects.filter(username=username).first()
        generated = User.objects.filter(username__startswith=USERNAME_PREFIX, groups__name=role).order_by("pk")
        stand_in = generated.filter(team_id=demo.team_id).first() if demo is not None and demo.team_id else None
        stand_in = stand_in or generated.first()
        if demo is None or stand_in is None:
            continue
        if stand_in.team_id:
            User.objects.filter(pk=demo.pk).update(team_id=stand_in.team_id)
        Episode.objects.filter(lead_professional=stand_in).update(lead_professional=demo)
        Deadline.objects.filter(assignee=stand_in).update(assignee=demo)
        Alert.objects.filter(recipient=stand_in).update(recipient=demo)
    # update() sends no signal: who each family reaches follows the adopted work (ADR 43).
    reach.rebuild()
