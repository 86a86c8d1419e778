"""The dashboards this package serves: every script in ``apps/``.

A dashboard is a Viewer module in this package (``activity.py``, ``staging.py``, ...) plus a
two-line app script ``apps/<name>.py`` whose module docstring starts with its title. Adding the
script is all it takes: the ``panel serve`` command (``proxy.panel_command``) and the index page
pick it up from here. Titles are read with ``ast``, never by running the scripts, so this module
is safe to import in the Jupyter server process (it does not import panel).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

APPS_DIR = Path(__file__).parent / "apps"
INDEX_APP = "index"


@dataclass(frozen=True)
class AppInfo:
    """One served dashboard: URL name (``activity``), title and one-line description."""

    name: str
    path: Path
    title: str
    description: str


def app_files() -> list[Path]:
    """Every app script (``index.py`` first, then by name); ``_*.py`` files are skipped."""
    files = [p for p in APPS_DIR.glob("*.py") if not p.name.startswith("_")]
    return sorted(files, key=lambda p: (p.stem != INDEX_APP, p.stem))


def app_info(path: Path) -> AppInfo:
    """Title (docstring's first line) and description (its first paragraph after that)."""
    doc = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or path.stem
    first, _, rest = doc.partition("\n")
    description = rest.strip().split("\n\n")[0].replace("\n", " ")
    return AppInfo(path.stem, path, first.strip().rstrip("."), description)


def dashboards() -> list[AppInfo]:
    """The dashboards listed on the index page (every app but the index itself)."""
    return [app_info(p) for p in app_files() if p.stem != INDEX_APP]
