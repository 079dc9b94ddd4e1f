"""A search's own analysis of its text, two checkouts interleaved in one process: CPU us a
query of ``parse_user_text`` plus ``query_title_key`` (as ``run_query`` calls them), over every
query set, head / base.

Two cases: a first-seen text (the 512-text memo of ``helpapi.query`` cleared before each call;
the per-word memos as the sets leave them: passes.py and passes_ab.py's first round) and a
repeated text (the same text analyzed just before: the Zipf replay of http_overhead.py mostly
sees those). Each side imports its own ``helpapi`` (bench/passes_ab.py's ``_load``).

    .venv/bin/python bench/parse_ab.py --base /work/main [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from passes_ab import QUERIES  # noqa: E402
from passes_ab import ROOT  # noqa: E402
from passes_ab import SETS  # noqa: E402
from passes_ab import _load  # noqa: E402


def _one(query, text: str, locale: str, prefix: bool, clear: bool) -> float:
    if clear:
        query["_cached_words"].cache_clear()
    t = time.process_time()
    query["parse_user_text"](text, locale, prefix=prefix)
    if not prefix:
        query["query_title_key"](text, locale)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", required=True)
    ap.add_argument("--index", default="/tmp/helpapi-regen-index")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    base, head = _load(Path(args.base)), _load(ROOT)
    # The query module's globals, as each side's search module calls it.
    sides = {"base": base.parse_user_text.__globals__, "head": head.parse_user_text.__globals__}
    indexed = base.open_current(Path(args.index)).indexes
    texts = []
    for name in SETS.split(","):
        for line in (QUERIES / f"{name}.jsonl").read_text().splitlines():
            if line.strip():
                q = json.loads(line)
                loc = q["locale"] if q["locale"] in indexed else "en-US"
                texts.append((q["q"], loc, name == "prefix"))
    for r in range(args.rounds):
        for clear in (True, False):
            spent = {"base": 0.0, "head": 0.0}
            for i, (text, loc, prefix) in enumerate(texts):
                order = ["base", "head"] if (i + r) % 2 == 0 else ["head", "base"]
                for side in order:
                    if not clear:
                        _one(sides[side], text, loc, prefix, False)  # seen just before
                    spent[side] += _one(sides[side], text, loc, prefix, clear)
            a, b = (spent[s] / len(texts) * 1e6 for s in ("base", "head"))
            case = "first-seen" if clear else "repeated"
            print(f"round {r} {case:10}: base {a:6.1f} us  head {b:6.1f} us  head/base {b / a:.2f}")


if __name__ == "__main__":
    main()
