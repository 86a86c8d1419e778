"""Unit tests of path confinement (``staging.paths``)."""

from __future__ import annotations

import os
import random
import string

import pytest

from jupyter_astro_ops.core.errors import Forbidden, ValidationError
from jupyter_astro_ops.staging.paths import clean_relpath, confine_local, makedirs_confined
from jupyter_astro_ops.staging.plan import _PLAIN

BAD = [
    "/etc/passwd", "~/x", "~root/x", "C:/x", "c:\\x", "..", "../x", "a/../../x", "a/..",
    "./x", "a/./b", "a//b", "//x", "a\\b", "..\\x", "x\x00", "a\nb", "a\x7fb",
    "%2e%2e/x", "%2E%2E%2Fx", "..%2fx", "%252e%252e%252fx", "%2fetc", "a/%2e%2e/%2e%2e/x",
    "\u2025/x", "\uff0e\uff0e/x", "a\uff0f..\uff0fx", "\uff0fetc", "x/" + "a" * 256,
]
GOOD = {"": "", "a": "a", "a/b/": "a/b", "night1/frame 001.fits": "night1/frame 001.fits",
        "%41.txt": "%41.txt", "...": "...", "é/n\u0303": "é/ñ", "a.b/c..d": "a.b/c..d"}


@pytest.mark.parametrize("raw", BAD)
def test_bad_paths_are_refused(raw):
    with pytest.raises(ValidationError):
        clean_relpath(raw)


@pytest.mark.parametrize(("raw", "clean"), GOOD.items())
def test_good_paths_are_kept(raw, clean):
    assert clean_relpath(raw) == clean


def test_empty_can_be_refused():
    with pytest.raises(ValidationError):
        clean_relpath("", allow_empty=False)


def test_links_out_of_the_base_are_forbidden(tmp_path):
    base = tmp_path / "base"
    (base / "in").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", base / "out_link")
    os.symlink(base / "in", base / "in_link")
    b = os.path.realpath(base)
    assert confine_local(b, "in_link/x", "t") == os.path.join(b, "in_link/x")
    with pytest.raises(Forbidden):
        confine_local(b, "out_link/x", "t")
    with pytest.raises(Forbidden):
        makedirs_confined(b, "out_link/new")
    assert not (tmp_path / "out" / "new").exists()
    assert os.path.isdir(makedirs_confined(b, "in/new/deeper"))


def test_names_the_plan_passes_without_the_full_check_pass_it():
    """``plan._PLAIN`` lets plain ASCII names skip ``clean_relpath``: every name it matches
    must pass the full rules at the top of a tree and below a directory."""
    rng = random.Random(13)
    alphabet = string.printable + "é~%\\:\u2025\uff0e"
    for _ in range(20_000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        if _PLAIN.match(name):
            for rel in (name, f"dir/{name}"):
                assert clean_relpath(rel, allow_empty=False) == rel
    assert not any(_PLAIN.match(bad) for bad in BAD)


def test_a_directory_that_cannot_be_listed_is_not_known_to_be_empty(tmp_path, monkeypatch):
    from jupyter_astro_ops.staging import paths

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    assert paths.is_empty_dir(str(tmp_path / "empty"))
    assert not paths.is_empty_dir(str(tmp_path / "full"))

    def unreadable(path):  # root reads every directory: the refusal is simulated
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(paths.os, "scandir", unreadable)
    assert not paths.is_empty_dir(str(tmp_path / "empty"))
