"""Performance benchmark: in-process latency, prefix latency, HTTP throughput, build, memory.

On an index of ../shared/corpus (built first unless --index has one):

1. in-process search latency per query set of ../shared/queries (title, body, xling, kw, typo,
   and prefix sent with prefix=true), warm process (20 searches of each set first,
   spread over the set so that every locale is warm), result
   cache off; then a Zipf (s=1.1) replay of 20,000 queries from the title/body/xling pool with
   the result cache on;
2. prefix (as-you-type) latency, warm process, result cache off: every prefix of each title
   query;
3. HTTP: real gunicorn (production config) driven by wrk (Debian) in another process:
   /healthz (the floor), /v1/search (Zipf replay), /v1/articles/<id>; ratios to the floor;
   run twice: result cache off (HELPAPI_RESULT_CACHE_SIZE=0: every search runs every pass)
   and on, with the hit rate of the search runs read from /metrics;
4. build: full build wall/CPU seconds and peak RSS; a no-change incremental rebuild;
5. memory: RSS of one gunicorn worker after warm-up with every locale open.

    python bench/perf.py [--index DIR] [--sample N] [--runs 3] [--skip-build]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import shared_dir  # noqa: E402
from helpapi import search as hs  # noqa: E402
from helpapi.search import ResultCache  # noqa: E402

SHARED = shared_dir()


def load(kind):
    path = SHARED / "queries" / f"{kind}.jsonl"
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def zipf_pool(pool, n, s=1.1, seed=7):
    rng = random.Random(seed)
    weights = [1 / (rank**s) for rank in range(1, len(pool) + 1)]
    order = pool[:]
    rng.shuffle(order)
    return rng.choices(order, weights=weights, k=n)


SETS = ("title", "body", "xling", "kw", "prefix", "typo")


def in_process(ix, sample):
    """Latency rows per set: a warm process (each set's first 20 searches are not timed),
    result cache off (each search runs every pass), then the cache-on Zipf replay."""
    rows = {}
    for kind in SETS:
        qs = load(kind)[::sample]
        prefix = kind == "prefix"  # the as-you-type set is sent as the UI sends it
        for q in qs[:: max(1, len(qs) // 20)][:20]:
            hs.search(ix, q["q"], q["locale"], prefix=prefix)
        lat = [
            timed(lambda q=q, p=prefix: hs.search(ix, q["q"], q["locale"], prefix=p)) for q in qs
        ]
        rows[f"{kind} (warm process, result cache off)"] = (
            len(qs),
            pct(lat, 50),
            pct(lat, 95),
            pct(lat, 99),
        )
    pool = [q for kind in ("title", "body", "xling") for q in load(kind)]
    cache = ResultCache(4096)

    def cached(q):
        key = (ix.name, q["locale"], q["q"], 10, 0, False)
        if cache.get(key) is None:
            cache.put(key, hs.search(ix, q["q"], q["locale"]))

    lat = [timed(lambda q=q: cached(q)) for q in zipf_pool(pool, 20000)]
    rows["zipf (cache on)"] = (len(lat), pct(lat, 50), pct(lat, 95), pct(lat, 99))
    prefixes = []
    for q in load("title")[:: sample * 4]:
        for i in range(1, len(q["q"]) + 1):
            text = q["q"][:i]
            if text.strip():
                prefixes.append(
                    timed(lambda t=text, q=q: hs.search(ix, t, q["locale"], prefix=True))
                )
    rows["every prefix of title queries (warm process, result cache off)"] = (
        len(prefixes),
        pct(prefixes, 50),
        pct(prefixes, 95),
        pct(prefixes, 99),
    )
    return rows


def wrk(url, script, seconds, threads=2, conns=8):
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(next(x for x in out.splitlines() if x.startswith("Requests/sec")).split()[1])
    lat = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            v = parts[1]
            lat[parts[0]] = (
                float(v[:-2])
                if v.endswith("ms")
                else (float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000)
            )
    errors = sum(int(x.split()[-1]) for x in out.splitlines() if "Non-2xx" in x)
    return rps, lat.get("50%"), lat.get("99%"), errors


def lua_paths(paths, file):
    body = ",\n".join(json.dumps(p) for p in paths)
    Path(file).write_text(
        "local paths = {\n" + body + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        "  return wrk.format('GET', paths[i])\nend\n",
        "utf-8",
    )


def cache_lookups(base):
    """(hits, misses) of the result cache, summed over every worker (GET /metrics)."""
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    found = {"hit": 0.0, "miss": 0.0}
    for line in text.splitlines():
        if line.startswith("helpapi_result_cache_lookups_total{"):
            result = line.split('result="')[1].split('"')[0]
            found[result] = float(line.rsplit(" ", 1)[1])
    return found["hit"], found["miss"]


def http(index, seconds, runs, cache=True):
    """wrk against real gunicorn; ``cache=False`` sets HELPAPI_RESULT_CACHE_SIZE=0, so every
    search request runs every pass (the engine's throughput, not the cache's)."""
    if not shutil.which("wrk"):
        return {"error": "wrk not installed (apt-get install wrk)"}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(HELPAPI_INDEX_DIR=str(index), HELPAPI_BIND=f"127.0.0.1:{port}")
    # Analytics off: this measures search, not the recorder (bench/analytics_cost.py does).
    env.update(HELPAPI_ANALYTICS="off", HELPAPI_RESULT_CACHE_SIZE="4096" if cache else "0")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp())
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        pool = [q for k in ("title", "body", "xling") for q in load(k)]
        search_paths = [
            "/v1/search?" + urllib.parse.urlencode({"q": q["q"], "locale": q["locale"]})
            for q in zipf_pool(pool, 20000)
        ]
        ix = hs.open_current(index)
        article_paths = []
        for loc in ix.locales:
            for slug, *_ in ix.meta["locales"][loc]["catalog"][:200]:
                article_paths.append(f"/v1/articles/{urllib.parse.quote(slug)}?locale={loc}")
        random.Random(3).shuffle(article_paths)
        lua_paths(["/healthz"], tmp / "floor.lua")
        lua_paths(search_paths, tmp / "search.lua")
        lua_paths(article_paths, tmp / "article.lua")
        for script in ("search.lua", "article.lua"):  # warm every worker
            wrk(base, str(tmp / script), 5)
        results = {}
        for name in ("floor", "search", "article"):
            before = cache_lookups(base)
            runs_ = [wrk(base, str(tmp / f"{name}.lua"), seconds) for _ in range(runs)]
            results[name] = tuple(statistics.median(r[i] for r in runs_) for i in range(3)) + (
                sum(r[3] for r in runs_),
            )
            if name == "search":
                hits, misses = (a - b for a, b in zip(cache_lookups(base), before, strict=True))
                results["hit_rate"] = hits / max(1.0, hits + misses)
        workers = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
        rss = [
            int(Path(f"/proc/{w}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
            for w in workers
        ]
        # RSS counts the index files' mapped pages (shared, reclaimable page cache) too;
        # Anonymous is the worker's own heap.
        anon = [
            int(Path(f"/proc/{w}/smaps_rollup").read_text().split("Anonymous:")[1].split()[0])
            / 1024
            for w in workers
        ]
        results["worker_rss_mb"] = max(rss) if rss else None
        results["worker_anon_mb"] = max(anon) if anon else None
        return results
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def build(index):
    def run(args):
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            [sys.executable, "-m", "helpapi.cli", *args], cwd=ROOT, capture_output=True, text=True
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise RuntimeError(proc.stderr)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return time.perf_counter() - t, cpu, after.ru_maxrss / 1024

    # A full build from nothing, into a folder beside the index: the index is replaced only
    # once the build succeeded, so a failed build (a missing corpus, say) leaves it as it was.
    fresh = index.with_name(index.name + ".building")
    shutil.rmtree(fresh, ignore_errors=True)
    full = run(["index", "build", "--corpus", str(SHARED / "corpus"), "--index", str(fresh)])
    shutil.rmtree(index, ignore_errors=True)
    fresh.rename(index)
    nochange = run(
        [
            "index",
            "build",
            "--incremental",
            "--corpus",
            str(SHARED / "corpus"),
            "--index",
            str(index),
        ]
    )
    return full, nochange


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default="/tmp/helpapi-perf-index")
    ap.add_argument("--sample", type=int, default=2, help="use every Nth query (cache-off runs)")
    ap.add_argument("--runs", type=int, default=3, help="HTTP runs per route (median)")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per HTTP run")
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args(argv)
    index = Path(args.index)
    if not args.skip_build or not (index / "CURRENT").exists():
        full, nochange = build(index)
        print("\n### Build (../shared/corpus: 8 locales x 1,500 + en-US)\n")
        print("| build | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|")
        print(f"| full | {full[0]:.1f} | {full[1]:.1f} | {full[2]:.0f} |")
        print(
            f"| incremental, no change | {nochange[0]:.2f} | {nochange[1]:.2f} | "
            f"{nochange[2]:.0f} |"
        )
    ix = hs.open_current(index)
    rows = in_process(ix, args.sample)
    print("\n### In-process search latency (ms; warm process, result cache off unless named)\n")
    print("| set | n | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|")
    for name, (n, p50, p95, p99) in rows.items():
        print(f"| {name} | {n} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    for cache in (False, True):
        res = http(index, args.seconds, args.runs, cache=cache)
        state = "on (4,096 answers per worker)" if cache else "off"
        print(
            f"\n### HTTP, result cache {state} (gunicorn, production config; "
            "wrk -t2 -c8; median of runs)\n"
        )
        if "error" in res:
            print(res["error"])
            return
        floor = res["floor"][0]
        print("| route | req/s | p50 ms | p99 ms | non-2xx | ratio to floor |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, label in (
            ("floor", "/healthz (floor)"),
            ("search", "/v1/search (Zipf replay of 20,000 from ~3,000 distinct)"),
            ("article", "/v1/articles/<id>"),
        ):
            rps, p50, p99, errors = res[name]
            print(f"| {label} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {errors} | {rps / floor:.2f} |")
        print(f"\nSearch result-cache hit rate during the search runs: {res['hit_rate']:.3f}")
        print(
            f"Worker after warm-up, every locale open: RSS {res['worker_rss_mb']:.0f} MB, "
            f"of which anonymous (heap) {res['worker_anon_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
