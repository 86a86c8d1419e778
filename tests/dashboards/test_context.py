"""Dashboard process set-up: config from the runtime file or standalone, app discovery."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from jupyter_astro_ops.core.runtime import ENV_VAR, read_runtime, write_runtime
from jupyter_astro_ops.dashboards import context, registry
from jupyter_astro_ops.dashboards.identity import forwarded_headers, user_from_identity
from jupyter_astro_ops.dashboards.page import login_message
from jupyter_astro_ops.dashboards.proxy import panel_command


def test_runtime_file_gives_the_servers_config(tmp_path: Any, monkeypatch, role_map) -> None:
    path = tmp_path / "astro-ops-1.json"
    write_runtime(path, {
        "url": "http://localhost:8888/astro/", "base_url": "/astro/", "root_dir": str(tmp_path),
        "config": {"AstroOpsApp": {"db_url": f"sqlite:///{tmp_path}/x.db",
                                   "roles": {"admin": ["group:ops-leads"]}},
                   "RequestWorker": {"max_attempts": 7}},
    })
    monkeypatch.setenv(ENV_VAR, str(path))
    ctx = context.Context.from_environment()
    try:
        assert ctx.behind_jupyter and ctx.base_url == "/astro/"
        assert ctx.db.url == f"sqlite:///{tmp_path}/x.db"
        assert ctx.services.activity.worker.max_attempts == 7  # service config travels too
        assert ctx.role_map.resolve("zed", groups=["ops-leads"]).is_admin
        assert ctx.services.db is ctx.db  # one engine per process, every part on it
    finally:
        ctx.close()


def test_standalone_config_from_environment(tmp_path: Any, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv(context.DB_ENV, f"sqlite:///{tmp_path}/s.db")
    monkeypatch.setenv(context.ROLES_ENV, json.dumps({"admin": ["root"]}))
    ctx = context.Context.from_environment()
    try:
        assert not ctx.behind_jupyter
        assert ctx.db.url == f"sqlite:///{tmp_path}/s.db"
        assert ctx.role_map.resolve("root").is_admin
        assert "no login configured" in login_message(ctx)
    finally:
        ctx.close()


def test_standalone_config_from_jupyter_config_file(tmp_path: Any, monkeypatch) -> None:
    monkeypatch.delenv(context.DB_ENV, raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "jupyter_server_config.d").mkdir()
    (tmp_path / "jupyter_server_config.d" / "astro.json").write_text(json.dumps(
        {"AstroOpsApp": {"db_url": "sqlite:////srv/old.db", "roles": {"admin": ["ann"]}}}))
    (tmp_path / "jupyter_server_config.json").write_text(json.dumps(
        {"AstroOpsApp": {"db_url": "sqlite:////srv/astro.db"}}))
    cfg = context.standalone_config()
    assert cfg.AstroOpsApp.db_url == "sqlite:////srv/astro.db"
    assert cfg.AstroOpsApp.roles == {"admin": ["ann"]}


def test_forwarded_headers_and_identity(role_map) -> None:
    headers = forwarded_headers({"Host": "h:1", "X-Other": "no"}, {"username-h-1": "abc"},
                                {"token": [b"t0k"]})
    assert headers == {"Host": "h:1", "Cookie": "username-h-1=abc",
                       "Authorization": "token t0k"}
    user = user_from_identity(role_map, {"username": "zoe", "display_name": "Zoe",
                                         "groups": ["ops-leads"]})
    assert user.username == "zoe" and user.is_admin and user.label == "Zoe"


def test_registry_lists_apps_and_the_command_serves_them() -> None:
    names = [info.name for info in registry.dashboards()]
    assert "activity" in names and registry.INDEX_APP not in names
    activity = next(i for i in registry.dashboards() if i.name == "activity")
    assert activity.title == "Activity" and "approve" in activity.description
    cmd = panel_command("--port", "1")
    files = [a for a in cmd if a.endswith(".py")]
    assert files[0].endswith("apps/index.py")
    assert cmd[cmd.index("--index") + 1] == "index"


@pytest.mark.parametrize("missing", [None, ""])
def test_no_runtime_file(monkeypatch, missing) -> None:
    if missing is None:
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, "/nonexistent/astro-ops-1.json")
    assert read_runtime() is None


def test_the_server_side_of_the_dashboards_never_imports_panel() -> None:
    code = ("import sys, jupyter_astro_ops.dashboards.proxy as p; p.proxy_entry(); "
            "assert 'panel' not in sys.modules and 'bokeh' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
