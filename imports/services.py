"""The real run: a checked export set written as the product's own records, one transaction per batch.

Teams and staff first, then families in batches of `batch_size`: each batch's families, people and
memberships, agencies, contacts, episodes (with the assessment, plan, planning meeting and last review
their dates imply) and case notes, with a `SourceKey` for every row, in one transaction. A row whose
source id is already in `SourceKey` is skipped, so running the same set again changes nothing, and a run
stopped half-way carries on where it stopped.

Open work gets its clocks from the deadline engine: the events its dates imply (opened, allocated,
initial contact, first visit, assessment completed, plan started and active, last review; for a contact
still at the front door, its receipt and any decision) are replayed by the engine's own functions at the
times they happened, in the order the workflow services send them (imports.clocks), so an imported case
has the clocks a case recorded here would have (tests/imports/test_imports.py compares them). Closed work
gets no clocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, time

from django.contrib.auth.models import Group
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from accounts import roles
from accounts.models import Service, Team, User
from accounts.signals import team_joined
from cases import board, reach
from cases.models import (
    AgencyInvolvement,
    Assessment,
    CaseNote,
    ClosureRequest,
    Contact,
    Episode,
    Family,
    Membership,
    Person,
    Plan,
    Review,
    StepUp,
    TeamMeeting,
)
from cases.validators import normalise_postcode, soundex
from deadlines import events
from imports import layout as L
from imports.checks import CheckedSet
from imports.clocks import BatchClocks
from imports.layout import CONTACT_STATE_FOR_DECISION
from imports.models import SourceKey
from imports.writer import Writer
from kit.history import update_with_history
from kit.time import LONDON

FROM_OLD_SYSTEM = "Recorded in the council's previous system."
BATCH_SIZE = 500

Progress = Callable[[int, int, str], None]


class ImportRefused(Exception):
    """The set has problems: the real run needs a clean dry run first."""


def _pk_map(checked: CheckedSet) -> dict[str, dict[str, int]]:
    return {kind: dict(found) for kind, found in checked.existing.items()}


def _keys(kind: str, pairs, now: datetime) -> list[SourceKey]:
    return [SourceKey(kind=kind, source_id=sid, object_id=obj.pk, imported_at=now) for sid, obj in pairs]


class _Run:
    def __init__(self, checked: CheckedSet, *, by: User, now: datetime, batch_size: int, progress: Progress | None):
        self.checked, self.by, self.now = checked, by, now
        self.batch_size = batch_size
        self.progress = progress or (lambda done, total, message: None)
        self.ids = _pk_map(checked)
        self.created: dict[str, int] = defaultdict(int)
        self.users: dict[int, User] = {}
        self.w = Writer(by=by, now=now)
        self.quiet_workers: set[tuple[int, str]] = set()

    # --- staff and teams: few rows, one transaction ----------------------------------------------------
    @transaction.atomic
    def teams_and_staff(self) -> None:
        keys: list[SourceKey] = []
        for sid, row in self.checked.new_rows("teams").items():
            v = row.values
            service, _ = Service.objects.get_or_create(name=v["service"])
            team = Team.objects.filter(name=v["name"]).first()
            if team is None:
                team = Team.objects.create(name=v["name"], service=service, kind=v.get("kind") or Team.Kind.LOCALITY)
                self.created["teams"] += 1
            self.ids["teams"][sid] = team.pk
            keys.append(SourceKey(kind="teams", source_id=sid, object_id=team.pk, imported_at=self.now))
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.ALL_ROLES}
        for sid, row in self.checked.new_rows("staff").items():
            v = row.values
            user = User.objects.filter(email__iexact=v["email"]).first()
            if user is None:
                team_id = self.ids["teams"].get(v.get("team_id") or "")
                user = User(
                    username=v["email"].lower()[:150],
                    email=v["email"],
                    first_name=v["first_name"],
                    last_name=v["last_name"],
                    team_id=team_id,
                    job_title=v.get("job_title") or "",
                    working_pattern=v.get("working_pattern") or User.WorkingPattern.FULL_TIME,
                )
                user.set_unusable_password()
                user.save()
                user.groups.set([groups[name] for name in v.get("roles") or []])
                self.created["staff"] += 1
                if team_id and roles.PRACTITIONER in (v.get("roles") or []):
                    # As the users page does: a practitioner joining a team starts their supervision cycle (B20).
                    team_joined.send(sender=User, worker=user, actor=self.by, now=self.now)
            self.ids["staff"][sid] = user.pk
            keys.append(SourceKey(kind="staff", source_id=sid, object_id=user.pk, imported_at=self.now))
        bulk_create_with_history(keys, SourceKey, default_user=self.by, default_date=self.now)

    # --- families and all that hangs on them ------------------------------------------------------------
    def family_batches(self) -> list[list[str]]:
        """Family ids in file order: every family with a new row of its own or of something that hangs on it."""
        c = self.checked
        order: dict[str, None] = dict.fromkeys(c.new_rows("families"))
        for kind in ("people", "agencies", "contacts", "episodes"):
            for row in c.new_rows(kind).values():
                for family, _ in row.values.get("families") or [(row.values["family_id"], None)]:
                    order.setdefault(family, None)
        for row in c.new_rows("case_notes").values():
            episode = c.rows["episodes"].get(row.values["episode_id"])
            if episode is not None:
                order.setdefault(episode.values["family_id"], None)
        families = [f for f in order if f in c.rows["families"] or f in self.ids["families"]]
        return [families[i : i + self.batch_size] for i in range(0, len(families), self.batch_size)]

    def by_family(self, kind: str) -> dict[str, list[tuple[str, dict]]]:
        grouped: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for sid, row in self.checked.new_rows(kind).items():
            grouped[row.values["family_id"]].append((sid, row.values))
        return grouped

    def run(self) -> dict:
        c = self.checked
        if not c.ok:
            raise ImportRefused("The files have problems: correct them and run the check again.")
        self.teams_and_staff()
        self.people_of = defaultdict(list)  # family -> [(person sid, relationship, values)]
        for sid, row in c.new_rows("people").items():
            for family, relationship in row.values["families"]:
                self.people_of[family].append((sid, relationship, row.values))
        self.agencies_of = self.by_family("agencies")
        self.contacts_of = self.by_family("contacts")
        self.episodes_of = self.by_family("episodes")
        self.notes_of: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for sid, row in c.new_rows("case_notes").items():
            self.notes_of[row.values["episode_id"]].append((sid, row.values))
        batches = self.family_batches()
        total = sum(len(b) for b in batches)
        done = 0
        self.progress(0, total, f"Importing {total} families")
        for batch in batches:
            with transaction.atomic():
                self.batch(batch)
            done += len(batch)
            self.progress(done, total, f"{done} of {total} families imported")
        return dict(self.created)

    def user(self, staff_sid: str | None) -> User | None:
        pk = self.ids["staff"].get(staff_sid or "")
        if pk is None:
            return None
        if pk not in self.users:
            self.users[pk] = User.objects.get(pk=pk)
        return self.users[pk]

    def batch(self, families: list[str]) -> None:
        now, by, ids, c = self.now, self.by, self.ids, self.checked
        # The clocks of the batch's open work, replayed in memory and written at the end of the batch.
        self.clocks = BatchClocks(now=now, by=by, quiet=self.quiet_workers)
        # An open episode's team is the family's team (as episode_open sets it).
        open_team = {
            v["family_id"]: v["team_id"]
            for family in families
            for _, v in self.episodes_of.get(family, ())
            if v["state"] != Episode.State.CLOSED
        }
        keys: list[SourceKey] = []
        # Families.
        new = [(sid, c.rows["families"][sid].values) for sid in families if sid not in ids["families"]]
        objs = [
            Family(
                name=v["name"],
                address_line_1=v.get("address_line_1") or "",
                address_line_2=v.get("address_line_2") or "",
                town=v.get("town") or "",
                postcode=normalise_postcode(v.get("postcode") or ""),
                address_confidential=bool(v.get("address_confidential")),
                language=v.get("language") or "",
                team_id=ids["teams"].get(open_team.get(sid) or v.get("team_id") or ""),
                created_by=by,
            )
            for sid, v in new
        ]
        self.w.add(objs)
        for (sid, _), obj in zip(new, objs, strict=True):
            ids["families"][sid] = obj.pk
        keys += _keys("families", zip((s for s, _ in new), objs, strict=True), now)
        self.created["families"] += len(objs)

        # People and memberships.
        people, person_sids, memberships = [], [], []
        for family in families:
            for sid, _relationship, v in self.people_of.get(family, ()):
                if sid not in ids["people"] and sid not in person_sids:
                    person_sids.append(sid)
                    people.append(
                        Person(
                            first_name=v["first_name"],
                            last_name=v["last_name"],
                            other_names=v.get("other_names") or "",
                            date_of_birth=v.get("date_of_birth"),
                            expected_date_of_birth=v.get("expected_date_of_birth"),
                            sex=v.get("sex") or "U",
                            ethnicity=v.get("ethnicity") or "NOBT",
                            language=v.get("language") or "",
                            nhs_number=v.get("nhs_number") or "",
                            upn=v.get("upn") or "",
                            last_name_key=soundex(v["last_name"]),
                            first_name_key=soundex(v["first_name"]),
                        )
                    )
        self.w.add(people)
        for sid, obj in zip(person_sids, people, strict=True):
            ids["people"][sid] = obj.pk
        keys += _keys("people", zip(person_sids, people, strict=True), now)
        self.created["people"] += len(people)
        new_people = set(person_sids)
        for family in families:
            for sid, relationship, _ in self.people_of.get(family, ()):
                if sid in new_people:
                    memberships.append(
                        Membership(
                            family_id=ids["families"][family], person_id=ids["people"][sid], relationship=relationship
                        )
                    )
        self.w.add(memberships)

        # Agencies.
        agencies = [(sid, v) for family in families for sid, v in self.agencies_of.get(family, ())]
        objs = [
            AgencyInvolvement(
                family_id=ids["families"][v["family_id"]],
                agency=v["agency"],
                contact_name=v.get("contact_name") or "",
                role=v.get("role") or "",
                phone=v.get("phone") or "",
                email=v.get("email") or "",
                started_on=v.get("started_on"),
                ended_on=v.get("ended_on"),
            )
            for _, v in agencies
        ]
        self.w.add(objs)
        keys += _keys("agencies", zip((s for s, _ in agencies), objs, strict=True), now)
        self.created["agencies"] += len(objs)

        # Contacts.
        contacts = [(sid, v) for family in families for sid, v in self.contacts_of.get(family, ())]
        objs = []
        for _, v in contacts:
            decision = v.get("decision") or ""
            recorder = self.user(v.get("recorded_by"))
            objs.append(
                Contact(
                    family_id=ids["families"][v["family_id"]],
                    received_at=v["received_at"],
                    route=v["route"],
                    source=v["source"],
                    presenting_needs=v["presenting_needs"],
                    referrer_agency=v.get("referrer_agency") or "",
                    referrer_name=v.get("referrer_name") or "",
                    referrer_role=v.get("referrer_role") or "",
                    state=CONTACT_STATE_FOR_DECISION[decision],
                    decision=decision,
                    decision_rationale=v.get("decision_rationale") or ("" if not decision else FROM_OLD_SYSTEM),
                    decided_by=self.user(v.get("decided_by")),
                    decided_at=v.get("decided_at"),
                    single_agency_name=v.get("single_agency_name") or "",
                    meeting_kind=v.get("meeting_kind") or "",
                    allocated_team_id=ids["teams"].get(v.get("allocated_team_id") or ""),
                    created_by=recorder or by,
                )
            )
        self.w.add(objs)
        links = [
            (obj.pk, ids["people"][pid])
            for (_, v), obj in zip(contacts, objs, strict=True)
            for pid in dict.fromkeys(v.get("subjects") or [])
            if pid in ids["people"]
        ]
        self.w.copy_rows(Contact.subjects.through, ["contact_id", "person_id"], links)
        for (sid, _), obj in zip(contacts, objs, strict=True):
            ids["contacts"][sid] = obj.pk
        keys += _keys("contacts", zip((s for s, _ in contacts), objs, strict=True), now)
        self.created["contacts"] += len(objs)
        contact_obj = {sid: obj for (sid, _), obj in zip(contacts, objs, strict=True)}

        # Episodes and the records their dates imply.
        episodes = [(sid, v) for family in families for sid, v in self.episodes_of.get(family, ())]
        objs = []
        for _, v in episodes:
            closed = v["state"] == Episode.State.CLOSED
            closed_at = None
            if closed:
                closed_at = datetime.combine(v["closed_on"], time(0, 0), tzinfo=LONDON)
            objs.append(
                Episode(
                    family_id=ids["families"][v["family_id"]],
                    contact_id=ids["contacts"].get(v.get("contact_id") or ""),
                    team_id=ids["teams"][v["team_id"]],
                    lead_professional=self.user(v.get("lead_staff_id")),
                    origin=v.get("origin") or Episode.Origin.FRONT_DOOR,
                    state=v["state"],
                    state_before_request=(L.state_before_request(v) if v["state"] in L.REQUEST_STATES else ""),
                    opened_at=v["opened_at"],
                    referral_notes=v.get("referral_notes") or "",
                    allocated_at=v.get("allocated_at"),
                    allocated_by=by if v.get("allocated_at") else None,
                    closed_at=closed_at,
                    ended_on=v.get("closed_on"),
                    # A closure requested has the reason proposed on its request; the episode's is set at sign-off.
                    closure_reason=(v.get("closure_reason") or "") if closed else "",
                    social_care_assessment_date=v.get("social_care_assessment_date"),
                )
            )
        self.w.add(objs)
        for (sid, _), obj in zip(episodes, objs, strict=True):
            ids["episodes"][sid] = obj.pk
        keys += _keys("episodes", zip((s for s, _ in episodes), objs, strict=True), now)
        self.created["episodes"] += len(objs)
        records = self.episode_records(episodes, objs)

        # A family imported before whose new episode is open moves to the episode's team.
        made_now = {sid for sid, _ in new}
        moving = {
            ids["families"][family]: ids["teams"][team] for family, team in open_team.items() if family not in made_now
        }
        moved = list(Family.objects.filter(pk__in=moving).order_by("pk"))
        for record in moved:
            record.team_id = moving[record.pk]
        # Each move in the family's history (the COPY writer writes history only for the rows it inserts).
        update_with_history(moved, ["team"], by=self.by, now=self.now, reason="Imported: moved with its open episode")

        # Case notes.
        notes = [(sid, v) for episode_sid, _ in episodes for sid, v in self.notes_of.get(episode_sid, ())]
        notes += [
            (sid, v)
            for episode_sid, found in self.notes_of.items()
            if episode_sid in self.checked.existing.get("episodes", {})
            and c.rows["episodes"].get(episode_sid)
            and c.rows["episodes"][episode_sid].values["family_id"] in families
            for sid, v in found
        ]
        note_objs = [
            CaseNote(
                episode_id=ids["episodes"][v["episode_id"]],
                family_id=ids["families"][c.rows["episodes"][v["episode_id"]].values["family_id"]],
                kind=v["kind"],
                happened_at=v["happened_at"],
                recorded_at=v["happened_at"],
                recorded_by_id=ids["staff"][v["recorded_by"]],
                details=v["details"],
            )
            for _, v in notes
        ]
        self.w.add(note_objs)
        keys += _keys("case_notes", zip((s for s, _ in notes), note_objs, strict=True), now)
        self.created["case_notes"] += len(note_objs)

        self.w.add(keys)
        self.w.flush()

        # Clocks for the open work, from the events its dates imply.
        for (_, v), contact in zip(contacts, contact_obj.values(), strict=True):
            if contact.is_open:
                self.contact_clocks(contact, v)
        for (_, v), episode in zip(episodes, objs, strict=True):
            if episode.is_open:
                contact = contact_obj.get(v.get("contact_id") or "")
                if contact is None and episode.contact_id:
                    contact = Contact.objects.select_related("created_by").get(pk=episode.contact_id)
                self.episode_clocks(episode, v, records.get(episode.pk, {}), contact)
        self.clocks.write(self.w)
        # Who each family's record reaches (cases.reach): the rows COPY wrote sent no signal.
        family_ids = [ids["families"][family] for family in families]
        reach.refresh(family_ids)
        # What the board reads of each episode (ADR 56): the COPYed contacts, assessments and episodes.
        board.refresh(family_ids=family_ids)

    def episode_records(self, episodes, objs) -> dict[int, dict]:
        """The assessment, plan, planning meeting and last review an episode's dates say it had."""
        by = self.by
        found: dict[int, dict] = defaultdict(dict)
        assessments, plans, meetings, reviews = [], [], [], []
        for (_, v), episode in zip(episodes, objs, strict=True):
            worker = episode.lead_professional or by
            started = v.get("first_visit_at")
            if episode.state == Episode.State.ASSESSMENT or v.get("assessment_completed_at"):
                assessments.append(
                    Assessment(
                        episode=episode,
                        started_at=started or v.get("assessment_completed_at"),
                        started_by=worker,
                        completed_at=v.get("assessment_completed_at"),
                        completed_by=worker if v.get("assessment_completed_at") else None,
                        family_history=FROM_OLD_SYSTEM,
                    )
                )
            plan_from = v.get("planning_meeting_at") or v.get("plan_active_at")
            if plan_from:
                plans.append(
                    Plan(
                        episode=episode,
                        created_at=plan_from,
                        created_by=worker,
                        activated_at=v.get("plan_active_at"),
                        activated_by=worker if v.get("plan_active_at") else None,
                    )
                )
            if v.get("planning_meeting_at"):
                meetings.append(
                    TeamMeeting(
                        episode=episode,
                        kind=TeamMeeting.Kind.INITIAL_PLANNING,
                        held_at=v["planning_meeting_at"],
                        attendees=FROM_OLD_SYSTEM,
                        recorded_at=v["planning_meeting_at"],
                        recorded_by=worker,
                    )
                )
            if v.get("last_review_at"):
                meeting = TeamMeeting(
                    episode=episode,
                    kind=TeamMeeting.Kind.REVIEW,
                    held_at=v["last_review_at"],
                    attendees=FROM_OLD_SYSTEM,
                    recorded_at=v["last_review_at"],
                    recorded_by=worker,
                )
                meetings.append(meeting)
                reviews.append(
                    Review(
                        episode=episode,
                        meeting=meeting,
                        summary=FROM_OLD_SYSTEM,
                        child_voice=FROM_OLD_SYSTEM,
                        next_review_on=v["next_review_on"],
                        recorded_at=v["last_review_at"],
                        recorded_by=worker,
                    )
                )
        self.w.add(assessments)
        self.w.add(plans)
        self.w.add(meetings)
        for review in reviews:
            review.meeting_id = review.meeting.pk
        self.w.add(reviews)
        closures, step_ups = [], []
        for (_, v), episode in zip(episodes, objs, strict=True):
            worker = episode.lead_professional or by
            if episode.state == Episode.State.CLOSURE_REQUESTED:
                closures.append(
                    ClosureRequest(
                        episode=episode,
                        requested_at=v["closure_requested_at"],
                        requested_by=worker,
                        summary=FROM_OLD_SYSTEM,
                        child_voice=FROM_OLD_SYSTEM,
                        proposed_reason=v["closure_reason"],
                        **dict.fromkeys(ClosureRequest.CHECKLIST, True),
                    )
                )
            if v.get("step_up_requested_at"):
                decided, confirmed = v.get("step_up_decided_at"), v.get("wraparound_confirmed_at")
                step_ups.append(
                    StepUp(
                        episode=episode,
                        proposed_at=v["step_up_requested_at"],
                        proposed_by=worker,
                        concern=v["step_up_concern"],
                        reason=FROM_OLD_SYSTEM,
                        multi_agency_views=FROM_OLD_SYSTEM,
                        family_views=FROM_OLD_SYSTEM,
                        manager_judgement=FROM_OLD_SYSTEM if v.get("step_up_sent_at") else "",
                        sent_at=v.get("step_up_sent_at"),
                        sent_by=by if v.get("step_up_sent_at") else None,
                        decision=StepUp.Decision.ACCEPTED if decided else "",
                        wraparound=True if decided else None,
                        decision_notes=FROM_OLD_SYSTEM if decided else "",
                        decided_at=decided,
                        decided_by=by if decided else None,
                        wraparound_worker=episode.lead_professional if confirmed else None,
                        wraparound_confirmed_at=confirmed,
                        wraparound_confirmed_by=by if confirmed else None,
                    )
                )
        self.w.add(closures)
        self.w.add(step_ups)
        for kind, rows in (("assessment", assessments), ("plan", plans), ("review", reviews), ("closure", closures)):
            for obj in rows:
                found[obj.episode.pk][kind] = obj
        return found

    # --- clocks ------------------------------------------------------------------------------------------
    def contact_clocks(self, contact: Contact, v: dict) -> None:
        """A contact still at the front door: its receipt, and a decision that leaves it open."""
        found = contact_events(contact, v)
        self.clocks.contact_events(contact, found, creator_team_id=_team_of(contact.created_by))

    def episode_clocks(self, episode: Episode, v: dict, records: dict, contact: Contact | None) -> None:
        """The events an open episode's dates imply, in the order the services send them."""
        found: list[tuple[str, datetime, str, User | None]] = [(events.EPISODE_OPENED, episode.opened_at, "", None)]
        received = min(contact.received_at, episode.opened_at) if contact is not None else episode.opened_at
        if episode.origin == Episode.Origin.STEP_DOWN:
            found.append((events.STEP_DOWN_RECEIVED, received, "", None))
        elif episode.origin == Episode.Origin.WRAPAROUND:
            found.append((events.WRAPAROUND_REQUESTED, received, "", None))

        def add(event: str, at: datetime | None, key: str = "", worker: User | None = None) -> None:
            if at is not None:
                found.append((event, at, key, worker))

        add(events.ALLOCATED, v.get("allocated_at"), worker=episode.lead_professional)
        add(events.INITIAL_CONTACT_MADE, v.get("initial_contact_at"))
        add(events.FIRST_VISIT_MADE, v.get("first_visit_at"))
        add(events.FAMILY_VISITED, v.get("first_visit_at"))
        if "assessment" in records and v.get("assessment_completed_at"):
            key = f"assessment:{records['assessment'].pk}"
            add(events.ASSESSMENT_COMPLETED, v["assessment_completed_at"], key)
        plan = records.get("plan")
        if plan is not None:
            add(events.PLAN_STARTED, plan.created_at, f"plan:{plan.pk}")
        add(events.PLANNING_MEETING_HELD, v.get("planning_meeting_at"))
        if plan is not None and v.get("plan_active_at"):
            add(events.PLAN_COMPLETED, v["plan_active_at"], f"plan:{plan.pk}")
        if "review" in records:
            add(events.REVIEW_HELD, v["last_review_at"], f"review:{records['review'].pk}")
        # The requests waiting for a manager, and wraparound, after the key dates, in the order they happened
        # (a review may be held in wraparound).
        tail = len(found)
        add(events.STEP_UP_REQUESTED, v.get("step_up_requested_at"))
        add(events.STEP_UP_SENT_TO_DUTY_MANAGER, v.get("step_up_sent_at"))
        add(events.STEP_UP_DECIDED, v.get("step_up_decided_at"))
        add(events.WRAPAROUND_REQUESTED, v.get("step_up_decided_at"))
        add(events.WRAPAROUND_WORKER_CONFIRMED, v.get("wraparound_confirmed_at"), worker=episode.lead_professional)
        if "closure" in records:
            add(events.CLOSURE_REQUESTED, v["closure_requested_at"], f"closure:{records['closure'].pk}")
        review = next((i for i, item in enumerate(found) if item[0] == events.REVIEW_HELD), None)
        if review is not None and len(found) > tail:
            found[review:] = sorted(found[review:], key=lambda item: item[1])
        creator = _team_of(contact.created_by) if contact is not None else None
        self.clocks.episode_events(episode, found, contact=contact, creator_team_id=creator)


def contact_events(contact: Contact, v: dict) -> list[tuple[str, datetime]]:
    """The events of an imported contact still at the front door, in order: its receipt, and its decision
    with the same events the front door's decision sends (deadlines.events.decision_events)."""
    found = [(events.CONTACT_RECEIVED, contact.received_at)]
    decision = v.get("decision") or ""
    if decision:
        at = v["decided_at"]
        found.append((events.SCREENING_HELD, at))
        found += [(event, at) for event in events.decision_events(decision, meeting_kind=v.get("meeting_kind", ""))]
    return found


def _team_of(user: User | None) -> int | None:
    return user.team_id if user is not None else None


def import_set(
    checked: CheckedSet, *, by: User, now: datetime, batch_size: int = BATCH_SIZE, progress: Progress | None = None
) -> dict:
    """Write every new row of a checked set; returns how many records of each kind were made."""
    return _Run(checked, by=by, now=now, batch_size=batch_size, progress=progress).run()
