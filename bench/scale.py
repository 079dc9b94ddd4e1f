"""Scale run: 20 locales on one box (issue #16 item 1; worker memory of issue #14 item 5).

On ``../shared/corpus-scale`` (20 locales, ~58,000 files) with ``../shared/queries-scale``, and
with ``--dev`` also on the dev corpus (``../shared/corpus`` + ``../shared/queries``) so the two
are compared in one run:

1. build (``--build``): full build wall, CPU and peak RSS, then a no-change incremental
   rebuild; each build runs under its own intermediate process, so the peak RSS is that
   build's own (the largest process of its tree), never an earlier build's;
2. in process: search latency p50/p99 (warm process, result cache off) over a sample of every
   query set and locale;
3. real gunicorn (the project's ``gunicorn.conf.py``): start-up time (``gunicorn`` started ->
   first ``/readyz`` 200), then a replay of ``--replay`` (20,000) queries over every locale,
   shuffled, from ``--clients`` keep-alive connections, with the result cache on (the
   production setting): HTTP p50/p99, errors, then each worker's USS (``Private_Clean +
   Private_Dirty`` of ``/proc/<pid>/smaps_rollup``), ``Private_Dirty`` and RSS.

Targets printed beside the figures: worker USS <= 100 MB (scale), <= 60 MB (dev); start-up
<= 5 s; scale HTTP p99 <= 1.5x dev's; full scale build <= 90 s at <= 700 MB peak.

    python bench/scale.py [--build] [--dev] [--index DIR] [--dev-index DIR] [--replay 20000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import shared_dir  # noqa: E402
from helpapi import search as hs  # noqa: E402

SHARED = shared_dir()

# Runs one build command and prints its own children's rusage (the build's whole tree, and only
# it): RUSAGE_CHILDREN of this benchmark would carry the full build's peak into the next one.
_RUSAGE = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': rc, 'wall': time.perf_counter() - t,\n"
    "                  'cpu': u.ru_utime + u.ru_stime, 'peak_mb': u.ru_maxrss / 1024}))\n"
)


def pct(values, p):
    """The ``p``-th percentile (nearest rank) of ``values``."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def load_queries(folder: Path) -> list[dict]:
    """Every query of every ``*.jsonl`` set in ``folder`` that is sent as a plain search."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                q["kind"] = q.get("kind") or path.stem
                out.append(q)
    return out


def is_prefix(q: dict) -> bool:
    """Whether a query is sent in as-you-type mode (the ``prefix`` set)."""
    return bool(q.get("prefix")) or q.get("kind") == "prefix"


def build(corpus: Path, index: Path) -> dict:
    """Full build into an empty ``index``, then a no-change incremental rebuild."""

    def run(*extra):
        cmd = [sys.executable, "-m", "helpapi.cli", "index", "build", *extra]
        cmd += ["--corpus", str(corpus), "--index", str(index)]
        out = subprocess.run(
            [sys.executable, "-c", _RUSAGE, *cmd], cwd=ROOT, capture_output=True, text=True
        )
        figures = json.loads(out.stdout)
        if figures["rc"]:
            raise RuntimeError(f"build failed: {out.stderr[-2000:]}")
        return figures

    subprocess.run(["rm", "-rf", str(index)], check=True)
    return {"full": run(), "nochange": run("--incremental")}


def in_process(index: Path, queries: list[dict], sample: int) -> dict:
    """Search latency (ms, perf_counter) with the result cache off, warm process."""
    picked = queries[::sample]
    with hs.open_current(index) as ix:
        for q in picked[:200]:  # warm-up: first searches of each locale open its files
            hs.search(ix, q["q"], q["locale"], prefix=is_prefix(q))
        times = []
        for q in picked:
            t = time.perf_counter()
            hs.search(ix, q["q"], q["locale"], prefix=is_prefix(q))
            times.append((time.perf_counter() - t) * 1000)
    return {"n": len(times), "p50": pct(times, 50), "p99": pct(times, 99)}


def memory(pid: int) -> dict:
    """USS (Private_Clean + Private_Dirty), Private_Dirty and RSS of ``pid``, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name.strip()] = int(rest.split()[0]) / 1024
    return {
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
        "dirty": fields["Private_Dirty"],
        "rss": fields["Rss"],
    }


def workers_of(pid: int) -> list[int]:
    """The gunicorn master's worker processes."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _get(conn: http.client.HTTPConnection, path: str) -> int:
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def serve(
    index: Path,
    queries: list[dict],
    replay: int,
    clients: int,
    conf: str = "gunicorn.conf.py",
    cache: bool = False,
    warm: int = 6,
) -> dict:
    """Start gunicorn on ``index``, time its start, replay queries, read worker memory.

    With ``cache`` off (the default) every request is a search: the dev replay (20,000 requests
    over 11,937 queries) would otherwise be about 40 % result-cache hits and the scale replay
    (17,857 queries) about 10 %, and their latencies would compare the cache, not the search.
    ``warm`` untimed searches per locale first: each worker's first search of a locale opens
    its files (about 5-15 ms, once per worker and locale), which 20 locales x 3 workers would
    otherwise put into the tail of a 20,000-request replay and the dev corpus's 9 would not.
    """
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="helpapi-scale-"))
    env = dict(
        os.environ,
        HELPAPI_INDEX_DIR=str(index),
        HELPAPI_BIND=f"127.0.0.1:{port}",
        HELPAPI_ANALYTICS="off",  # the replay measures search, not analytics writes
        HELPAPI_ADMIN_TOKEN="x" * 32,
        **({} if cache else {"HELPAPI_RESULT_CACHE_SIZE": "0"}),
    )
    log = open(tmp / "gunicorn.log", "wb")
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", conf, "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        startup = None
        while time.perf_counter() - t0 < 60:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                if _get(conn, "/readyz") == 200:
                    startup = time.perf_counter() - t0
                    break
            except OSError:
                pass
            if server.poll() is not None:
                raise RuntimeError((tmp / "gunicorn.log").read_text()[-2000:])
            time.sleep(0.02)
        time.sleep(1.0)  # every worker up (the first /readyz may come from the first worker)
        idle = {w: memory(w) for w in workers_of(server.pid)}
        by_locale: dict[str, list[dict]] = {}
        for q in queries:
            by_locale.setdefault(q["locale"], []).append(q)
        for group in by_locale.values():
            for q in group[:warm]:
                # A connection each: keep-alive would pin them all to one worker.
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                path = "/v1/search?" + urllib.parse.urlencode({"q": q["q"], "locale": q["locale"]})
                _get(conn, path)
                conn.close()
        rng = random.Random(16)
        order = [queries[i % len(queries)] for i in range(replay)]
        rng.shuffle(order)
        paths = [
            "/v1/search?"
            + urllib.parse.urlencode(
                {"q": q["q"], "locale": q["locale"], **({"prefix": "true"} if is_prefix(q) else {})}
            )
            for q in order
        ]
        times: list[float] = []
        errors = []
        lock = threading.Lock()

        def client(part):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine = []
            for path in part:
                t = time.perf_counter()
                try:
                    status = _get(conn, path)
                except OSError as exc:
                    status = repr(exc)
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                mine.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    with lock:
                        errors.append(status)
            with lock:
                times.extend(mine)

        threads = [
            threading.Thread(target=client, args=(paths[i::clients],)) for i in range(clients)
        ]
        t1 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t1
        after = {w: memory(w) for w in workers_of(server.pid)}
        return {
            "startup": startup,
            "cache": cache,
            "warm": warm,
            "n": len(times),
            "rps": len(times) / wall,
            "p50": pct(times, 50),
            "p99": pct(times, 99),
            "errors": len(errors),
            "idle": idle,
            "after": after,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def run_one(name, corpus, queries_dir, index, args) -> dict:
    """Every figure for one corpus."""
    out = {"name": name}
    if args.build or not (index / "CURRENT").exists():
        out["build"] = build(corpus, index)
    queries = load_queries(queries_dir)
    out["locales"] = len({q["locale"] for q in queries})
    out["queries"] = len(queries)
    out["in_process"] = in_process(index, queries, args.sample)
    out["http"] = serve(
        index, queries, args.replay, args.clients, args.conf, args.cache == "on", args.warm
    )
    return out


def report(results: list[dict], target_uss: dict) -> None:
    """Markdown tables of ``results``."""
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    if any("build" in r for r in results):
        print("| corpus | build | wall s | CPU s | peak RSS MB |\n|---|---|---:|---:|---:|")
        for r in results:
            for kind in ("full", "nochange"):
                b = r.get("build", {}).get(kind)
                if b:
                    print(
                        f"| {r['name']} | {kind} | {b['wall']:.1f} | {b['cpu']:.1f} "
                        f"| {b['peak_mb']:.0f} |"
                    )
        print()
    h0 = results[0]["http"]
    print(
        f"HTTP: result cache {'on' if h0['cache'] else 'off'}, {h0['warm']} untimed searches"
        " per locale after start-up, then the timed replay\n"
    )
    print(
        "| corpus | queries (locales) | in-process p50 / p99 ms | HTTP p50 / p99 ms | req/s "
        "| errors | start-up s | worker USS MB: idle -> after replay (max) | Private_Dirty MB "
        "| RSS MB | USS target |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in results:
        h, p = r["http"], r["in_process"]
        idle = max(m["uss"] for m in h["idle"].values())
        after = h["after"].values()
        uss = max(m["uss"] for m in after)
        print(
            f"| {r['name']} | {r['queries']} ({r['locales']}) | {p['p50']:.2f} / {p['p99']:.1f} "
            f"| {h['p50']:.2f} / {h['p99']:.1f} | {h['rps']:.0f} | {h['errors']} "
            f"| {h['startup']:.2f} | {idle:.0f} -> {uss:.0f} "
            f"({', '.join(format(m['uss'], '.0f') for m in after)}) "
            f"| {max(m['dirty'] for m in after):.0f} | {max(m['rss'] for m in after):.0f} "
            f"| <= {target_uss[r['name']]} |"
        )
    names = {r["name"]: r for r in results}
    if "scale" in names and "dev" in names:
        ratio = names["scale"]["http"]["p99"] / names["dev"]["http"]["p99"]
        print(f"\nHTTP p99 scale / dev: {ratio:.2f} (target <= 1.5)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus-scale")
    ap.add_argument("--queries", type=Path, default=SHARED / "queries-scale")
    ap.add_argument("--index", type=Path, default=Path("/tmp/helpapi-scale-index"))
    ap.add_argument("--build", action="store_true", help="full + no-change build first")
    ap.add_argument("--dev", action="store_true", help="also run on the dev corpus")
    ap.add_argument("--dev-only", action="store_true", help="only the dev corpus")
    ap.add_argument("--dev-index", type=Path, default=Path("/tmp/helpapi-scale-dev-index"))
    ap.add_argument("--replay", type=int, default=20000, help="HTTP queries replayed")
    ap.add_argument("--clients", type=int, default=2, help="HTTP client connections")
    ap.add_argument("--conf", default="gunicorn.conf.py", help="gunicorn config (A/B runs)")
    ap.add_argument(
        "--cache", choices=("off", "on"), default="off", help="HTTP replay: the result cache"
    )
    ap.add_argument(
        "--warm", type=int, default=6, help="untimed HTTP searches per locale before the replay"
    )
    ap.add_argument("--sample", type=int, default=4, help="in process: every Nth query")
    ap.add_argument("--build-only", action="store_true", help="only --build, print JSON")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    args = ap.parse_args(argv)
    if args.build_only:
        print(json.dumps(build(args.corpus, args.index)))
        return
    results = []
    if not args.dev_only:
        results.append(run_one("scale", args.corpus, args.queries, args.index, args))
    if args.dev or args.dev_only:
        dev_queries = SHARED / "queries"
        results.append(run_one("dev", SHARED / "corpus", dev_queries, args.dev_index, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    report(results, {"scale": 100, "dev": 60})


if __name__ == "__main__":
    main()
