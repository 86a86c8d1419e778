"""``jupyter astro-ops stage`` from a terminal, against the live test server."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from ..conftest import USERS


async def cli(url: str, *args: str, user: str = "bob") -> tuple[int, str, str]:
    """Run the command in a subprocess without blocking the server's event loop."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ASTRO_OPS_", "JUPYTER_SERVER_URL", "JUPYTER_TOKEN"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "jupyter_astro_ops.cli.main", "stage", *args,
        "--url", url, "--token", USERS[user][0],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_stage_waits_and_succeeds(live_url: str, night1: dict[str, bytes],
                                        root_dir: Path) -> None:
    code, out, err = await cli(live_url, "archive:night1/", "data/cli")
    assert code == 0, err
    assert "job " in out and "succeeded" in out
    n = len(night1)
    assert "files" in err and f"{n}/{n}" in err  # the tqdm bars, on stderr
    for rel, data in night1.items():
        assert (root_dir / "data" / "cli" / rel).read_bytes() == data

    code, out, err = await cli(live_url, "--list")
    assert code == 0, err
    assert "archive:night1" in out and "data/cli" in out and "succeeded" in out


async def test_no_wait_prints_the_job(live_url: str, night1: dict[str, bytes]) -> None:
    code, out, err = await cli(live_url, "archive:night1/", "data/later", "--no-wait")
    assert code == 0, err
    job_id = out.split()[1]
    code, out, _ = await cli(live_url, "--list")
    assert job_id in out


async def test_failure_exits_non_zero_with_the_servers_message(live_url: str,
                                                               night1: object) -> None:
    code, out, err = await cli(live_url, "no-such-root:night1/", "data/x")
    assert code != 0
    assert err.startswith("error: 4") and "no-such-root" in err


async def test_usage_error(live_url: str) -> None:
    code, _, err = await cli(live_url, "only-one-argument")
    assert code == 2 and "usage" in err


async def test_failed_job_exits_non_zero(live_url: str, archive: Path) -> None:
    (archive / "bad").mkdir()
    (archive / "bad" / "escape.txt").symlink_to("/etc/hostname")
    code, out, err = await cli(live_url, "archive:bad/", "data/bad", "--no-progress")
    assert code == 1
    assert "failed" in err and "outside the root" in err
