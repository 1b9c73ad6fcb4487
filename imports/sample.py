"""A sample export set in the documented layout, as a council's old system would give it, for trying the
import, its tests and its benchmark (`manage.py import_sample DIR`).

Seeded, so a seed gives the same files. With `with_errors`, a handful of rows carry deliberate mistakes
of each kind the dry run must find; `write_sample` returns them as (file, row, column) so a test can
check the report names every one. Without, the same set is clean and imports.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

from cases import codes
from kit.time import LONDON

FIRST = ("Amira", "Ben", "Chloe", "Dylan", "Ella", "Finn", "Grace", "Harvey", "Isla", "Jack", "Kai", "Layla", "Mason",
         "Nia", "Oscar", "Poppy", "Reuben", "Sofia", "Theo", "Zara")  # fmt: skip
LAST = ("Okafor", "Reid", "Patel", "Nowak", "Hughes", "Begum", "Murphy", "Campbell", "Khan", "Evans", "Kowalski",
        "Ahmed", "Walker", "Byrne", "Osei", "Price", "Taylor", "Ali", "Morgan", "Wright")  # fmt: skip
STREETS = ("Mill Lane", "Station Road", "Church Street", "Victoria Road", "Park Avenue", "Green Lane")
NEEDS = (
    "School reports poor attendance and the parent asks for help with routines.",
    "Health visitor concerned about the home conditions and the parent's low mood.",
    "Police attended a domestic incident; the children were present.",
    "Family struggling with debts and rent arrears; the child is anxious.",
)
OPEN_STATES = ("awaiting_allocation", "allocated", "initial_contact", "first_visit", "assessment",
               "assessment_completed", "planning", "plan_active", "closure_requested", "step_up_requested",
               "wraparound")  # fmt: skip
# The states waiting on a manager's answer (or wraparound): the work's course before the request is one of these.
REQUESTS = ("closure_requested", "step_up_requested", "wraparound")
COURSES = ("allocated", "initial_contact", "first_visit", "assessment_completed", "plan_active")
ETHNICITIES = [code for code, _ in codes.ETHNICITIES]


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        if digits[0] == 0:
            continue
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def _t(value: datetime) -> str:
    return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


def _d(value) -> str:
    return value.strftime("%Y-%m-%d")


class _Sample:
    def __init__(self, *, families: int, now: datetime, seed: int, with_errors: bool):
        self.rng = random.Random(seed)
        self.n = families
        self.now = now.astimezone(LONDON)
        self.with_errors = with_errors
        self.rows: dict[str, list[dict]] = {
            k: [] for k in ("teams", "staff", "families", "people", "agencies", "contacts", "episodes", "case_notes")
        }
        self.errors: list[tuple[str, int, str]] = []
        self.nhs_used: set[str] = set()

    def office(self, days_ago: float) -> datetime:
        """A weekday office time about `days_ago` days before now."""
        t = self.now - timedelta(days=days_ago)
        while t.weekday() >= 5:
            t -= timedelta(days=1)
        return t.replace(hour=self.rng.randint(9, 16), minute=self.rng.choice((0, 15, 30, 45)), second=0, microsecond=0)

    def staff(self) -> None:
        self.rows["teams"] += [
            {"team_id": "T-FD", "name": "Sample front door", "service": "Sample Early Help", "kind": "front_door"},
            {"team_id": "T-N", "name": "Sample north locality", "service": "Sample Early Help", "kind": "locality"},
            {"team_id": "T-S", "name": "Sample south locality", "service": "Sample Early Help", "kind": "locality"},
        ]
        staff = self.rows["staff"]
        staff.append({"staff_id": "S-MASH", "email": "mash.officer@sample.example.org", "first_name": "Morgan",
                      "last_name": "Front", "roles": "MASH officer;EH MASH lead", "team_id": "T-FD"})  # fmt: skip
        self.practitioners: dict[str, list[str]] = {}
        for team in ("T-N", "T-S"):
            staff.append({"staff_id": f"S-{team}-TL", "email": f"leader.{team.lower()}@sample.example.org",
                          "first_name": "Lee", "last_name": f"Leader {team}", "roles": "Team leader",
                          "team_id": team})  # fmt: skip
            self.practitioners[team] = []
            for i in range(1, 6):
                sid = f"S-{team}-P{i}"
                staff.append({"staff_id": sid, "email": f"coach{i}.{team.lower()}@sample.example.org",
                              "first_name": FIRST[i], "last_name": f"Coach {team}", "roles": "Practitioner",
                              "team_id": team, "working_pattern": "full_time"})  # fmt: skip
                self.practitioners[team].append(sid)

    def family(self, i: int) -> None:
        rng = self.rng
        fid = f"F{i:06d}"
        surname = rng.choice(LAST)
        team = rng.choice(("T-N", "T-S"))
        self.rows["families"].append({
            "family_id": fid, "name": f"The {surname} household",
            "address_line_1": f"{rng.randint(1, 200)} {rng.choice(STREETS)}", "town": "Sampleton",
            "postcode": f"SA{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}",
            "address_confidential": "no", "language": "English", "team_id": team,
        })  # fmt: skip
        children = []
        self.names_here: set[tuple[str, str]] = set()
        for a in range(rng.choice((1, 1, 2))):
            born = self.now.date() - timedelta(days=rng.randint(25 * 365, 45 * 365))
            self.person(fid, f"{fid}-A{a}", "parent", surname, born)
        for c in range(rng.choice((1, 2, 2, 3))):
            born = self.now.date() - timedelta(days=rng.randint(300, 16 * 365))
            children.append(self.person(fid, f"{fid}-C{c}", "child", surname, born))
        self.rows["agencies"].append({"agency_id": f"{fid}-AG", "family_id": fid, "agency": "Sampleton Primary School",
                                      "contact_name": "Ms Head", "role": "Designated safeguarding lead",
                                      "started_on": _d(self.now - timedelta(days=400))})  # fmt: skip
        # One old closed episode for some, and for most an open piece of work.
        if rng.random() < 0.3:
            opened = self.office(rng.uniform(500, 900))
            cid = self.contact(fid, f"{fid}-K0", opened - timedelta(days=3), children, "allocate", team)
            self.episode(fid, f"{fid}-E0", cid, team, "closed", opened)
        r = rng.random()
        received = self.office(rng.uniform(3, 120))
        if r < 0.15 and i > len(OPEN_STATES):
            self.contact(fid, f"{fid}-K1", received, children, "", None)
        elif r < 0.75 or i <= len(OPEN_STATES):  # the first families have an episode in each open state
            cid = self.contact(fid, f"{fid}-K1", received, children, "allocate", team)
            state = OPEN_STATES[i - 1] if i <= len(OPEN_STATES) else rng.choice(OPEN_STATES)
            self.episode(fid, f"{fid}-E1", cid, team, state, received + timedelta(hours=rng.uniform(2, 30)))
        else:
            self.contact(fid, f"{fid}-K1", received, children, rng.choice(("signpost", "no_further_action")), None)

    def unique_nhs_number(self) -> str:
        """A valid NHS number not given before in this set (one person, one number)."""
        while True:
            number = nhs_number(self.rng)
            if number not in self.nhs_used:
                self.nhs_used.add(number)
                return number

    def person(self, fid, pid, relationship, surname, born) -> str:
        first_name = self.rng.choice(FIRST)
        while (first_name, _d(born)) in self.names_here:  # twins get different names (the dry run would refuse them)
            first_name = self.rng.choice(FIRST)
        self.names_here.add((first_name, _d(born)))
        self.rows["people"].append({
            "person_id": pid, "family_id": fid, "relationship": relationship, "first_name": first_name,
            "last_name": surname, "date_of_birth": _d(born), "sex": self.rng.choice("MF"),
            "ethnicity": self.rng.choice(ETHNICITIES), "nhs_number": self.unique_nhs_number(),
        })  # fmt: skip
        return pid

    def contact(self, fid, cid, received, children, decision, team) -> str:
        row = {
            "contact_id": cid, "family_id": fid, "received_at": _t(received),
            "route": self.rng.choice(("email", "phone", "portal")),
            "source": self.rng.choice(("2A", "3B", "6", "1A")), "presenting_needs": self.rng.choice(NEEDS),
            "subjects": ";".join(children), "referrer_agency": "Sampleton Primary School", "recorded_by": "S-MASH",
        }  # fmt: skip
        if decision:
            decided = min(received + timedelta(hours=self.rng.uniform(1, 20)), self.now - timedelta(minutes=5))
            row |= {"decision": decision, "decided_at": _t(decided), "decided_by": "S-MASH",
                    "decision_rationale": "Needs met by a targeted Early Help response."}  # fmt: skip
            if decision == "allocate":
                row["allocated_team_id"] = team
        self.rows["contacts"].append(row)
        return cid

    def episode(self, fid, eid, cid, team, state, opened) -> None:
        rng = self.rng
        lead = rng.choice(self.practitioners[team])
        row = {"episode_id": eid, "family_id": fid, "contact_id": cid, "team_id": team, "origin": "front_door",
               "state": state, "opened_at": _t(opened)}  # fmt: skip
        if state != "awaiting_allocation":
            row["lead_staff_id"] = lead
        span = (self.now - opened).total_seconds()
        requested = state in REQUESTS
        course, state = state, rng.choice(COURSES) if requested else state
        order = ["allocated_at", "initial_contact_at", "first_visit_at", "assessment_completed_at",
                 "planning_meeting_at", "plan_active_at"]  # fmt: skip
        needed = {
            "awaiting_allocation": 0, "allocated": 1, "initial_contact": 2, "first_visit": 3, "assessment": 3,
            "assessment_completed": 4, "planning": 5, "plan_active": 6, "closed": 6,
        }[state]  # fmt: skip
        marks = sorted(rng.uniform(0.02, 0.95) for _ in range(needed))
        if state == "closed":
            marks = [m * 0.3 for m in marks]
        if requested:
            marks = [m * 0.6 for m in marks]
        for name, share in zip(order, marks, strict=False):
            row[name] = _t(opened + timedelta(seconds=span * share))
        if state == "closed":
            last = opened + timedelta(seconds=span * marks[-1])
            closed = min(last + timedelta(days=rng.uniform(30, 120)), self.now - timedelta(days=1))
            row |= {"closed_on": _d(closed), "closure_reason": "goals_met", "lead_staff_id": lead}
            row["plan_active_at"] = _t(min(opened + timedelta(seconds=span * marks[-1]), closed))
        if requested:
            self.request(row, course, opened, span)
            state = course
        if state == "plan_active" and rng.random() < 0.5:
            active = datetime.strptime(row["plan_active_at"], "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)
            review = active + (self.now - active) / 2
            row |= {"last_review_at": _t(review), "next_review_on": _d(review + timedelta(days=42))}
        self.rows["episodes"].append(row)
        if state not in ("awaiting_allocation",):
            for n in range(rng.randint(1, 3)):
                happened = opened + timedelta(seconds=span * rng.uniform(0.05, 0.99))
                self.rows["case_notes"].append({
                    "note_id": f"{eid}-N{n}", "episode_id": eid, "kind": rng.choice(("home_visit", "phone_call")),
                    "happened_at": _t(happened), "recorded_by": lead,
                    "details": "Visited the family; talked about routines.",
                })  # fmt: skip

    def request(self, row: dict, state: str, opened: datetime, span: float) -> None:
        """The dates of a closure or step-up request (and wraparound) after the key dates."""
        rng = self.rng
        row["state"] = state
        if state == "closure_requested":
            names = ["closure_requested_at"]
            row["closure_reason"] = "goals_met"
        else:
            names = ["step_up_requested_at", "step_up_sent_at"]
            row["step_up_concern"] = rng.choice(("limited_change", "increasing_risk", "no_engagement"))
            if state == "wraparound":
                names += ["step_up_decided_at", "wraparound_confirmed_at"][: rng.choice((1, 2))]
            elif rng.random() < 0.5:
                names.pop()  # not sent to the duty manager yet
        marks = sorted(rng.uniform(0.62, 0.99) for _ in names)
        for name, share in zip(names, marks, strict=True):
            row[name] = _t(opened + timedelta(seconds=span * share))

    # --- deliberate mistakes ---------------------------------------------------------------------------
    def spoil(self) -> None:
        """One mistake of each kind the dry run must find, each on its own row."""
        rows = self.rows

        def spoil(kind: str, index: int, column: str, value: str) -> None:
            rows[kind][index][column] = value
            self.errors.append((f"{kind}.csv", index + 2, column))

        people = rows["people"]
        bad = people[0]["nhs_number"]
        spoil("people", 0, "nhs_number", bad[:9] + str((int(bad[9]) + 1) % 10))  # a wrong check digit
        spoil("people", 1, "ethnicity", "XXXX")  # an unknown DfE code
        # A duplicate person: another person with the same NHS number as person 3.
        spoil("people", 4, "nhs_number", people[3]["nhs_number"])
        spoil("contacts", 0, "received_at", _t(self.now + timedelta(days=3)))  # a date in the future
        spoil("contacts", 1, "source", "99")  # an unknown CIN source code
        index = next(i for i, e in enumerate(rows["episodes"]) if e["state"] == "allocated")
        rows["episodes"][index]["state"] = "plan_active"  # a state its dates do not reach
        self.errors.append(("episodes.csv", index + 2, "plan_active_at"))
        index = next(i for i, e in enumerate(rows["episodes"]) if e["state"] == "closure_requested")
        spoil("episodes", index, "closure_requested_at", "")  # a closure request without its date
        spoil("case_notes", 0, "episode_id", "E-MISSING")  # a reference to a row that does not exist
        spoil("agencies", 0, "started_on", _d(self.now + timedelta(days=30)))  # a date in the future

    def build(self) -> None:
        self.staff()
        for i in range(1, self.n + 1):
            self.family(i)
        if self.with_errors:
            self.spoil()


def write_sample(
    directory: Path, *, families: int = 50, now: datetime, seed: int = 20, with_errors: bool = False
) -> list[tuple[str, int, str]]:
    """Write the set's CSV files to `directory`; returns the deliberate errors as (file, row, column)."""
    from imports.layout import KINDS

    if families < 5:
        raise ValueError("A sample needs at least 5 families")
    sample = _Sample(families=families, now=now, seed=seed, with_errors=with_errors)
    sample.build()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        with (directory / f"{kind.name}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=[c.name for c in kind.columns])
            writer.writeheader()
            writer.writerows(sample.rows[kind.name])
    return sample.errors
