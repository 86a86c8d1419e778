"""Fixtures for client tests: a live pytest-jupyter server with staging roots and a site.

The client is synchronous (requests) while the server runs on the test's event loop, so every
client call goes through ``asyncio.to_thread`` (``await run(fn, ...)``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_astro_ops.client import AstroOps

from ..conftest import USERS

BINARY = bytes(range(256)) * 257  # every byte value, not a multiple of any block size


def make_tree(base: Path) -> dict[str, bytes]:
    """A small night of data: FITS-like binaries, a text file, a nested directory."""
    files = {
        "frame001.fits": b"SIMPLE  =                    T" + BINARY,
        "frame002.fits": BINARY[::-1] + b"\x00\r\n\x1a",
        "notes.txt": "observer: Ω, seeing 0.8\"\n".encode(),
        "log #1 (raw).txt": b"odd name: spaces, hash, parentheses\n",
        "calib/bias.fits": os.urandom(70_000),
        "calib/flat/flat-r.fits": b"\x00" * 4096,
    }
    for rel, data in files.items():
        path = base / "night1" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    return root


@pytest.fixture
def night1(archive: Path) -> dict[str, bytes]:
    return make_tree(archive)


@pytest.fixture
def astro_config(tmp_path: Path, archive: Path) -> dict[str, Any]:
    return {
        "StagingService": {"roots": {"archive": {"url": archive.as_uri()}}},
        "CalendarService": {"sites": {"saf": {"name": "Santa Fe",
                                              "timezone": "America/Denver"}}},
    }


@pytest.fixture
def live_url(jp_serverapp: Any, http_server_client: Any, jp_http_port: int, jp_base_url: str,
             jp_asyncio_loop: asyncio.AbstractEventLoop) -> str:
    """URL of the running test server, with its background services started."""
    apps = jp_serverapp.extension_manager.extension_apps.get("jupyter_astro_ops", set())
    for app in apps:
        if not getattr(app, "_astro_client_test_started", False):
            # pytest-jupyter never runs ServerApp._post_start, which starts extensions
            jp_asyncio_loop.run_until_complete(app._start_jupyter_server_extension(jp_serverapp))
            app._astro_client_test_started = True
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


@pytest.fixture
def ops_for(live_url: str) -> Iterator[Callable[[str], AstroOps]]:
    """``ops_for("bob")`` -> a client acting as bob."""
    clients: list[AstroOps] = []

    def make(user: str) -> AstroOps:
        client = AstroOps(url=live_url, token=USERS[user][0])
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call without blocking the server's event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


@pytest.fixture
def root_dir(jp_root_dir: Path) -> Path:
    """The server's working directory: staging targets land here."""
    return Path(jp_root_dir)
