"""Set each ranking constant to a neutral value and report which golden test fails.

Usage: ``python bench/ranking_mutations.py [NAME ...]`` (default: every mutation below).

Each mutation runs ``tests/test_ranking_golden.py`` (and the single-word, body-fragment,
title-coverage, keyword, no-space body-run, mixed-fragment, verbatim and cover-scale golden
files) in a fresh interpreter with one value of :mod:`helpapi.ranking` changed (nothing is
written; the constant is restored by the process ending). A constant whose mutation leaves
every golden test green is not guarded: the script says so and exits 1. Prints a Markdown
table for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# constant -> neutral value (a boost: its clause scores nothing extra or no more than a plain
# match; a depth or bound: 1 or 0; a correction setting: no correction).
MUTATIONS = {
    "TITLE_BOOST": 1.0,
    "TITLE_STEMS": False,
    "TITLE_STEM_MAX_WORDS": 0,
    "TITLE_STEM_MIN_PREFIX": 100,
    "TITLE_STEM_SCAN": 0,
    "SAME_TITLE_BOOST": 1.0,
    "RUN_TITLE_BOOST": 0.0,
    "RUN_TITLE_PARTIAL": True,
    "EXACT_BOOST": 0.0,
    "EXACT_BOOST_PER_WORD": 0.0,
    "PROXIMITY_BOOST": 0.0,
    "PROXIMITY_BOOST_PER_RUN": 0.0,
    "PHRASE_MAX_EXTRA": 100,
    "RERANK_DEPTH": 1,
    "PROXIMITY_SLOP_EXTRA": 0,
    "EXACT_SLOP": 0,
    "RUN_PROXIMITY_SLOP": 0,
    "MAX_PREFIX_EXPANSION": 1,
    "PREFIX_EXACT_DOCS": 0,
    "MAX_UNITS": 1,
    "MAX_RUN_CHARS": 1,
    "MAX_CORRECTIONS": 0,
    "MIN_CORRECTABLE": 100,
    "MAX_CORRECTED_CHARS": 0,
    "CORRECTION_EDITS": 0,
    "CORRECTION_EDITS_LONG": 1,
    "CORRECTION_LONG_WORD": 100,
    "RELAXED_SCALE": 0.0,
    "RELAXED_MAX_UNITS": 1,
    "RELAXED_MAX_VOLUME": 0.0,
    "PROXIMITY_MAX_POSITIONS": 0,
    "PROXIMITY_MAX_LOOKUPS": 0,
    "PHRASE_MAX_POSITIONS": 0,
    "RELAXED_TYPO_MIN_CHARS": 100,
    "RELAXED_TYPO_EDITS": 0,
    "TITLE_COVER_BOOST": 0.0,
    "TITLE_COVER_RELATIVE": 0.0,
    "TITLE_COVER_POWER": 0.0,
    "TITLE_COVER_FIELDS": (),
    "BODY_PHRASE_BOOST": 0.0,
    "TITLE_HOLDER_IN_ORDER": True,
    "TITLE_COVER_REPEATS": False,
    "RUN_BODY_BOOST": 0.0,
    "RUN_BODY_SPACED": False,
    "RUN_BODY_REPEATS": False,
    "FRAGMENT_BODY_BOOST": 0.0,
    "FRAGMENT_RUNS_GATE": False,
    "VERBATIM_GATE": False,
    "VERBATIM_SPACES": False,
    "VERBATIM_LITERAL": False,
    "VERBATIM_MAX_BYTES": 0,
    "VERBATIM_PAGE_BYTES": 0,
}
# The finding: every boost at 0.01 and no re-ranking left the whole suite green.
ALL_BOOSTS = {
    "TITLE_BOOST": 0.01,
    "SAME_TITLE_BOOST": 0.01,
    "RUN_TITLE_BOOST": 0.01,
    "EXACT_BOOST": 0.01,
    "PROXIMITY_BOOST": 0.01,
    "RERANK_DEPTH": 1,
}

GOLDEN = "tests/test_ranking_golden.py"
SINGLE_WORD = "tests/test_ranking_single_word.py"
BODY = "tests/test_body_quality.py"
COVER = "tests/test_ranking_golden2.py"
KEYWORDS = "tests/test_kw18.py"
BODY_RUNS = "tests/test_body18.py"
SPACED_RUNS = "tests/test_body19.py"
FRAGMENTS = "tests/test_fragment19.py"
VERBATIM = "tests/test_verbatim20.py"
LITERAL = "tests/test_verbatim21.py"
COVER_SCALE = "tests/test_kw22.py"
# The bundled-corpus case needs the big index: left out here (SINGLE_WORD covers it).
DESELECT = GOLDEN + "::test_single_word_password_on_bundled_corpus"


def run(values: dict) -> list[str]:
    """Names of the golden tests that fail with ``values`` set in helpapi.ranking."""
    setup = "".join(f"ranking.{k} = {v!r}\n" for k, v in values.items())
    code = (
        "import sys, pytest\nfrom helpapi import ranking\n"
        + setup
        + "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-rf', "
        f"{GOLDEN!r}, {SINGLE_WORD!r}, {BODY!r}, {COVER!r}, {KEYWORDS!r}, {BODY_RUNS!r}, "
        f"{SPACED_RUNS!r}, {FRAGMENTS!r}, {VERBATIM!r}, {LITERAL!r}, {COVER_SCALE!r}, "
        f"'--deselect', {DESELECT!r}]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    return sorted(set(re.findall(r"^FAILED \S+::(\w+)", out, re.M)))


def main(names: list[str]) -> int:
    """Run the mutations named (all by default); 1 when one fails no golden test."""
    if any(n in ("-h", "--help") for n in names):
        print(__doc__)
        return 0
    unknown = [n for n in names if n not in MUTATIONS]
    if unknown:
        print(f"unknown constant(s) {', '.join(unknown)}; known: {', '.join(MUTATIONS)}")
        return 2
    unguarded = 0
    print("| constant | value | neutral value | golden tests that fail |")
    print("|---|---|---|---|")
    from helpapi import ranking

    for name in names or list(MUTATIONS):
        failed = run({name: MUTATIONS[name]})
        unguarded += not failed
        shown = ", ".join(f"`{f}`" for f in failed) or "**none: not guarded**"
        print(f"| `{name}` | {getattr(ranking, name)} | {MUTATIONS[name]} | {shown} |")
    if not names:
        failed = run(ALL_BOOSTS)
        unguarded += not failed
        shown = ", ".join(f"`{f}`" for f in failed) or "**none: not guarded**"
        print(f"| every boost 0.01, `RERANK_DEPTH` 1 | | | {shown} |")
    return 1 if unguarded else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
