"""The Whoosh segment writer without a system call per term (stop 18, build write side).

:class:`helpapi.whoosh_writer._BlockWriter` counts where its next write lands in the posting
file and in the term index instead of asking the files (a buffered file's ``tell()`` is an
``lseek``), and checks the count against the files at each field's end. The term index's hash
tables are written a bucket at a time (:func:`helpapi.whoosh_writer._write_hashes`), the same
bytes as Whoosh's ``HashWriter._write_hashes``.
"""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import HashWriter
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.filedb.filetables import OrderedHashWriter

from helpapi import memindex
from helpapi import whoosh_writer
from helpapi.schema import make_schema

from .test_build_fast import _corpus_docs
from .test_build_fast import _direct
from .test_build_write_fast import _blocks


def _hash_file(folder, keys, fast: bool) -> bytes:
    """The bytes of an ordered hash file of ``keys`` (values derived from them), its hash
    tables written by Whoosh's method or by ``_write_hashes``."""
    store = FileStorage(str(folder))
    name = f"{'fast' if fast else 'whoosh'}.hsh"
    writer = OrderedHashWriter(store.create_file(name))
    for key in keys:
        writer.add(key, key[::-1] + b"!")
    if fast:
        writer._write_hashes = lambda: whoosh_writer._write_hashes(writer)
    writer.close()
    return (folder / name).read_bytes()


@pytest.mark.parametrize("count", [0, 1, 7, 3000])
def test_hash_tables_are_whooshs_bytes(tmp_path, count):
    """Empty buckets, single entries and (with 3,000 keys over 256 buckets) collisions that
    probe past their slot: the same file as Whoosh's writer makes, readable by its reader."""
    keys = sorted(f"term-{i:05d}-{'x' * (i % 5)}".encode() for i in range(count))
    fast = _hash_file(tmp_path, keys, fast=True)
    assert fast == _hash_file(tmp_path, keys, fast=False)
    reader = OrderedHashReader.open(FileStorage(str(tmp_path)), "fast.hsh")
    try:
        for key in keys[:50] + keys[-50:]:
            assert reader[key] == key[::-1] + b"!"
    finally:
        reader.close()


def test_the_segment_uses_the_bucket_writer_and_reads_back(tmp_path, monkeypatch):
    """A build's term index goes through ``_write_hashes``, and every term's blocks are
    where its term info says (the counted offsets and lengths are the files')."""
    calls = []
    real = whoosh_writer._write_hashes

    def counted(tindex):
        calls.append(len(tindex.buckets))
        real(tindex)

    monkeypatch.setattr(whoosh_writer, "_write_hashes", counted)
    ix = _direct(tmp_path / "ix", _corpus_docs("de-DE", limit=12))
    assert calls == [256]
    blocks = _blocks(ix)  # reads each term's extent to its last block, exactly
    assert blocks
    with ix.reader() as reader:
        assert reader.doc_count_all() == 12
        assert list(reader.lexicon("slug"))


def test_a_write_behind_the_block_writer_fails_the_build(tmp_path, monkeypatch):
    """A posting file written by anything but the block writer mid-field (its counted
    offsets would be wrong) fails the commit instead of writing wrong term infos."""
    real = whoosh_writer._BlockWriter.recorded
    done = []

    def meddling(self, tbytes, entries, lengths, positional):
        if not done:
            done.append(tbytes)
            self._post_raw.write(b"?")  # behind the writer's back
        return real(self, tbytes, entries, lengths, positional)

    monkeypatch.setattr(whoosh_writer._BlockWriter, "recorded", meddling)
    ix = whoosh_index.create_in(tmp_path, make_schema())
    recorder = memindex.Recorder()
    writer = whoosh_writer.DirectWriter(ix, recorder)
    for doc, analyzed in _corpus_docs("de-DE", limit=3):
        recorder.add_document(doc, analyzed)
        writer.add_analyzed(doc, analyzed)
    try:
        with pytest.raises(RuntimeError, match="behind the block writer"):
            writer.commit()
    finally:  # the failed commit's open files (a build that fails this way just ends)
        fw = writer.fieldwriter
        fw._postfile.close()
        fw._tindex.dbfile.close()
        writer.writelock.release()
    assert done


def test_whooshs_own_hash_writer_is_unchanged_elsewhere(tmp_path):
    """Only the segment's term index gets the bucket writer (an instance attribute): other
    hash files keep Whoosh's method."""
    assert HashWriter._write_hashes is not whoosh_writer._write_hashes
    _direct(tmp_path / "ix", _corpus_docs("de-DE", limit=2))
    assert "_write_hashes" not in vars(OrderedHashWriter)
