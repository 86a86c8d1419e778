"""The house rules of ``../shared/HOUSE_STYLE.md`` and ``docs/architecture.md``, checked.

Every import of every module of the package is read with ``ast`` (module level, inside
functions and under ``if TYPE_CHECKING`` alike: a hidden import is still an import), and:

* the package's import graph has no cycle;
* ``core`` imports nothing from the package; service-side modules (everything in a domain but
  its handlers) never import tornado, jupyter_server, panel or bokeh;
* dashboards never import handlers or ``web``; the Jupyter server process never imports panel
  (statically, and in a real interpreter);
* no module outside a domain imports that domain's ORM rows (``<domain>.models``), and domains
  meet only through ``activity``;
* only the composition root constructs the long-lived parts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_astro_ops

PACKAGE = "jupyter_astro_ops"
ROOT = Path(jupyter_astro_ops.__file__).parent
DOMAINS = ("activity", "staging", "calendar", "planner", "ocat", "mail")
FRAMEWORKS = ("tornado", "jupyter_server", "panel", "bokeh")
PARTS = ("EventLog", "Projects", "Requests", "RequestWorker", "FeedHub", "EventPages",
         "JobStore", "StagingService", "Runner", "ReservationWriter", "CalendarService",
         "LcoImporter", "ICalFeeds", "ICalTokens", "CalendarCompat", "EntryWriter",
         "PlannerService", "PlannerHolidays", "PlannerEmployees", "PlannerImporter",
         "PlannerSwaps", "PlannerFeeds",
         "OcatService", "OcatWriter", "OcatRota", "RotaFeed", "OcatNotifier", "OcatImporter",
         "Mailer", "KernelTokenStore")
COMPOSITION_ROOT = f"{PACKAGE}.compose"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if "migrations" in parts or "labextension" in parts:
            continue  # Alembic scripts; built frontend assets
        out[".".join(parts)] = path
    return out


MODULES = _modules()
TREES = {name: ast.parse(path.read_text("utf-8")) for name, path in MODULES.items()}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> Iterator[str]:
    """Every module ``module`` imports (a ``from X import y`` of a submodule names X.y)."""
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            for alias in node.names:
                yield f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES \
                    else target


def internal_graph() -> dict[str, set[str]]:
    return {m: {i for i in imports(m) if i in MODULES and i != m} for m in MODULES}


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def _is_handler(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in ("handlers", "live") or last.endswith("_handlers")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_every_module_is_seen_and_has_a_docstring() -> None:
    assert f"{PACKAGE}.compose" in MODULES and f"{PACKAGE}.activity.events" in MODULES
    missing = [m for m, tree in TREES.items() if not ast.get_docstring(tree)]
    assert missing == []


def test_the_import_graph_has_no_cycle() -> None:
    graph = internal_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_core_imports_nothing_from_the_package() -> None:
    graph = internal_graph()
    bad = {m: sorted(i for i in graph[m] if not i.startswith(f"{PACKAGE}.core"))
           for m in MODULES if m.startswith(f"{PACKAGE}.core")}
    assert {m: i for m, i in bad.items() if i} == {}


def test_services_never_import_web_frameworks() -> None:
    service_side = [m for m in MODULES
                    if (_domain(m) or m.startswith((f"{PACKAGE}.core", f"{PACKAGE}.ical")))
                    and not _is_handler(m)]
    bad = {m: sorted({_top(i) for i in imports(m) if _top(i) in FRAMEWORKS})
           for m in service_side}
    assert {m: i for m, i in bad.items() if i} == {}


def test_dashboards_never_import_handlers_or_web() -> None:
    graph = internal_graph()
    bad = {m: sorted(i for i in graph[m] if _is_handler(i) or i.startswith(f"{PACKAGE}.web"))
           for m in MODULES if m.startswith(f"{PACKAGE}.dashboards")}
    assert {m: i for m, i in bad.items() if i} == {}


def test_the_server_process_never_imports_panel() -> None:
    graph = internal_graph()
    seen, todo = set(), [f"{PACKAGE}.app"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    panel_users = sorted(m for m in seen
                         if any(_top(i) in ("panel", "bokeh") for i in imports(m)))
    assert panel_users == []
    code = (f"import sys, {PACKAGE}.app; "
            "assert not {'panel', 'bokeh'} & set(sys.modules), 'panel imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT.parent)


def test_orm_rows_stay_in_their_domain() -> None:
    graph, bad = internal_graph(), []
    for module in MODULES:
        for target in graph[module]:
            owner = _domain(target)
            if owner and target.endswith(".models") and _domain(module) != owner:
                bad.append((module, target))
    assert bad == []


def test_domains_meet_only_through_activity() -> None:
    graph, bad = internal_graph(), []
    for module in MODULES:
        mine = _domain(module)
        for target in graph[module]:
            theirs = _domain(target)
            if mine and theirs and mine != theirs and theirs != "activity":
                bad.append((module, target))
            if mine == "activity" and theirs not in (None, "activity"):
                bad.append((module, target))
    assert bad == []


def test_only_the_composition_root_builds_parts() -> None:
    builders = []
    for module, tree in TREES.items():
        if module == COMPOSITION_ROOT:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in PARTS:
                    builders.append((module, name, node.lineno))
    assert builders == []


def test_the_rules_catch_a_forbidden_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above see what they claim to: plant one bad import and look."""
    service = f"{PACKAGE}.staging.service"
    planted = ast.parse("import tornado.web\nfrom ..calendar import models\n")
    monkeypatch.setitem(TREES, service, ast.Module(
        body=[*TREES[service].body, *planted.body], type_ignores=[]))
    with pytest.raises(AssertionError):
        test_services_never_import_web_frameworks()
    with pytest.raises(AssertionError):
        test_orm_rows_stay_in_their_domain()
