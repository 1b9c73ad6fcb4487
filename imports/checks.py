"""The dry run: every row of an export set checked, its values typed, and every problem found listed.

`check_set(directory, now=...)` reads the files of a set (imports.layout), checks each cell against its
column (codes, dates not in the future, NHS check digits, lengths, hidden characters), each row against
the others (references to rows that exist, duplicate people, an episode's state against its dates) and
against what earlier runs imported (imports.models.SourceKey). It writes nothing: the real run
(imports.services) takes the `CheckedSet` it returns.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts import roles
from accounts.models import User
from cases.models import Contact, Episode, Person
from cases.validators import normalise_nhs_number, validate_nhs_number, validate_postcode, validate_upn
from imports import layout as L
from imports.models import SourceKey
from imports.reader import Problem, read_rows
from kit.forms import BIDI_CONTROLS, CONTROL_CHARACTERS
from kit.time import LONDON

# Columns whose date may lie ahead: an unborn child's due date, the next review.
FUTURE_OK = {"expected_date_of_birth", "next_review_on"}
MAX_ID = 64


@dataclass
class Row:
    number: int
    values: dict


@dataclass
class CheckedSet:
    """What the dry run found: the good rows by kind and id, the problems, and what is already imported."""

    directory: Path
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, dict[str, Row]] = field(default_factory=lambda: defaultdict(dict))
    problems: list[Problem] = field(default_factory=list)
    existing: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> source id -> our pk
    read: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def new_rows(self, kind: str) -> dict[str, Row]:
        """Rows not imported by an earlier run."""
        done = self.existing.get(kind, {})
        return {sid: row for sid, row in self.rows[kind].items() if sid not in done}

    def summary(self) -> dict:
        return {
            kind: {
                "read": self.read.get(kind, 0),
                "valid": len(self.rows.get(kind, {})),
                "new": len(self.new_rows(kind)),
                "already": len(self.rows.get(kind, {})) - len(self.new_rows(kind)),
            }
            for kind in L.ORDER
            if kind in self.files
        }

    @property
    def ok(self) -> bool:
        return not self.problems


def find_files(directory: Path) -> tuple[dict[str, Path], list[Problem]]:
    """The file of each kind in `directory` (`families.csv` or `families.xlsx`), and stray or doubled files."""
    found: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in sorted(Path(directory).iterdir()) if Path(directory).is_dir() else ():
        if not path.is_file():
            continue
        kind, suffix = path.stem.lower(), path.suffix.lower()
        if kind not in L.KIND_OF or suffix not in L.EXTENSIONS:
            problems.append(
                Problem(path.name[:100], 0, "", "Not a file of the layout: name it after its kind, e.g. families.csv")
            )
            continue
        if kind in found:
            problems.append(Problem(path.name, 0, "", f"Two files for {kind}: keep one, CSV or XLSX"))
            continue
        found[kind] = path
    if not found:
        problems.append(Problem("", 0, "", "No export files found: see the layout for the file names"))
    return found, problems


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?")


def parse_date(text: str) -> date:
    found = _ISO_DATE.fullmatch(text)
    if found:  # the layout's own form, read without strptime (a tenth of the time)
        try:
            return date(*map(int, found.groups()))
        except ValueError:
            pass
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=LONDON).date()
        except ValueError:
            continue
    raise ValueError("Enter a date as YYYY-MM-DD, like 2026-03-27")


def parse_datetime(text: str) -> datetime:
    found = _ISO_TIME.fullmatch(text)
    if found:
        try:
            return datetime(*(int(g or 0) for g in found.groups()), tzinfo=LONDON)
        except ValueError:
            pass
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=LONDON)
        except ValueError:
            continue
    try:
        return datetime.combine(parse_date(text), time(0, 0), tzinfo=LONDON)
    except ValueError:
        raise ValueError("Enter a date and time as YYYY-MM-DD HH:MM, like 2026-03-27 14:30") from None


YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}


def _one_value(column: L.Column, text: str, *, now: datetime):
    """The typed value of a non-empty cell, or a ValueError saying what is wrong."""
    kind = column.type
    if kind in (L.ID, L.REF):
        if len(text) > MAX_ID:
            raise ValueError(f"An id has at most {MAX_ID} characters")
        if CONTROL_CHARACTERS.search(text) or BIDI_CONTROLS.search(text):
            raise ValueError("Remove the hidden characters from this id")
        return text
    if kind in (L.TEXT, L.LONG_TEXT, L.EMAIL):
        if len(text) > column.max_length and kind != L.LONG_TEXT:
            raise ValueError(f"At most {column.max_length} characters (this has {len(text)})")
        if CONTROL_CHARACTERS.search(text.replace("\r", "").replace("\n", " ").replace("\t", " ")):
            raise ValueError("Remove the invisible control characters")
        if kind != L.LONG_TEXT and (BIDI_CONTROLS.search(text) or "\n" in text):
            raise ValueError("Remove the hidden characters or line breaks from this one-line answer")
        if kind == L.EMAIL:
            try:
                validate_email(text)
            except ValidationError:
                raise ValueError("Enter an e-mail address like name@example.org") from None
        return text
    if kind == L.DATE:
        value = parse_date(text)
        if column.name not in FUTURE_OK and value > now.astimezone(LONDON).date():
            raise ValueError("The date is in the future")
        if value.year < 1900:
            raise ValueError("The date is before 1900")
        return value
    if kind == L.DATETIME:
        value = parse_datetime(text)
        if value > now:
            raise ValueError("The date is in the future")
        if value.year < 1900:
            raise ValueError("The date is before 1900")
        return value
    if kind == L.BOOL:
        if text.lower() in YES:
            return True
        if text.lower() in NO:
            return False
        raise ValueError("Enter yes or no")
    if kind == L.CODE:
        by_lower = column.code_of_lower
        items = [t.strip() for t in text.split(";")] if column.name == "roles" else [text]
        found = []
        for item in items:
            if item.lower() not in by_lower:
                shown = ", ".join(sorted(column.code_values)) if len(column.code_values) <= 12 else "see the layout"
                raise ValueError(
                    f"Unknown code {item[:40]!r}: "
                    + (f"use one of {shown}" if len(column.code_values) <= 12 else "see the codes in the layout")
                )
            found.append(by_lower[item.lower()])
        return found if column.name == "roles" else found[0]
    if kind == L.REFS:
        items = [t.strip() for t in text.split(";") if t.strip()]
        if any(len(t) > MAX_ID for t in items):
            raise ValueError(f"An id has at most {MAX_ID} characters")
        return items
    if kind == L.NHS:
        try:
            validate_nhs_number(text)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return normalise_nhs_number(text)
    if kind == L.UPN:
        try:
            validate_upn(text)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return text.strip().upper()
    if kind == L.POSTCODE:
        try:
            validate_postcode(text)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return text
    raise AssertionError(kind)


class _Checker:
    def __init__(self, directory: Path, now: datetime):
        self.now = now
        self.out = CheckedSet(directory=Path(directory))
        self.bad: dict[str, set[str]] = defaultdict(set)  # ids of rows with problems
        self.labels: dict[str, str] = {}

    def problem(self, kind: str, row: int, column: str, message: str) -> None:
        self.out.problems.append(Problem(self.labels.get(kind, kind), row, column, message))

    # --- references ------------------------------------------------------------------------------
    def known(self, kind: str, sid: str) -> bool:
        return sid in self.out.rows[kind] or sid in self.out.existing.get(kind, {})

    def check_ref(self, kind: str, number: int, column: str, target: str, sid: str) -> bool:
        if self.known(target, sid):
            return True
        if sid in self.bad[target]:
            self.problem(kind, number, column, f"Refers to {target} row {sid!r}, which has problems of its own")
        else:
            self.problem(kind, number, column, f"Refers to {target} row {sid!r}, which does not exist")
        return False

    # --- one file ---------------------------------------------------------------------------------
    def read_kind(self, kind: L.Kind, path: Path) -> None:
        self.labels[kind.name] = path.name
        ids_seen: set[str] = set()
        known = tuple(c.name for c in kind.columns)
        for item in read_rows(path, known=known, file_label=path.name):
            if isinstance(item, Problem):
                self.out.problems.append(item)
                continue
            number, cells = item
            self.out.read[kind.name] += 1
            values, ok = {}, True
            for column in kind.columns:
                text = cells.get(column.name, "")
                if not text:
                    if column.required:
                        self.problem(kind.name, number, column.name, "Required: this cell is empty")
                        ok = False
                    values[column.name] = None
                    continue
                try:
                    values[column.name] = _one_value(column, text, now=self.now)
                except ValueError as exc:
                    self.problem(kind.name, number, column.name, str(exc))
                    values[column.name] = None
                    ok = False
            sid = values.get(kind.id_column)
            if sid is None:
                continue
            if sid in ids_seen and kind.name != "people":
                self.problem(kind.name, number, kind.id_column, f"The id {sid!r} is used by an earlier row")
                self.bad[kind.name].add(sid)
                self.out.rows[kind.name].pop(sid, None)
                continue
            ids_seen.add(sid)
            for column in kind.columns:
                value = values[column.name]
                if value is None or not column.ref:
                    continue
                refs = value if column.type == L.REFS else [value]
                if column.name == "subjects":
                    continue  # checked with the family, below
                for ref in refs:
                    ok = self.check_ref(kind.name, number, column.name, column.ref, ref) and ok
            ok = getattr(self, f"row_{kind.name}", lambda n, v: True)(number, values) and ok
            if kind.name == "people":
                self.add_person(number, values, ok)
                continue
            if ok:
                self.out.rows[kind.name][sid] = Row(number, values)
            else:
                self.bad[kind.name].add(sid)

    # --- rules of single rows ------------------------------------------------------------------------
    def row_staff(self, number: int, v: dict) -> bool:
        if roles.PRACTITIONER in (v.get("roles") or []) and not v.get("team_id"):
            self.problem("staff", number, "team_id", "A practitioner needs a team")
            return False
        return True

    def row_contacts(self, number: int, v: dict) -> bool:
        ok = True
        decision = v.get("decision") or ""
        if decision and not v.get("decided_at"):
            self.problem("contacts", number, "decided_at", "A decided contact needs the time of its decision")
            ok = False
        if not decision and v.get("decided_at"):
            self.problem("contacts", number, "decision", "A time of decision is given but no decision")
            ok = False
        if v.get("decided_at") and v.get("received_at") and v["decided_at"] < v["received_at"]:
            self.problem("contacts", number, "decided_at", "The decision is before the contact was received")
            ok = False
        needs = {
            Contact.Decision.ALLOCATE: "allocated_team_id",
            Contact.Decision.MEETING: "meeting_kind",
            Contact.Decision.SINGLE_AGENCY: "single_agency_name",
        }
        if decision in needs and not v.get(needs[decision]):
            self.problem("contacts", number, needs[decision], f"Required for the decision {decision}")
            ok = False
        family = v.get("family_id")
        for pid in v.get("subjects") or []:
            if family and family not in self.person_families.get(pid, set()) and not self.person_mapped(pid):
                why = (
                    "which does not exist" if pid not in self.person_families else "who is not in the contact's family"
                )
                self.problem("contacts", number, "subjects", f"Names person {pid!r}, {why}")
                ok = False
        return ok

    def row_episodes(self, number: int, v: dict) -> bool:
        ok = True
        state = v.get("state")
        opened = v.get("opened_at")
        if state is None or opened is None:
            return False
        given = [name for name, _ in L.MILESTONES if v.get(name)]
        # A state waiting on a request (or wraparound) was in another state before it: its latest key date's.
        course = L.reached_state(v) if state in L.REQUEST_STATES else state
        if state in (Episode.State.CLOSURE_REQUESTED, Episode.State.WRAPAROUND) and not v.get("allocated_at"):
            self.problem("episodes", number, "allocated_at", f"An episode in state {state} needs this date")
            ok = False
        for name in L.REQUIRED_MILESTONES.get(course, ()):
            if not v.get(name):
                self.problem("episodes", number, name, f"An episode in state {state} needs this date")
                ok = False
        for name in given:
            if name not in L.ALLOWED_MILESTONES[course]:
                self.problem("episodes", number, name, f"This date does not fit an episode in state {state}")
                ok = False
        ok = self.request_dates(number, v, state) and ok
        previous_name, previous = "opened_at", opened
        for name in (*(m for m, _ in L.MILESTONES), *L.REQUEST_DATES):
            value = v.get(name)
            if value is None:
                continue
            if value < previous:
                self.problem("episodes", number, name, f"This date is before {previous_name}")
                ok = False
            previous_name, previous = name, value
        if v.get("last_review_at"):
            if state in (Episode.State.PLAN_ACTIVE, Episode.State.CLOSED, *L.REQUEST_STATES) and v.get(
                "plan_active_at"
            ):
                if v["last_review_at"] < v["plan_active_at"]:
                    self.problem("episodes", number, "last_review_at", "The review is before the plan became active")
                    ok = False
            else:
                self.problem("episodes", number, "last_review_at", "A review needs an active plan (plan_active_at)")
                ok = False
            if not v.get("next_review_on"):
                self.problem("episodes", number, "next_review_on", "A review needs the date set for the next one")
                ok = False
        if state == Episode.State.CLOSED:
            if not v.get("closed_on"):
                self.problem("episodes", number, "closed_on", "A closed episode needs its closing date")
                ok = False
            elif v["closed_on"] < opened.date() or (previous and v["closed_on"] < previous.astimezone(LONDON).date()):
                self.problem("episodes", number, "closed_on", "The episode closes before its other dates")
                ok = False
            if not v.get("closure_reason"):
                self.problem("episodes", number, "closure_reason", "A closed episode needs the reason it closed")
                ok = False
        else:
            if v.get("closed_on"):
                self.problem("episodes", number, "closed_on", f"An open episode ({state}) has no closed on")
                ok = False
            if state == Episode.State.CLOSURE_REQUESTED:
                if not v.get("closure_reason"):
                    self.problem(
                        "episodes", number, "closure_reason", "A closure request needs the reason proposed for closing"
                    )
                    ok = False
            elif v.get("closure_reason"):
                self.problem("episodes", number, "closure_reason", f"An open episode ({state}) has no closure reason")
                ok = False
            if v.get("allocated_at") and not v.get("lead_staff_id"):
                self.problem(
                    "episodes", number, "lead_staff_id", f"An episode in state {state} needs its lead professional"
                )
                ok = False
        return ok

    def request_dates(self, number: int, v: dict, state: str) -> bool:
        """The dates of a closure or step-up request against the state: needed, allowed, and the step-up's concern."""
        ok = True
        allowed = L.ALLOWED_REQUEST_DATES.get(state, ())
        needed = list(L.REQUIRED_REQUEST_DATES.get(state, ()))
        if state == Episode.State.CLOSURE_REQUESTED and any(v.get(name) for name in L.STEP_UP_DATES):
            # A closure asked for from wraparound: the step-up that led there, up to social care's decision.
            needed += L.REQUIRED_REQUEST_DATES[Episode.State.WRAPAROUND]
        for name in L.REQUEST_DATES:
            if name in needed and not v.get(name):
                self.problem("episodes", number, name, f"An episode in state {state} needs this date")
                ok = False
            elif v.get(name) and name not in allowed:
                self.problem("episodes", number, name, f"This date does not fit an episode in state {state}")
                ok = False
        if v.get("step_up_requested_at") and "step_up_requested_at" in allowed and not v.get("step_up_concern"):
            self.problem("episodes", number, "step_up_concern", "A step-up needs what its concern is")
            ok = False
        if v.get("step_up_concern") and not v.get("step_up_requested_at"):
            self.problem(
                "episodes", number, "step_up_concern", "A concern is given but no step-up (step_up_requested_at)"
            )
            ok = False
        return ok

    def row_case_notes(self, number: int, v: dict) -> bool:
        return True

    # --- people: one row per membership -----------------------------------------------------------------
    def person_mapped(self, pid: str) -> bool:
        return pid in self.out.existing.get("people", {})

    def add_person(self, number: int, v: dict, ok: bool) -> None:
        pid, family = v["person_id"], v.get("family_id")
        rows = self.out.rows["people"]
        if not ok:
            self.bad["people"].add(pid)
            return
        if v.get("date_of_birth") and v.get("expected_date_of_birth"):
            self.problem(
                "people", number, "expected_date_of_birth", "Give a date of birth or an expected one, not both"
            )
            self.bad["people"].add(pid)
            return
        first = rows.get(pid)
        if first is not None:
            same = all(
                first.values.get(k) == v.get(k) for k in ("first_name", "last_name", "date_of_birth", "nhs_number")
            )
            if not same:
                self.problem("people", number, "person_id", f"Person {pid!r} is on an earlier row with other details")
                return
            if family in self.person_families[pid]:
                self.problem("people", number, "family_id", f"Person {pid!r} is already a member of this family")
                return
            self.person_families[pid].add(family)
            first.values["families"].append((family, v["relationship"]))
            return
        nhs = v.get("nhs_number")
        other = self.nhs_seen.get(nhs) if nhs else None
        if other is not None and other != pid:
            self.problem("people", number, "nhs_number", f"Duplicate person: person {other!r} has this NHS number")
            self.bad["people"].add(pid)
            return
        key = (family, (v["first_name"] or "").lower(), (v["last_name"] or "").lower(), v.get("date_of_birth"))
        other = self.name_seen.get(key)
        if other is not None and other != pid:
            self.problem(
                "people",
                number,
                "person_id",
                f"Duplicate person: person {other!r} has this name and date of birth here",
            )
            self.bad["people"].add(pid)
            return
        if nhs:
            self.nhs_seen[nhs] = pid
        self.name_seen[key] = pid
        self.person_families[pid] = {family}
        v["families"] = [(family, v["relationship"])]
        rows[pid] = Row(number, v)

    # --- across the whole set ------------------------------------------------------------------------------
    def people_against_the_database(self) -> None:
        """An NHS number that already belongs to a person of ours not imported as that row: a duplicate."""
        new = self.out.new_rows("people")
        numbers = {row.values["nhs_number"]: sid for sid, row in new.items() if row.values.get("nhs_number")}
        if not numbers:
            return
        mapped = set(self.out.existing.get("people", {}).values())
        for nhs, pk in Person.objects.filter(nhs_number__in=list(numbers)).values_list("nhs_number", "pk").iterator():
            if pk in mapped:
                continue
            sid = numbers[nhs]
            row = self.out.rows["people"].pop(sid)
            self.person_families.pop(sid, None)
            self.bad["people"].add(sid)
            self.problem(
                "people", row.number, "nhs_number", f"Duplicate person: P{pk:07d} in this system has this NHS number"
            )

    def episodes_across(self) -> None:
        rows = self.out.rows["episodes"]
        open_by_family: dict[str, str] = {}
        staff_rows = self.out.rows["staff"]
        mapped_staff = self.out.existing.get("staff", {})
        users = {
            u.pk: u
            for u in User.objects.filter(pk__in=list(mapped_staff.values()))
            .prefetch_related("groups")
            .only("pk", "team_id")
        }
        team_map = self.out.existing.get("teams", {})
        for sid, row in list(rows.items()):
            v, ok = row.values, True
            contact = self.out.rows["contacts"].get(v.get("contact_id") or "")
            if contact is not None and contact.values["family_id"] != v["family_id"]:
                self.problem("episodes", row.number, "contact_id", "The contact is about another family")
                ok = False
            if v["state"] != Episode.State.CLOSED:
                other = open_by_family.get(v["family_id"])
                if other is not None:
                    self.problem("episodes", row.number, "state", f"The family already has an open episode ({other!r})")
                    ok = False
                open_by_family[v["family_id"]] = sid
            lead = v.get("lead_staff_id")
            if lead and v["state"] != Episode.State.CLOSED:
                if lead in staff_rows:
                    s = staff_rows[lead].values
                    is_practitioner, same_team = (
                        roles.PRACTITIONER in (s.get("roles") or []),
                        s.get("team_id") == v["team_id"],
                    )
                else:
                    user = users.get(mapped_staff.get(lead))
                    is_practitioner = user is not None and user.has_role(roles.PRACTITIONER)
                    same_team = (
                        user is not None
                        and user.team_id is not None
                        and (user.team_id == team_map.get(v["team_id"]) or v["team_id"] in self.out.rows["teams"])
                    )
                if not is_practitioner:
                    self.problem("episodes", row.number, "lead_staff_id", "The lead professional is not a practitioner")
                    ok = False
                elif not same_team:
                    self.problem(
                        "episodes", row.number, "lead_staff_id", "The lead professional is not in the episode's team"
                    )
                    ok = False
            if not ok:
                rows.pop(sid)
                self.bad["episodes"].add(sid)

    def notes_across(self) -> None:
        episodes = self.out.rows["episodes"]
        for sid, row in list(self.out.rows["case_notes"].items()):
            episode = episodes.get(row.values["episode_id"])
            if episode is not None and row.values["happened_at"] < episode.values["opened_at"]:
                self.problem("case_notes", row.number, "happened_at", "The note is before its episode was opened")
                self.out.rows["case_notes"].pop(sid)

    def run(self) -> CheckedSet:
        files, problems = find_files(self.out.directory)
        self.out.files = files
        self.out.problems.extend(problems)
        self.out.existing = {kind: {} for kind in L.ORDER}
        for sid_kind, sid, pk in SourceKey.objects.values_list("kind", "source_id", "object_id").iterator(
            chunk_size=5000
        ):
            self.out.existing.setdefault(sid_kind, {})[sid] = pk
        self.person_families: dict[str, set[str]] = {}
        self.nhs_seen: dict[str, str] = {}
        self.name_seen: dict[tuple, str] = {}
        for kind in L.KINDS:
            if kind.name in files:
                self.read_kind(kind, files[kind.name])
                if kind.name == "people":
                    self.people_against_the_database()
        self.episodes_across()
        self.notes_across()
        self.out.problems.sort(key=lambda p: (L.ORDER.index(_kind_of(p.file)) if _kind_of(p.file) else -1, p.row))
        return self.out


def _kind_of(label: str) -> str | None:
    stem = re.sub(r"\.(csv|xlsx)$", "", label.lower())
    return stem if stem in L.KIND_OF else None


def check_set(directory: Path, *, now: datetime) -> CheckedSet:
    """Check every file of the set in `directory`; write nothing."""
    return _Checker(directory, now).run()
