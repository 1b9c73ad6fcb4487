"""The service navigation, by role. One list, so every page agrees on what a role may reach."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from accounts import roles as r


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]
    # Roles who reach it from their home page only, not the header: the header stays on one line at
    # 1280 px for a role with many pages (a manager's first screen holds their most urgent work).
    home_only: frozenset[str] = frozenset()


MANAGER = frozenset({r.MANAGER})

NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Home", "home", frozenset(r.ALL_ROLES)),
    NavItem("Triage queue", "cases:triage_queue", frozenset({r.MASH_OFFICER, r.EH_MASH_LEAD, r.MANAGER})),
    NavItem("New contact", "cases:contact_create", frozenset({r.MASH_OFFICER, r.EH_MASH_LEAD})),
    NavItem(
        "Meetings",
        "cases:meeting_list",
        frozenset({r.EH_MASH_LEAD, r.MASH_OFFICER, r.TEAM_LEADER, r.MANAGER}),
        home_only=MANAGER,
    ),
    NavItem("Step-down", "episodes:step_down_find", frozenset({r.MASH_OFFICER, r.EH_MASH_LEAD})),
    NavItem("My cases", "episodes:my_cases", frozenset({r.PRACTITIONER})),
    NavItem(
        "Allocation", "episodes:pre_allocation", frozenset({r.TEAM_LEADER, r.DUTY_WORKER, r.MANAGER}), home_only=MANAGER
    ),
    NavItem("Sign-off", "episodes:sign_off", frozenset({r.MANAGER, r.DUTY_MANAGER})),
    NavItem("My work", "oversight:my_work", frozenset({r.PRACTITIONER, r.DUTY_WORKER, r.TEAM_LEADER})),
    NavItem("Team board", "oversight:team_board", frozenset({r.TEAM_LEADER, r.MANAGER})),
    NavItem("Moving cases", "episodes:transfers", frozenset({r.TEAM_LEADER, r.MANAGER}), home_only=MANAGER),
    NavItem("Dashboard", "oversight:dashboard", frozenset({r.MANAGER})),
    NavItem("Reports", "oversight:timeliness_report", frozenset({r.TEAM_LEADER, r.MANAGER}), home_only=MANAGER),
    NavItem("Retention", "oversight:retention_report", frozenset({r.MANAGER}), home_only=MANAGER),
    NavItem("Search", "cases:search", frozenset(set(r.ALL_ROLES) - {r.ADMINISTRATOR})),
    NavItem("Users", "accounts:user_list", frozenset({r.ADMINISTRATOR})),
    NavItem("Closure days", "deadlines:closure_days", frozenset({r.ADMINISTRATOR})),
    NavItem("Procedures", "accounts:service_list", frozenset({r.ADMINISTRATOR})),
    NavItem("Import", "imports:start", frozenset({r.ADMINISTRATOR})),
    NavItem(
        "Letter templates", "episodes:letter_templates", frozenset({r.ADMINISTRATOR, r.MANAGER}), home_only=MANAGER
    ),
    NavItem("Rulebooks", "deadlines:editor_rulebooks", frozenset({r.ADMINISTRATOR, r.MANAGER}), home_only=MANAGER),
    NavItem(
        "Partner agencies",
        "partners:organisation_list",
        frozenset({r.ADMINISTRATOR}),
        home_only=frozenset({r.ADMINISTRATOR}),
    ),
    # ADR 0038: the operational leads' escalations, the duty manager's re-referrals, the daily screening.
    NavItem("Escalations", "cases:escalation_queue", frozenset({r.MANAGER, r.DUTY_MANAGER}), home_only=MANAGER),
    NavItem("Re-referrals", "cases:re_referral_queue", frozenset({r.DUTY_MANAGER})),
    NavItem(
        "Screening", "cases:screening_list", frozenset({r.MASH_OFFICER, r.EH_MASH_LEAD, r.MANAGER}), home_only=MANAGER
    ),
    NavItem(
        "API clients", "api_clients:client_list", frozenset({r.ADMINISTRATOR}), home_only=frozenset({r.ADMINISTRATOR})
    ),
)


def items_for(user, current_path: str, *, header: bool = True) -> list[dict]:
    """The pages the user's roles may reach: for the header (`header`), or all of them (the home page)."""
    names = user.role_names
    items = []
    for item in NAV_ITEMS:
        if not names.intersection(item.roles):
            continue
        if header and not names.intersection(item.roles - item.home_only):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # the feature is not installed in this build
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": item.label, "url": url, "active": active})
    return items
