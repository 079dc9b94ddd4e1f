"""Slow clients against real gunicorn: does the service keep answering? (issue #12, item 1)

Opens ``--slow`` connections that trickle their request headers one byte every ``--interval``
seconds (slowloris) and ``--bodies`` POSTs that announce a body and trickle it the same way;
a closed connection is reopened at once, as an attacker would. Meanwhile one steady client
alternates ``GET /healthz`` and ``GET /v1/search`` for ``--seconds`` and the script prints
p50/p99 and errors. Without ``--url`` it builds an index of the bundled ``corpus/`` in a temp
folder and starts gunicorn itself with the project's gunicorn.conf.py on a free port, once with
``-k sync`` (the old setup, "before") and once as configured ("after"), in one run.

Target: /healthz and search p99 < 100 ms and no errors for the configured setup, with 64 slow
connections open; the exit status is 1 otherwise.

    .venv/bin/python bench/slow_clients.py [--slow 64 --bodies 16 --seconds 10] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import stop  # noqa: E402

TARGET_MS = 100.0
QUERIES = [
    ("password", "en-US"),
    ("Passwort ändern", "de-DE"),
    ("パスワード", "ja-JP"),
    ("salasana", "fi-FI"),
    ("mot de passe", "fr-FR"),
    ("email", "sv-SE"),
]


def start_gunicorn(index_dir: Path, workers: int, worker_class: str | None, log) -> tuple:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(
        HELPAPI_INDEX_DIR=str(index_dir),
        HELPAPI_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(workers),
    )
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
    if worker_class:
        cmd += ["-k", worker_class]
    proc = subprocess.Popen(cmd + ["wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/readyz", timeout=1).read()
            return proc, url
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


class Trickler(threading.Thread):
    """Keeps ``count`` connections open, each sending one byte of its request per interval."""

    def __init__(self, host, port, count, interval, request: bytes, head: int = 0):
        super().__init__(daemon=True)
        self.addr, self.count, self.interval, self.request = (host, port), count, interval, request
        self.head = head  # bytes sent at once on connecting (a POST's headers)
        self.stop = threading.Event()
        self.reconnects = 0
        self.conns: list[list] = []  # [socket, bytes sent]

    def _open(self):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(self.addr)
            if self.head:
                s.sendall(self.request[: self.head])
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        return [s, self.head]

    def run(self):
        self.conns = [c for c in (self._open() for _ in range(self.count)) if c]
        while not self.stop.wait(self.interval):
            for i, conn in enumerate(self.conns):
                s, sent = conn if conn else (None, 0)
                alive = s is not None
                if alive:
                    try:
                        if s.recv(4096) == b"":  # the server closed it (or answered)
                            alive = False
                    except BlockingIOError:
                        pass
                    except OSError:
                        alive = False
                if alive and sent < len(self.request) - 1:  # never finish the request
                    try:
                        s.send(self.request[sent : sent + 1])
                        conn[1] += 1
                    except OSError:
                        alive = False
                if not alive:
                    if s is not None:
                        s.close()
                    self.reconnects += 1
                    self.conns[i] = self._open()
        for conn in self.conns:
            if conn:
                conn[0].close()


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def steady(url: str, seconds: float) -> dict:
    """One client, alternating /healthz and a search, for ``seconds``."""
    lat = {"healthz": [], "search": []}
    errors = {"healthz": 0, "search": 0}
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        kind = "healthz" if i % 2 == 0 else "search"
        if kind == "healthz":
            target = url + "/healthz"
        else:
            q, loc = QUERIES[(i // 2) % len(QUERIES)]
            target = url + "/v1/search?" + urllib.parse.urlencode({"q": q, "locale": loc})
        i += 1
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(target, timeout=5) as resp:
                resp.read()
            lat[kind].append((time.perf_counter() - started) * 1000)
        except (OSError, urllib.error.URLError):
            errors[kind] += 1
            lat[kind].append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    return {"lat": lat, "errors": errors}


def attack(url: str, slow: int, bodies: int, interval: float, seconds: float) -> dict:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    headers = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slowloris\r\n" + "".join(
        f"X-Pad-{n}: {'a' * 20}\r\n" for n in range(30)
    )
    post = (
        f"POST /v1/admin/reindex HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 1000\r\n\r\n" + "{" + " " * 998 + "}"
    )
    head = len(post.split("\r\n\r\n")[0]) + 4  # the POSTs send their headers at once
    groups = [
        Trickler(host, port, slow, interval, headers.encode()),
        Trickler(host, port, bodies, interval, post.encode(), head=head),
    ]
    for g in groups:
        g.start()
    time.sleep(1.0)  # let them connect
    result = steady(url, seconds)
    for g in groups:
        g.stop.set()
    for g in groups:
        g.join()
    result["reconnects"] = sum(g.reconnects for g in groups)
    return result


def report(name: str, r: dict, slow: int, bodies: int) -> bool:
    lat, errs = r["lat"], r["errors"]
    ok = True
    cells = []
    for kind in ("healthz", "search"):
        p50, p99 = pct(lat[kind], 50), pct(lat[kind], 99)
        ok = ok and errs[kind] == 0 and p99 < TARGET_MS and len(lat[kind]) > 0
        cells += [str(len(lat[kind])), str(errs[kind]), f"{p50:.1f}", f"{p99:.1f}"]
    print(f"| {name} | {slow}+{bodies} | {r['reconnects']} | " + " | ".join(cells) + " |")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="measure a running server instead of starting gunicorn")
    ap.add_argument("--slow", type=int, default=64, help="slow-header connections")
    ap.add_argument("--bodies", type=int, default=16, help="slow-body POST connections")
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between bytes")
    ap.add_argument("--seconds", type=float, default=10.0, help="steady client duration")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--no-before", action="store_true", help="skip the -k sync run")
    args = ap.parse_args(argv)

    header = (
        "| setup | slow conns (headers+bodies) | reconnects | healthz n | err | p50 ms | p99 ms "
        "| search n | err | p50 ms | p99 ms |\n|" + " --- |" * 11
    )
    if args.url:
        print(header)
        r = attack(args.url, args.slow, args.bodies, args.interval, args.seconds)
        return 0 if report(args.url, r, args.slow, args.bodies) else 1

    sys.path.insert(0, str(ROOT))
    from helpapi.indexer import build_indexes

    with tempfile.TemporaryDirectory(prefix="helpapi-slow-") as tmp:
        index = Path(tmp) / "index"
        print(f"indexing {ROOT / 'corpus'} ...", file=sys.stderr)
        build_indexes(ROOT / "corpus", index, jobs=2)
        runs = [] if args.no_before else [("before: -k sync", "sync")]
        runs.append(("after: gunicorn.conf.py", None))
        print(header)
        ok = True
        for name, worker_class in runs:
            with open(Path(tmp) / f"{worker_class or 'conf'}.log", "w") as log:
                proc, url = start_gunicorn(index, args.workers, worker_class, log)
                try:
                    for q, loc in QUERIES:  # warm the workers' searchers and caches
                        for _ in range(args.workers):
                            urllib.request.urlopen(
                                url
                                + "/v1/search?"
                                + urllib.parse.urlencode({"q": q, "locale": loc}),
                                timeout=10,
                            ).read()
                    r = attack(url, args.slow, args.bodies, args.interval, args.seconds)
                finally:
                    stop(proc)
            passed = report(name, r, args.slow, args.bodies)
            if worker_class is None:
                ok = passed
        print(
            f"\ntarget (after): p99 < {TARGET_MS:.0f} ms, no errors: {'met' if ok else 'NOT met'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
