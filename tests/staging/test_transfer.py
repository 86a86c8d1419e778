"""Unit tests of the verified per-file transfer (``staging.transfer``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_astro_ops.staging import transfer
from jupyter_astro_ops.staging.transfer import Cancelled, Transfer, hash_local


def make(tmp_path: Path, **kw) -> Transfer:
    sent: list[int] = []
    t = Transfer(chunk_size=kw.pop("chunk", 1 << 20), fsync=False, read_only=False, tag="t",
                 check=kw.pop("check", lambda: None), on_bytes=sent.append,
                 unnamed=kw.pop("unnamed", True))
    t.sent = sent  # type: ignore[attr-defined]
    return t


@pytest.mark.parametrize("size", [0, 1, 4096, (1 << 20) + 3, 40 << 20])
@pytest.mark.parametrize("unnamed", [True, False])
def test_copy_local_is_exact(tmp_path, size, unnamed):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    out = tmp_path / "out"
    out.mkdir()
    t = make(tmp_path, unnamed=unnamed)
    res = t.copy_local(str(src), str(out), "dst.bin", size)
    assert res.state == "done" and res.size == size
    assert (out / "dst.bin").read_bytes() == src.read_bytes()
    assert sum(t.sent) == size  # type: ignore[attr-defined]
    assert hash_local(str(out / "dst.bin"), 1 << 20) == (size, res.checksum)
    assert os.listdir(out) == ["dst.bin"]
    assert t.copy_local(str(src), str(out), "dst.bin", size).state == "skipped"


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_cancel_mid_file_leaves_nothing(tmp_path, unnamed):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))
    out = tmp_path / "out"
    out.mkdir()
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        make(tmp_path, chunk=256 << 10, check=check, unnamed=unnamed).copy_local(
            str(src), str(out), "dst.bin", 3 << 20)
    assert os.listdir(out) == []


def test_stream_copy_from_a_file_object(tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "s").write_bytes(data)
    res = make(tmp_path).copy_stream(lambda: (tmp_path / "s").open("rb"), str(tmp_path),
                                     "d", len(data))
    assert res.state == "done" and (tmp_path / "d").read_bytes() == data


@pytest.mark.parametrize("size", [4096, (1 << 20) + 3, 40 << 20],
                         ids=["one-read", "streamed", "kernel-copy"])
def test_a_copy_that_differs_from_its_source_is_refused(tmp_path, size, monkeypatch):
    """The re-read catches a write that went wrong on every path (one read, streamed, the
    kernel's copy with its two hashing threads): nothing appears at the target."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(size))
    out = tmp_path / "out"
    out.mkdir()
    real_write, real_copy = os.write, os.copy_file_range

    def bad_write(fd: int, data: Any) -> int:
        data = bytes(data)
        return real_write(fd, bytes([data[0] ^ 1]) + data[1:]) if data else 0

    def bad_copy(src_fd: int, dst_fd: int, count: int, offset_src: int, offset_dst: int) -> int:
        n = real_copy(src_fd, dst_fd, count, offset_src, offset_dst)
        os.pwrite(dst_fd, b"\x00" if os.pread(src_fd, 1, offset_src) != b"\x00" else b"\x01",
                  offset_dst)  # one byte of every slice differs from the source
        return n

    monkeypatch.setattr(transfer.os, "write", bad_write)
    monkeypatch.setattr(transfer.os, "copy_file_range", bad_copy)
    with pytest.raises(transfer.IntegrityError, match="does not match"):
        make(tmp_path).copy_local(str(src), str(out), "dst.bin", size)
    assert os.listdir(out) == []
