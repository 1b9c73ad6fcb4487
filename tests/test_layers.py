"""Two rules of the layers that import-linter (pyproject.toml, run by `make test`) cannot express.

1. No module imports a name starting with `_` from another module: a private name is the module's
   own business; what another module needs is given a public name (kit/, a selector, a service).
2. No module imports another app's `views` module (views, episode_views, views_annex_a, ...): what
   pages share lives in a selector, a service, `cases.access` or `kit`, never in another app's views.

The scan reads the source (AST), so a lazy import inside a function counts as much as one at the top.
Migrations are left out: they are generated, and import only models.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("kit", "accounts", "cases", "deadlines", "workflows", "oversight", "earlyhelp", "api", "partners", "imports")
SCANNED = (*APPS, "benchmarks", "tooling", "tests")
PROJECT = {*SCANNED}

# (file, imported module, name): a private import allowed for now, and why. Keep it short.
PRIVATE_ALLOWED: dict[tuple[str, str, str], str] = {}


def python_files() -> list[Path]:
    files = []
    for top in SCANNED:
        base = ROOT / top
        if base.is_dir():
            files += [p for p in base.rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts]
    return sorted(files)


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_views_module(dotted: str) -> bool:
    return "views" in dotted.rsplit(".", 1)[-1]


def imports_of(path: Path):
    """(line, imported module, imported name or None) for each project import of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_of(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] in PROJECT:
                for alias in node.names:
                    yield node.lineno, module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROJECT:
                    yield node.lineno, alias.name, None


def private_imports() -> list[str]:
    found = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        own = module_of(path)
        for line, module, name in imports_of(path):
            if name is None or not name.startswith("_") or name.startswith("__"):
                continue
            if module == own or (rel, module, name) in PRIVATE_ALLOWED:
                continue
            found.append(f"{rel}:{line}: from {module} import {name}")
    return found


def views_imports() -> list[str]:
    found: list[str] = []
    for path in python_files():
        rel = path.relative_to(ROOT).as_posix()
        app = rel.split("/")[0]
        if app not in APPS:
            continue  # tests and tools may drive any page
        for line, module, name in imports_of(path):
            target = f"{module}.{name}" if name and is_views_module(name) else module
            entry = f"{rel}:{line}: imports {target}"
            if is_views_module(target) and target.split(".")[0] != app and entry not in found:
                found.append(entry)
    return found


def test_no_module_imports_a_private_name_of_another_module():
    found = private_imports()
    assert found == [], "give these names a public home (kit, a selector, a service):\n" + "\n".join(found)


def test_no_app_imports_another_apps_views():
    found = views_imports()
    assert found == [], "move what these views share into a selector, a service or kit:\n" + "\n".join(found)


def test_every_allowed_private_import_is_still_there():
    """An allow-list entry whose import has gone is removed, so none outlives its reason."""
    present = {
        (path.relative_to(ROOT).as_posix(), module, name)
        for path in python_files()
        for _line, module, name in imports_of(path)
    }
    assert sorted(set(PRIVATE_ALLOWED) - present) == []


def test_the_scan_sees_the_imports_it_must_refuse(tmp_path, monkeypatch):
    """The checks above can fail: a planted private import and a planted views import are found."""
    app = tmp_path / "oversight"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "bad.py").write_text(
        "from workflows.services import _emit\n"
        "def f():\n"
        "    from cases import views\n"
        "    from workflows.episode_views import allocate\n"
        "    from oversight.views import ok\n"
        "    from .selectors import _own_package_private\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert private_imports() == [
        "oversight/bad.py:1: from workflows.services import _emit",
        "oversight/bad.py:6: from oversight.selectors import _own_package_private",
    ]
    assert views_imports() == [
        "oversight/bad.py:3: imports cases.views",
        "oversight/bad.py:4: imports workflows.episode_views",
    ]


def test_no_code_cites_an_issue_number_of_a_tracker_outside_the_repository():
    """Comments and docstrings say why in their own words or name an ADR (docs/adr/), never "issue N"."""
    import re

    cited = re.compile(r"\b[Ii]ssue \d+")
    found = []
    for top in (*SCANNED, "templates"):
        base = ROOT / top
        for path in base.rglob("*") if base.is_dir() else []:
            if path.suffix in {".py", ".html", ".toml"} and "migrations" not in path.parts:
                for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                    if cited.search(line):
                        found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == [], "name the ADR or say why instead:\n" + "\n".join(found)
