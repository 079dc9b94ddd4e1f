"""HTTP overhead around the engine (issue #14 item 5): two checkouts, one run, alternating.

1. In process, per checkout (a subprocess with that checkout's code and venv): CPU microseconds
   a search costs through the Flask app (its WSGI callable, environs made beforehand) against
   the same queries sent straight to ``helpapi.search.search``, and a ``/healthz`` request
   through the app; result cache off, analytics off, the access log written (to /dev/null),
   prometheus_client in multiprocess mode as under gunicorn. ``app - direct`` is the web
   layer's cost a search. ``web alone`` is the route with ``search`` answering from a table
   of the answers it gave (no engine work): ``web alone - healthz`` is the web work only a
   search does, measured without the engine's run-to-run noise.
2. Real gunicorn (each checkout's ``gunicorn.conf.py``, its default workers), wrk -t2 -c8 on
   loopback: ``/healthz`` (the floor), then a Zipf replay of 20,000 searches from the
   title/body/xling pool with the result cache off, then the same with the cache on (hit rate
   from ``/metrics``); the checkouts alternate round by round, so both see the same load.
   Beside requests a second, the workers' CPU microseconds a request (utime + stime from
   /proc): on a shared machine throughput follows the other load, CPU a request much less, and
   ``healthz CPU / search CPU`` is the ratio the server alone would reach.

    python bench/http_overhead.py --base /work/main [--index DIR] [--rounds 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import serving_env  # noqa: E402
from bench.common import shared_dir  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import wait_ready  # noqa: E402
from bench.perf import cache_lookups  # noqa: E402
from bench.perf import lua_paths  # noqa: E402
from bench.perf import zipf_pool  # noqa: E402

QUERIES = shared_dir() / "queries"

# Run inside the checkout under test (its own interpreter and code): prints one JSON line.
IN_PROCESS = r"""
import json, logging, os, random, sys, tempfile, time, urllib.parse
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="helpapi-bench-mp-")
for k in [k for k in os.environ if k.startswith("HELPAPI_")]:
    del os.environ[k]
os.environ.update(HELPAPI_INDEX_DIR=sys.argv[1], HELPAPI_ANALYTICS="off",
                  HELPAPI_RESULT_CACHE_SIZE="0")
from helpapi import create_app
from helpapi import search as hs
app = create_app()
handler = logging.StreamHandler(open(os.devnull, "w"))
access = logging.getLogger("helpapi.access")
access.handlers, access.propagate = [handler], False
access.setLevel(logging.INFO)
pool = [json.loads(x) for k in ("title", "body", "xling")
        for x in open(f"{sys.argv[2]}/{k}.jsonl", encoding="utf-8") if x.strip()]
qs = random.Random(1).sample(pool, int(sys.argv[3]))
paths = ["/v1/search?" + urllib.parse.urlencode({"q": q["q"], "locale": q["locale"]}) for q in qs]
from werkzeug.test import EnvironBuilder
ix = app.extensions["helpapi.indexes"].get()
# WSGI environs made before the clock starts: the app is called as gunicorn calls it.
def environ(path):
    env = EnvironBuilder(path=path.split("?")[0], query_string=path.partition("?")[2],
                         headers={"User-Agent": "wrk", "Connection": "keep-alive"}).get_environ()
    env["REMOTE_ADDR"] = "127.0.0.1"
    return env
search_envs = [environ(p) for p in paths]
health_env = environ("/healthz")
def call(env):
    chunks = app(dict(env), lambda status, headers, exc_info=None: None)
    b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
def direct():
    for q in qs:
        hs.search(ix, q["q"], q["locale"])
def through_app():
    for env in search_envs:
        call(env)
def healthz():
    for _ in paths:
        call(health_env)
# The web layer alone: the route with helpapi.search.search answering from a table of the
# answers it gave (recorded through the app, so fallbacks and limits match).
from helpapi import api
answers, engine = {}, api.search
def recording(ixset, text, locale, **kw):
    answer = answers[text, locale] = engine(ixset, text, locale, **kw)
    return answer
def stubbed(ixset, text, locale, **kw):
    return answers[text, locale]
api.search = recording
through_app()
def web_alone():
    api.search = stubbed
    try:
        through_app()
    finally:
        api.search = engine
direct(); through_app(); healthz()
best = {}
for _ in range(int(sys.argv[4])):
    for name, fn in (("direct", direct), ("app", through_app), ("healthz", healthz),
                     ("web", web_alone)):
        t = time.process_time()
        fn()
        us = (time.process_time() - t) / len(qs) * 1e6
        best[name] = min(us, best.get(name, us))
if len(sys.argv) > 5:
    # --parts: web alone and /healthz again with the metrics updates, the access line, or both
    # switched off (the work they cost a request; a search's and /healthz's alike or not).
    from helpapi import metrics
    observers = ("observe_request", "observe_search", "observe_result_cache")
    kept = {name: getattr(metrics, name) for name in observers}
    def switch(metrics_on, log_on):
        for name in observers:
            setattr(metrics, name, kept[name] if metrics_on else lambda *a: None)
        access.setLevel(logging.INFO if log_on else logging.WARNING)
    for label, on in (("no metrics", (False, True)), ("no log", (True, False)),
                      ("neither", (False, False))):
        switch(*on)
        for _ in range(int(sys.argv[4])):
            for name, fn in (("web", web_alone), ("healthz", healthz)):
                t = time.process_time()
                fn()
                us = (time.process_time() - t) / len(qs) * 1e6
                key = f"{name} {label}"
                best[key] = min(us, best.get(key, us))
    switch(True, True)
print(json.dumps(best))
"""


def in_process(checkout: Path, index: Path, n: int, rounds: int, parts: bool = False) -> dict:
    """Per-request CPU microseconds (direct search, through the app, /healthz) in a checkout;
    ``parts``: also web alone and /healthz without metrics, access line, or either."""
    out = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", IN_PROCESS, str(index), str(QUERIES), str(n)]
        + [str(rounds)]
        + (["parts"] if parts else []),
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def workers_cpu(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by the gunicorn workers of ``server``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wrk(server, base: str, script: Path, seconds: int) -> tuple[float, float]:
    """wrk -t2 -c8 for ``seconds``: (requests a second, workers' CPU microseconds a request)."""
    cpu = workers_cpu(server)
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = workers_cpu(server) - cpu
    lines = out.splitlines()
    rps = float(next(x for x in lines if x.startswith("Requests/sec")).split()[1])
    done = int(next(x for x in lines if " requests in " in x).split()[0])
    if any("Non-2xx" in x for x in lines):
        raise RuntimeError(f"errors from {base}: {out}")
    return rps, cpu / max(1, done) * 1e6


def start(checkout: Path, index: Path, cache: bool) -> tuple[subprocess.Popen, str]:
    """gunicorn with the checkout's production config; (process, base URL) once ready."""
    port = free_port()
    env = serving_env(index, port, HELPAPI_RESULT_CACHE_SIZE="4096" if cache else "0")
    server = subprocess.Popen(
        [str(checkout / ".venv/bin/python"), "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        + ["--log-level", "warning", "wsgi:app"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if wait_ready(port):
        return server, f"http://127.0.0.1:{port}"
    stop(server)
    raise RuntimeError(f"gunicorn from {checkout} did not start")


def _replay_paths() -> list[str]:
    """The 20,000 search paths of the Zipf replay (title, body and xling queries)."""
    pool = [
        json.loads(x)
        for kind in ("title", "body", "xling")
        for x in (QUERIES / f"{kind}.jsonl").read_text("utf-8").splitlines()
        if x.strip()
    ]
    return [
        "/v1/search?" + urllib.parse.urlencode({"q": q["q"], "locale": q["locale"]})
        for q in zipf_pool(pool, 20000)
    ]


def _search_script(tmp: Path) -> tuple[Path, Path]:
    """wrk scripts: the /healthz floor, and a 20,000-search Zipf replay."""
    paths = _replay_paths()
    lua_paths(["/healthz"], tmp / "floor.lua")
    lua_paths(paths, tmp / "search.lua")
    return tmp / "floor.lua", tmp / "search.lua"


def paired(checkouts: dict, index: Path, rounds: int, seconds: int) -> None:
    """Result cache off, every checkout's server up at once, measured in turn each round."""
    floor_lua, search_lua = _search_script(Path(tempfile.mkdtemp()))
    servers = {}
    try:
        for name, path in checkouts.items():
            servers[name] = start(path, index, cache=False)
            wrk(servers[name][0], servers[name][1], search_lua, 3)  # warm every worker
        rows = {name: [] for name in checkouts}
        for round_ in range(rounds):
            # Alternate which checkout goes first: a load that drifts within a round hits
            # both sides alike over the rounds.
            order = list(servers.items())[:: -1 if round_ % 2 else 1]
            for name, (server, base) in order:
                floor, floor_cpu = wrk(server, base, floor_lua, seconds)
                found, found_cpu = wrk(server, base, search_lua, seconds)
                rows[name].append((floor, found, floor_cpu, found_cpu))
                print(
                    f"round {round_} {name}: healthz {floor:.0f}/s {floor_cpu:.0f} us, search "
                    f"{found:.0f}/s {found_cpu:.0f} us, ratio {found / floor:.2f}, CPU ratio "
                    f"{floor_cpu / found_cpu:.2f} (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        for server, _ in servers.values():
            stop(server)
    print(
        "\n| checkout | healthz req/s | search req/s | ratio | healthz CPU us/req"
        " | search CPU us/req | CPU ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, mine in rows.items():
        med = [statistics.median(r[i] for r in mine) for i in range(4)]
        ratio = statistics.median(r[1] / r[0] for r in mine)
        cpu_ratio = statistics.median(r[2] / r[3] for r in mine)
        print(
            f"| {name} | {med[0]:.0f} | {med[1]:.0f} | {ratio:.2f} | {med[2]:.0f} | "
            f"{med[3]:.0f} | {cpu_ratio:.2f} |"
        )
    if set(rows) == {"base", "head"}:
        # Same round, same load: the per-round ratios are the steadier before/after.
        pairs = list(zip(rows["base"], rows["head"], strict=True))
        for label, i in (("healthz", 2), ("search", 3)):
            each = [h[i] / b[i] for b, h in pairs]
            print(
                f"{label} CPU a request, head/base: median {statistics.median(each):.3f}, "
                f"mean {statistics.mean(each):.3f} (rounds: "
                + ", ".join(f"{r:.2f}" for r in each)
                + ")"
            )
    print(f"\nload average at end: {os.getloadavg()}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="/work/main", help="the checkout to compare against")
    ap.add_argument("--index", default="/tmp/helpapi-regen-index")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--queries", type=int, default=600, help="in-process sample")
    ap.add_argument("--skip-in-process", action="store_true")
    ap.add_argument(
        "--parts",
        action="store_true",
        help="in process, also web alone and /healthz with the metrics updates, the access line"
        " or both switched off",
    )
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument(
        "--paired",
        type=int,
        default=0,
        help="instead of the HTTP part: both checkouts' servers up at once (result cache off),"
        " N rounds of healthz then search on each in turn, so that both see the same load",
    )
    args = ap.parse_args(argv)
    index = Path(args.index)
    checkouts = {"base": Path(args.base).resolve(), "head": ROOT}
    print(f"load average at start: {os.getloadavg()}")
    if not args.skip_in_process:
        print(
            "\n| checkout | direct search us | through the app us | app - direct us | healthz us"
            " | web alone us | web alone - healthz us |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        found = {name: [] for name in checkouts}
        for _ in range(args.rounds):
            for name, path in checkouts.items():
                found[name].append(in_process(path, index, args.queries, 3, args.parts))
        for name, rows in found.items():
            best = {k: min(r[k] for r in rows) for k in rows[0]}
            print(
                f"| {name} | {best['direct']:.0f} | {best['app']:.0f} | "
                f"{best['app'] - best['direct']:.0f} | {best['healthz']:.0f} | "
                f"{best['web']:.0f} | {best['web'] - best['healthz']:.0f} |"
            )
        if args.parts:
            print("\n| checkout | switched off | web alone us | healthz us |")
            print("|---|---|---:|---:|")
            for name, rows in found.items():
                best = {k: min(r[k] for r in rows) for k in rows[0]}
                for label in ("", " no metrics", " no log", " neither"):
                    print(
                        f"| {name} | {label.strip() or 'nothing'} | {best['web' + label]:.0f} |"
                        f" {best['healthz' + label]:.0f} |"
                    )
    if args.skip_http:
        return
    if args.paired:
        return paired(checkouts, index, args.paired, args.seconds)
    paths = _replay_paths()
    tmp = Path(tempfile.mkdtemp())
    lua_paths(["/healthz"], tmp / "floor.lua")
    lua_paths(paths, tmp / "search.lua")
    rows = []
    for round_ in range(args.rounds):
        for name, path in checkouts.items():
            for cache in (False, True):
                server, base = start(path, index, cache)
                try:
                    wrk(server, base, tmp / "search.lua", 3)  # warm every worker
                    floor, floor_cpu = wrk(server, base, tmp / "floor.lua", args.seconds)
                    before = cache_lookups(base)
                    found, found_cpu = wrk(server, base, tmp / "search.lua", args.seconds)
                    after = cache_lookups(base)
                finally:
                    stop(server)
                hits, misses = (a - b for a, b in zip(after, before, strict=True))
                hit_rate = hits / max(1.0, hits + misses)
                rows.append((name, cache, floor, found, floor_cpu, found_cpu, hit_rate))
                print(
                    f"round {round_} {name} cache {'on' if cache else 'off'}: healthz "
                    f"{floor:.0f}/s {floor_cpu:.0f} us, search {found:.0f}/s {found_cpu:.0f} us,"
                    f" ratio {found / floor:.2f} (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    print(
        "\n| checkout | cache | healthz req/s | search req/s | ratio | healthz CPU us/req"
        " | search CPU us/req | CPU ratio | hit rate |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in checkouts:
        for cache in (False, True):
            mine = [r for r in rows if r[0] == name and r[1] == cache]

            def med(i, rows=mine):
                return statistics.median(r[i] for r in rows)

            ratio = statistics.median(r[3] / r[2] for r in mine)
            cpu_ratio = statistics.median(r[4] / r[5] for r in mine)
            print(
                f"| {name} | {'on' if cache else 'off'} | {med(2):.0f} | {med(3):.0f} | "
                f"{ratio:.2f} | {med(4):.0f} | {med(5):.0f} | {cpu_ratio:.2f} | {med(6):.2f} |"
            )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
