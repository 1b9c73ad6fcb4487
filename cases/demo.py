"""Clearly fictional demo families: invented surnames, streets and ZZ postcodes (no real area uses ZZ).

Families, people and memberships go in with bulk inserts so that tens of thousands can be made
quickly; a few recent contacts are recorded through the real workflow so their clocks run.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from cases.models import Family, Membership, Person

SURNAMES = [
    "Amberly",
    "Brackwater",
    "Coldharbour",
    "Dunmorrow",
    "Elderwick",
    "Fennimore",
    "Greystock",
    "Hollowell",
    "Ivybrook",
    "Juniperson",
    "Kestrelby",
    "Larkspur",
    "Mallowfield",
    "Nettleton",
    "Oakhurst",
    "Pennywhistle",
    "Quillfeather",
    "Rookwood",
    "Sedgemoor",
    "Thistlewood",
    "Underbough",
    "Vantwood",
    "Willowby",
    "Yarrowdale",
]
CHILD_NAMES = [
    "Ava",
    "Noah",
    "Isla",
    "Leo",
    "Maya",
    "Theo",
    "Zara",
    "Ezra",
    "Ruby",
    "Kai",
    "Amira",
    "Finn",
    "Nia",
    "Omar",
    "Poppy",
    "Ravi",
    "Sana",
    "Tyler",
    "Esme",
    "Jayden",
]
ADULT_NAMES = ["Sam", "Jo", "Alex", "Chris", "Dee", "Kim", "Lou", "Mo", "Pat", "Robin", "Shay", "Toni"]
STREETS = ["Lantern Row", "Copperfield Way", "Heron Close", "Marigold Terrace", "Saltmarsh Lane", "Tinker's Yard"]
ETHNICITIES = ["WBRI"] * 6 + ["WOTH", "MWBC", "APKN", "AIND", "BAFR", "BCRB", "CHNE", "OOTH", "NOBT"]
SEXES = ["M", "F"]


def _person(rng: random.Random, first: str, last: str, dob: date | None, **extra) -> Person:
    from cases.validators import soundex

    return Person(
        first_name=first,
        last_name=last,
        date_of_birth=dob,
        sex=extra.pop("sex", rng.choice(SEXES)),
        ethnicity=rng.choice(ETHNICITIES),
        language="English",
        last_name_key=soundex(last),
        first_name_key=soundex(first),
        **extra,
    )


@transaction.atomic
def create_families(count: int, *, seed: int = 2026, today: date | None = None) -> list[Family]:
    """Bulk-insert `count` households of 1–4 children and 1–2 adults."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    families = Family.objects.bulk_create(
        [
            Family(
                name=f"The {rng.choice(SURNAMES)} household",
                address_line_1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                town="Exampleton",
                postcode=f"ZZ{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                language="English",
                address_confidential=rng.random() < 0.03,
            )
            for _ in range(count)
        ],
        batch_size=2000,
    )
    people: list[Person] = []
    roles: list[tuple[int, str]] = []
    for index, family in enumerate(families):
        surname = family.name.removeprefix("The ").removesuffix(" household")
        for _ in range(rng.randint(1, 2)):
            people.append(
                _person(rng, rng.choice(ADULT_NAMES), surname, today - timedelta(days=rng.randint(20, 50) * 365))
            )
            roles.append((index, Membership.Relationship.PARENT))
        for _ in range(rng.randint(1, 4)):
            people.append(
                _person(rng, rng.choice(CHILD_NAMES), surname, today - timedelta(days=rng.randint(30, 17 * 365)))
            )
            roles.append((index, Membership.Relationship.CHILD))
    people = Person.objects.bulk_create(people, batch_size=5000)
    Membership.objects.bulk_create(
        [Membership(family=families[i], person=p, relationship=r) for p, (i, r) in zip(people, roles, strict=True)],
        batch_size=5000,
    )
    return families


def ensure_demo_families(count: int) -> int:
    """Create demo families once; running again creates nothing."""
    if Family.objects.exists():
        return 0
    from accounts.models import User
    from workflows.demo import record_demo_contacts

    families = create_families(count)
    mash = User.objects.filter(username="mash").first()
    if mash is not None:
        record_demo_contacts(families[: min(len(families), 40)], by=mash, now=timezone.now())
    return len(families)
