"""jupyter_astro_ops: observatory operations inside JupyterLab.

Server extension entry points live here; everything else is in the domain packages.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported on demand so that `import jupyter_astro_ops.<domain>` (dashboards, CLI) does not
    # pull in the whole server extension.
    from .app import AstroOpsApp

    return [{"module": "jupyter_astro_ops", "app": AstroOpsApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-astro-ops"}]


__all__ = ["__version__"]
