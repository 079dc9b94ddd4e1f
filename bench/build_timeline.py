"""Timeline of a full build: when each locale starts and ends, in which pool worker.

Runs ``<root>/.venv/bin/helpapi index build`` under ``strace -f`` (seccomp filter: only
process creation, ``mkdir``, ``rename`` and exits are stopped, so the build runs at nearly
full speed) and reads the trace: a locale starts when its folder is made in the staging
folder (``build_locale``'s first act) and ends when the process that made it exits (the
forked child of a pool worker) or, for a build made in the worker itself, when the next
locale starts there or the generation is renamed in. Works on any checkout (no code of its
own in the build), so base and head can be compared::

    .venv/bin/python bench/build_timeline.py --root /work/main --root .
    .venv/bin/python bench/build_timeline.py --corpus ../shared/corpus-scale --root .

Each build runs under ``/usr/bin/time -v`` too (wall, user + sys CPU, peak RSS; strace's
own CPU is counted, small). ``--rounds N`` alternates the checkouts N times. Prints, per
build: seconds from the CLI's start to the staging folder (plan, carry-over), to each
locale's start and end (per worker), to the rename (switch), and to the CLI's exit; the idle
worker-seconds between the first locale's start and the last one's end. Figures only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
RESUMED = re.compile(r"^<\.\.\. \w+ resumed>(.*)$")
CALLS = "execve,clone,clone3,fork,vfork,mkdir,mkdirat,rename,renameat,renameat2,exit_group"


def trace(root: Path, corpus: str, index: str, out: str) -> tuple[int, dict]:
    """Run the build of ``root`` under strace into ``out`` (and ``/usr/bin/time -v``): the
    build's exit code and ``{wall, user, sys, rss_mb}`` (strace's own CPU included: small, it
    stops only at the traced calls)."""
    exe = root / ".venv" / "bin" / "helpapi"
    cmd = ["/usr/bin/time", "-v", "-o", out + ".time"]
    cmd += ["strace", "-f", "-ttt", "--seccomp-bpf", "-e", f"trace={CALLS}", "-o", out]
    cmd += [str(exe), "index", "build", "--corpus", corpus, "--index", index]
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    times = {}
    for line in open(out + ".time", encoding="utf-8"):
        key, _, value = line.strip().rpartition(": ")
        if key == "User time (seconds)":
            times["user"] = float(value)
        elif key == "System time (seconds)":
            times["sys"] = float(value)
        elif key.startswith("Elapsed (wall clock)"):
            parts = [float(x) for x in value.split(":")]
            times["wall"] = sum(x * 60 ** (len(parts) - 1 - i) for i, x in enumerate(parts))
        elif key == "Maximum resident set size (kbytes)":
            times["rss_mb"] = int(value) / 1024
    return code, times


def parse(path: str) -> dict:
    """The build's events from a trace file."""
    parent: dict[int, int] = {}
    exits: dict[int, float] = {}
    starts: list[tuple[float, int, str]] = []  # (time, pid, locale)
    pending: dict[int, str] = {}
    t0 = None
    staging = switch = None
    main = None
    for raw in open(path, encoding="utf-8", errors="replace"):
        m = LINE.match(raw)
        if not m:
            continue
        pid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if t0 is None:
            t0, main = t, pid
        # A call interrupted by another process's line is written in two parts.
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")]
            continue
        resumed = RESUMED.match(rest)
        if resumed:
            rest = pending.pop(pid, "") + resumed.group(1)
        if rest.startswith(("clone", "fork", "vfork")):
            ret = rest.rsplit("=", 1)[-1].strip().split()[0]
            if ret.isdigit():
                parent[int(ret)] = pid
        elif rest.startswith(("mkdir(", "mkdirat(")) and rest.rstrip().endswith("= 0"):
            name = re.search(r'"([^"]+)"', rest).group(1)
            p = Path(name)
            if p.name.startswith(".build-"):
                staging = t
            elif p.parent.name.startswith(".build-") and not p.name.startswith("."):
                # (A dot folder is the build's own, not a locale: .english-sides.)
                starts.append((t, pid, p.name))
        elif rest.startswith("rename") and ".build-" in rest and rest.rstrip().endswith("= 0"):
            switch = t
        elif rest.startswith("+++ exited") or rest.startswith("+++ killed"):
            exits[pid] = t
    return {
        "t0": t0,
        "main": main,
        "parent": parent,
        "exits": exits,
        "starts": starts,
        "staging": staging,
        "switch": switch,
    }


def timeline(ev: dict) -> tuple[list, dict]:
    """``([(worker, locale, start, end)], marks)`` in seconds from the CLI's start."""
    t0, parent, exits = ev["t0"], ev["parent"], ev["exits"]
    rows = []
    by_worker: dict[int, list] = {}
    for t, pid, loc in sorted(ev["starts"]):
        # A forked build's worker is its parent; an in-process build's worker is itself.
        worker = parent.get(pid, pid)
        if pid == ev["main"]:
            worker = pid
        by_worker.setdefault(worker, []).append((t, pid, loc))
    for worker, items in by_worker.items():
        for i, (t, pid, loc) in enumerate(items):
            if pid != worker and pid in exits:
                end = exits[pid]
            elif i + 1 < len(items):
                end = items[i + 1][0]
            else:
                end = ev["switch"] or exits.get(worker, t)
            rows.append((worker, loc, t - t0, end - t0))
    marks = {
        "staging": (ev["staging"] or t0) - t0,
        "switch": (ev["switch"] or t0) - t0,
        "exit": exits.get(ev["main"], t0) - t0,
    }
    return rows, marks


def report(label: str, rows: list, marks: dict) -> None:
    """Print one build's timeline."""
    workers = sorted({r[0] for r in rows}, key=lambda w: min(r[2] for r in rows if r[0] == w))
    name = {w: f"w{i + 1}" for i, w in enumerate(workers)}
    print(f"\n== {label}")
    print(f"staging folder made {marks['staging']:6.2f} s (CLI import, plan)")
    for r in sorted(rows, key=lambda r: r[2]):
        print(f"  {name[r[0]]}  {r[1]:6}  {r[2]:6.2f} -> {r[3]:6.2f}  ({r[3] - r[2]:5.2f} s)")
    first = min(r[2] for r in rows)
    last = max(r[3] for r in rows)
    busy = sum(r[3] - r[2] for r in rows)
    idle = len(workers) * (last - first) - busy
    ends = {w: max(r[3] for r in rows if r[0] == w) for w in workers}
    print(f"first locale start {first:6.2f}, last end {last:6.2f}")
    print(
        "worker ends: "
        + ", ".join(f"{name[w]} {ends[w]:.2f}" for w in workers)
        + f" (spread {max(ends.values()) - min(ends.values()):.2f} s)"
    )
    print(f"locale seconds summed {busy:.1f}, idle worker-seconds inside the span {idle:.2f}")
    print(f"switch (rename) {marks['switch']:6.2f}, CLI exit {marks['exit']:6.2f}")
    scale = 60 / max(marks["exit"], 1e-9)
    for w in workers:
        line = [" "] * 62
        for r in rows:
            if r[0] != w:
                continue
            a, b = int(r[2] * scale), max(int(r[3] * scale), int(r[2] * scale) + 1)
            tag = r[1][:2]
            for i in range(a, min(b, 62)):
                line[i] = "-"
            for i, ch in enumerate(tag):
                if a + i < min(b, 62):
                    line[a + i] = ch
            if b - 1 < 62:
                line[b - 1] = "|"
        print(f"  {name[w]} " + "".join(line))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", action="append", help="checkout (repeatable; default: this one)")
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--keep", help="keep the trace files in this folder")
    ap.add_argument("--rounds", type=int, default=1, help="rounds, the checkouts alternating")
    args = ap.parse_args()
    roots = [Path(r).resolve() for r in (args.root or [HERE.parent])]
    if not shutil.which("strace"):
        print("strace not found (Debian package strace)", file=sys.stderr)
        return 2
    summary = []
    for round_ in range(1, args.rounds + 1):
        for root in roots:
            with tempfile.TemporaryDirectory(prefix="timeline-") as tmp:
                out = os.path.join(
                    args.keep or tmp, f"trace-{root.name}-{os.getpid()}-{round_}.txt"
                )
                load = os.getloadavg()[0]
                code, times = trace(root, args.corpus, os.path.join(tmp, "idx"), out)
                if code:
                    print(f"{root}: build failed ({code})", file=sys.stderr)
                    return 1
                rows, marks = timeline(parse(out))
                report(f"{root} round {round_}", rows, marks)
                cpu = times["user"] + times["sys"]
                print(
                    f"wall {times['wall']:.2f} s, user {times['user']:.2f} + sys {times['sys']:.2f}"
                    f" = CPU {cpu:.2f} s, peak RSS {times['rss_mb']:.0f} MB, load {load:.1f}"
                )
                summary.append((round_, root.name, times, cpu, load))
    print("\nround  checkout        wall s   CPU s  (user + sys)  load at start")
    for round_, name, times, cpu, load in summary:
        print(
            f"{round_:5}  {name:14} {times['wall']:7.2f} {cpu:7.2f}  ({times['user']:.2f} +"
            f" {times['sys']:.2f})  {load:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
