"""Filtered passes read no positions they can do without (issue 18, item 6): a strict pass
reads a required phrase's positions only in documents that hold every required term (each
phrase's rarest words, the plain words) and pass the filter; a relaxed pass's pair of bigrams
whose first positions are adjacent is a match without reading either list. Work is counted
(positions read), never timed; answers are compared with the reference computations."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import memindex
from helpapi.query import parse_user_text
from helpapi.search import open_current

from .conftest import index_markdown
from .test_facets import md
from .test_filter_speed import _reference_pair

RUN_A = "共有メールボックスの設定"
RUN_B = "外部ユーザーとの共同作業"


def _articles() -> dict:
    # Admin articles hold run A only, End User ones run B only, one ITPro article both: the
    # query "A B" matches that one article, which filter=audience:Admin removes.
    out: dict[str, dict[str, str]] = {"ja-JP": {}}
    for i in range(12):
        body = f"{RUN_A}を変更します。{RUN_A}。"
        out["ja-JP"][f"a-{i:02d}"] = md(f"記事 {i}", body, audience="Admin")
    for i in range(40):
        out["ja-JP"][f"b-{i:02d}"] = md(f"文書 {i}", f"{RUN_B}を構成します。", audience="End User")
    out["ja-JP"]["both"] = md("両方", f"{RUN_A}と{RUN_B}。", audience="ITPro")
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "filter-fast3", _articles())


def _counting(monkeypatch) -> list[int]:
    reads = [0]
    original = memindex.FieldPostings.positions_at

    def counting(self, posting):
        reads[0] += 1
        return original(self, posting)

    monkeypatch.setattr(memindex.FieldPostings, "positions_at", counting)
    return reads


def test_a_filter_that_removes_the_only_match_reads_no_phrase_positions(index, monkeypatch):
    with open_current(index) as ixset:
        mem = ixset.mem["ja-JP"]
        units = parse_user_text(f"{RUN_A} {RUN_B}", "ja-JP")
        assert sum(u.kind == "run" and len(u.grams) > 2 for u in units) == 2
        whole = engine.strict(mem, units)
        assert len(whole) == 1
        data = ixset.facets["ja-JP"]
        admin = data.allowed((("audience", ("admin",)),))
        itpro = data.allowed((("audience", ("itpro",)),))
        assert len(admin) == 12
        reads = _counting(monkeypatch)
        # Every Admin article holds run A, none run B: no document is worth a position read.
        assert engine.strict(mem, units, allowed=admin) == []
        assert reads[0] == 0
        assert engine.strict(mem, units, allowed=itpro) == whole
        # The one candidate's positions only: one list per bigram of each run at most.
        assert reads[0] <= sum(len(u.grams) for u in units if u.kind == "run")


def test_candidates_keep_the_answers_of_the_whole_pass(index):
    with open_current(index) as ixset:
        mem = ixset.mem["ja-JP"]
        data = ixset.facets["ja-JP"]
        for text in (RUN_A, RUN_B, f"{RUN_A} {RUN_B}", f"{RUN_B} 記事", "共有メールボックス 変更"):
            units = parse_user_text(text, "ja-JP")
            whole = engine.strict(mem, units)
            for value in ("admin", "itpro", "end user"):
                allowed = data.allowed((("audience", (value,)),))
                want = [x for x in whole if x[0] in allowed]
                got = engine.strict(mem, units, allowed=allowed)
                assert [d for d, _ in got] == [d for d, _ in want], (text, value)


class _CountingPositions:
    """A positions view that counts the lists (slices) read from it."""

    def __init__(self, positions):
        self.positions, self.lists = positions, 0

    def __getitem__(self, key):
        if isinstance(key, slice):
            self.lists += 1
        return self.positions[key]


def test_a_pair_whose_first_positions_are_adjacent_reads_no_position_list(index):
    with open_current(index) as ixset:
        mem = ixset.mem["ja-JP"]
        grams = mem.fields["grams"]
        admin = ixset.facets["ja-JP"].allowed((("audience", ("admin",)),))
        pairs = [
            ("共有", "有メ"),
            ("ボッ", "ック"),
            ("の設", "設定"),
            ("外部", "部ユ"),
            ("共有", "ック"),
        ]
        want = {}
        for x, y in pairs:
            a, b = engine._term(grams, x), engine._term(grams, y)
            for allowed in (admin, None):
                want[x, y, allowed is None] = _reference_pair(a, b, allowed)
        counting = _CountingPositions(grams.positions)
        grams.positions = counting
        try:
            # Every Admin article holds run A twice: each pair of its neighbouring bigrams
            # twice, from their first positions on. No list of them needs reading.
            for x, y in pairs[:3]:
                a, b = engine._term(grams, x), engine._term(grams, y)
                assert engine._pair_docs(a, b, admin) == want[x, y, False]
                assert len(want[x, y, False]) == 12
                assert engine._tabled_pair_docs(a, b, admin, {}) == want[x, y, False]
            assert counting.lists == 0
            for x, y in pairs:
                a, b = engine._term(grams, x), engine._term(grams, y)
                for allowed in (admin, None):
                    got = engine._pair_docs(a, b, allowed)
                    assert got == want[x, y, allowed is None], (x, y)
                    assert engine._tabled_pair_docs(a, b, allowed, {}) == got
        finally:
            grams.positions = counting.positions
