"""Planning a local tree: the walk lists what is below the source and nothing else.

Every directory below the source is opened relative to its parent without following a link,
so a directory swapped for a link to somewhere else after its parent was listed fails the
plan; it never lists what the link points at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_astro_ops.core.errors import Forbidden
from jupyter_astro_ops.staging import plan
from jupyter_astro_ops.staging.roots import build_roots


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """``root/src`` with files at two levels, and a directory outside the root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "src" / "a" / "b").mkdir(parents=True)
    (root / "src" / "top.txt").write_bytes(b"1")
    (root / "src" / "a" / "mid.txt").write_bytes(b"22")
    (root / "src" / "a" / "b" / "deep.txt").write_bytes(b"333")
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"4444")
    return root, outside


def local_root(root: Path):
    return build_roots({"r": {"url": root.as_uri()}})["r"]


def test_the_plan_lists_every_file_with_its_size(tree) -> None:
    root, _ = tree
    found = plan.plan_source(local_root(root), "src", True)
    assert found.files == [("a/b/deep.txt", 3), ("a/mid.txt", 2), ("top.txt", 1)]
    assert found.total_bytes == 6 and found.skipped == []


def test_a_directory_swapped_for_a_link_while_listing_fails_the_plan(tree, monkeypatch) -> None:
    root, outside = tree
    real_scandir = os.scandir
    listed: list[object] = []

    class SwapAfterFirst:
        """The real listing; when the source's own listing ends, ``a`` becomes a link out."""

        def __init__(self, target: object) -> None:
            self.inner = real_scandir(target)  # type: ignore[arg-type]
            listed.append(target)

        def __enter__(self):
            return self.inner.__enter__()

        def __exit__(self, *exc: object) -> None:
            self.inner.__exit__(*exc)
            if len(listed) == 1:
                os.rename(root / "src" / "a", root / "moved")
                os.symlink(outside, root / "src" / "a")

    monkeypatch.setattr(plan.os, "scandir", SwapAfterFirst)
    with pytest.raises(Forbidden, match="was replaced"):
        plan.plan_source(local_root(root), "src", True)
    assert len(listed) == 1  # nothing was listed through the link


def test_the_walk_closes_every_directory_it_opened(tree) -> None:
    root, _ = tree
    before = len(os.listdir("/proc/self/fd"))
    walk = plan._walk_local(local_root(root), "src", plan.Plan())
    next(walk)  # stopped half way: the open directories close with the generator
    walk.close()
    plan.plan_source(local_root(root), "src", True)
    assert len(os.listdir("/proc/self/fd")) == before
