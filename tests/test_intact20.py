"""Stop 20: the SIGBUS guard (``MemIndex.intact`` / ``Display.intact``) reads a mapped file's
size through ``memindex.file_size``: the size ``fstat`` reads, no side effect on the fd (a
retired generation's fd number may already name another file), the same answers when a file
is cut after opening."""

from __future__ import annotations

import os
import shutil

import pytest

from helpapi import display
from helpapi import memindex
from helpapi.memindex import file_size
from helpapi.search import LocaleUnavailable
from helpapi.search import open_current
from helpapi.search import search

from .conftest import APPLE
from .conftest import build_files
from .conftest import serving_generation


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_files(tmp_path_factory, "intact", APPLE)[1]


def test_file_size_is_what_reads(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    with open(path, "rb") as fh:
        fd = os.dup(fh.fileno())
    try:
        for size in (1000, 10, 0, 5000, 64 * 2**20, 3):
            with open(path, "r+b") as fh:
                fh.truncate(size)
            assert file_size(fd) == os.fstat(fd).st_size == size
        path.unlink()  # the open file keeps its size, as fstat says
        assert file_size(fd) == os.fstat(fd).st_size == 3
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        file_size(fd)


@pytest.mark.parametrize("name", [memindex.FILENAME, display.FILENAME])
def test_a_file_cut_after_opening_then_restored(built, tmp_path, name):
    shutil.copytree(built, tmp_path / "ix")
    path = serving_generation(tmp_path / "ix") / "de-DE" / name
    raw = path.read_bytes()
    with open_current(tmp_path / "ix") as ix:
        assert search(ix, "Apfel", "de-DE")["total"] == 1
        with open(path, "r+b") as fh:
            fh.truncate(len(raw) - 1)
        assert name in ix.health()["de-DE"]
        with pytest.raises(LocaleUnavailable):
            search(ix, "Apfel", "de-DE")
        with open(path, "r+b") as fh:
            fh.write(raw)  # its size again: served again
        assert "de-DE" not in ix.health()
        assert search(ix, "Apfel", "de-DE")["total"] == 1
        opened = ix.mem.opened()["de-DE"], ix.display.opened()["de-DE"]
    assert not any(f.intact() for f in opened)  # closed with the index set


def test_file_size_leaves_the_offset_alone(tmp_path):
    """Review fix: an ``lseek`` to the end moved the offset of whatever file the fd number
    names by then (a generation closed under a running request); the check only reads."""
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.read(fd, 3) == b"012"
        assert file_size(fd) == 10
        assert os.read(fd, 3) == b"345"
    finally:
        os.close(fd)
