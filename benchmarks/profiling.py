"""``--profile`` for the benchmarks: sample the server under test with py-spy while it is measured.

py-spy attaches to a running process (no restart, no instrumentation, so the figures printed
beside the profile are the same code path) and samples every thread, native frames included
when asked. Each profile is written next to the figures as collapsed stacks
(``<dir>/<name>.txt``: one ``frame;frame;frame count`` line per stack, the format of
flamegraph.pl and speedscope), and its top entries by self time are printed.

    with profiled(proc.pid, args.profile, "calendar-book"):
        measure(...)

``directory`` ``None`` (no ``--profile``) makes the block a no-op.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def add_argument(parser: argparse.ArgumentParser) -> None:
    """The shared ``--profile DIR`` option."""
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", default=None,
        help="sample the server with py-spy during each measurement; profiles go to DIR")


def py_spy() -> str:
    exe = Path(sys.executable).with_name("py-spy")
    found = str(exe) if exe.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("--profile needs py-spy: pip install py-spy (or .[bench])")
    return found


@contextmanager
def profiled(pid: int, directory: Path | None, name: str, *, rate: int = 250,
             top: int = 12) -> Iterator[None]:
    """Sample ``pid`` (all threads, GIL holders and idle threads apart) while the block runs."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}.txt"
    proc = subprocess.Popen(
        [py_spy(), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
         "--threads", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if out.exists():
            print(f"  profile {out}:")
            for line in summary(out, top):
                print("    " + line)
        else:
            print(f"  profile {name}: py-spy wrote nothing ({err.decode(errors='replace')[-300:]})")


def summary(path: Path, top: int) -> list[str]:
    """Top frames of a collapsed-stack file by self samples (the leaf), with their share."""
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        leaf[frames[-1]] += int(count)  # idle waits are not sampled (no --idle)
        total += int(count)
    if not total:
        return ["(no samples)"]
    return [f"{n / total:6.1%}  {frame}" for frame, n in leaf.most_common(top)]
