"""Recent demo contacts recorded through the real services, so the triage queue and its clocks are live."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

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
        received = now - timedelta(minutes=rng.randint(10, 60 * 60))
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
