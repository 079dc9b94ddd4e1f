"""A/B in one run: in-process search latency of two commits, interleaved, as ratios.

Checks ``--base`` out into a temporary git worktree, builds (or reuses) one index per side with
that side's own code, then alternates rounds A, B, A, B... over the same queries so that machine
noise hits both sides alike. Prints p50/p95 per query kind and the ratio head/base.

    python bench/ab.py --base HEAD~1 [--rounds 4] [--sample 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import shared_dir  # noqa: E402

SHARED = shared_dir()

# Runs inside one side's checkout: times every sampled query once, prints JSON {kind: [ms...]}.
CHILD = r"""
import json, sys, time
from pathlib import Path
import helpapi
from helpapi import search as hs
assert Path(helpapi.__file__).resolve().is_relative_to(Path.cwd().resolve()), helpapi.__file__
index, sample, shared = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
ix = hs.open_current(index)
out = {}
for kind in ("title", "body", "xling"):
    qs = [json.loads(x) for x in (shared / "queries" / f"{kind}.jsonl").read_text().splitlines()]
    lat = []
    for q in qs[::sample]:
        t = time.perf_counter()
        hs.search(ix, q["q"], q["locale"])
        lat.append((time.perf_counter() - t) * 1000)
    out[kind] = lat
print(json.dumps(out))
"""


def side_index(checkout: Path, index: Path) -> None:
    """Build ``index`` with the side's own code, unless it already holds a generation."""
    if (index / "CURRENT").exists():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "helpapi.cli",
            "index",
            "build",
            "--corpus",
            str(SHARED / "corpus"),
            "--index",
            str(index),
        ],
        cwd=checkout,
        env={"PYTHONPATH": str(checkout)},
        check=True,
        capture_output=True,
    )


def measure(checkout: Path, index: Path, sample: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(index), str(sample), str(SHARED)],
        cwd=checkout,
        env={"PYTHONPATH": str(checkout)},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="git revision to compare against")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--sample", type=int, default=4, help="every Nth query")
    ap.add_argument("--work", default=None, help="folder for the worktree and indexes")
    ap.add_argument("--index-base", help="an index the base can read (default: build one)")
    ap.add_argument("--index-head", help="an index the head can read (default: build one)")
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="helpapi-ab-"))
    base_dir = work / "base"
    if not base_dir.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_dir), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    sides = {
        "base": (base_dir, Path(args.index_base or work / "index-base")),
        "head": (ROOT, Path(args.index_head or work / "index-head")),
    }
    for checkout, index in sides.values():
        side_index(checkout, index)
    samples = {name: {} for name in sides}
    for _ in range(args.rounds):
        for name, (checkout, index) in sides.items():
            for kind, lat in measure(checkout, index, args.sample).items():
                samples[name].setdefault(kind, []).extend(lat)
    print(f"base {args.base} vs head (working tree), {args.rounds} interleaved rounds\n")
    print("| kind | base p50 | head p50 | ratio | base p95 | head p95 | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in samples["base"]:
        b, h = samples["base"][kind], samples["head"][kind]
        b50, h50, b95, h95 = pct(b, 50), pct(h, 50), pct(b, 95), pct(h, 95)
        print(
            f"| {kind} | {b50:.2f} | {h50:.2f} | {h50 / b50:.2f} | {b95:.2f} | {h95:.2f} "
            f"| {h95 / b95:.2f} |"
        )


if __name__ == "__main__":
    main()
