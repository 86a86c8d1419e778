"""Demo files: the Jupyter config, tokens, and a local storage tree to stage from.

The tree is small FITS frames plus, unless turned off, one large survey mosaic (a few hundred
MiB, written once at demo set-up, never stored in the repository) so that a staging job's
progress bars, rate and time left can be watched on the Staging dashboard.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from importlib import resources
from pathlib import Path
from typing import Any

from . import ocat
from .planner import with_planner_roles

FITS_BLOCK = 2880


def load_spec() -> dict[str, Any]:
    """The packaged demo description (users, roles, sites, projects, requests, bookings),
    with the planner's demo roles (``planner.json``) and the Ocat demo users and roles
    (``demo/ocat.py``)."""
    spec = json.loads(resources.files(__package__).joinpath("demo.json").read_text("utf-8"))
    return ocat.with_ocat(with_planner_roles(spec))


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if it is free, else any free port."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def fits_bytes(seed: int, rows: int = 64, cols: int = 64) -> bytes:
    """A small, valid-looking FITS file: one 2880-byte header block plus 16-bit image data.

    The data holds every byte value (including NUL, CR and LF), so a text-mode copy that
    mangles line endings or stops at NUL would show up as a checksum mismatch.
    """
    cards = [
        "SIMPLE  =                    T / conforms to FITS standard",
        "BITPIX  =                   16 / bits per data value",
        "NAXIS   =                    2",
        f"NAXIS1  = {cols:20d}",
        f"NAXIS2  = {rows:20d}",
        f"OBJECT  = 'DEMO-{seed:03d}'",
        "TELESCOP= 'astro-ops demo'",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).ljust(FITS_BLOCK).encode("ascii")
    size = rows * cols * 2
    data = (b"\r\n\x00\x1a\r" + bytes((i * 7 + seed) % 256 for i in range(size)))[:size]
    pad = (-size) % FITS_BLOCK
    return header + data + b"\0" * pad


LARGE_FILE = "survey/mosaic.fits"
_CHUNK = 1 << 20


def large_fits_size(mib: int) -> int:
    """The size of the ``mib`` MiB mosaic: a header block, the data, padding to a block."""
    data = mib * _CHUNK
    return FITS_BLOCK + data + (-data) % FITS_BLOCK


def write_large_fits(path: Path, mib: int) -> None:
    """A ``mib`` MiB FITS image (16-bit, 4096 columns) of varied bytes; kept when present."""
    size = large_fits_size(mib)
    if path.exists() and path.stat().st_size == size:
        return  # written at an earlier set-up
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"  writing {path.name} ({mib} MiB, once; a busy disk may take a minute)")
    cols = 4096
    header = fits_bytes(9, rows=mib * _CHUNK // (cols * 2), cols=cols)[:FITS_BLOCK]
    chunk = bytes((i * 31 + i // 4096) % 256 for i in range(_CHUNK))
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as out:
        out.write(header)
        for _ in range(mib):
            out.write(chunk)
        out.write(b"\0" * ((-(mib * _CHUNK)) % FITS_BLOCK))
    tmp.replace(path)


def make_storage(storage: Path, large_mib: int = 0) -> dict[str, dict[str, Any]]:
    """Create the demo storage tree (idempotent) and return ``StagingService.roots``; with
    ``large_mib``, also a mosaic of that many MiB (``LARGE_FILE``) to watch a job move."""
    archive = storage / "archive"
    files = {
        archive / "night1" / "frame001.fits": fits_bytes(1),
        archive / "night1" / "frame002.fits": fits_bytes(2),
        archive / "night1" / "obslog.txt": b"2026-11-20T02:11Z frame001 M31 field 3\n"
                                            b"2026-11-20T02:19Z frame002 M31 field 3\n",
        archive / "night2" / "frame001.fits": fits_bytes(3, rows=128),
        archive / "calibration" / "bias.fits": fits_bytes(4, rows=16, cols=16),
        archive / "README.txt": b"Demo archive: two nights of frames and a bias.\n",
    }
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    if large_mib > 0:
        write_large_fits(archive / LARGE_FILE, large_mib)
    (storage / "scratch").mkdir(parents=True, exist_ok=True)
    return {
        "archive": {"url": archive.as_uri(), "writable": False, "roles": ["stager"],
                    "description": "Demo archive: two nights of FITS frames and a bias"
                    + (f", and a {large_mib} MiB survey mosaic to watch a long job."
                       if large_mib > 0 else ".")},
        "scratch": {"url": (storage / "scratch").as_uri(), "writable": True,
                    "roles": ["stager"], "description": "Writable scratch space."},
    }


def user_tokens(spec: dict[str, Any], previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``TokenMapIdentityProvider.tokens`` for the demo users, keeping earlier tokens."""
    by_user = {info["username"]: tok for tok, info in previous.items()}
    tokens: dict[str, dict[str, Any]] = {}
    for name, info in spec["users"].items():
        token = by_user.get(name) or f"demo-{name}-{secrets.token_hex(12)}"
        tokens[token] = {"username": name, "display_name": info["display_name"],
                         "groups": list(info.get("groups", []))}
    return tokens


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Write the JSON config readable by its owner only (it holds the login tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text("utf-8"))
    except ValueError:
        return {}
