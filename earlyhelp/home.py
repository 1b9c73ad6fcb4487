"""What each role sees first on its home page: its own queue, then the navigation (ADR 0028).

A section per role the user holds: count cards (due today, overdue, breached, awaiting a decision
or sign-off), each linking to the page that lists that work with its existing filters, then the
next few items, most urgent first (breached, then overdue, then due soonest), each linking to the
task. The counting and choosing is in `oversight.home_selectors`; this module only names the
cards and builds the links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.urls import NoReverseMatch, reverse

from accounts import roles as r
from deadlines.models import Deadline, Status
from deadlines.selectors import UNSEEN_ALERTS_LOADED, UNSEEN_ALERTS_SHOWN, unseen_alert_count
from earlyhelp.navigation import items_for
from oversight import home_selectors as hs
from oversight.selectors import service_id_of


@dataclass
class Card:
    label: str
    count: int
    url: str
    urgent: bool = False  # shown in red when the count is not zero
    capped: bool = False  # counted up to UNSEEN_ALERTS_SHOWN: shown as "99+" from there, as the header does

    @property
    def shown(self) -> str:
        if self.capped and self.count >= UNSEEN_ALERTS_SHOWN:
            return f"{UNSEEN_ALERTS_SHOWN - 1}+"
        return str(self.count)


@dataclass
class Item:
    title: str
    detail: str
    url: str
    when: datetime | None = None
    status: str = ""
    status_label: str = ""
    record: object = None  # what the item shows, so the page's view of it is logged


@dataclass
class Section:
    key: str
    title: str
    cards: list[Card]
    items: list[Item] = field(default_factory=list)
    items_title: str = "Next, most urgent first"
    empty: str = "Nothing is due."


def _url(name: str, *args, query: str = "") -> str:
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{query}" if query else url


def home_panels(user) -> list[dict]:
    """The navigation links of the user's roles, shown below their work."""
    return [item for item in items_for(user, "", header=False) if item["url"] != "/"]


# --- Items -----------------------------------------------------------------------------------------


def deadline_url(deadline: Deadline) -> str:
    if deadline.episode_id:
        return _url("episodes:episode_detail", deadline.episode_id)
    if deadline.contact_id:
        return _url("cases:contact_detail", deadline.contact_id)
    return _url("deadlines:clock_explain", deadline.pk)


def _deadline_detail(deadline: Deadline) -> str:
    if deadline.episode_id:
        return f"{deadline.episode.family.name} (episode E{deadline.episode_id:07d})"
    if deadline.contact_id:
        return f"{deadline.contact.family.name} (contact C{deadline.contact_id:07d})"
    return f"Supervision of {deadline.worker.get_full_name() or deadline.worker.username}"


def _clock_items(clocks: list[Deadline]) -> list[Item]:
    items = []
    for d in clocks:
        status = d.status
        when = d.due_at if status == Status.BREACHED else (d.first_limit or d.due_at)
        items.append(
            Item(
                title=d.title,
                detail=_deadline_detail(d),
                url=deadline_url(d),
                when=when,
                status=status,
                status_label=Status(status).label,
                record=d,
            )
        )
    return items


def _clock_cards(counts: dict[str, int], url: str) -> list[Card]:
    return [
        Card("Breached", counts["breached"], url, urgent=True),
        Card("Overdue", counts["overdue"], url, urgent=True),
        Card("Due today", counts["due_today"], url),
    ]


# --- One section per role --------------------------------------------------------------------------


def front_door_section(user, *, now: datetime) -> Section:
    queue = _url("cases:triage_queue")
    clocks = hs.front_door_clocks(user)
    counts = hs.clock_counts(clocks, now=now)
    return Section(
        key="front_door",
        title="Front door: contacts awaiting a decision",
        cards=[
            Card("Contacts awaiting a decision", hs.front_door_contacts(user).count(), queue),
            *_clock_cards(counts, queue),
        ],
        items=_clock_items(hs.most_urgent_clocks_of("front door", user, hs.front_door_clocks, now=now, counts=counts)),
        empty="No contact's clock is running.",
    )


def duty_section(user, *, now: datetime) -> Section:
    page = _url("episodes:pre_allocation")
    counts = hs.pre_allocation_counts(user, now=now)
    clock_counts = hs.clock_counts(hs.pre_allocation_clocks(user), now=now)
    items = [
        Item(
            title="Weekly contact due" if e.weekly_contact_due else "Waiting for allocation",
            detail=f"{e.family.name} (episode E{e.pk:07d})",
            url=_url("episodes:episode_detail", e.pk),
            when=e.last_duty_contact_at,
            status_label="Contact due" if e.weekly_contact_due else "",
            record=e,
        )
        for e in hs.pre_allocation_next(user, now=now)
    ]
    return Section(
        key="duty",
        title="Duty: families waiting for allocation",
        cards=[
            Card("Families waiting for allocation", counts["waiting"], page),
            Card("Weekly contact due", counts["weekly_due"], page, urgent=True),
            Card("Breached", clock_counts["breached"], page, urgent=True),
            Card("Overdue", clock_counts["overdue"], page, urgent=True),
        ],
        items=items,
        items_title="Next, weekly contact due first, then the longest waiting",
        empty="No family is waiting for allocation.",
    )


def practitioner_section(user, *, now: datetime) -> Section:
    my_work = _url("oversight:my_work")
    counts = hs.my_case_clock_counts(user, now=now)
    # Counted up to UNSEEN_ALERTS_SHOWN like the header ("99+"), and read with the signed-in user
    # (ADR 0057): no query of its own, and never every unread alert of someone with thousands.
    alerts = getattr(user, UNSEEN_ALERTS_LOADED, None)
    return Section(
        key="practitioner",
        title="My cases",
        cards=[
            *_clock_cards(counts, my_work),
            Card("Planned visits not recorded", hs.unrecorded_visit_count(user, now=now), my_work, urgent=True),
            Card(
                "Alerts not seen",
                unseen_alert_count(user) if alerts is None else alerts,
                _url("deadlines:alerts"),
                capped=True,
            ),
        ],
        items=_clock_items(hs.most_urgent_clocks_of("my cases", user, hs.my_case_clocks, now=now, counts=counts)),
    )


def team_leader_section(user, *, now: datetime) -> Section:
    board = _url("oversight:team_board", query=f"team={user.team_id}" if user.team_id else "")
    sign_off = hs.team_sign_off_counts(user)
    # From the summary rows (a few rows whatever the team's caseload), as the team board counts them.
    counts = hs.summary_clock_counts(now=now, team_id=user.team_id) if user.team_id else hs.NO_CLOCKS
    return Section(
        key="team_leader",
        title="My team",
        cards=[
            Card("Waiting for allocation", hs.awaiting_allocation_count(user), _url("episodes:pre_allocation")),
            *_clock_cards(counts, board),
            Card("Awaiting a manager's sign-off", sign_off["closures"] + sign_off["step_ups"], board),
        ],
        items=(
            _clock_items(hs.most_urgent_clocks_of("team", user, hs.team_clocks, now=now, counts=counts))
            if user.team_id
            else []
        ),
    )


def service_section(user, *, now: datetime) -> Section:
    """Managers and duty managers: the service's breaches and what waits for their sign-off."""
    is_manager = user.has_role(r.MANAGER)
    sign_off_url = _url("episodes:sign_off")
    sign_off = hs.service_sign_off_counts(user)
    cards = []
    counts = None
    if is_manager:
        clocks = hs.service_clocks
        # From the summary rows of the service's teams, as the dashboard counts them.
        service_id = service_id_of(user)
        counts = hs.summary_clock_counts(now=now, service_id=service_id) if service_id else hs.NO_CLOCKS
        cards += [
            Card("Breached", counts["breached"], _url("oversight:dashboard", query="acknowledged=all"), urgent=True),
            Card("Overdue", counts["overdue"], _url("oversight:team_board")),
            Card("Due today", counts["due_today"], _url("oversight:team_board")),
            Card("Closures awaiting sign-off", sign_off["closures"], sign_off_url),
            Card("Step-ups to send", sign_off["step_ups_to_send"], sign_off_url),
        ]
    if user.has_role(r.DUTY_MANAGER):
        cards.append(Card("Step-ups awaiting my decision", sign_off["step_ups_to_decide"], sign_off_url, urgent=True))
        if not is_manager:
            clocks = hs.step_up_clocks
    return Section(
        key="service",
        title="My service" if is_manager else "Step-ups awaiting a decision",
        cards=cards,
        items=_clock_items(
            hs.most_urgent_clocks_of("service" if is_manager else "step-ups", user, clocks, now=now, counts=counts)
        ),
    )


def home_sections(user, *, now: datetime) -> list[Section]:
    """The user's work, one section per kind of work their roles give them, in a fixed order."""
    names = user.role_names
    sections = []
    if names & r.FRONT_DOOR_ROLES:
        sections.append(front_door_section(user, now=now))
    if r.DUTY_WORKER in names:
        sections.append(duty_section(user, now=now))
    if r.PRACTITIONER in names:
        sections.append(practitioner_section(user, now=now))
    if r.TEAM_LEADER in names:
        sections.append(team_leader_section(user, now=now))
    if names & {r.MANAGER, r.DUTY_MANAGER}:
        sections.append(service_section(user, now=now))
    return sections
