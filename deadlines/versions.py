"""Rulebooks as versioned records: drafts edited in the browser, published with an effective time (ADR 0034).

A rulebook with no stored version is read from its TOML file, as before. Once someone starts a
draft, the file's contents become version 1 (published, in force from that moment) and the draft
version 2. A published version is never edited again. The engine follows, for each rulebook, the
published version with the latest effective time at or before the event's time.

Each process keeps the published versions in memory; publishing clears its own copy at once and
bumps a generation number in the shared cache (Redis) when the transaction commits, which the
other processes look at no more than every `CHECK_SECONDS`.
"""

from __future__ import annotations

import logging
import time
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max

from deadlines.calendar import LONDON, Limit, WorkingCalendar, compute_deadline
from deadlines.models import Deadline, RulebookVersion
from deadlines.rulebook import Rule, Rulebook, RulebookError, parse_rulebook
from kit.jobs import job_create
from kit.time import london_date

logger = logging.getLogger(__name__)

__all__ = [
    "announce",
    "CHECK_SECONDS",
    "EditConflict",
    "RulebookRefused",
    "current_version",
    "draft_discard",
    "draft_import",
    "draft_of",
    "draft_publish",
    "draft_start",
    "example_starts",
    "forget",
    "in_force",
    "limit_problem",
    "preview",
    "published_book",
    "published_index",
    "rule_retire",
    "rule_save",
    "rule_summary",
    "to_toml",
    "version_rulebook",
    "version_retire",
    "versions_seed",
]

CHECK_SECONDS = 5.0
Published = dict[str, list[tuple[datetime, int, Rulebook]]]


class RulebookRefused(ValueError):
    """A change refused with a message for the person who made it; `field` is the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class EditConflict(RulebookRefused):
    """The draft was changed by someone else since the form was opened."""


# --- Reading: the versions in force ---------------------------------------------------------


@dataclass
class _State:
    generation: Any = None
    checked: float = 0.0
    published: Published | None = None
    chosen: dict | None = None
    # Set when this process wrote versions: read the database whatever the shared cache says.
    stale: bool = True


_state = _State()
# The shared generation when no version has ever been published: nothing to read.
_NONE_PUBLISHED = "none"


def _generation_key() -> str:
    # Per database: processes of another deployment (or another test worker) sharing the cache
    # must not be told of this one's versions.
    return f"deadlines:rulebook-versions:{connection.settings_dict.get('NAME')}"


def forget(*, none_published: bool = False) -> None:
    """Drop this process's copy of the published versions (read again on next use).

    `none_published`: the database is known to hold no published version (a test's rolled-back
    transaction): nothing needs reading, here or in other processes.
    """
    _state.chosen = None
    if none_published:
        _state.published, _state.stale, _state.generation = {}, False, _NONE_PUBLISHED
        _cache_set(_NONE_PUBLISHED)
    else:
        _state.published, _state.stale = None, True


def _cache_set(value: Any) -> None:
    try:
        cache.set(_generation_key(), value, timeout=None)
    except Exception:  # noqa: BLE001 - a cache outage must not fail a publication already committed
        logger.warning("could not tell other processes of a new rulebook version", exc_info=True)


def _bump_generation() -> None:
    _cache_set(time.time_ns())


def announce() -> None:
    """Tell every process to read the published versions again (after a database restore)."""
    forget()
    _bump_generation()


def _generation() -> Any:
    try:
        return cache.get(_generation_key())
    except Exception:  # noqa: BLE001 - a cache outage: keep what this process has
        return _state.generation


def version_rulebook(version: RulebookVersion) -> Rulebook:
    """The validated rulebook a stored version holds."""
    return parse_rulebook(
        version.data,
        slug=version.slug,
        path=Path(f"{version.slug}.toml"),
        origin=f"{version.slug} version {version.number}",
        version=version.number,
    )


def published_index() -> Published:
    """{slug: [(effective_at, number, rulebook)], latest first} of every published version.

    Read from the database once per process, and again when the shared generation changes (a
    publication anywhere); when it says none was ever published, the database is not asked.
    """
    clock = time.monotonic()
    if _state.published is not None and not _state.stale and clock - _state.checked < CHECK_SECONDS:
        return _state.published
    generation = _generation()
    if _state.published is not None and not _state.stale and generation == _state.generation:
        _state.checked = clock
        return _state.published
    if generation == _NONE_PUBLISHED and not _state.stale:
        _state.published, _state.generation, _state.checked, _state.chosen = {}, generation, clock, {}
        return _state.published
    try:
        rows = list(
            RulebookVersion.objects.filter(state=RulebookVersion.State.PUBLISHED).order_by(
                "slug", "-effective_at", "-number"
            )
        )
    except (DatabaseError, RuntimeError):
        # Not migrated yet, or no database in this context (a system check, a unit test): the
        # files are the rulebooks. Not kept, so the next call asks again.
        return {}
    index: Published = {}
    for row in rows:
        try:
            book = version_rulebook(row)
        except RulebookError:  # validated when saved; a bad row must not stop every clock
            logger.exception("rulebook %s version %s is invalid; it is ignored", row.slug, row.number)
            continue
        index.setdefault(row.slug, []).append((row.effective_at, row.number, book))
    if generation is None:
        # The shared cache lost it (or never had it): say what the database holds, unless a
        # publication said something meanwhile.
        generation = _NONE_PUBLISHED if not rows else time.time_ns()
        try:
            cache.add(_generation_key(), generation, timeout=None)
        except Exception:  # noqa: BLE001 - a cache outage: read the database again next time
            generation = None
    _state.published, _state.generation, _state.checked, _state.chosen = index, generation, clock, {}
    _state.stale = False
    return index


def published_book(slug: str, number: int) -> Rulebook | None:
    """Published version `number` of `slug`, as a rulebook; None if there is no such version."""
    return next((b for _at, n, b in published_index().get(slug, ()) if n == number), None)


def in_force(files: tuple[Rulebook, ...], now: datetime) -> tuple[Rulebook, ...]:
    """For each rulebook read from its file, the published version in force at `now`, else the file."""
    index = published_index()
    if not index:
        return files
    chosen = []
    for book in files:
        found = next((b for at, _n, b in index.get(book.slug, ()) if at <= now), None)
        chosen.append(found or book)
    key = tuple(id(b) for b in chosen)
    if _state.chosen is None:
        _state.chosen = {}
    # The same tuple for the same choice, so callers may cache on it.
    return _state.chosen.setdefault(key, tuple(chosen))


def current_version(slug: str, now: datetime) -> RulebookVersion | None:
    """The published version of `slug` in force at `now`, or None (the file is in force)."""
    return (
        RulebookVersion.objects.filter(slug=slug, state=RulebookVersion.State.PUBLISHED, effective_at__lte=now)
        .order_by("-effective_at", "-number")
        .first()
    )


def draft_of(slug: str) -> RulebookVersion | None:
    return RulebookVersion.objects.filter(slug=slug, state=RulebookVersion.State.DRAFT).first()


# --- TOML: the file format, for export ------------------------------------------------------


# The order keys are written in (the database keeps a JSON object's keys in its own order).
_KEY_ORDER = (
    "id",
    "title",
    "starts_on",
    "stops_on",
    "stops_on_all",
    "ends_on",
    "expected",
    "maximum",
    "amount",
    "unit",
    "recurs",
    "applies_to",
    "per_record",
    "exempt_routes",
    "flag_only",
    "source",
    "acts",
    "escalate_to",
)


def _ordered(table: dict) -> list[tuple[str, Any]]:
    rank = {key: i for i, key in enumerate(_KEY_ORDER)}
    return sorted(table.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        escaped = escaped.replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in _ordered(value)) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: dict) -> str:
    """A rulebook's tables as a TOML file the loader reads back to the same rulebook."""
    lines = []
    for key in ("title", "source"):
        if key in data:
            lines.append(f"{key} = {_toml_value(data[key])}")
    if data.get("steps"):
        lines += ["", "[steps]"] + [f"{k} = {_toml_value(v)}" for k, v in data["steps"].items()]
    for table in data.get("rule", []):
        lines += ["", "[[rule]]"] + [f"{k} = {_toml_value(v)}" for k, v in _ordered(table)]
    return "\n".join(lines) + "\n"


# --- Writing: drafts, rules, publication ----------------------------------------------------


def _file_data(book: Rulebook) -> dict:
    with book.path.open("rb") as fh:
        return tomllib.load(fh)


def _next_number(slug: str) -> int:
    return (RulebookVersion.objects.filter(slug=slug).aggregate(n=Max("number"))["n"] or 0) + 1


def _seed(book: Rulebook, *, by, now: datetime) -> RulebookVersion:
    """Version 1 of a rulebook: its shipped file, in force from `now`."""
    return RulebookVersion.objects.create(
        slug=book.slug,
        number=1,
        data=_file_data(book),
        state=RulebookVersion.State.PUBLISHED,
        effective_at=now.replace(second=0, microsecond=0),
        reason=f"Loaded from the file {book.path.name}",
        author=by,
        created_at=now,
        published_by=by,
        published_at=now,
        open_clocks=RulebookVersion.OpenClocks.KEEP,
    )


@transaction.atomic
def versions_seed(files: tuple[Rulebook, ...], *, by, now: datetime) -> list[str]:
    """Store each file rulebook without versions as its version 1; the slugs stored."""
    done = []
    for book in files:
        if not RulebookVersion.objects.filter(slug=book.slug).exists():
            _seed(book, by=by, now=now)
            done.append(book.slug)
    if done:
        forget()
        transaction.on_commit(_bump_generation)
    return done


@transaction.atomic
def draft_start(book: Rulebook, *, by, now: datetime) -> RulebookVersion:
    """The rulebook's draft: the one already started, else a copy of the version in force."""
    existing = draft_of(book.slug)
    if existing is not None:
        return existing
    base = current_version(book.slug, now)
    if base is None and not RulebookVersion.objects.filter(slug=book.slug).exists():
        base = _seed(book, by=by, now=now)
        forget()
        transaction.on_commit(_bump_generation)
    data = base.data if base is not None else _file_data(book)
    try:
        with transaction.atomic():
            return RulebookVersion.objects.create(
                slug=book.slug,
                number=_next_number(book.slug),
                data=data,
                author=by,
                created_at=now,
                reason=f"Draft from version {base.number}" if base is not None else "Draft from the file",
            )
    except IntegrityError:  # someone else started it at the same moment
        return draft_of(book.slug)


def _locked_draft(draft: RulebookVersion, edit_version: int) -> RulebookVersion:
    locked = RulebookVersion.objects.select_for_update().get(pk=draft.pk)
    if locked.state != RulebookVersion.State.DRAFT:
        raise EditConflict("This draft has been published or discarded: start a new draft to make changes")
    if locked.edit_version != edit_version:
        raise EditConflict(
            "Someone else changed this draft while you were editing it. Your changes have not been saved: "
            "open the draft again to see theirs, then make yours"
        )
    return locked


_ORDINARY_START = datetime(2025, 6, 2, 9, 0, tzinfo=LONDON)  # a Monday with no bank holiday near


# The longest limit of each unit an editor may set: beyond these a timescale is a typo (and the
# working-day calendar only covers the years it has bank holidays for).
LONGEST = {
    "hours": 24 * 14,
    "calendar_days": 366,
    "working_days": 260,
    "calendar_weeks": 104,
    "calendar_months": 24,
    "end_of_next_working_day": 1,
}
_BETTER_UNIT = {"hours": "days, weeks or months", "calendar_days": "weeks or months", "working_days": "weeks or months"}


def limit_problem(limit: Any, name: str) -> str:
    """Why `limit` (a table such as {"amount": 3, "unit": "calendar_days"}) does not fit; "" if it does."""
    if not isinstance(limit, dict) or set(limit) != {"amount", "unit"}:
        return f"The {name} needs an amount and a unit"
    amount, unit = limit["amount"], limit["unit"]
    if unit not in LONGEST:
        return f"‘{unit}’ is not a unit of time the system knows"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        return f"The {name} must be a whole number of {unit.replace('_', ' ')}"
    if unit == "end_of_next_working_day" and amount != 1:
        return "‘End of next working day’ takes the amount 1"
    if amount > LONGEST[unit]:
        better = _BETTER_UNIT.get(unit)
        return f"{amount} {unit.replace('_', ' ')} is too long for a {name}" + (f": use {better}" if better else "")
    return ""


def _check_rule(table: dict, calendar: WorkingCalendar) -> None:
    """What the file loader cannot say: each limit fits its unit, and the expected time comes
    before the maximum."""
    for name, label in (("expected", "expected time"), ("maximum", "maximum")):
        if table.get(name) is not None:
            problem = limit_problem(table[name], label)
            if problem:
                raise RulebookRefused(problem, field=f"{name}_amount")
    expected, maximum = table.get("expected"), table.get("maximum")
    if expected and maximum:
        exp = compute_deadline(calendar, _ORDINARY_START, None, Limit(**expected))[1]
        due = compute_deadline(calendar, _ORDINARY_START, None, Limit(**maximum))[1]
        if exp > due:
            raise RulebookRefused(
                f"The expected time ({Limit(**expected)}) is longer than the maximum ({Limit(**maximum)}): "
                "make the expected time shorter or the maximum longer",
                field="expected_amount",
            )


def _validated(draft: RulebookVersion, data: dict) -> Rulebook:
    try:
        return parse_rulebook(
            data, slug=draft.slug, path=Path(f"{draft.slug}.toml"), origin=f"{draft.slug} draft", version=draft.number
        )
    except RulebookError as exc:
        raise RulebookRefused(str(exc)) from None


@transaction.atomic
def rule_save(
    draft: RulebookVersion, *, rule_id: str | None, table: dict, edit_version: int, by, calendar: WorkingCalendar
) -> RulebookVersion:
    """Replace the rule `rule_id` of the draft with `table`, or add it (`rule_id` None).

    All or nothing: the whole rulebook is validated with the change before anything is saved.
    """
    locked = _locked_draft(draft, edit_version)
    rules = [dict(t) for t in locked.data.get("rule", [])]
    ids = [t.get("id") for t in rules]
    if rule_id is None:
        if table["id"] in ids:
            raise RulebookRefused(f"There is already a rule {table['id']}: choose another reference", field="id")
        rules.append(table)
    else:
        if rule_id not in ids:
            raise EditConflict(f"Rule {rule_id} is no longer in this draft: someone else retired it")
        rules[ids.index(rule_id)] = table
    _check_rule(table, calendar)
    data = {**locked.data, "rule": rules}
    _validated(locked, data)
    locked.data = data
    locked.edit_version += 1
    locked.author = by
    locked._history_user = by
    locked.save(update_fields=["data", "edit_version", "author"])
    return locked


@transaction.atomic
def rule_retire(draft: RulebookVersion, *, rule_id: str, edit_version: int, by) -> RulebookVersion:
    """Take a rule out of the draft (the versions published before keep it)."""
    locked = _locked_draft(draft, edit_version)
    rules = [t for t in locked.data.get("rule", []) if t.get("id") != rule_id]
    if len(rules) == len(locked.data.get("rule", [])):
        raise EditConflict(f"Rule {rule_id} is no longer in this draft")
    if not rules:
        raise RulebookRefused("A rulebook needs at least one rule: add another before retiring this one")
    data = {**locked.data, "rule": rules}
    _validated(locked, data)
    locked.data = data
    locked.edit_version += 1
    locked._history_user = by
    locked.save(update_fields=["data", "edit_version"])
    return locked


@transaction.atomic
def draft_discard(draft: RulebookVersion, *, edit_version: int, by) -> None:
    locked = _locked_draft(draft, edit_version)
    locked._history_user = by
    locked.delete()


@transaction.atomic
def draft_import(book: Rulebook, *, text: str, by, now: datetime) -> RulebookVersion:
    """A new draft from a TOML file's text (another council's, or one kept in version control)."""
    if draft_of(book.slug) is not None:
        raise RulebookRefused("This rulebook already has a draft: publish or discard it first", field="text")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookRefused(f"The file is not valid TOML: {exc}", field="text") from None
    try:
        parse_rulebook(data, slug=book.slug, path=book.path, origin="the imported file")
    except RulebookError as exc:
        raise RulebookRefused(str(exc), field="text") from None
    from deadlines.calendar_source import current_calendar

    calendar = current_calendar()
    for table in data["rule"]:
        try:
            _check_rule(table, calendar)
        except RulebookRefused as exc:
            raise RulebookRefused(f"Rule {table['id']}: {exc.message}", field="text") from None
    if not RulebookVersion.objects.filter(slug=book.slug).exists():
        _seed(book, by=by, now=now)
    return RulebookVersion.objects.create(
        slug=book.slug, number=_next_number(book.slug), data=data, author=by, created_at=now, reason="Imported"
    )


@transaction.atomic
def draft_publish(
    draft: RulebookVersion,
    *,
    edit_version: int,
    effective_at: datetime,
    open_clocks: str,
    reason: str,
    by,
    now: datetime,
) -> RulebookVersion:
    """Publish the draft: clocks started from `effective_at` follow it.

    Open clocks keep their due times, or (`open_clocks="recompute"`, only for a version in force
    now) are recomputed with it by a background task.
    """
    locked = _locked_draft(draft, edit_version)
    _validated(locked, locked.data)
    if effective_at < now - timedelta(minutes=5):
        raise RulebookRefused("The time it takes effect cannot be in the past", field="effective_at")
    if open_clocks not in RulebookVersion.OpenClocks.values:
        raise RulebookRefused("Choose what happens to the clocks already running", field="open_clocks")
    if open_clocks == RulebookVersion.OpenClocks.RECOMPUTE and effective_at > now:
        raise RulebookRefused(
            "Running clocks can be recomputed only by a version that takes effect now: publish it now, or keep "
            "their due times",
            field="open_clocks",
        )
    if not reason.strip():
        raise RulebookRefused("Say why the rulebook is changing", field="reason")
    locked.state = RulebookVersion.State.PUBLISHED
    # From the minute: times are typed to the minute (a contact received "10:35" while the version
    # is published at 10:35:40 follows it); a clock started earlier stays with the old version.
    locked.effective_at = max(effective_at, now).replace(second=0, microsecond=0)
    locked.reason = reason.strip()
    locked.published_by = by
    locked.published_at = now
    locked.open_clocks = open_clocks
    locked.edit_version += 1
    locked._history_user = by
    locked.save()
    forget()
    transaction.on_commit(_bump_generation)
    if open_clocks == RulebookVersion.OpenClocks.RECOMPUTE:
        from deadlines.tasks import recompute_rulebook

        # A background job the publisher watches: its page shows the progress and, at the end, what moved.
        job = job_create(
            kind="rulebook-recompute",
            title=f"Open clocks of {locked.slug} moved to version {locked.number}",
            owner=by,
            now=now,
            params={"slug": locked.slug, "version": locked.number},
        )
        locked.recompute_job = job
        locked.save(update_fields=["recompute_job"])
        transaction.on_commit(lambda: recompute_rulebook.delay(locked.slug, job.pk), robust=True)
    return locked


@transaction.atomic
def version_retire(version: RulebookVersion, *, by, now: datetime) -> RulebookVersion:
    """Withdraw a published version that has not taken effect yet (a change called off).

    A version already in force is not retired: publish a new one instead, so what clocks
    followed stays on record.
    """
    locked = RulebookVersion.objects.select_for_update().get(pk=version.pk)
    if locked.state != RulebookVersion.State.PUBLISHED or locked.effective_at <= now:
        raise RulebookRefused(
            f"Version {locked.number} has already taken effect (or is not published): publish a new version instead"
        )
    locked.state = RulebookVersion.State.RETIRED
    locked._history_user = by
    locked.save(update_fields=["state"])
    forget()
    transaction.on_commit(_bump_generation)
    return locked


# --- Preview ----------------------------------------------------------------------------------


def rule_summary(rule: Rule) -> str:
    """The rule in plain words, for the list of rules."""

    def events(names) -> str:
        words = [n.replace("_", " ") for n in names]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]

    limits = []
    if rule.expected is not None:
        limits.append(f"expected within {rule.expected}")
    if rule.maximum is not None:
        limits.append(f"at most {rule.maximum}")
    stop = events(rule.stops_on) if rule.stops_on else "all of " + events(rule.stops_on_all).replace(" or ", " and ")
    text = f"From {events(rule.starts_on)} until {stop}: {' and '.join(limits)}"
    if rule.flag_only:
        text += " (an aim: flagged, never breached)"
    if rule.recurs:
        text += "; starts again each time it stops"
    if rule.exempt_routes:
        text += f"; not for {', '.join(rule.exempt_routes)} contacts"
    return text + "."


def example_starts(now: datetime, calendar: WorkingCalendar) -> list[tuple[str, datetime]]:
    """Ten start times to compare old and new due times: ordinary days, a weekend, the day
    before and of a bank holiday, and both clock changes."""
    today = london_date(now)  # the day in England: at 00:30 in summer time, UTC is still on the day before
    year = today.year
    days = sorted(d for d in calendar.non_working if d.year in (year, year + 1) and d >= today)
    holiday = next((d for d in days if d.weekday() < 5), date(year, 12, 25))

    def last_sunday(month: int, y: int) -> date:
        d = date(y, month, 31)
        return d - timedelta(days=(d.weekday() + 1) % 7)

    spring_year = year if last_sunday(3, year) >= today else year + 1
    autumn_year = year if last_sunday(10, year) >= today else year + 1
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)

    def at(d: date, h: int, m: int = 0) -> datetime:
        return datetime(d.year, d.month, d.day, h, m, tzinfo=LONDON)

    return [
        ("Monday morning", at(monday, 9)),
        ("Monday late afternoon", at(monday, 16, 45)),
        ("Wednesday lunchtime", at(monday + timedelta(days=2), 12, 30)),
        ("Friday afternoon", at(monday + timedelta(days=4), 15)),
        ("Saturday", at(monday + timedelta(days=5), 11)),
        ("Sunday evening", at(monday + timedelta(days=6), 20)),
        ("The working day before a bank holiday", at(_working_day_before(holiday, calendar), 10)),
        (f"A bank holiday ({holiday:%-d %B %Y})", at(holiday, 10)),
        ("The night the clocks go forward", at(last_sunday(3, spring_year) - timedelta(days=1), 23, 30)),
        ("The night the clocks go back", at(last_sunday(10, autumn_year) - timedelta(days=1), 23, 30)),
    ]


def _working_day_before(d: date, calendar: WorkingCalendar) -> date:
    d -= timedelta(days=1)
    while d.weekday() >= 5 or d in calendar.non_working:
        d -= timedelta(days=1)
    return d


@dataclass
class Preview:
    open_clocks: int = 0
    moved: int = 0
    overdue: int = 0  # not overdue with the rules in force, overdue with the draft
    breached: int = 0  # not breached with the rules in force, breached with the draft
    not_in_draft: int = 0  # open clocks of rules the draft retires
    sample: list | None = None  # (clock, old due, new due)
    changed_rules: list | None = None  # (rule id, title, [(label, start, old due, new due)])


def _late(expected_at, due_at, now, flag_only) -> tuple[bool, bool]:
    overdue = (expected_at is not None and expected_at < now) or (due_at is not None and due_at < now)
    breached = not flag_only and due_at is not None and due_at < now
    return overdue and not breached, breached


def preview(
    draft: RulebookVersion, *, in_force_book: Rulebook, now: datetime, calendar: WorkingCalendar, sample_size: int = 10
) -> Preview:
    """What publishing the draft now (and recomputing the open clocks) would change."""
    new_book = _validated(draft, draft.data)
    result = Preview(sample=[], changed_rules=[])
    clocks = (
        Deadline.objects.filter(rulebook=draft.slug, stopped_at__isnull=True)
        .only("id", "rule_id", "title", "started_at", "expected_at", "due_at", "flag_only")
        .order_by("id")
    )
    for clock in clocks.iterator(chunk_size=2000):
        result.open_clocks += 1
        rule = new_book.rules.get(clock.rule_id)
        if rule is None:
            result.not_in_draft += 1
            continue
        expected_at, due_at = compute_deadline(calendar, clock.started_at, rule.expected, rule.maximum)
        if (expected_at, due_at) == (clock.expected_at, clock.due_at) and rule.flag_only == clock.flag_only:
            continue
        result.moved += 1
        was_overdue, was_breached = _late(clock.expected_at, clock.due_at, now, clock.flag_only)
        is_overdue, is_breached = _late(expected_at, due_at, now, rule.flag_only)
        result.overdue += is_overdue and not was_overdue and not was_breached
        result.breached += is_breached and not was_breached
        if len(result.sample) < sample_size:
            result.sample.append((clock, clock.due_at, due_at))
    examples = example_starts(now, calendar)
    for rule_id, rule in new_book.rules.items():
        old = in_force_book.rules.get(rule_id)
        if old is not None and (old.expected, old.maximum) == (rule.expected, rule.maximum):
            continue
        rows = []
        for label, start in examples:
            old_due = compute_deadline(calendar, start, old.expected, old.maximum)[1] if old is not None else None
            rows.append((label, start, old_due, compute_deadline(calendar, start, rule.expected, rule.maximum)[1]))
        result.changed_rules.append((rule_id, rule.title, rows))
    return result
