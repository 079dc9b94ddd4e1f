"""Worst CPU of helpapi.verbatim.holders per query (stop 20 review): bodies of several shapes
holding (or not) the fragment, ``[ ] \\`` runs, words and marks, apostrophes, 1 to
ranking.RERANK_DEPTH bodies sharing ranking.VERBATIM_MAX_BYTES; ``time.process_time``.

    .venv/bin/python bench/verbatim_cost.py [--root CHECKOUT]   # run base and head in turn
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, ap.parse_args().root)

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
print(f"{verbatim.__file__}: worst {worst:.2f} ms CPU/query")
