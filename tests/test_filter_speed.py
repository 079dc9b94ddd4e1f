"""Filtered search work (issue 18, item 6): the filter's derived forms are made once per
filter, phrase pairs are checked from a table when probes are many, and the title boosts of a
relaxed page probe the matches instead of reading a common title word's postings. Work is
counted (probes, reads), never timed; answers are compared with the reference computations."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import facets
from helpapi.query import parse_user_text
from helpapi.query import relaxed_units
from helpapi.search import open_current
from helpapi.search import search

from .conftest import build_files
from .test_facets import md

# Runs whose bigrams repeat in some articles and not in others, so phrase pairs meet single
# and repeated positions on either side.
JA_BODIES = [
    "共有メールボックスの設定を変更します。",
    "共有メールボックスの設定。共有メールボックスの権限。メールボックスの移行。",
    "外部ユーザーとの共同作業を構成します。外部共有の設定。",
    "メールの転送と共有。メールボックスの設定と外部ユーザー。",
]


def _articles() -> dict:
    out: dict[str, dict[str, str]] = {"ja-JP": {}, "en-US": {}}
    for i in range(60):
        audience = ["Admin", "End User", "ITPro"][i % 3]
        body = JA_BODIES[i % len(JA_BODIES)] * (1 + i % 2)
        out["ja-JP"][f"ja-{i:02d}"] = md(f"メールボックス {i}", body, audience=audience)
        words = "shared mailbox settings" if i % 2 else "mailbox permissions and settings"
        out["en-US"][f"en-{i:02d}"] = md(
            f"Mailbox settings {i}", f"Configure the {words} for users.", audience=audience
        )
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_files(tmp_path_factory, "filter-speed", _articles())[1]


ADMIN = facets.Scope(filters=(("audience", ("admin",)),))
ITPRO = facets.Scope(filters=(("audience", ("itpro",)),))


def _reference_pair(a, b, allowed) -> dict:
    """Documents with ``b`` right after ``a`` by :func:`engine.near`, score a + b."""
    field = a.field
    out = {}
    for k in range(a.start, a.end):
        d = field.docs[k]
        j = b.find(d)
        if j < 0 or (allowed is not None and d not in allowed):
            continue
        if engine.near([field.positions_at(k), field.positions_at(j)], 1, True):
            out[d] = field.scores[k] + field.scores[j]
    return out


def test_phrase_pairs_match_the_span_rule_on_both_probe_paths(index, monkeypatch):
    with open_current(index) as ixset:
        grams = ixset.mem["ja-JP"].fields["grams"]
        allowed_sets = [None, frozenset(range(0, 60, 3)), frozenset({0}), frozenset()]
        pairs = [
            ("共有", "有メ"),
            ("メー", "ール"),
            ("ボッ", "ック"),
            ("の設", "設定"),
            ("外部", "部ユ"),
        ]
        for dense in (1, 10**9):  # 1: always bisect; 10**9: always the table
            monkeypatch.setattr(engine, "DENSE_PROBES", dense)
            for x, y in pairs:
                a, b = engine._term(grams, x), engine._term(grams, y)
                assert a is not None and b is not None
                for allowed in allowed_sets:
                    want = _reference_pair(a, b, allowed)
                    assert engine._pair_docs(a, b, allowed) == want
                    assert engine._pair_docs(b, a, allowed) == _reference_pair(b, a, allowed)
            assert engine._pair_docs(a, b, None)  # the pairs do occur


def test_a_pair_with_many_probes_looks_them_up_in_a_table_not_by_search(index, monkeypatch):
    calls = [0]
    original = engine._Term.find

    def counting(self, doc):
        calls[0] += 1
        return original(self, doc)

    monkeypatch.setattr(engine._Term, "find", counting)
    with open_current(index) as ixset:
        grams = ixset.mem["ja-JP"].fields["grams"]
        a, b = engine._term(grams, "メー"), engine._term(grams, "ール")
        assert len(a) >= 30 and len(b) >= 30
        engine._pair_docs(a, b)
        assert calls[0] == 0
        # Few probes into a long list: a binary search each, no table of the long list.
        monkeypatch.setattr(engine, "DENSE_PROBES", 10**6)
        engine._pair_docs(a, b, frozenset({0, 1}))
        assert calls[0] <= 2


def test_a_filter_is_walked_before_any_pair_is_checked(index, monkeypatch):
    walked = []
    original = engine._walk

    def recording(term, allowed):
        out = original(term, allowed)
        walked.append(len(out))
        return out

    monkeypatch.setattr(engine, "_walk", recording)
    with open_current(index) as ixset:
        mem = ixset.mem["ja-JP"]
        units = relaxed_units(
            parse_user_text("共有メールボックスの権限", "ja-JP"), engine.Frequencies(mem)
        )
        engine.relaxed(mem, units)
        whole = sum(walked)
        walked.clear()
        engine.relaxed(mem, units, frozenset({3}))
        assert whole > 100 and sum(walked) * 10 <= whole, (whole, sum(walked))


def test_the_filter_set_forms_are_made_once_per_filter(index, monkeypatch):
    with open_current(index) as ixset:
        data = ixset.facets["ja-JP"]
        allowed = data.allowed(ITPRO.filters)
        assert isinstance(allowed, facets.Allowed) and allowed == data.allowed(ITPRO.filters)
        assert allowed.ordered == sorted(allowed)
        assert allowed.zeros == dict.fromkeys(allowed, 0.0)
        ordered, zeros = allowed.ordered, allowed.zeros

        def never(*args, **kwargs):
            raise AssertionError("the filter's forms are kept with it")

        monkeypatch.setattr(facets, "sorted", never, raising=False)
        monkeypatch.setattr(engine, "sorted", never, raising=False)
        clause = engine._Allowed(data.allowed(ITPRO.filters))
        assert [d for d, _ in clause.items()] == ordered
        probe = clause.prober(5)
        assert probe == zeros.get
        assert {probe(d) for d in range(60)} == {0.0, None}
        # A plain set still works (tests and callers outside helpapi.facets).
        plain = engine._Allowed(frozenset({5, 2}))
        assert plain.prober(1)(2) == 0.0 and plain.prober(1)(3) is None


@pytest.mark.parametrize(
    ("locale", "text", "prefix"),
    [
        ("ja-JP", "共有メールボックスの権限 移行", False),
        ("en-US", "mailbox permissions users", False),
        ("en-US", "configure sett", True),
    ],
)
def test_filtered_answers_equal_the_whole_locale_answers_filtered(index, locale, text, prefix):
    with open_current(index) as ixset:
        mem = ixset.mem[locale]
        parsed = parse_user_text(text, locale, prefix=prefix)
        units = relaxed_units(parsed, engine.Frequencies(mem))
        whole = engine.relaxed(mem, units)
        data = ixset.facets[locale]
        for scope in (ADMIN, ITPRO):
            allowed = data.allowed(scope.filters)
            want = [x for x in whole if x[0] in allowed]
            assert engine.relaxed(mem, units, allowed) == want
            assert engine.relaxed(mem, units, frozenset(allowed)) == want
        assert search(ixset, text, locale, prefix=prefix, scope=ITPRO)["total"] >= 1


def test_title_boosts_probe_the_matches_when_the_clause_is_longer(index, monkeypatch):
    reads = [0]
    original = engine._Term.items

    def counting(self):
        reads[0] += len(self)
        return original(self)

    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        title = mem.fields["title"]
        clause = engine._Term(title, title.term_id("mailbox"), 3.0)
        found = {d: 1.0 for d in range(0, 60, 7)}
        want = dict(found)
        for d, s in original(clause):
            if d in want:
                want[d] += s
        monkeypatch.setattr(engine._Term, "items", counting)
        engine._add_boosts(found, [clause])
        assert found == want and len(clause) == 60
        assert reads[0] == 0
        # A clause shorter than the matches is read whole, as before.
        few = {d: 1.0 for d in range(60)}
        engine._add_boosts(few, [clause])
        assert reads[0] == 60


def test_matches_are_ranked_by_score_then_document_number():
    found = {7: 1.5, 3: 2.0, 9: 1.5, 1: 0.25, 4: 2.0, 8: 1.5}
    want = sorted(found.items(), key=lambda x: (-x[1], x[0]))
    assert (
        engine._ranked(found)
        == want
        == [(3, 2.0), (4, 2.0), (7, 1.5), (8, 1.5), (9, 1.5), (1, 0.25)]
    )
    assert engine._ranked({}) == []
