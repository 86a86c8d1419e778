"""``jupyter astro-ops demo``: write the demo config, storage and data; print the logins.

``make demo`` runs this, then JupyterLab with ``JUPYTER_CONFIG_DIR=<dir>/config``. Re-running
keeps the tokens and the data, and only adds what is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import Int, Unicode

from .._version import __version__
from . import files, ocat
from .seed import seed

CONFIG_NAME = "jupyter_server_config.json"
ROLE_LABELS = {"admin": "admin", "stager": "stager", "calendar_admin": "calendar admin",
               "planner_admin": "planner admin",
               "usint": "POC (usint)", "mp": "mission planning"}


class DemoCommand(JupyterApp):
    """Prepare the demo: config with demo users and roles, local storage, seeded database."""

    name = "jupyter-astro-ops-demo"
    description = "Write the demo configuration and seed demo data (idempotent)."
    version = __version__

    dir = Unicode(".demo", config=True, help="Directory that holds everything of the demo.")
    port = Int(8888, config=True, help="Preferred port; a free one is picked if it is taken.")
    ip = Unicode("127.0.0.1", config=True, help="Address JupyterLab listens on.")
    large_file_mib = Int(300, config=True, help=(
        "Size in MiB of the large mosaic written once into the demo archive "
        "(archive/survey/mosaic.fits) so that a staging job's progress can be watched; "
        "0 leaves it out."))

    aliases = {"dir": "DemoCommand.dir", "port": "DemoCommand.port", "ip": "DemoCommand.ip",
               "large-file-mib": "DemoCommand.large_file_mib"}

    def start(self) -> None:
        base = Path(self.dir).expanduser().resolve()
        spec = files.load_spec()
        config_path = base / "config" / CONFIG_NAME
        config = self.build_config(base, spec, files.read_config(config_path))
        files.write_config(config_path, config)
        self._copy_notebooks(base / "work")
        for line in seed(config["AstroOpsApp"]["db_url"], spec):
            print(f"  seeded: {line}")
        self.print_logins(base, spec, config)

    def build_config(self, base: Path, spec: dict[str, Any], previous: dict[str, Any]
                     ) -> dict[str, Any]:
        """The Jupyter config of the demo server (tokens kept from ``previous``)."""
        for sub in ("work", "data", "runtime"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        old_tokens = previous.get("TokenMapIdentityProvider", {}).get("tokens", {})
        return {
            "ServerApp": {
                "identity_provider_class": "jupyter_astro_ops.auth.TokenMapIdentityProvider",
                "root_dir": str(base / "work"),
                "ip": self.ip,
                "port": files.pick_port(self.port, self.ip),
                "port_retries": 0,
                "open_browser": False,
            },
            # No owner token: every login is one of the demo users below.
            "IdentityProvider": {"token": ""},
            "TokenMapIdentityProvider": {"tokens": files.user_tokens(spec, old_tokens)},
            "AstroOpsApp": {"db_url": f"sqlite:///{base / 'astro_ops.db'}",
                            "roles": spec["roles"]},
            "StagingService": {"roots": files.make_storage(base / "storage",
                                                           self.large_file_mib)},
            "CalendarService": {"sites": spec["sites"]},
            **ocat.demo_config(base, spec),
        }

    def _copy_notebooks(self, work: Path) -> None:
        # installed (a wheel): the package's copy (setup.py); a source checkout: notebooks/
        here = Path(__file__).resolve().parent
        source = next((d for d in (here / "notebooks", here.parents[1] / "notebooks")
                       if any(d.glob("*.ipynb"))), None)
        if source is None:
            print("  no example notebooks found (neither in the package nor in the checkout)")
            return
        for nb in sorted(source.glob("*.ipynb")):
            if not (work / nb.name).exists():
                shutil.copy2(nb, work / nb.name)

    def print_logins(self, base: Path, spec: dict[str, Any], config: dict[str, Any]) -> None:
        server = config["ServerApp"]
        url = f"http://{server['ip']}:{server['port']}/lab"
        roles = spec["roles"]
        print(f"\nDemo ready in {base} (database {config['AstroOpsApp']['db_url']}).")
        print("Log in as one of these users (open the URL, or paste the token at /login):")
        for token, info in config["TokenMapIdentityProvider"]["tokens"].items():
            name, groups = info["username"], info["groups"]
            held = [ROLE_LABELS.get(r, r) for r, members in roles.items()
                    if name in members or any(f"group:{g}" in members for g in groups)]
            label = f"{name} ({', '.join(held) or 'no role'})"
            print(f"  {label:32s} {url}?token={token}")
        root = " --allow-root" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        print(f"\nStart it (make demo does this):\n  JUPYTER_CONFIG_DIR={base / 'config'} "
              f"JUPYTER_DATA_DIR={base / 'data'} JUPYTER_RUNTIME_DIR={base / 'runtime'} "
              f"jupyter lab --no-browser{root}\n")
