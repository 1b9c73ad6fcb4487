"""The service navigation, by role. One list, so every page agrees on what a role may reach."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

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
    items = []
    for label, url in _reachable(user.role_names, header, get_urlconf(), get_script_prefix()):
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return items


# (role names, header, urlconf, script prefix) -> ((label, url), ...). Every signed-in page draws the
# header: its links are worked out once per set of roles (ADR 63), not reversed on every request. The
# URL configuration and script prefix are in the key, so a deployment under a path prefix (or a test
# with its own URLs) gets its own links. A handful of role sets exist; the cap only guards the memory.
_REACHABLE: dict[tuple, tuple[tuple[str, str], ...]] = {}


def _reachable(names: frozenset[str], header: bool, urlconf, prefix: str) -> tuple[tuple[str, str], ...]:
    key = (names, header, urlconf, prefix)
    found = _REACHABLE.get(key)
    if found is None:
        if len(_REACHABLE) >= 256:
            _REACHABLE.clear()
        found = _REACHABLE[key] = tuple(_links(names, header=header))
    return found


def _links(names: frozenset[str], *, header: bool):
    for item in NAV_ITEMS:
        if not names.intersection(item.roles):
            continue
        if header and not names.intersection(item.roles - item.home_only):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # the feature is not installed in this build
        yield item.label, url
