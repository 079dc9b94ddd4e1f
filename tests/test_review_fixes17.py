"""Review findings on this stop's engine and build changes, each pinned by a test that failed
before its fix."""

import random

from helpapi import engine


def test_run_reads_memo_is_bounded_by_bigrams_held(ixset):
    # A stream of distinct 256-character CJK queries: each run is 255 bigrams. The memo was
    # bounded at 1,024 runs (about 30 MB a locale a worker); it is bounded in bigrams now.
    grams_field = ixset.mem["ja-JP"].fields["grams"]
    rng = random.Random(7)
    letters = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    for _ in range(300):
        run = "".join(rng.choice(letters) for _ in range(256))
        grams = tuple(run[i : i + 2] for i in range(len(run) - 1))
        first = engine.run_reads(grams_field, grams)
        assert engine.run_reads(grams_field, grams) == first
    held = sum(len(k) for k in grams_field.run_reads_memo)
    assert held <= engine.RUN_READS_MEMO_GRAMS


def test_title_tables_keep_no_view_of_a_closed_index(ixset):
    # The tables are kept per index object: they must not hold its fields (memoryviews of
    # its mapping), or a closed generation's mapping lives on with them.
    from helpapi.memindex import FieldPostings

    mem = ixset.mem["de-DE"]
    table = engine.title_keys(mem)
    assert not any(isinstance(x, FieldPostings) for part in table for x in part)


def _straddling_run(mem):
    # A document and a four-letter kana/ideograph run made of the end of one word of its
    # title key and the start of the next: in the key's letters, but its middle bigram is not
    # one of the title's bigrams (they never cross a space or a punctuation mark).
    from helpapi.query import parse_user_text

    names, offsets, which, tids = engine.title_keys(mem)
    grams = mem.fields["title_grams"]
    for d in range(mem.doc_count):
        for at in range(offsets[d], offsets[d + 1]):
            words = mem.fields[names[which[at]]].term(tids[at]).split(" ")
            for a, b in zip(words, words[1:], strict=False):
                run = a[-2:] + b[:2]
                if len(run) < 4 or not all("\u3040" <= c <= "\u9fff" for c in run):
                    continue
                tid = grams.term_id(a[-1] + b[0])
                if tid >= 0 and d in set(grams.docs[slice(*grams.span(tid))]):
                    continue
                units = parse_user_text(run, "ja-JP")
                if len(units) == 1 and units[0].kind == "run":
                    return d, units
    return None


def test_title_cover_of_a_run_does_not_depend_on_the_candidate_count(ixset):
    # Over 16 candidates were first narrowed by the run's rarest title bigram, which the
    # letters test of 16 or fewer does not need: one document, two answers (review).
    mem = ixset.mem["ja-JP"]
    found = _straddling_run(mem)
    assert found is not None
    d, units = found
    alone = engine.title_cover(mem, units, [d])
    assert alone.get(d)
    others = [x for x in range(mem.doc_count) if x != d][: engine.TITLE_HOLDERS_FROM + 4]
    assert engine.title_cover(mem, units, [d, *others]).get(d) == alone[d]


def test_a_rebuilt_english_index_is_verified_for_reuse(make_corpus, tmp_path):
    # The plan verifies the locales it rebuilds (their serving files may be reused); en-US
    # was verified only when nothing changed, so a rebuilt en-US never reused its files.
    from helpapi import incremental
    from helpapi.indexer import build_indexes
    from helpapi.schema import ENGLISH

    from .conftest import md_article

    corpus = make_corpus(
        {
            "en-US": {"reset": md_article("Reset a password", "Open the settings.")},
            "de-DE": {"reset": md_article("Kennwort zurücksetzen", "Einstellungen öffnen.")},
        }
    )
    index = tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    (corpus / "en-US" / "reset.md").write_text(
        md_article("Reset a password", "Open the account settings."), "utf-8"
    )
    plan = incremental.plan_changes(corpus, index)
    assert ENGLISH in plan.locales
    assert ENGLISH in plan.checked
    assert ENGLISH not in plan.damaged


def test_a_pool_with_a_process_per_job_estimates_no_costs(make_corpus, tmp_path, monkeypatch):
    # Two jobs on two processes start at once: ordering them by cost listed and sized every
    # locale en-US reads, for nothing (review).
    from helpapi import indexer

    from .conftest import md_article

    def refuse(args):
        raise AssertionError("costs estimated")

    monkeypatch.setattr(indexer, "_pool_costs", refuse)
    corpus = make_corpus({"de-DE": {"reset": md_article("Kennwort", "Einstellungen öffnen.")}})
    report = indexer.build_indexes(corpus, tmp_path / "index", jobs=2)
    assert sorted(report.locales) == ["de-DE", "en-US"]
