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
        quiet = list(quiet.order_by("pk")[: MORNING_CONTACTS + 2])
        record_demo_contacts(quiet[:MORNING_CONTACTS], by=mash, now=timezone.now())
        record_partner_demo(quiet[MORNING_CONTACTS:], by=mash, now=timezone.now())
    return count


def record_partner_demo(families: list[Family], *, by, now: datetime) -> None:
    """The demo school's work (ADR 44, ADR 52): a request for support it made online, a family whose team
    around the family it is in, and single-agency support its safeguarding lead holds, with a first visit."""
    from django.apps import apps

    from accounts.demo import DEMO_PARTNER
    from accounts.models import User
    from cases.models import AgencyInvolvement, CaseNote, Consent, Episode
    from workflows import episode_services

    partner = User.objects.filter(username=DEMO_PARTNER[0], partner_organisation__isnull=False).first()
    # The demo team leader's team keeps oversight, so it is on their board.
    leader = User.objects.filter(username="teamlead").select_related("team").first()
    team = leader.team if leader is not None else None
    if partner is None or team is None or len(families) < 2:
        return
    school = partner.partner_organisation
    asked, led = families
    referrer = {
        "referrer_agency": school.name,
        "referrer_name": partner.get_full_name(),
        "referrer_role": partner.job_title,
        "referrer_email": partner.email,
    }
    # 1. A request for support the school sent through the portal this morning (in the triage queue).
    children = [m.person for m in asked.memberships.select_related("person") if m.is_child]
    received = now - timedelta(hours=3)
    contact = services.contact_record_received(
        family=asked,
        subjects=children,
        received_at=received,
        route=Contact.Route.PORTAL,
        source=school.contact_source,
        presenting_needs="Attendance has fallen to 81% and the eldest says there is often no breakfast at home.",
        by=partner,
        now=now,
        referrer=referrer,
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Parent", "recorded_on": received.date()},
    )
    # The partners app sits above this one: its request record is reached through the app registry.
    apps.get_model("partners", "SupportRequest").objects.create(
        organisation=school,
        created_by=partner,
        created_at=received,
        updated_at=received,
        submitted_at=received,
        contact=contact,
        answers={"family_name": asked.name, "concern": contact.presenting_needs},
    )
    # 2. The school in the team around a family the demo coach works with, consent to share given.
    episode = (
        Episode.objects.filter(lead_professional__username="coach", state=Episode.State.PLAN_ACTIVE)
        .select_related("family")
        .order_by("pk")
        .first()
    )
    if episode is not None:
        involvement = AgencyInvolvement.objects.create(
            family=episode.family, organisation=school, agency=school.name, started_on=now.date()
        )
        involvement.named_users.set([partner])
        Consent.objects.create(
            family=episode.family,
            purpose=Consent.Purpose.SHARE,
            agency=school.name,
            status=Consent.Status.GIVEN,
            given_by_name="Parent",
            recorded_on=now.date() - timedelta(days=30),
        )
    # 3. Single-agency support the school leads, decided at the front door this morning, with a first visit.
    children = [m.person for m in led.memberships.select_related("person") if m.is_child]
    contact = services.contact_receive(
        family=led,
        subjects=children,
        received_at=now - timedelta(hours=5),
        route=Contact.Route.EMAIL,
        source=school.contact_source,
        presenting_needs="Younger child anxious about coming to school; mum asks the school for help.",
        referrer=referrer,
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Parent", "recorded_on": now.date()},
        by=by,
        now=now,
    )
    services.consent_record(
        family=led,
        by=by,
        now=now,
        contact=contact,
        purpose=Consent.Purpose.SHARE,
        agency=school.name,
        status=Consent.Status.GIVEN,
        given_by_name="Parent",
        recorded_on=now.date() - timedelta(days=1),
    )
    services.contact_decide(
        contact=contact,
        decision=Contact.Decision.SINGLE_AGENCY,
        rationale="The school knows the family well and agreed to lead a single-agency response.",
        lead_partner=partner,
        team=team,
        by=by,
        now=now - timedelta(hours=2),
    )
    led_episode = Episode.objects.get(contact=contact)
    if children:
        episode_services.episode_record_visit(
            episode=led_episode,
            kind=CaseNote.Kind.OFFICE_VISIT,
            happened_at=now - timedelta(hours=1),
            details="Met mum and the children at school after the bell.",
            children=[
                episode_services.ChildPart(child=children[0], seen=True, spoken_to=True, views="Mornings are scary.")
            ],
            by=partner,
            now=now,
        )


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
