"""Demo data for `make run`: clearly fictional families (invented surnames, ZZ postcodes) with open work.

The council-scale generator builds the families and their history; a few contacts of the last
day are then recorded through the real services so the triage queue and its clocks are live.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from cases.models import Contact, Family, RiskIndicator
from workflows import services

NEEDS = [
    "School reports attendance has fallen to 78% this term and the child seems withdrawn.",
    "Health visitor worried about the baby's weight and mum's low mood since the birth.",
    "Family at risk of eviction; rent arrears and the children are sharing one room.",
    "Police attended a verbal argument at the home; children were present but not hurt.",
    "Parent asked for help with their son's behaviour at home and school exclusions.",
]
REFERRERS = [
    ("Exampleton Primary School", "Head of pastoral care", "2A"),
    ("Exampleton Health Visiting", "Health visitor", "3B"),
    ("Exampleton Housing", "Tenancy officer", "4"),
    ("Exampleshire Police", "PCSO", "6"),
    ("Parent", "Self-referral", "1A"),
]


def record_demo_contacts(families: list[Family], *, by, now: datetime, seed: int = 7) -> list[Contact]:
    rng = random.Random(seed)
    contacts = []
    for family in families:
        agency, role, source = rng.choice(REFERRERS)
        children = [m.person for m in family.memberships.select_related("person") if m.is_child]
        received = now - timedelta(minutes=rng.randint(10, 20 * 60))
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
                    "recorded_on": received.date(),
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

    from accounts.models import User
    from tooling.generator import generate

    if Family.objects.exists():
        return 0
    generate(families=count, seed=2026, access_log=False, fast_indexes=False, stream=io.StringIO())
    adopt_generated_work()
    mash = User.objects.filter(username="mash").first()
    if mash is not None:
        quiet = Family.objects.exclude(contacts__state__in=Contact.OPEN_STATES).exclude(
            episodes__closed_at__isnull=True
        )
        record_demo_contacts(list(quiet.order_by("pk")[:25]), by=mash, now=timezone.now())
    return count


def adopt_generated_work() -> None:
    """Give each demo account the team and open work of the first generated user with its role."""
    from accounts.demo import DEMO_ACCOUNTS
    from accounts.models import User
    from cases.models import Episode
    from deadlines.models import Alert, Deadline
    from tooling.generator.build import USERNAME_PREFIX

    for username, *_names, role, _team in DEMO_ACCOUNTS:
        demo = User.objects.filter(username=username).first()
        stand_in = (
            User.objects.filter(username__startswith=USERNAME_PREFIX, groups__name=role).order_by("username").first()
        )
        if demo is None or stand_in is None:
            continue
        if stand_in.team_id:
            User.objects.filter(pk=demo.pk).update(team_id=stand_in.team_id)
        Episode.objects.filter(lead_professional=stand_in).update(lead_professional=demo)
        Deadline.objects.filter(assignee=stand_in).update(assignee=demo)
        Alert.objects.filter(recipient=stand_in).update(recipient=demo)
