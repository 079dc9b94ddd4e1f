"""Hostile articles (issue #12): worst CPU per article request, and what each file costs a build.

Writes a small corpus of hostile-but-valid articles (each within the 2 MB per-file cap) and one
normal article into a temp folder, builds it with ``helpapi.indexer.build_indexes``, then GETs
every article through the Flask test client with the result cache off, and reports the worst
``time.process_time`` of a request (target: <= 50 ms; exits 1 above it). Per file it also reports
the build-time cost (parsing, and ``schema.document_for``, which renders the HTML), the stored
HTML size, and the request-time render of the code before this change (CommonMark -> alerts ->
nh3 with no caps) where that finishes; for the deep-nesting files the old path is timed on
smaller depths to show its quadratic growth.

The ``verbatim-*`` articles each hold one fragment amid ``[ ] \\`` (marks the verbatim gate,
helpapi.verbatim, leaves out, a body's runs of spaces then halved pass after pass) or words
and such marks, up to ranking.VERBATIM_MAX_BYTES between them: searching that fragment is
timed too (``time.process_time`` of the request), with the gate on and off in turn (its cost
is the difference), target: the gate at most ~2 ms a query. The ``page-*`` articles (stop 21)
hold a bracketed fragment, half with ``[ `` and half with ``[``, then 1,200 inline tags: the
literal tier (ranking.VERBATIM_LITERAL) reads their pages, timed on and off the same way.

    .venv/bin/python bench/hostile_articles.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import nh3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpapi import create_app  # noqa: E402
from helpapi import ranking  # noqa: E402
from helpapi import render  # noqa: E402
from helpapi.corpus import parse_article  # noqa: E402
from helpapi.indexer import build_indexes  # noqa: E402
from helpapi.schema import document_for  # noqa: E402

LIMIT_MS = 50.0
MAX_BYTES = 2_000_000
LOCALE = "de-DE"
NORMAL = ROOT / "corpus" / LOCALE / "billing-and-payment.md"


def _head(title: str) -> str:
    return f"---\ntitle: {title}\nms.date: 05/28/2021\n---\n# {title}\n\n"


def nested_divs(depth: int) -> str:
    return "<div>" * depth + "deep text" + "</div>" * depth


def unclosed_tags(count: int) -> str:
    unit = '<b><i><span lang="de">word '
    return unit * count + '<div title="never closed'


# A fragment the verbatim-* articles hold (the gate reads the bodies holding it as typed).
FRAGMENT = "Öffnen Sie die Einstellungen für Ihr Konto"
VERBATIM_ARTICLES = 4


def verbatim_bodies(total: int) -> dict[str, str]:
    """Slug -> Markdown body of the articles holding :data:`FRAGMENT` amid marks the gate
    leaves out, ``total`` bytes of them: two of marks only, two of words and marks."""
    size = total // VERBATIM_ARTICLES
    out = {}
    for i in range(VERBATIM_ARTICLES):
        unit = "[ ] \\ " if i % 2 == 0 else "wort [ ] "
        out[f"verbatim-{i}"] = FRAGMENT + ". " + unit * (size // len(unit))
    return out


# A bracketed fragment the page-* articles hold, half of them with "[ " (the body texts are the
# same: the literal tier, ranking.VERBATIM_LITERAL, reads their pages: tags, 1,200 each).
PAGE_FRAGMENT = "Sie [Einstellungen] für Ihr Konto"
PAGE_ARTICLES = 4


def page_bodies(tags: int) -> dict[str, str]:
    """Slug -> Markdown body of the articles whose pages (stored HTML) the literal tier reads:
    the fragment, then ``tags`` tags of inline HTML (a tag costs a page read the most)."""
    out = {}
    for i in range(PAGE_ARTICLES):
        label = "**[Einstellungen]**" if i % 2 else "[ **Einstellungen** ]"
        out[f"page-{i}"] = f"Öffnen Sie {label} für Ihr Konto. " + "<b>x</b> " * (tags // 2)
    return out


def hostile() -> dict[str, str]:
    """Slug -> Markdown body of each hostile article."""
    words = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor. "
    return {
        "nested-divs": nested_divs(150_000),
        "deep-blockquotes": ">" * 10_000
        + " q\n\n"
        + "".join(">" * i + " q\n" for i in range(1, 1_500)),
        "deep-lists": "- " * 10_000
        + "x\n\n"
        + "".join("  " * i + "- item\n" for i in range(1_000)),
        "links": " ".join(f"[link {i}](https://example.com/page/{i})" for i in range(10_000)),
        "flat-2mb": (words * 6 + "\n\n") * (MAX_BYTES // (len(words) * 6 + 2) - 1),
        "unclosed-tags": unclosed_tags(60_000),
        **verbatim_bodies(ranking.VERBATIM_MAX_BYTES),
        **page_bodies(1_200),
        "wide-table": "|"
        + "a|" * 5_000
        + "\n|"
        + "-|" * 5_000
        + "\n"
        + ("|" + "x|" * 5_000 + "\n") * 190,
    }


def old_render(markdown: str) -> str:
    """The render path before this change: no depth or size caps, run per request."""
    html = render._alerts_soup(render._markdown().render(markdown))
    return nh3.clean(
        html,
        tags=render._TAGS,
        attributes=render._ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def cpu(fn, *args) -> float:
    started = time.process_time()
    fn(*args)
    return time.process_time() - started


def _on_off(client, text: str, switch: str, repeat: int) -> dict:
    """CPU seconds (median of ``repeat``) of searching ``text`` with ``ranking.<switch>`` on
    and off, twice each, alternating: ``{True: [..], False: [..]}``; the switch left on."""
    url = f"/v1/search?q={urllib.parse.quote(text)}&locale={LOCALE}"
    medians: dict = {}
    for on in (True, False, True, False):
        setattr(ranking, switch, on)
        assert client.get(url).status_code == 200
        times = []
        for _ in range(repeat):
            started = time.process_time()
            client.get(url)
            times.append(time.process_time() - started)
        times.sort()
        medians.setdefault(on, []).append(times[len(times) // 2])
    setattr(ranking, switch, True)
    return medians


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="GETs per article (worst is kept)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="helpapi-hostile-"))
    try:
        corpus = tmp / "corpus" / LOCALE
        corpus.mkdir(parents=True)
        files = {"normal": NORMAL.read_text("utf-8")}
        files.update({slug: _head(slug) + body for slug, body in hostile().items()})
        for slug, text in files.items():
            data = text.encode()
            assert len(data) <= MAX_BYTES, (slug, len(data))
            (corpus / f"{slug}.md").write_bytes(data)

        rows = {}
        for slug in files:
            path = corpus / f"{slug}.md"
            started = time.process_time()
            article = parse_article(path, LOCALE, slug)
            parsed = time.process_time() - started
            started = time.process_time()
            doc = document_for(article)
            rows[slug] = {
                "bytes": path.stat().st_size,
                "parse": parsed,
                "render": time.process_time() - started,
                "html": len(doc["html"]),
                "markdown": article.markdown,
            }

        started = time.perf_counter()
        build_indexes(tmp / "corpus", tmp / "index", jobs=1)
        build_seconds = time.perf_counter() - started

        app = create_app({"INDEX_DIR": str(tmp / "index"), "RESULT_CACHE_SIZE": 0})
        client = app.test_client()
        worst_all = 0.0
        for slug, row in rows.items():
            url = f"/v1/articles/{slug}?locale={LOCALE}"
            assert client.get(url).status_code == 200, slug  # opens the locale's index
            times = []
            for _ in range(args.repeat):
                started = time.process_time()
                r = client.get(url)
                times.append(time.process_time() - started)
                assert r.status_code == 200, (slug, r.status_code)
            row["response"] = len(r.data)
            row["worst"] = max(times)
            row["median"] = sorted(times)[len(times) // 2]
            worst_all = max(worst_all, row["worst"])
        # The fragment the verbatim-* articles hold, searched with the gate on and off.
        gate = _on_off(client, FRAGMENT, "VERBATIM_GATE", args.repeat)
        # The bracketed fragment the page-* articles hold, the literal tier on and off.
        literal = _on_off(client, PAGE_FRAGMENT, "VERBATIM_LITERAL", args.repeat)
        app.extensions["helpapi.indexes"].close()

        deep = {"nested-divs", "unclosed-tags"}  # quadratic in the old path: timed smaller below
        for slug, row in rows.items():
            try:
                row["old"] = None if slug in deep else cpu(old_render, row["markdown"])
            except RecursionError:  # BeautifulSoup on uncapped depth (cmark nests quotes freely)
                row["old"] = "RecursionError"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"## Hostile articles (build {build_seconds:.1f} s wall, repeat {args.repeat})\n")
    print(
        "| article | file KB | parse ms | render at build ms | html KB | response KB "
        "| request CPU median ms | worst ms | old request-time render ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for slug, row in rows.items():
        old = row["old"]
        old = "see below" if old is None else old if isinstance(old, str) else f"{old * 1000:.0f}"
        print(
            f"| {slug} | {row['bytes'] / 1000:.0f} | {row['parse'] * 1000:.0f} "
            f"| {row['render'] * 1000:.0f} | {row['html'] / 1000:.0f} "
            f"| {row['response'] / 1000:.0f} | {row['median'] * 1000:.1f} "
            f"| {row['worst'] * 1000:.1f} | {old} |"
        )

    print("\n## Old render path on the deep-nesting shapes (quadratic in depth)\n")
    print("| shape | depth | old render ms | new render ms |")
    print("|---|---:|---:|---:|")
    for name, make in (("nested divs", nested_divs), ("unclosed tags", unclosed_tags)):
        for depth in (5_000, 10_000, 20_000):
            md = make(depth)
            old, new = cpu(old_render, md), cpu(render.render_markdown, md)
            print(f"| {name} | {depth:,} | {old * 1000:.0f} | {new * 1000:.0f} |")
    print(
        "\nIssue #12 (old path, request time): 150,000 nested divs never finished; "
        "3 parallel GETs timed out all 3 workers."
    )

    on, off = min(gate[True]) * 1000, min(gate[False]) * 1000
    print(
        f"\n## Searching {FRAGMENT!r} (held by the verbatim-* articles)\n\n"
        f"request CPU median: gate on {on:.2f} ms, off {off:.2f} ms: "
        f"the gate costs {on - off:.2f} ms (target ~2)"
    )

    on, off = min(literal[True]) * 1000, min(literal[False]) * 1000
    print(
        f"\n## Searching {PAGE_FRAGMENT!r} (held by the page-* articles)\n\n"
        f"request CPU median: literal tier on {on:.2f} ms, off {off:.2f} ms: "
        f"reading the pages costs {on - off:.2f} ms"
    )

    verdict = "ok" if worst_all * 1000 <= LIMIT_MS else "OVER"
    print(
        f"\nworst article request CPU {worst_all * 1000:.1f} ms (limit {LIMIT_MS:.0f}): {verdict}"
    )
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
