"""Cost of search analytics: real gunicorn with analytics on and off, interleaved rounds.

Starts two gunicorns (the project's conf, 2 workers each) over one index of the bundled corpus,
one with ``HELPAPI_ANALYTICS=on`` and one with ``off``, and replays title queries against them
in alternating rounds (on, off, on, off, ...) so both see the same machine load. Prints the
searches a second of each round and the on/off ratio, then stops both gracefully and counts the
rows written: every search sent to the "on" server must be there (when none was dropped).

    python bench/analytics_cost.py [--searches 20000] [--rounds 6] [--threads 4] [--no-cache]
        [--index DIR] [--compare CHECKOUT]

Title queries are mostly result-cache hits, the cheapest searches and so the largest relative
cost of recording; ``--no-cache`` sets ``HELPAPI_RESULT_CACHE_SIZE=0`` on both servers, so every
search runs the engine (the cost relative to a full search). ``--index`` reuses an index of the
corpus instead of building one. ``--compare`` adds a third server, analytics on, running the
code of another checkout (say a worktree of main), in the same interleaved rounds: a
before/after comparison that sees the same machine load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import title_queries  # noqa: E402
from helpapi.indexer import build_indexes  # noqa: E402


def queries(corpus: Path) -> list[str]:
    """Title queries of every locale (what a help widget sends), as URL paths."""
    return [
        "/v1/search?" + urllib.parse.urlencode({"q": title[:200], "locale": locale})
        for locale, title in title_queries(corpus)
    ]


def start(
    index: Path, db: Path, analytics: str, log: Path, cache: bool = True, code: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPAPI_", "PROMETHEUS_"))}
    env.update(
        HELPAPI_INDEX_DIR=str(index),
        HELPAPI_BIND=f"127.0.0.1:{port}",
        HELPAPI_ANALYTICS=analytics,
        HELPAPI_ANALYTICS_DB=str(db),
        WEB_CONCURRENCY="2",
    )
    if not cache:
        env["HELPAPI_RESULT_CACHE_SIZE"] = "0"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=code,  # gunicorn puts its folder first on sys.path: that checkout's helpapi
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=5).read()
            return proc, base
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.3)


def replay(base: str, paths: list[str], n: int, threads: int) -> tuple[float, int]:
    """Send n searches over keep-alive connections; (seconds, errors)."""
    host, port = base.removeprefix("http://").split(":")
    errors = [0]
    lock = threading.Lock()

    def run(k: int):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in range(k, n, threads):
            conn.request("GET", paths[i % len(paths)])
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, errors[0]


def server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by a gunicorn master and its live workers.

    Throughput on a shared 2-core machine moves by +-20 % round to round; the CPU the server
    spends per search is the steadier measure of what recording costs (the batching writer
    thread runs inside the workers, so its CPU is counted here).
    """
    tick = os.sysconf("SC_CLK_TCK")
    pids = [proc.pid]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        pids += [int(x) for x in children.read_text().split()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def side_threads_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by the workers' threads other than their main thread.

    That is the analytics writer (gevent serves every request in the main thread): the direct
    cost of recording, counted per thread by the kernel, so steadier under load than the
    difference of two servers' totals.
    """
    tick = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    total = 0.0
    for pid in children.read_text().split() if children.exists() else ():
        try:
            tids = [t for t in os.listdir(f"/proc/{pid}/task") if t != pid]
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def paired(a: list[float], b: list[float]) -> float:
    """The median of the per-round ratios a/b (rounds run back to back share the load)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def dropped(base: str) -> float:
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("helpapi_analytics_dropped_total"):
            return float(line.split()[-1])
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--searches", type=int, default=20000, help="searches sent to each server")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    ap.add_argument("--no-cache", action="store_true", help="result cache off on both servers")
    ap.add_argument("--index", help="an index of the corpus to reuse (default: build one)")
    ap.add_argument("--compare", help="another checkout: a third server, analytics on, its code")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="helpapi-analytics-bench-"))
    if args.index:
        index = Path(args.index)
    else:
        index = tmp / "index"
        build_indexes(Path(args.corpus), index, jobs=2)
    paths = queries(Path(args.corpus))
    db = tmp / "analytics.sqlite3"
    servers = {
        "on": start(index, db, "on", tmp / "on.log", not args.no_cache),
        "off": start(index, tmp / "off.sqlite3", "off", tmp / "off.log", not args.no_cache),
    }
    if args.compare:
        servers["cmp"] = start(
            index, tmp / "cmp.sqlite3", "on", tmp / "cmp.log", not args.no_cache, Path(args.compare)
        )
    per_round = args.searches // args.rounds
    rates: dict[str, list[float]] = {name: [] for name in servers}
    cpu_ms: dict[str, list[float]] = {name: [] for name in servers}
    side_us: dict[str, list[float]] = {name: [] for name in servers}
    errors = dict.fromkeys(servers, 0)
    try:
        for name in servers:  # warm-up: open the indexes, fill the result caches a little
            replay(servers[name][1], paths, min(500, per_round), args.threads)
        before = dropped(servers["on"][1])
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(servers)[::-1]
            for name in order:
                cpu0 = server_cpu(servers[name][0])
                side0 = side_threads_cpu(servers[name][0])
                seconds, errs = replay(servers[name][1], paths, per_round, args.threads)
                rates[name].append(per_round / seconds)
                cpu_ms[name].append((server_cpu(servers[name][0]) - cpu0) * 1000 / per_round)
                side = side_threads_cpu(servers[name][0]) - side0
                side_us[name].append(side * 1e6 / per_round)
                errors[name] += errs
        lost_to_queue = dropped(servers["on"][1]) - before
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)  # all at once, then wait: they stop in parallel
        for proc, _ in servers.values():
            stop(proc, timeout=60)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT count(*) FROM searches").fetchone()[0]
    conn.close()
    sent = per_round * args.rounds + min(500, per_round)
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"searches per server: {sent} ({args.rounds} rounds of {per_round}, + warm-up)")
    print(f"result cache: {'off' if args.no_cache else 'on'}; load average {os.getloadavg()}")
    print("round rates on  (searches/s):", " ".join(f"{x:.0f}" for x in rates["on"]))
    print("round rates off (searches/s):", " ".join(f"{x:.0f}" for x in rates["off"]))
    print(f"median on {on:.0f}/s, off {off:.0f}/s, on/off {on / off:.3f} (cost {1 - on / off:.1%})")
    con, coff = statistics.median(cpu_ms["on"]), statistics.median(cpu_ms["off"])
    print("round server CPU on  (ms/search):", " ".join(f"{x:.3f}" for x in cpu_ms["on"]))
    print("round server CPU off (ms/search):", " ".join(f"{x:.3f}" for x in cpu_ms["off"]))
    print(f"median server CPU on {con:.3f} ms, off {coff:.3f} ms, on/off {con / coff:.3f}")
    print(
        f"median of per-round ratios on/off: throughput {paired(rates['on'], rates['off']):.3f},"
        f" server CPU {paired(cpu_ms['on'], cpu_ms['off']):.3f}"
    )
    writer = statistics.median(side_us["on"])
    print(f"analytics writer threads CPU (on): {writer:.1f} us/search (median of rounds)")
    print(f"errors: on {errors['on']}, off {errors['off']}")
    print(f"recorded rows {rows} of {sent} sent; dropped by a full queue: {lost_to_queue:.0f}")
    figures = {"on": on, "off": off, "cpu_ms_on": con, "cpu_ms_off": coff, "rows": rows}
    figures["writer_us_on"] = writer
    if args.compare:
        cmp, ccmp = statistics.median(rates["cmp"]), statistics.median(cpu_ms["cmp"])
        conn = sqlite3.connect(tmp / "cmp.sqlite3")
        cmp_rows = conn.execute("SELECT count(*) FROM searches").fetchone()[0]
        conn.close()
        print(f"compare: on with the code of {args.compare}")
        print("round rates compare (searches/s):", " ".join(f"{x:.0f}" for x in rates["cmp"]))
        print("round server CPU compare (ms/search):", " ".join(f"{x:.3f}" for x in cpu_ms["cmp"]))
        print(
            f"median compare {cmp:.0f}/s, compare/off {cmp / off:.3f}; server CPU {ccmp:.3f} ms,"
            f" compare/off {ccmp / coff:.3f}; errors {errors['cmp']}; rows {cmp_rows} of {sent}"
        )
        print(
            f"median of per-round ratios compare/off: throughput"
            f" {paired(rates['cmp'], rates['off']):.3f}, server CPU"
            f" {paired(cpu_ms['cmp'], cpu_ms['off']):.3f}; on/compare: throughput"
            f" {paired(rates['on'], rates['cmp']):.3f}, server CPU"
            f" {paired(cpu_ms['on'], cpu_ms['cmp']):.3f}"
        )
        cmp_writer = statistics.median(side_us["cmp"])
        print(f"analytics writer threads CPU (compare): {cmp_writer:.1f} us/search")
        figures.update(
            compare=cmp, cpu_ms_compare=ccmp, compare_rows=cmp_rows, writer_us_compare=cmp_writer
        )
    print(json.dumps({**figures, "sent": sent}))
    return 0 if rows + lost_to_queue == sent else 1


if __name__ == "__main__":
    sys.exit(main())
