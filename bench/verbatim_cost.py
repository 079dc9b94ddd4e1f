"""Worst CPU of helpapi.verbatim.holders per query (stop 20 review): bodies of several shapes
holding (or not) the fragment, ``[ ] \\`` runs, words and marks, apostrophes, 1 to
ranking.RERANK_DEPTH bodies sharing ranking.VERBATIM_MAX_BYTES; ``time.process_time``.
Stop 21: the same with pages (helpapi.page_text, when the checkout has it): every body holds
a bracketed fragment, the stored records are hostile (a zlib bomb, tags, entities, brackets);
``--index DIR --locale L`` also prints what reading every document's page costs per byte
against reading its body as holders() does (page_text's weights come from there).

    .venv/bin/python bench/verbatim_cost.py [--root CHECKOUT]   # run base and head in turn
    .venv/bin/python bench/verbatim_cost.py --index /tmp/helpapi-regen-index --locale zh-TW
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import zlib
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
ap.add_argument("--index", help="an index folder: per-byte costs of its pages (calibration)")
ap.add_argument("--locale", default="zh-TW")
args = ap.parse_args()
sys.path.insert(0, args.root)

from helpapi import ranking  # noqa: E402
from helpapi import verbatim  # noqa: E402


class Bodies:
    """Bodies as helpapi.verbatim reads a display's (``folded_bytes``)."""

    def __init__(self, bodies: list[bytes]):
        self.bodies = bodies

    def folded_bytes(self, d: int) -> memoryview:
        return memoryview(self.bodies[d])


FR = "centre d'administration de la messagerie"
SV = "nekad till en delad mapp"
CURLY = "centre d\u2019administration de la messagerie ".encode()
SHAPES = {
    "marks": (SV, SV.encode() + b" ", b"[ ] \\ "),
    "words+marks": (SV, SV.encode() + b" ", b"a [ ] "),
    "no fragment": (SV, b"", b"abc def "),
    "apostrophes": (FR, CURLY, "\u2019 [ ] ".encode()),
    "apostrophe probe": (FR, CURLY, "administrationdelamessagerie \u2019".encode()),
}
worst = 0.0
for name, (q, head, unit) in SHAPES.items():
    for n in (1, 2, 10, ranking.RERANK_DEPTH):
        size = ranking.VERBATIM_MAX_BYTES // n - 64
        bodies = [head + (unit * (size // len(unit) + 1))[:size] for _ in range(n)]
        started = time.process_time()
        for _ in range(20):
            verbatim.holders(Bodies(bodies), q, list(range(n)))
        ms = (time.process_time() - started) / 20 * 1000
        worst = max(worst, ms)
        print(f"{name:18} {n:4} bodies {ms:6.2f} ms CPU/query")

try:
    from helpapi import page_text  # noqa: E402
except ImportError:  # a checkout before stop 21: no pages
    page_text = None


class Records:
    """Stored records as Whoosh writes them (zlib level 3 of the fields' pickle, protocol 2)."""

    def __init__(self, pages: list[str]):
        self.packed = [zlib.compress(pickle.dumps({"html": p, "body": ""}, 2), 3) for p in pages]

    def text(self, d: int, limit: float):
        return page_text.page_of(self.packed[d], limit)


BRACKETED = "nekad [till] en delad mapp"
PAGES = {  # (a bomb: 20 MB of one letter; the others: their unit repeated to fill the budget)
    "page bomb": "a",
    "page tags": "<b>[</b> ",
    "page entities": "&amp;[ ",
    "page brackets": "nekad [ till ] en delad mapp [ ] ",
    "page words": "nekad till en delad mapp ",
    "page short words": "a b\n",
    "page cjk": "受信者、グループ の順に [ 設定 ] ",
}
if page_text is not None:
    for name, unit in PAGES.items():
        for n in (2, 10, ranking.RERANK_DEPTH):
            bodies = [BRACKETED.encode()] * n
            per_byte = page_text._INFLATED_COST + page_text._CHAR_COST
            size = ranking.VERBATIM_PAGE_BYTES // per_byte // n - 64
            page = unit * 20_000_000 if len(unit) == 1 else (unit * (size // len(unit) + 1))
            records = Records([page[: max(size, 0)] if len(unit) > 1 else page] * n)
            started = time.process_time()
            for _ in range(5):
                verbatim.holders(Bodies(bodies), BRACKETED, list(range(n)), records)
            ms = (time.process_time() - started) / 5 * 1000
            worst = max(worst, ms)
            print(f"{name:18} {n:4} pages  {ms:6.2f} ms CPU/query")
print(f"{verbatim.__file__}: worst {worst:.2f} ms CPU/query")

if args.index and page_text is not None:
    from helpapi.search import open_current  # noqa: E402

    with open_current(Path(args.index)) as ix:
        shown, pages = ix.display[args.locale], page_text.Pages(ix.searcher(args.locale))
        docs = range(shown.doc_count)
        needle = b"\xff\xfe"  # (found nowhere: every body and page searched whole)
        for _ in range(2):  # the second round counts (warm)
            started = time.process_time()
            body_bytes = 0
            for d in docs:
                view = shown.folded_bytes(d)
                body_bytes += len(view)
                _ = needle in bytes(view).translate(None, b"[]\\ ")
            body_s = time.process_time() - started
            column = page_text._stored_column(ix.searcher(args.locale).reader())
            packed = [page_text._packed(column, d) for d in docs]
            started = time.process_time()
            inflated = [zlib.decompress(p) for p in packed]
            zip_s = time.process_time() - started
            started = time.process_time()
            for d in docs:
                page, _ = page_text.page_of(packed[d], float("inf"))
                _ = needle in page.replace(b"\\", b"")
            page_s = time.process_time() - started
        per_body = body_s / body_bytes
        n_packed, n_inflated = sum(map(len, packed)), sum(map(len, inflated))
        print(
            f"{args.locale}: {len(docs)} docs, bodies {body_bytes} B ({per_body * 1e9:.2f} ns/B), "
            f"records {n_packed} B packed, {n_inflated} B inflated"
        )
        print(
            f"inflating: {zip_s / n_packed / per_body:.1f} body-bytes per packed byte; "
            f"the rest of a page read: {(page_s - zip_s) / n_inflated / per_body:.1f} "
            f"body-bytes per inflated byte (weights in use: "
            f"{page_text._COMPRESSED_COST}, {page_text._INFLATED_COST})"
        )
