"""Worker memory stays flat as locales are added (issue #16 item 1, issue #14 item 5).

A locale nobody queries costs a worker nothing: opening a generation maps no postings file and
keeps no per-locale catalog copy; the first search in a locale opens that locale only. Whoosh's
segment files are read through the page cache, never copied whole into the worker's heap.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from helpapi import generations
from helpapi import search as hs
from helpapi.search import open_current

from .conftest import copy_index


def _mapped_postings(generation: Path) -> set[str]:
    """Locales of ``generation`` whose ``postings.bin`` this process has mapped."""
    prefix = str(generation) + "/"
    found = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split(None, 5)[-1] if len(line.split(None, 5)) == 6 else ""
        if path.startswith(prefix) and path.endswith("/postings.bin"):
            found.add(path[len(prefix) :].split("/")[0])
    return found


@pytest.fixture
def own_index(corpus_index, tmp_path) -> Path:
    """A private copy of the session index: other tests' open generations map the shared one."""
    return copy_index(corpus_index, tmp_path / "ix")


def test_opening_a_generation_maps_no_locale(own_index):
    with open_current(own_index) as ix:
        gc.collect()
        assert len(ix.locales) > 2
        assert _mapped_postings(ix.path) == set()
        # Every locale is known (negotiation and fallback need the list) without opening it.
        assert "de-DE" in ix.indexes and "de-DE" in ix.mem


def test_a_search_opens_only_its_own_locale(own_index):
    with open_current(own_index) as ix:
        found = hs.search(ix, "Outlook", "de-DE")
        assert found["locale"] == "de-DE" and found["total"] > 0
        gc.collect()
        assert _mapped_postings(ix.path) == {"de-DE"}
        assert ix.health() == {}


def test_closing_unmaps_what_was_opened(own_index):
    ix = open_current(own_index)
    hs.search(ix, "Outlook", "fr-FR")
    path = ix.path
    ix.close()
    gc.collect()
    assert _mapped_postings(path) == set()


def test_whoosh_segments_are_not_copied_into_the_heap(corpus_index):
    # Whoosh's mmap mode wraps each part of a segment in a BytesIO copy: the whole .seg file
    # in every worker's private memory, for every locale it searched.
    name = generations.current_generation(corpus_index)
    seg = sum(p.stat().st_size for p in (corpus_index / name / "de-DE").glob("*.seg"))
    with open_current(corpus_index) as ix:
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            hs.search(ix, "Outlook", "de-DE")
            ix.searcher("de-DE").document(slug="x")
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < seg / 4, (grown, seg)


def test_the_catalog_is_not_kept_twice(corpus_index):
    # meta.json's catalogs and manifests are read once to build the lookup maps; the parsed
    # copy is not kept (the admin coverage route reads the file again when asked).
    name = generations.current_generation(corpus_index)
    size = (corpus_index / name / generations.META).stat().st_size
    tracemalloc.start()
    try:
        ix = open_current(corpus_index)
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert held < 2 * size, (held, size)
        assert "catalog" in ix.meta["locales"]["de-DE"]  # still there for who asks
    finally:
        ix.close()
