"""Staging fixtures: a local archive root with binary data, config, and a job waiter."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

FITS_HEADER = (b"SIMPLE  =                    T / conforms to FITS standard" + b" " * 22
               + b"BITPIX  =                  -32" + b" " * 50 + b"END" + b" " * 77)
FINAL = ("succeeded", "failed", "cancelled")


def fits_bytes(n: int, seed: int = 0) -> bytes:
    """A FITS-like file: ASCII header padded to 2880 bytes, then binary data (with NULs)."""
    header = FITS_HEADER.ljust(2880, b" ")
    body = bytes((i * 31 + seed) % 256 for i in range(256)) * (n // 256 + 1)
    return header + os.urandom(64) + b"\x00\r\n\xff" + body[:n]


def make_tree(top: Path) -> dict[str, bytes]:
    """night1/ with nested binary files; returns relpath -> content."""
    files = {
        "frame000.fits": fits_bytes(5000, 1),
        "frame001.fits": fits_bytes(70_000, 2),
        "calib/bias.fits": fits_bytes(3000, 3),
        "calib/deep/flat.fits": fits_bytes(1, 4),
        "empty.dat": b"",
        "notes é.txt": "ünïcode ✓\n".encode(),
    }
    for rel, data in files.items():
        path = top / "night1" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    top = tmp_path / "archive"
    top.mkdir()
    make_tree(top)
    (top / "single.fits").write_bytes(fits_bytes(123_456, 9))
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_bytes(b"root:x:0:0")
    return top


@pytest.fixture
def dropbox(tmp_path: Path) -> Path:
    top = tmp_path / "dropbox"
    top.mkdir()
    return top


@pytest.fixture
def staging_config(archive: Path, dropbox: Path) -> dict[str, Any]:
    return {
        "roots": {
            "archive": {"url": f"file://{archive}"},
            "restricted": {"url": f"file://{archive}", "roles": ["stager"],
                           "methods": ["copy"]},
            "drop": {"url": f"file://{dropbox}", "writable": True, "roles": ["stager"]},
        },
        "progress_interval": 0.1,
        "poll_interval": 0.2,
        "retry_backoff": 0.01,
    }


@pytest.fixture
def astro_config(staging_config: dict[str, Any]) -> dict[str, Any]:
    return {"StagingService": staging_config}


@pytest.fixture
def wait_job(api: Any) -> Any:
    async def wait(user: str, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status, job = await api(user, "GET", "v1", "staging", "jobs", job_id)
            assert status == 200, job
            if job["status"] in FINAL:
                return job
            assert asyncio.get_running_loop().time() < deadline, job
            await asyncio.sleep(0.05)

    return wait


def tree_files(top: Path) -> dict[str, bytes]:
    """relpath -> content of every file below ``top`` (symlinks not followed)."""
    out = {}
    for dirpath, _dirs, names in os.walk(top):
        for name in names:
            path = Path(dirpath) / name
            out[str(path.relative_to(top))] = path.read_bytes()
    return out


@pytest.fixture
def staging(jp_serverapp: Any, jp_asyncio_loop: Any) -> Any:
    """The server's StagingService with its runner started (pytest-jupyter does not start
    extensions' background work)."""
    ext = jp_serverapp.extension_manager.extension_apps["jupyter_astro_ops"]
    parts = next(iter(ext)).services.staging
    jp_asyncio_loop.run_until_complete(parts.runner.start())
    yield parts.service
    jp_asyncio_loop.run_until_complete(parts.runner.stop())
