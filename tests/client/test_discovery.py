"""The client finds its own Jupyter server: env vars, ancestor pid in the runtime dir, Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_astro_ops.client import ServerNotFound, find_server
from jupyter_astro_ops.client.discovery import ancestors

ENV_VARS = ("ASTRO_OPS_URL", "ASTRO_OPS_TOKEN", "JUPYTER_SERVER_URL", "JUPYTER_TOKEN",
            "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_SERVICE_PREFIX")


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty runtime dir and none of the discovery env vars."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    rt = tmp_path / "runtime"
    rt.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(rt))
    return rt


def write_server(rt: Path, pid: int, port: int, token: str = "tok", **extra: object) -> None:
    info = {"url": f"http://127.0.0.1:{port}/base/", "base_url": "/base/", "token": token,
            "pid": pid, "port": port, "hostname": "127.0.0.1", **extra}
    (rt / f"jpserver-{pid}.json").write_text(json.dumps(info))


def test_parent_server_found(runtime: Path) -> None:
    # pid 1 is alive too: with two servers, only the ancestor match may win
    write_server(runtime, 1, 9001, token="init-token")
    write_server(runtime, os.getppid(), 9002, token="parent-token")
    info = find_server()
    assert info.url == "http://127.0.0.1:9002/base/"
    assert info.token == "parent-token"
    assert "parent-token" not in repr(info)


def test_grandparent_server_found_from_a_terminal_like_child(runtime: Path) -> None:
    # this process plays the server; the client runs two levels below (shell -> python)
    write_server(runtime, os.getpid(), 9003, token="gp-token")
    code = ("from jupyter_astro_ops.client import find_server; i = find_server(); "
            "print(i.url, i.token)")
    out = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{code}"; true'],
                         capture_output=True, text=True, check=True, env=os.environ.copy())
    assert out.stdout.split() == ["http://127.0.0.1:9003/base/", "gp-token"]


def test_ancestors_start_with_parent() -> None:
    chain = list(ancestors())
    assert chain[0] == os.getppid()
    assert os.getpid() not in chain


def test_env_vars_win_over_runtime(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_server(runtime, os.getppid(), 9004)
    monkeypatch.setenv("ASTRO_OPS_URL", "http://example.org:8888/lab-user")
    monkeypatch.setenv("ASTRO_OPS_TOKEN", "env-token")
    info = find_server()
    assert (info.url, info.token) == ("http://example.org:8888/lab-user/", "env-token")


def test_astro_ops_token_overrides_the_servers_own(runtime: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a server shared through TokenMapIdentityProvider: URL found, the user's token from env
    write_server(runtime, os.getppid(), 9009, token="")
    monkeypatch.setenv("ASTRO_OPS_TOKEN", "my-own-token")
    info = find_server()
    assert (info.url, info.token) == ("http://127.0.0.1:9009/base/", "my-own-token")


def test_explicit_arguments_win(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTRO_OPS_URL", "http://elsewhere:1/")
    info = find_server("http://127.0.0.1:1234", "arg-token")
    assert (info.url, info.token, info.source) == ("http://127.0.0.1:1234/", "arg-token",
                                                   "argument")


def test_hub_token_used_when_server_has_none(runtime: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    write_server(runtime, os.getppid(), 9005, token="")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    assert find_server().token == "hub-token"


def test_hub_prefix(runtime: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/obs1/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    info = find_server()
    assert (info.url, info.token) == ("http://127.0.0.1:8888/user/obs1/", "hub-token")


def test_nothing_found_is_a_clear_error(runtime: Path) -> None:
    write_server(runtime, 1, 9006)
    write_server(runtime, 999_999_999, 9007)  # dead pid: ignored (and cleaned up)
    (runtime / "jpserver-2.json").write_text("{not json")
    # pid 1 is the only live server here, so it is used as the last resort ...
    assert find_server().url == "http://127.0.0.1:9006/base/"
    write_server(runtime, os.getpid(), 9008)  # ... but with two unrelated servers, no guess
    (runtime / f"jpserver-{os.getpid()}.json").rename(runtime / "jpserver-x.json")
    with pytest.raises(ServerNotFound, match="ASTRO_OPS_URL"):
        find_server()
