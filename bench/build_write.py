"""CPU time of the write side of one locale's build, two checkouts alternating.

The read side (parse, analysis, render) is done once, by this checkout, and its documents
and tokens are pickled to a temporary file; each run is then a fresh interpreter importing
``helpapi`` from the checkout measured (``PYTHONPATH``) that only writes: the recorder and the
Whoosh writer fed document by document (``add``), the Whoosh segment's postings (``flush``,
the writer's commit) and ``postings.bin`` (``pbin``). ``time.process_time`` with the cyclic
collector off, as in a build. Prints each phase's medians and the head/base ratios, and
whether the two ``postings.bin`` are the same bytes. Prints figures only.

    .venv/bin/python bench/build_write.py --base /work/main --locales de-DE,ja-JP --rounds 3
"""

from __future__ import annotations

import filecmp
import os
import pickle
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.common import build_ab_args  # noqa: E402
from bench.common import run_with  # noqa: E402

CORPUS = "/work/shared/corpus"
PHASES = ("add", "flush", "pbin")
_RUN = """
import gc, pickle, sys, time
from pathlib import Path
from whoosh import index as whoosh_index
from helpapi import memindex
from helpapi.schema import make_schema
from helpapi.whoosh_writer import DirectWriter
docs = pickle.load(open(sys.argv[1], "rb"))
out = Path(sys.argv[2])
gc.disable()
t0 = time.process_time()
ix = whoosh_index.create_in(out, make_schema())
recorder = memindex.Recorder()
writer = DirectWriter(ix, recorder)
for doc, analyzed in docs:
    recorder.add_document(doc, analyzed)
    writer.add_analyzed(doc, analyzed)
t1 = time.process_time()
writer.commit()
t2 = time.process_time()
with ix.reader() as reader:
    recorder.write(out / memindex.FILENAME, reader)
t3 = time.process_time()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def analyzed_docs(corpus: str, locale: str, path: Path) -> int:
    """Parse and analyze ``locale`` as a build does (this checkout) into ``path``."""
    from helpapi import indexer
    from helpapi.content import SourceCatalog
    from helpapi.schema import analyze_document
    from helpapi.schema import document_for

    root = Path(corpus)
    refs = indexer.source_refs(root, indexer.ENGLISH, indexer.DEFAULT_MAX_ARTICLE_BYTES)
    catalog = SourceCatalog.of(indexer.ENGLISH, refs) if refs else None
    stats = indexer.LocaleStats(locale)
    articles = indexer._parse_locale(
        root, locale, stats, None, indexer.DEFAULT_MAX_ARTICLE_BYTES, None, None
    )
    docs = []
    for article, _ in indexer._linked(articles, catalog):
        doc = document_for(article, locale)
        docs.append((doc, analyze_document(doc, locale)))
    path.write_bytes(pickle.dumps(docs, pickle.HIGHEST_PROTOCOL))
    return len(docs)


def run(checkout: Path, docs: Path, out: Path) -> list[float]:
    """``[add, flush, pbin]`` CPU seconds of one write with ``checkout``'s code into ``out``."""
    out.mkdir()
    got = run_with(checkout, _RUN, str(docs), str(out), cwd=out)
    return [float(x) for x in got.split()[-3:]]


def main() -> None:
    args, base, head = build_ab_args(__doc__, CORPUS, 3)
    print("| locale | docs | phase | base CPU s (median) | head CPU s (median) | head/base |")
    print("|---|---:|---|---:|---:|---:|")
    for locale in args.locales.split(","):
        with tempfile.TemporaryDirectory(prefix="build-write-") as tmp:
            tmp = Path(tmp)
            n = analyzed_docs(args.corpus, locale, tmp / "docs.pickle")
            runs: dict[str, list[list[float]]] = {"base": [], "head": []}
            for r in range(args.rounds):
                for name, checkout in (("base", base), ("head", head)):
                    runs[name].append(run(checkout, tmp / "docs.pickle", tmp / f"{name}{r}"))
            same = filecmp.cmp(tmp / "base0/postings.bin", tmp / "head0/postings.bin", False)
            for i, phase in enumerate((*PHASES, "total")):
                b, h = (
                    statistics.median(sum(x) if phase == "total" else x[i] for x in runs[name])
                    for name in ("base", "head")
                )
                shown = f"| {locale} | {n} | {phase} | {b:.2f} | {h:.2f} | {h / b:.3f} |"
                print(shown, flush=True)
            print(f"| {locale} | | postings.bin same bytes: {same} | | | |", flush=True)
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
