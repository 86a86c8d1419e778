"""Unit tests of path confinement (``staging.paths``)."""

from __future__ import annotations

import os

import pytest

from jupyter_astro_ops.core.errors import Forbidden, ValidationError
from jupyter_astro_ops.staging.paths import clean_relpath, confine_local, makedirs_confined

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
