"""index pack / unpack: a generation shipped as one verified archive (issue #16, item 3)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpapi import generations
from helpapi.cli import main
from helpapi.pack import MANIFEST
from helpapi.pack import UnpackError
from helpapi.pack import pack_generation
from helpapi.pack import unpack_generation
from helpapi.search import open_current
from helpapi.search import search


@pytest.fixture(scope="module")
def archive(tmp_path_factory, corpus_index) -> Path:
    """The session corpus index packed once for this module (read-only)."""
    out = tmp_path_factory.mktemp("pack") / "index.tar.gz"
    report = pack_generation(corpus_index, out)
    assert report.generation == generations.current_generation(corpus_index)
    return out


@pytest.fixture
def target(tmp_path, corpus_index) -> Path:
    """An index folder already serving a generation (the one unpacks must not disturb)."""
    index_dir = tmp_path / "replica"
    index_dir.mkdir()
    name = "g20200101-000000-000000-abcd"
    (index_dir / name).mkdir()
    generations.write_meta(index_dir / name, {"locales": {}})
    generations.switch_to(index_dir, name)
    return index_dir


def _state(index_dir: Path):
    """Everything an unpack could change: CURRENT and the folder's entries."""
    return (index_dir / "CURRENT").read_text(), sorted(p.name for p in index_dir.iterdir())


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:gz") as tf:
        return [(m, tf.extractfile(m).read() if m.isreg() else b"") for m in tf.getmembers()]


def _write(path: Path, members) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _with_manifest(members, change):
    """The members with the manifest rewritten by ``change(manifest)``."""
    (info, data), rest = members[0], members[1:]
    manifest = json.loads(data)
    change(manifest)
    return [(info, json.dumps(manifest).encode()), *rest]


def _refused(archive_path, target, match, **limits):
    before = _state(target)
    with pytest.raises(UnpackError, match=match):
        unpack_generation(archive_path, target, **limits)
    assert _state(target) == before
    assert not list(target.glob(".unpack-*"))


def test_round_trip_search_works_in_the_other_index(archive, target, corpus_index):
    report = unpack_generation(archive, target)
    assert report.generation == generations.current_generation(corpus_index)
    assert generations.current_generation(target) == report.generation
    assert report.previous == "g20200101-000000-000000-abcd"
    with open_current(target) as ixset:
        assert not ixset.damaged
        ans = search(ixset, "パスワード", "ja-JP")
        assert ans["total"] > 0 and not ans["fallback"]
    assert not list(target.glob(".unpack-*"))
    # The same artifact again (a replica restarting its deploy step) is a no-op switch.
    again = unpack_generation(archive, target)
    assert again.already_present and generations.current_generation(target) == report.generation


def test_manifest_is_first_and_lists_every_file(archive, corpus_index):
    members = _members(archive)
    assert members[0][0].name == MANIFEST
    manifest = json.loads(members[0][1])
    assert manifest["generation"] == generations.current_generation(corpus_index)
    assert manifest["helpapi_version"] and manifest["created"].endswith("Z")
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == {m.name for m, _ in members[1:]}
    for info, data in members[1:]:
        assert info.isreg()
        assert listed[info.name]["size"] == len(data)
        assert listed[info.name]["sha256"] == hashlib.sha256(data).hexdigest()


def test_truncated_archive_is_refused(archive, target, tmp_path):
    data = archive.read_bytes()
    for cut in (len(data) // 2, len(data) - 5):
        bad = tmp_path / f"cut{cut}.tar.gz"
        bad.write_bytes(data[:cut])
        _refused(bad, target, "truncated|corrupt|missing")


def test_flipped_byte_is_refused(archive, target, tmp_path):
    # In the compressed stream (gzip CRC / deflate) and in a file's content (sha256).
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x40
    bad = tmp_path / "flipped.tar.gz"
    bad.write_bytes(bytes(data))
    _refused(bad, target, "corrupt|truncated|sha256|CRC")
    members = _members(archive)
    i = next(i for i, (_, content) in enumerate(members[1:], 1) if content)
    info, content = members[i]
    flipped = bytes([content[0] ^ 1]) + content[1:]
    bad2 = _write(tmp_path / "flipped2.tar.gz", [*members[:i], (info, flipped), *members[i + 1 :]])
    _refused(bad2, target, "sha256 differs")


def test_member_not_in_manifest_is_refused(archive, target, tmp_path):
    extra = tarfile.TarInfo("de-DE/extra.bin")
    bad = _write(tmp_path / "extra.tar.gz", [*_members(archive), (extra, b"x")])
    _refused(bad, target, "not listed in the manifest")


def test_path_traversal_is_refused(archive, target, tmp_path):
    evil = tarfile.TarInfo("../evil.txt")
    bad = _write(tmp_path / "evil.tar.gz", [*_members(archive), (evil, b"x")])
    _refused(bad, target, "unsafe path")
    assert not (target.parent / "evil.txt").exists()

    # Listed in the manifest too: refused before anything is written.
    def add(manifest):
        manifest["files"].append({"path": "../evil.txt", "size": 1, "sha256": "0" * 64})

    bad2 = _write(tmp_path / "evil2.tar.gz", _with_manifest(_members(archive), add))
    _refused(bad2, target, r"'\.\.'")
    absolute = _with_manifest(
        _members(archive),
        lambda m: m["files"].append({"path": "/etc/x", "size": 1, "sha256": "0" * 64}),
    )
    _refused(_write(tmp_path / "abs.tar.gz", absolute), target, "absolute path")


def test_symlink_member_is_refused(archive, target, tmp_path):
    members = _members(archive)
    info, _ = members[1]
    link = tarfile.TarInfo(info.name)
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    bad = _write(tmp_path / "link.tar.gz", [members[0], (link, b""), *members[2:]])
    _refused(bad, target, "not a regular file")


@pytest.mark.parametrize("name", ["../g20200101-000000-000000-abcd", "CURRENT", "", "g1"])
def test_manifest_with_a_bad_generation_name_is_refused(archive, target, tmp_path, name):
    members = _with_manifest(_members(archive), lambda m: m.update(generation=name))
    _refused(_write(tmp_path / "name.tar.gz", members), target, "not a generation name")


def test_bounds_and_garbage(archive, target, tmp_path):
    _refused(archive, target, "more than the limit", max_members=3)
    _refused(archive, target, "more than the limit", max_bytes=1000)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(gzip.compress(b"not a tar file at all" * 100))
    _refused(garbage, target, "not a readable|truncated|corrupt|first member")
    plain = tmp_path / "plain.tar.gz"
    plain.write_bytes(b"\x00" * 10)
    _refused(plain, target, "not a readable|corrupt|truncated")


def test_cli_round_trip_and_refusal(archive, target, corpus_index, tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli.tar.gz"
    res = runner.invoke(main, ["index", "pack", "--index", str(corpus_index), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "generation g" in res.output and out.is_file()
    bad = tmp_path / "cut.tar.gz"
    bad.write_bytes(out.read_bytes()[:5000])
    before = _state(target)
    res = runner.invoke(main, ["index", "unpack", str(bad), "--index", str(target)])
    assert res.exit_code == 1
    assert "refused" in res.output and "nothing changed" in res.output
    assert "Traceback" not in res.output and res.exception.__class__ is SystemExit
    assert _state(target) == before
    res = runner.invoke(main, ["index", "unpack", str(out), "--index", str(target)])
    assert res.exit_code == 0, res.output
    assert generations.current_generation(target) == generations.current_generation(corpus_index)


def test_pack_without_index_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(main, ["index", "pack", "--index", str(tmp_path / "none")])
    assert res.exit_code == 1 and "no serving generation" in res.output


def test_pack_to_a_missing_folder_is_a_clear_error(corpus_index, tmp_path):
    out = tmp_path / "no" / "such" / "x.tar.gz"
    res = CliRunner().invoke(
        main, ["index", "pack", "--index", str(corpus_index), "--out", str(out)]
    )
    assert res.exit_code == 1 and "cannot write" in res.output
    assert not list((tmp_path).rglob("*.tmp"))
