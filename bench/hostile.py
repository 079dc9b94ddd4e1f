"""Hostile-but-valid searches: the worst CPU time one request can cost.

Every query here passes validation (at most 256 characters) and is generated, not hand-picked:

* ``repeat``: a phrase repeated to the length limit, letter case varied (misses a naive cache);
* ``flood``: the locale's most frequent index words (its stop words) up to the length limit,
  plain and quoted;
* ``script``: 256 characters of one script (Latin, Cyrillic, Greek, Han, kana, Hangul, Thai,
  Arabic, Hebrew, Devanagari), as one run and as space-separated "words";
* ``prefix``: one letter (or kana / Han character) with ``prefix=true``, and floods ending in
  a one-letter prefix;
* ``nonsense``: distinct made-up words (no strict match: spelling correction, relaxed pass);
* ``chain``: a no-space run (64 and 256 characters, alone and with a made-up word) where every
  neighbouring pair is one of the locale's most frequent bigrams: no document holds it, so the
  relaxed pass checks each pair of neighbouring bigrams (locales with bigrams only).

Each query is sent through the Flask test client (the whole request path, result cache off) in
every locale of the index, and ``time.thread_time`` is read around it (user + system CPU of
the thread that serves the request: the test client runs the app in the calling thread).
Search analytics are recorded as in production (``--analytics off`` to leave them out), into
a database in a temporary folder (never into the index folder): the request's own part (the
row handed over) counts, the writer thread's batched SQLite writes and WAL checkpoints do not
(``time.process_time`` counted every thread of the process, so those landed inside whichever
request was being timed; bench/analytics_cost.py measures the writer).
Round 1 is a warm-up: it maps each locale's index pages in (page faults count as system CPU,
once per process, whatever the query); the figures are of the later rounds, a warm process
with the result cache off. A query's cost is the median of its warm rounds (one round's figure
also carries garbage collection and the machine's noise, a few ms either way: a full, gen-2
collection of this process takes 20-40 ms, about twice a run, inside whichever request is
served; with 3 warm rounds, the default, the median leaves one such round out, where 2 warm
rounds averaged it in). Prints, per
family, the p50, p99 and worst query cost, the worst single warm measurement, and the warm-up
round's worst; exits 1 when the worst query cost is over the target (20 ms CPU).

``--root CHECKOUT`` searches with another checkout's ``helpapi`` (same queries: a before/after
with this script); ``--base CHECKOUT`` runs this script on ``CHECKOUT`` and on this checkout in
turn, ``--pairs`` times each (fresh processes, the first side alternating), then prints each
family's worst query cost on either side and, per query, head/base of the medians: separate runs
on a loaded machine swing by 20 %, alternating runs see the same load.

    python bench/hostile.py --index DIR [--rounds 4] [--target-ms 20]
    python bench/hostile.py --index DIR --base /work/main [--pairs 3] [--locales ja-JP,zh-TW]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAX_Q = 256
SCRIPTS = {
    "latin": (0x61, 0x7A),
    "cyrillic": (0x430, 0x44F),
    "greek": (0x3B1, 0x3C9),
    "han": (0x4E00, 0x4FFF),
    "hiragana": (0x3041, 0x3093),
    "katakana": (0x30A1, 0x30F3),
    "hangul": (0xAC00, 0xAFFF),
    "thai": (0x0E01, 0x0E2E),
    "arabic": (0x0627, 0x064A),
    "hebrew": (0x05D0, 0x05EA),
    "devanagari": (0x0915, 0x0939),
}


def _fit(words: list[str], sep: str = " ") -> str:
    out = ""
    for w in words:
        nxt = f"{out}{sep}{w}" if out else w
        if len(nxt) > MAX_Q:
            break
        out = nxt
    return out


def frequent_words(ixset, locale: str, n: int = 60) -> list[str]:
    """The ``n`` index words of ``locale`` held by the most documents (its stop words)."""
    field = ixset.mem[locale].fields["text"]
    ranked = sorted(range(len(field.terms)), key=field.doc_frequency, reverse=True)
    words = [field.terms[i].decode("utf-8") for i in ranked[: n * 3]]
    return [w for w in words if w.isalpha()][:n]


def frequent_chain(ixset, locale: str, length: int = MAX_Q) -> str:
    """``length`` characters whose neighbouring pairs are frequent bigrams of ``locale``: from
    the commonest bigram, each next character makes the commonest bigram not used yet with the
    last (any when all are used); "" when the locale has no bigram."""
    grams = ixset.mem[locale].fields["grams"]
    pairs = [t for t in range(len(grams.terms)) if len(grams.terms[t].decode("utf-8")) == 2]
    if not pairs:
        return ""
    best = max(pairs, key=grams.doc_frequency)
    out, used = grams.terms[best].decode("utf-8"), {best}
    while len(out) < length:
        lo, hi = grams.prefix_range(out[-1])
        nxt = [t for t in range(lo, hi) if len(grams.terms[t].decode("utf-8")) == 2]
        if not nxt:
            break
        nxt = [t for t in nxt if t not in used] or nxt
        pick = max(nxt, key=grams.doc_frequency)
        used.add(pick)
        out += grams.terms[pick].decode("utf-8")[1]
    return out[:length]


def generate(ixset, locale: str, rng: random.Random) -> list[tuple[str, str, bool]]:
    """``(family, query, prefix)`` for one locale."""
    out = []
    common = frequent_words(ixset, locale)
    pair = " ".join(common[:2]) if len(common) >= 2 else "to the"
    for phrase in (pair, "to the", common[0] if common else "a"):
        words = [phrase] * MAX_Q
        varied = [
            "".join(c.upper() if rng.random() < 0.5 else c for c in w) for w in words[: MAX_Q // 2]
        ]
        out.append(("repeat", _fit(words), False))
        out.append(("repeat", _fit(varied), False))
        out.append(("repeat", '"' + _fit(words)[: MAX_Q - 2] + '"', False))
    out.append(("flood", _fit(common), False))
    out.append(("flood", _fit(common[::-1]), False))
    out.append(("flood", '"' + _fit(common)[: MAX_Q - 2] + '"', False))
    out.append(("flood", _fit(common)[: MAX_Q - 2] + " a", True))
    for lo, hi in SCRIPTS.values():
        chars = [chr(rng.randint(lo, hi)) for _ in range(MAX_Q)]
        out.append(("script", "".join(chars), False))
        out.append(("script", _fit(["".join(chars[i : i + 5]) for i in range(0, MAX_Q, 5)]), False))
        out.append(("script", chars[0], True))
    for letter in "aeiostxz":
        out.append(("prefix", letter, True))
    for ch in "パ設の":
        out.append(("prefix", ch, True))
        out.append(("prefix", ch * 2, True))
    letters = "bcdfghjklmnpqrstvwxz"
    nonsense = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(60)]
    out.append(("nonsense", _fit(nonsense), False))
    out.append(("nonsense", _fit(nonsense[:5]), False))
    typos = [w[:-1] + "q" for w in common if len(w) > 4]
    out.append(("nonsense", _fit(typos), False))
    chain = frequent_chain(ixset, locale)
    if len(chain) > 2:
        for q in (chain, chain[:64], chain[: MAX_Q - 6] + " zzqx", chain[:64] + " zzqx"):
            out.append(("chain", q, False))
    return out


def pct(sorted_values: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) of already sorted values, nearest rank."""
    return sorted_values[min(len(sorted_values) - 1, int(round(p * (len(sorted_values) - 1))))]


def measure(client, q: str, locale: str, prefix: bool) -> tuple[float, int]:
    url = "/v1/search?" + urllib.parse.urlencode(
        {"q": q, "locale": locale, "prefix": "true" if prefix else "false"}
    )
    t = time.thread_time()
    resp = client.get(url)
    return (time.thread_time() - t) * 1000, resp.status_code


def compare(args) -> int:
    """``--base``: this script on both checkouts in turn, then worst costs and ratios."""
    sides = {"base": Path(args.base).resolve(), "head": Path(args.root or ROOT).resolve()}
    runs: dict[str, list[dict]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory(prefix="hostile-ab-") as tmp:
        for n in range(args.pairs):
            for side in ("base", "head") if n % 2 == 0 else ("head", "base"):
                out = Path(tmp) / f"{side}{n}.json"
                cmd = [sys.executable, __file__, "--index", args.index, "--root", str(sides[side])]
                cmd += ["--rounds", str(args.rounds), "--analytics", args.analytics]
                cmd += ["--dump", str(out)] + (["--locales", args.locales] if args.locales else [])
                subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
                runs[side].append(json.loads(out.read_text()))
    cost = {}  # side -> case -> median over the runs of the run's query cost
    for side, dumps in runs.items():
        keys = dumps[0].keys()
        cost[side] = {k: statistics.median(d[k]["ms"] for d in dumps) for k in keys}
    cases = runs["head"][0]
    print(f"base {sides['base']}  head {sides['head']}  {args.pairs} runs each, alternating")
    print(f"{'family':10} {'base max':>9} {'head max':>9} {'ratio':>6}  worst head query")
    families = sorted({c["family"] for c in cases.values()}, key=list(FAMILIES).index)
    for family in families:
        keys = [k for k, c in cases.items() if c["family"] == family]
        b = max(cost["base"][k] for k in keys)
        top = max(keys, key=cost["head"].__getitem__)
        h = cost["head"][top]
        print(f"{family:10} {b:9.2f} {h:9.2f} {h / b:6.2f}  {top[:70]!r}")
    print("the 12 dearest queries at base: base, head ms, head/base")
    for k in sorted(cases, key=cost["base"].__getitem__, reverse=True)[:12]:
        b, h = cost["base"][k], cost["head"][k]
        print(f"  {b:7.2f} {h:7.2f} {h / b:5.2f}  {k[:70]!r}")
    worst = max(cost["head"].values())
    print(f"worst query cost, base {max(cost['base'].values()):.2f} -> head {worst:.2f} ms CPU")
    return 0 if worst <= args.target_ms else 1


FAMILIES = ("repeat", "flood", "script", "prefix", "nonsense", "chain")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--target-ms", type=float, default=20.0)
    ap.add_argument("--locales", default="")
    ap.add_argument("--analytics", choices=("on", "off"), default="on")
    ap.add_argument("--root", default="", help="the checkout whose helpapi searches")
    ap.add_argument("--base", default="", help="compare with this checkout (see above)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--dump", default="", help="write each query's costs to this JSON file")
    ap.add_argument(
        "--gc",
        choices=("worker", "python"),
        default="worker",
        help="collector thresholds: a gunicorn worker's (helpapi.runtime.tune_gc) or CPython's",
    )
    args = ap.parse_args()
    if args.base:
        return compare(args)
    sys.path.insert(0, str(Path(args.root).resolve() if args.root else ROOT))
    import helpapi
    from helpapi import create_app
    from helpapi.search import open_current

    if args.gc == "worker":
        # As a serving worker runs (gunicorn.conf.py's post_worker_init).
        from helpapi.runtime import tune_gc

        tune_gc()
    print(
        f"helpapi from {Path(helpapi.__file__).parent.parent}; gc thresholds {gc.get_threshold()}"
    )

    rng = random.Random(12)
    config = {"INDEX_DIR": args.index, "RESULT_CACHE_SIZE": 0, "ANALYTICS": args.analytics}
    scratch = tempfile.TemporaryDirectory(prefix="hostile-analytics-")
    config["ANALYTICS_DB"] = str(Path(scratch.name) / "analytics.sqlite3")
    app = create_app(config)
    client = app.test_client()
    with open_current(Path(args.index)) as ixset:
        locales = args.locales.split(",") if args.locales else ixset.locales
        cases = [(loc, *c) for loc in locales for c in generate(ixset, loc, rng)]
    client.get("/v1/search?q=warm&locale=" + locales[0])
    first: dict[str, float] = {}
    single: dict[str, float] = {}
    runs: dict[int, list[float]] = {}
    statuses: dict[int, int] = {}
    for n in range(max(2, args.rounds)):
        for i, (loc, family, q, prefix) in enumerate(cases):
            ms, status = measure(client, q, loc, prefix)
            statuses[status] = statuses.get(status, 0) + 1
            if n == 0:
                first[family] = max(first.get(family, 0.0), ms)
            else:
                single[family] = max(single.get(family, 0.0), ms)
                runs.setdefault(i, []).append(ms)
    worst: dict[str, list] = {}
    for i, (loc, family, q, prefix) in enumerate(cases):
        worst.setdefault(family, []).append((statistics.median(runs[i]), loc, q, prefix))
    print(f"{len(cases)} queries x {args.rounds} rounds, {len(locales)} locales")
    print(f"statuses {statuses}")
    print(
        f"{'family':10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'1 run':>8} "
        f"{'warm-up':>8}  worst query"
    )
    overall = 0.0
    for family, rows in worst.items():
        rows.sort()
        ms = [r[0] for r in rows]
        top = rows[-1]
        overall = max(overall, top[0])
        shown = top[2] if len(top[2]) <= 50 else top[2][:47] + "..."
        print(
            f"{family:10} {len(ms):5} {pct(ms, 0.5):8.2f} {pct(ms, 0.99):8.2f} {top[0]:8.2f} "
            f"{single[family]:8.2f} {first[family]:8.2f}  "
            f"{top[1]} prefix={top[3]} {shown!r}"
        )
    if args.dump:
        dump = {
            f"{loc} {family} prefix={prefix} {q}": {
                "family": family,
                "ms": statistics.median(runs[i]),
            }
            for i, (loc, family, q, prefix) in enumerate(cases)
        }
        Path(args.dump).write_text(json.dumps(dump, ensure_ascii=False))
    verdict = "met" if overall <= args.target_ms else "NOT met"
    print(f"worst query cost: {overall:.2f} ms CPU (target <= {args.target_ms} ms: {verdict})")
    return 0 if overall <= args.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
