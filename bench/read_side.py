"""CPU cost of a locale build's read side: parse, Whoosh document, analysis (issue #14 item 5).

For every article of the chosen locale folders, as ``helpapi.indexer`` builds it (the cyclic
garbage collector off, as in the build): ``parse_article``, ``schema.document_for`` (display
HTML, title keys) and ``schema.analyze_document``. Prints the CPU seconds of each step
(time.process_time) in the last of ``--passes`` passes (the first warms the per-word caches)
and a hash of every document, analysis and repair list, to compare two checkouts:

    .venv/bin/python bench/read_side.py --corpus ../shared/corpus --locales de-DE,ja-JP,fi-FI

Run it from each checkout with that checkout's venv, back to back.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import time

from helpapi.corpus import article_files
from helpapi.corpus import parse_article
from helpapi.schema import analyze_document
from helpapi.schema import document_for


def main() -> None:
    """Read the folders ``--passes`` times; print the last pass's CPU seconds per step."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="../shared/corpus")
    ap.add_argument("--locales", default="de-DE,ja-JP,fi-FI")
    ap.add_argument("--passes", type=int, default=2)
    args = ap.parse_args()
    gc.disable()
    files = []
    for locale in args.locales.split(","):
        for slug, path in article_files(os.path.join(args.corpus, locale)):
            with open(path, "rb") as fh:
                files.append((locale, slug, path, fh.read()))
    for _ in range(args.passes):
        parse = doc_cpu = analyze = 0.0
        digest = hashlib.sha1()
        for locale, slug, path, data in files:
            t0 = time.process_time()
            article = parse_article(path, locale, slug, data)
            t1 = time.process_time()
            doc = document_for(article, locale)
            t2 = time.process_time()
            analyzed = analyze_document(doc, locale)
            t3 = time.process_time()
            parse, doc_cpu, analyze = parse + t1 - t0, doc_cpu + t2 - t1, analyze + t3 - t2
            digest.update(repr(sorted(doc.items())).encode())
            digest.update(repr((analyzed, article.repairs)).encode())
    print(
        f"{len(files)} files ({args.locales}): parse {parse:.2f} s CPU, document {doc_cpu:.2f} s, "
        f"analysis {analyze:.2f} s, total {parse + doc_cpu + analyze:.2f} s; "
        f"sha1 {digest.hexdigest()[:12]}; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
