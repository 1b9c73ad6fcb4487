"""Time is an argument: business rules take `now` from their caller and never read the clock themselves.

A view or a task reads the clock once and passes it; a service, selector, permission rule or form's
validation that reads it again judges a different moment from the rest of the action, and a test cannot
pin it. The partner-lead rule once asked `timezone.localdate()`: a partner lead whose family's consent
ended at midnight was judged by whichever day the rule happened to run in. This lint reads the source
(AST) of every business-rule module (services, selectors, rules, forms) of the apps below and fails on a
read of the clock, unless the allow-list names it with a reason. An entry that no longer matches fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("cases", "deadlines", "workflows", "oversight", "partners", "imports", "api")
RULE_MODULES = ("services", "selectors", "rules", "forms")
CLOCK_READS = {
    ("timezone", "now"),
    ("timezone", "localdate"),  # without an argument: today, read from the clock
    ("timezone", "localtime"),  # without an argument: now, read from the clock
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
    ("time", "time"),
}

# (file, function) -> why it may read the clock. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    ("deadlines/services.py", "active_rulebooks"): (
        "called without a time it means 'the rulebooks in force now', for choice lists and titles; every "
        "clock decision (deadline_record_event, the recompute) passes its event's time"
    ),
    ("deadlines/services.py", "rulebook_recompute"): (
        "the background job's own progress stamps (job_advance, job_finish): bookkeeping of the job, not a rule; "
        "the clocks it moves are judged at the `now` it was given"
    ),
    ("deadlines/services.py", "batch_done"): "the same job's progress stamp, inside rulebook_recompute",
}


def _reads_clock(node: ast.Call) -> bool:
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return False
    if (func.value.id, func.attr) not in CLOCK_READS:
        return False
    # timezone.localdate(moment) / localtime(moment) convert a time they are given: not a read.
    return not (func.attr in ("localdate", "localtime") and (node.args or node.keywords))


def rule_modules(root: Path = ROOT, apps: tuple[str, ...] = APPS) -> list[Path]:
    found = []
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            if any(word in path.stem for word in RULE_MODULES):
                found.append(path)
    return found


def clock_reads(root: Path = ROOT, apps: tuple[str, ...] = APPS) -> list[tuple[str, int, str]]:
    """(file, line, innermost function) of each read of the clock in a business-rule module."""
    found = []
    for path in rule_modules(root, apps):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text())

        def visit(node: ast.AST, function: str) -> None:
            for child in ast.iter_child_nodes(node):
                name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
                if isinstance(child, ast.Call) and _reads_clock(child):
                    found.append((rel, child.lineno, function))  # noqa: B023 (used at once)
                visit(child, name)

        visit(tree, "<module>")
    return found


def test_no_business_rule_reads_the_clock():
    wrong = [f"{f}:{line} in {fn}()" for f, line, fn in clock_reads() if (f, fn) not in ALLOWED]
    assert wrong == [], "take `now` from the caller (the view or task reads the clock once and passes it)"


def test_every_allowed_read_still_exists():
    seen = {(f, fn) for f, _line, fn in clock_reads()}
    assert set(ALLOWED) <= seen, sorted(set(ALLOWED) - seen)


def test_the_lint_catches_a_new_read_and_leaves_conversions_alone(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "sample_selectors.py").write_text(
        "from datetime import date, datetime\n"
        "from django.utils import timezone\n"
        "def due(moment, now):\n"
        "    a = timezone.localdate(now)\n"
        "    b = timezone.localtime(moment)\n"
        "    return timezone.localdate(), date.today(), datetime.now(), a, b\n"
        "def fine(now):\n"
        "    return now\n"
    )
    (tmp_path / "cases" / "views.py").write_text("from django.utils import timezone\nNOW = timezone.now()\n")
    found = clock_reads(tmp_path, ("cases",))
    assert found == [
        ("cases/sample_selectors.py", 6, "due"),
        ("cases/sample_selectors.py", 6, "due"),
        ("cases/sample_selectors.py", 6, "due"),
    ]
