"""Pages reach case records only through scoped selectors (ADR 5, ADR 20).

A view module that writes `Family.objects...` (or `_default_manager`, `get_object_or_404(Family, ...)`)
reads records without asking who may see them: the one place that answers that is
`cases.selectors` (families_visible_to and the selectors built on it) and the 404 helpers in
`cases.access`. This lint reads the source of every view module (`*views*.py`) of the apps with
pages and fails on such a lookup of any model of `cases`, unless the allow-list below names it with
a reason. The allow-list is kept short: an entry that no longer matches anything fails too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent.parent
APPS_WITH_PAGES = ("workflows", "oversight", "deadlines", "accounts", "earlyhelp", "partners")
CASE_MODULES = ("cases.models", "cases.episode_models")
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
SHORTCUTS = frozenset({"get_object_or_404", "get_list_or_404"})

# (file, function, lookup) -> why it may stay. Selectors for each of these are in cases/selectors.py.
ALLOWED: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Lookup:
    path: str
    line: int
    function: str
    lookup: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.lookup)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {self.lookup}"


def case_model_names() -> frozenset[str]:
    return frozenset(model.__name__ for model in apps.get_app_config("cases").get_models())


class _Finder(ast.NodeVisitor):
    """Unscoped lookups of case models in one module's source."""

    def __init__(self, path: str, case_models: frozenset[str]):
        self.path = path
        self.case_models = case_models
        self.imported: dict[str, str | None] = {}  # local name -> case model name, or None (anything else)
        self.case_modules: set[str] = set()  # local names of cases.models / cases.episode_models
        self.functions: list[str] = []
        self.found: list[Lookup] = []

    def _flag(self, node: ast.AST, lookup: str) -> None:
        function = ".".join(self.functions) or "<module>"
        self.found.append(Lookup(self.path, node.lineno, function, lookup))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in CASE_MODULES and alias.asname:
                self.case_modules.add(alias.asname)
            else:
                self.imported[(alias.asname or alias.name).split(".")[0]] = None

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            local = alias.asname or alias.name
            if node.module in CASE_MODULES and alias.name in self.case_models:
                self.imported[local] = alias.name
            elif node.module == "cases" and f"cases.{alias.name}" in CASE_MODULES:
                self.case_modules.add(local)
            else:
                self.imported[local] = None

    def _function(self, node) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _function

    def _case_model(self, node: ast.AST) -> str | None:
        """The name a model expression is written with, if it is (or may be) a model of cases."""
        if isinstance(node, ast.Name):
            if node.id in self.imported:
                return node.id if self.imported[node.id] else None
            return node.id  # a model passed in or picked at run time: it may be any model
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in self.case_modules and node.attr in self.case_models:
                return f"{node.value.id}.{node.attr}"
            return None
        return ast.unparse(node)  # type(record), getattr(...): it may be any model

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in MANAGERS:
            model = self._case_model(node.value)
            if model is not None:
                self._flag(node, f"{model}.{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in SHORTCUTS and node.args and not isinstance(node.args[0], (ast.Call, ast.Attribute)):
            model = self._case_model(node.args[0])
            if model is not None:
                self._flag(node, f"{name}({model})")
        first = node.args[0] if node.args else None
        if name == "get_model" and isinstance(first, ast.Constant) and str(first.value).split(".")[0] == "cases":
            self._flag(node, f"get_model({first.value!r})")
        self.generic_visit(node)


def unscoped_lookups(source: str, path: str, case_models: frozenset[str]) -> list[Lookup]:
    finder = _Finder(path, case_models)
    finder.visit(ast.parse(source, filename=path))
    return finder.found


def view_modules() -> list[Path]:
    return sorted(path for app in APPS_WITH_PAGES for path in (ROOT / app).rglob("*views*.py"))


def all_lookups() -> list[Lookup]:
    models = case_model_names()
    return [
        lookup
        for path in view_modules()
        for lookup in unscoped_lookups(path.read_text(), str(path.relative_to(ROOT)), models)
    ]


def test_the_view_modules_are_found():
    found = {str(path.relative_to(ROOT)) for path in view_modules()}
    assert {"workflows/family_views.py", "workflows/views.py", "oversight/views.py", "deadlines/views.py"} <= found


def test_views_reach_case_records_only_through_scoped_selectors():
    unscoped = [lookup for lookup in all_lookups() if lookup.key not in ALLOWED]
    assert not unscoped, (
        "These views read case records without the user's scope; use a selector of cases.selectors "
        "(families_visible_to, episodes_visible_to, episode_records...) or a helper of cases.access:\n"
        + "\n".join(map(str, unscoped))
    )


def test_the_allow_list_has_no_stale_entries():
    found = {lookup.key for lookup in all_lookups()}
    stale = [key for key in ALLOWED if key not in found]
    assert not stale, f"Remove these entries from ALLOWED, they match nothing now: {stale}"


MODELS = frozenset({"Family", "Episode", "Document"})


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from cases.models import Family\ndef page(r):\n    Family.objects.get(pk=1)", ["Family.objects"]),
        ("from cases.models import Family as F\ndef page(r):\n    F._default_manager.all()", ["F._default_manager"]),
        ("from cases import models\ndef page(r):\n    models.Episode.objects.all()", ["models.Episode.objects"]),
        ("import cases.models as m\nx = m.Family._base_manager.all()", ["m.Family._base_manager"]),
        ("from cases.episode_models import Document\nget_object_or_404(Document)", ["get_object_or_404(Document)"]),
        ("def helper(model, pk):\n    return model.objects.get(pk=pk)", ["model.objects"]),
        ("def helper(record):\n    return type(record).objects.get()", ["type(record).objects"]),
        ("from django.apps import apps\napps.get_model('cases.Family')", ["get_model('cases.Family')"]),
    ],
)
def test_the_lint_finds_unscoped_lookups(source, expected):
    assert [lookup.lookup for lookup in unscoped_lookups(source, "x_views.py", MODELS)] == expected


@pytest.mark.parametrize(
    "source",
    [
        "from cases import selectors\ndef page(r):\n    selectors.families_visible_to(r.user).get(pk=1)",
        "from accounts.models import User\ndef page(r):\n    User.objects.get(pk=1)",
        "from deadlines.models import Alert\ndef page(r):\n    get_object_or_404(Alert, pk=1)",
        "from cases import selectors\ndef page(r):\n    get_object_or_404(selectors.families_visible_to(r.user), pk=1)",
        "from cases.models import Family\ndef page(r, family: Family):\n    family.people.all()",
    ],
)
def test_the_lint_lets_scoped_lookups_pass(source):
    assert unscoped_lookups(source, "x_views.py", MODELS) == []
