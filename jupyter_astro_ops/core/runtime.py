"""The runtime file a running server leaves for its dashboard and CLI processes.

The Jupyter server writes ``astro-ops-<pid>.json`` (mode 0600) into the Jupyter runtime
directory with its URL, base URL and the effective configuration of our classes, so that
``panel serve`` started behind jupyter-server-proxy reads exactly the same database and rules.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

ENV_VAR = "ASTRO_OPS_RUNTIME_FILE"


def runtime_path(runtime_dir: str | os.PathLike[str], pid: int | None = None) -> Path:
    return Path(runtime_dir) / f"astro-ops-{pid or os.getpid()}.json"


def write_runtime(path: Path, info: dict[str, Any]) -> None:
    """Atomically write ``info`` as JSON readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".astro-ops-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle, default=str)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_runtime(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Read the runtime file named by ``path`` or by ``$ASTRO_OPS_RUNTIME_FILE``."""
    target = path or os.environ.get(ENV_VAR)
    if not target or not Path(target).exists():
        return None
    return json.loads(Path(target).read_text("utf-8"))
