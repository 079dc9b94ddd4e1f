"""Title coverage's per-index tables stay small: every worker keeps them for every locale
it has searched (20+ locales on a scale index, issue #16's worker memory target)."""

import sys

from helpapi import engine
from helpapi import ranking


def _deep_size(obj, seen: set) -> int:
    # The bytes the tables hold (containers and what they reference, each object once):
    # deterministic, unlike tracemalloc, which in a long test session also counts a weak
    # dictionary's resize and other fixed costs against a small locale's few documents.
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, (list, tuple, frozenset, set)):
        size += sum(_deep_size(x, seen) for x in obj)
    return size


def _bytes_per_doc(mem) -> float:
    engine._TITLE_KEYS.pop(mem, None)
    engine._TITLE_ENDS.pop(mem, None)
    held = _deep_size(engine.title_keys(mem), set()) + _deep_size(engine.title_ends(mem), set())
    return held / mem.doc_count


def test_title_tables_hold_a_few_bytes_per_document(ixset):
    # Per-document Python objects (a frozenset and a str per title) took about 1,400 bytes a
    # document: 4-5 MB per scale locale, 90 MB in a worker that has searched all 21.
    for locale in ("de-DE", "ja-JP", "en-US"):
        mem = ixset.mem[locale]
        assert _bytes_per_doc(mem) < 48, locale


def _reference(mem) -> list[list]:
    # Each document's (words, letters) per whole-title key, straight from the postings.
    found: list[list] = [[] for _ in range(mem.doc_count)]
    for name in ranking.TITLE_COVER_FIELDS:
        field = mem.fields.get(name)
        if field is None:
            continue
        for tid in range(len(field.post_off) - 1):
            parts = field.term(tid).split(" ")
            for d in field.docs[field.post_off[tid] : field.post_off[tid + 1]]:
                found[d].append((frozenset(parts), "".join(parts)))
    return found


def test_title_keys_read_back_every_title(ixset):
    for locale in ("de-DE", "ja-JP", "en-US"):
        mem = ixset.mem[locale]
        want = _reference(mem)
        assert any(want), locale
        for d in range(mem.doc_count):
            assert list(engine.title_keys_of(mem, d)) == want[d], (locale, d)
