"""CPU cost of the build's parse and render steps, per locale folder (issue #14 item 5).

For every article of the chosen locale folders: ``parse_article`` (front matter, side-by-side
spans, plain text) and the display HTML the build stores (``schema._html_of``: Markdown
rendered, sanitized and capped, for the article and for its English side). Reports CPU seconds
(time.process_time, so other work on the cores barely moves it) of the second of two passes
(the first warms caches and imports), and a hash of all output, to compare two checkouts:

    .venv/bin/python bench/render_cost.py --corpus ../shared/corpus --locales de-DE,ja-JP

Run it from each checkout with that checkout's venv, back to back.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

from helpapi.corpus import article_files
from helpapi.corpus import parse_article
from helpapi.schema import _html_of


def main() -> None:
    """Parse and render the folders twice; print the second pass's CPU seconds."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="../shared/corpus")
    ap.add_argument("--locales", default="de-DE,ja-JP")
    args = ap.parse_args()
    files = []
    for locale in args.locales.split(","):
        for slug, path in article_files(os.path.join(args.corpus, locale)):
            with open(path, "rb") as fh:
                files.append((locale, slug, path, fh.read()))
    for _ in range(2):
        parse_cpu = render_cpu = 0.0
        text_hash, html_hash = hashlib.sha1(), hashlib.sha1()
        for locale, slug, path, data in files:
            t0 = time.process_time()
            article = parse_article(path, locale, slug, data)
            t1 = time.process_time()
            html = _html_of(article, article.markdown)
            if article.english_markdown:
                html += _html_of(article, article.english_markdown)
            t2 = time.process_time()
            parse_cpu += t1 - t0
            render_cpu += t2 - t1
            fields = (article.title, article.body, article.english_title, article.english_body)
            text_hash.update("\x1f".join(fields).encode())
            html_hash.update(html.encode())
    print(
        f"{len(files)} files ({args.locales}): parse {parse_cpu:.2f} s CPU, "
        f"render {render_cpu:.2f} s CPU, total {parse_cpu + render_cpu:.2f} s; "
        f"text sha1 {text_hash.hexdigest()[:12]}, html sha1 {html_hash.hexdigest()[:12]}; "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
