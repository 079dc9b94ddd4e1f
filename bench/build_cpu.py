"""CPU time of one locale's build (``helpapi.indexer.build_locale``), two checkouts alternating.

Each run is a fresh interpreter (this checkout's venv) that imports ``helpapi`` from the
checkout measured (``PYTHONPATH``), builds the locale into a temporary folder and prints its
``time.process_time``: CPU, not wall, so other work on the machine slows both alike. Rounds
alternate base and head, locale by locale; the table gives each run and the head/base ratio of
the medians. Prints figures only.

    .venv/bin/python bench/build_cpu.py --base /work/main --locales de-DE,ja-JP --rounds 2
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.common import build_ab_args  # noqa: E402
from bench.common import run_with  # noqa: E402

CORPUS = "/work/shared/corpus"
# en-US is built as a full build builds it: from every corpus locale's English spans.
_RUN = """
import sys, time
from helpapi.corpus import discover_locales
from helpapi.indexer import build_locale
english = sys.argv[2] == "en-US"
sources = [x for x in discover_locales(sys.argv[1]) if x != "en-US"] if english else None
t = time.process_time()
build_locale(sys.argv[1], sys.argv[2], sys.argv[3], sources=sources)
print(time.process_time() - t)
"""


def cpu_of(checkout: Path, corpus: str, locale: str) -> float:
    """CPU seconds of one build of ``locale`` with ``checkout``'s code."""
    with tempfile.TemporaryDirectory(prefix="build-cpu-") as out:
        return float(run_with(checkout, _RUN, corpus, locale, out, cwd=out).split()[-1])


def main() -> None:
    args, base, head = build_ab_args(__doc__, CORPUS, 2)
    print("| locale | base CPU s | head CPU s | head/base (medians) |")
    print("|---|---|---|---:|")
    for locale in args.locales.split(","):
        runs: dict[str, list[float]] = {"base": [], "head": []}
        for _ in range(args.rounds):
            runs["base"].append(cpu_of(base, args.corpus, locale))
            runs["head"].append(cpu_of(head, args.corpus, locale))
        b, h = statistics.median(runs["base"]), statistics.median(runs["head"])
        shown = {k: ", ".join(f"{x:.2f}" for x in v) for k, v in runs.items()}
        print(f"| {locale} | {shown['base']} | {shown['head']} | {h / b:.3f} |", flush=True)
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
