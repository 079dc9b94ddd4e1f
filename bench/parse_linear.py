"""Parsing is linear in file size: time parse_article on 1x, 2x and 4x inputs of each bad shape.

Each shape is a hostile (or just broken) article repeated n times: unclosed localized and sxs
spans, unclosed comments, deep <div> nesting, an alias-bomb front matter, unclosed link brackets
and the other constructs a pattern could rescan to the end of the text from every start. For
each shape it prints the best-of-N CPU seconds at 1x, 2x and 4x and the ratios 2x/1x and 4x/1x.
Near-linear target: 2x/1x <= 2.6 and 4x/1x <= 5.5. Exits 1 when a ratio is over.

Before the fix (5e8dd92, issue #12): 16,000 unclosed ``<span data-ttu-id=...>`` (352 KB) took
67 s, and a 333-byte alias bomb turned a 3.5 s reindex into 87 s at 2.3 GB.

With ``--compare-with COMMIT`` it also parses every bundled corpus file with that commit's
``helpapi/corpus.py`` and with the working tree's, and counts the files whose Article differs.

    python bench/parse_linear.py [--kb 64] [--runs 5] [--compare-with 5e8dd92]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpapi.corpus import article_files  # noqa: E402
from helpapi.corpus import discover_locales  # noqa: E402
from helpapi.corpus import parse_article  # noqa: E402

FRONT = "---\ntitle: Bench\nms.date: 01/02/2020\n---\n# Bench\n\n"
RATIO_2X, RATIO_4X = 2.6, 5.5


def _alias_bomb(n: int) -> str:
    """A "billion laughs" front matter: each level is 9 aliases of the one before."""
    lines = ["---", "k0: &k0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, n + 1):
        lines.append(f"k{i}: &k{i} [{', '.join([f'*k{i - 1}'] * 9)}]")
    return "\n".join([*lines, f"title: *k{n}", "---", "# Bomb", "", "text"]) + "\n"


# name -> (unit text, how to build n units); each unit is about 10-50 bytes.
SHAPES = {
    "unclosed ttu spans": lambda n: FRONT + '<span data-ttu-id="a1b2">Wort ' * n,
    "unclosed sxs spans": lambda n: (
        FRONT + '<span class="sxs-lookup"><span data-stu-id="a1b2">word ' * n
    ),
    "unclosed <!--": lambda n: FRONT + "<!-- x " * n,
    "deep <div> nesting": lambda n: FRONT + "<div>" * n + "text" + "</div>" * n,
    "alias-bomb front matter": _alias_bomb,
    "unclosed [ link brackets": lambda n: FRONT + "[word " * n,
    "unclosed ![ images": lambda n: FRONT + "![alt](x " * n,
    "unclosed [text]( links": lambda n: FRONT + "[a](b " * n,
    "unclosed [!INCLUDE": lambda n: FRONT + "[!INCLUDE x " * n,
    "unclosed <https: autolinks": lambda n: FRONT + "<https:x" * n,
    "blank lines": lambda n: FRONT + "x" + "\n" * (8 * n) + "x",
    "heading of #s": lambda n: FRONT + "# x" + "#" * (8 * n) + " y",
    "unclosed front matter": lambda n: "---\n" + "title: x\n" * n,
    # Front matter the simple reader takes (corpus.simple_front_matter), and one it scans to
    # the end before handing it to PyYAML (a blank line after the list).
    "front matter: many keys": lambda n: (
        "---\n" + "".join(f"k{i}: v{i}\n" for i in range(n)) + "---\nx"
    ),
    "front matter: long list": lambda n: "---\ntitle: x\ntags:\n" + "- t\n" * n + "---\nx",
    "front matter: list, then PyYAML": lambda n: (
        "---\ntitle: x\ntags:\n" + "- t\n" * n + "\n---\nx"
    ),
    "emphasis markers": lambda n: FRONT + "*x _y a*b c_d " * n,
    "run of * and _": lambda n: FRONT + "x" + "*_" * (4 * n) + "x",
    # HTML exports (read with BeautifulSoup, helpapi.html_source): the same kinds of shapes.
    "html: deep <div> nesting": lambda n: "<html><body>" + "<div>" * n + "x" + "</div>" * n,
    "html: unclosed tags": lambda n: "<html><body>" + "<p><b>word " * n,
    "html: unclosed <!--": lambda n: "<html><body>" + "<!-- x " * n,
    "html: many <script>s": lambda n: "<html><body>" + "<script>x</script>y " * n,
}


def _units_for(shape, kb: int) -> int:
    """How many units make about ``kb`` KB of this shape."""
    per_unit = max(1, len(SHAPES[shape](1000)) // 1000)
    return max(1, kb * 1024 // per_unit)


def _time(text: str, runs: int, name: str = "bench.md") -> float:
    """Best CPU seconds of ``runs`` parses (CPU time and no GC: the host's other load is noise)."""
    data = text.encode("utf-8")
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            started = time.process_time()
            parse_article(Path(name), "de-DE", "bench", data)
            best = min(best, time.process_time() - started)
    finally:
        gc.enable()
    return best


def compare_with(commit: str) -> int:
    """Parse every bundled file with ``commit``'s corpus.py and this one's; count differences."""
    source = subprocess.run(
        ["git", "show", f"{commit}:helpapi/corpus.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.replace("from .analysis import", "from helpapi.analysis import")
    old = types.ModuleType("old_corpus")
    sys.modules[old.__name__] = old  # dataclasses look the module up
    exec(compile(source, f"{commit}:helpapi/corpus.py", "exec"), old.__dict__)
    corpus = ROOT / "corpus"
    files = differ = 0
    seconds = {"old": 0.0, "new": 0.0}
    for locale in discover_locales(corpus):
        for slug, path in article_files(corpus / locale):
            data = Path(path).read_bytes()
            started = time.perf_counter()
            before = old.parse_article(Path(path), locale, slug, data)
            seconds["old"] += time.perf_counter() - started
            started = time.perf_counter()
            after = parse_article(Path(path), locale, slug, data)
            seconds["new"] += time.perf_counter() - started
            files += 1
            a, b = dataclasses.asdict(before), dataclasses.asdict(after)
            fields = [k for k in a if a[k] != b[k]]
            if fields:
                differ += 1
                print(f"differs: {path}: {', '.join(fields)}")
    print(
        f"\nbundled corpus: {files} files, {differ} parse differently than at {commit} "
        f"(parse time {seconds['old']:.2f} s then, {seconds['new']:.2f} s now)"
    )
    return differ


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--kb", type=int, default=64, help="size of the 1x input (default 64 KB)")
    ap.add_argument("--runs", type=int, default=5, help="best of this many runs (default 5)")
    ap.add_argument("--compare-with", metavar="COMMIT", help="also diff the corpus parse")
    args = ap.parse_args()
    print("| shape | 1x KB | 1x s | 2x s | 4x s | 2x/1x | 4x/1x |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    over = []
    for shape, make in SHAPES.items():
        n = _units_for(shape, args.kb)
        name = "bench.html" if shape.startswith("html:") else "bench.md"
        times = [_time(make(n * k), args.runs, name) for k in (1, 2, 4)]
        size = len(make(n).encode("utf-8")) / 1024
        # A floor of 1 ms keeps timer noise on near-instant shapes from reading as a ratio.
        base = max(times[0], 1e-3)
        r2, r4 = max(times[1], 1e-3) / base, max(times[2], 1e-3) / base
        flag = ""
        if r2 > RATIO_2X or r4 > RATIO_4X:
            over.append(shape)
            flag = " OVER"
        print(
            f"| {shape} | {size:.0f} | {times[0]:.4f} | {times[1]:.4f} | {times[2]:.4f} "
            f"| {r2:.2f} | {r4:.2f}{flag} |"
        )
    print(f"\ntargets: 2x/1x <= {RATIO_2X}, 4x/1x <= {RATIO_4X}")
    differ = compare_with(args.compare_with) if args.compare_with else 0
    if differ:
        print(f"{differ} bundled files parse differently")
    if over:
        print("over target: " + ", ".join(over))
    return 1 if over or differ else 0


if __name__ == "__main__":
    sys.exit(main())
