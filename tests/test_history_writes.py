"""Every change of a history-tracked record leaves a history row: no `update()` or `bulk_update()` on one.

`QuerySet.update()` and `bulk_update()` send no signal, so django-simple-history never hears of them: the
import once moved a family to its episode's team with `Family.objects.filter(...).update(team_id=...)` and
the family's history never said so. This lint reads the product's source (AST) and fails on any
`<Model>.objects....update(...)` or `....bulk_update(...)` whose model is history-tracked, unless every
field it sets is left out of that model's history, or the function writes the history rows of its
conditional update itself (`kit.history.history_of_update`), or the allow-list below names it with a reason.
`kit.history` has the two ways to change such rows without save() and still write their history.

Left out: migrations, the import's COPY writer (imports/writer.py writes its own history rows, checked by
tests/imports), and the data generator (tooling/generator: demo and benchmark data, with its own history).
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[1]
APPS = ("kit", "accounts", "cases", "deadlines", "workflows", "oversight", "earlyhelp", "api", "partners", "imports")
LEFT_OUT = ("imports/writer.py", "tooling/generator/")
WRITES = frozenset({"update", "bulk_update"})

# (file, function, model) -> why it may stay. Keep it short; an entry that matches nothing fails.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("workflows/demo.py", "adopt_generated_work", "User"): (
        "make run's demo set-up hands a generated stand-in's team to the demo account before anyone signs in: "
        "demo data, never a council's, and the role audit would record a change nobody made"
    ),
    ("workflows/demo.py", "adopt_generated_work", "Episode"): (
        "the same demo set-up: the stand-in's episodes become the demo account's (generated data)"
    ),
}


def tracked_models() -> dict[str, frozenset[str]]:
    """History-tracked models by class name: the fields their history leaves out."""
    found = {}
    for model in apps.get_models():
        history = getattr(model, "history", None)
        historical = getattr(history, "model", None)
        if historical is None or not hasattr(model, "_meta") or historical is model:
            continue
        kept = {f.attname for f in historical._meta.fields} | {f.name for f in historical._meta.fields}
        found[model.__name__] = frozenset(f.name for f in model._meta.fields if f.attname not in kept)
    return found


def _root(node: ast.AST) -> tuple[str | None, bool]:
    """The name a call chain starts from, and whether it passes through `.objects` (a model's manager)."""
    through_manager = False
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            through_manager |= node.attr in ("objects", "_default_manager", "_base_manager")
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            break
    return (node.id if isinstance(node, ast.Name) else None), through_manager


def writes_without_history() -> list[tuple[str, int, str, str, tuple[str, ...]]]:
    """(file, line, function, model, fields set) of each update/bulk_update on a tracked model's rows."""
    tracked = tracked_models()
    found = []
    for top in APPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or any(rel.startswith(out) for out in LEFT_OUT):
                continue
            tree = ast.parse(path.read_text())
            for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
                calls = {
                    n.func.id for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                }
                if "history_of_update" in calls:
                    continue  # a conditional update (a claim) followed by its history rows (kit.history)
                for call in ast.walk(function):
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                        continue
                    if call.func.attr not in WRITES:
                        continue
                    model, through_manager = _root(call.func.value)
                    if model not in tracked or not through_manager:
                        continue
                    if call.func.attr == "update":
                        fields = tuple(k.arg for k in call.keywords if k.arg)
                    else:
                        fields = tuple(
                            e.value
                            for arg in call.args[1:2]
                            if isinstance(arg, ast.List | ast.Tuple)
                            for e in arg.elts
                            if isinstance(e, ast.Constant)
                        )
                    untracked = tracked[model]
                    if fields and all(f.removesuffix("_id") in untracked or f in untracked for f in fields):
                        continue  # only fields the history leaves out (ApiClient.last_used_at)
                    found.append((rel, call.lineno, function.name, model, fields))
    return found


def test_no_update_or_bulk_update_skips_the_history_of_a_tracked_model():
    found = writes_without_history()
    wrong = [
        f"{f}:{line} in {fn}(): {model}.objects...update({', '.join(fields)})"
        for f, line, fn, model, fields in found
        if (f, fn, model) not in ALLOWED
    ]
    assert wrong == [], "write the history too (kit.history), or set only fields the history leaves out"


def test_every_allowed_write_still_exists():
    seen = {(f, fn, model) for f, _line, fn, model, _fields in writes_without_history()}
    assert set(ALLOWED) <= seen, sorted(set(ALLOWED) - seen)


def test_the_lint_catches_the_kind_of_write_it_is_for(tmp_path, monkeypatch):
    """A new case of the class: an update of a tracked field fails; one of an untracked field does not."""
    import tests.test_history_writes as lint

    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "sample.py").write_text(
        "def move(family, team, client, now, people):\n"
        "    Family.objects.filter(pk=family.pk).update(team=team)\n"
        "    ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)\n"
        "    Person.objects.bulk_update(people, ['first_name'])\n"
        "    family.update(team=team)\n"
        "def claim(invitation, now):\n"
        "    if Person.objects.filter(pk=1).update(first_name='x'):\n"
        "        history_of_update(Person.objects.filter(pk=1), by=None, now=now)\n"
    )
    monkeypatch.setattr(lint, "ROOT", tmp_path)
    monkeypatch.setattr(lint, "APPS", ("kit",))
    found = [(model, fields) for _f, _l, _fn, model, fields in lint.writes_without_history()]
    assert found == [("Family", ("team",)), ("Person", ("first_name",))]
