"""Reindex under load: real gunicorn, concurrent searches, several reindexes (two at once).

Starts gunicorn (2 workers) on a free loopback port over a copy of the bundled corpus, runs
searcher threads for a fixed time, and meanwhile: two full reindexes requested at the same
moment, an incremental one after an article edit, and one more full one. It reports requests,
errors and "lost" answers (a query that had hits before the run and got none during it), and
exits non-zero unless there were zero 5xx, zero connection errors and zero lost answers.

    python bench/reindex_under_load.py [--seconds 30] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
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

from bench.common import admin_server_env  # noqa: E402
from bench.common import call  # noqa: E402
from bench.common import free_port  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import title_queries  # noqa: E402
from helpapi.indexer import build_indexes  # noqa: E402

TOKEN = "bench-token-reindex-0123"  # 16+ characters, as the service requires


class Load:
    def __init__(self, base, queries):
        self.base, self.queries = base, queries
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = self.errors_5xx = self.conn_errors = self.lost = 0
        self.other = {}
        self.lost_examples = []

    def worker(self, offset):
        i = offset
        while not self.stop.is_set():
            locale, q = self.queries[i % len(self.queries)]
            i += 7
            url = f"{self.base}/v1/search?" + urllib.parse.urlencode({"q": q, "locale": locale})
            try:
                status, body = call(url)
            except (OSError, ValueError):
                with self.lock:
                    self.requests += 1
                    self.conn_errors += 1
                continue
            with self.lock:
                self.requests += 1
                if status >= 500:
                    self.errors_5xx += 1
                elif status != 200:
                    self.other[status] = self.other.get(status, 0) + 1
                elif body["total"] == 0:
                    self.lost += 1
                    self.lost_examples.append((locale, q))


def reindex(base, body):
    return call(
        f"{base}/v1/admin/reindex",
        "POST",
        json.dumps(body).encode(),
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )


def wait(base, job_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, job = call(
            f"{base}/v1/admin/reindex/{job_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise RuntimeError(f"job {job_id} did not finish")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="helpapi-load-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    build_indexes(corpus, index, jobs=2)
    port = free_port()
    env = admin_server_env(index, corpus, TOKEN, port)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=(work / "gunicorn.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(base + "/readyz")[0] == 200:
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("gunicorn did not start:\n" + (work / "gunicorn.log").read_text())
                time.sleep(0.2)
        queries = [
            (loc, q)
            for loc, q in title_queries(corpus)
            if call(f"{base}/v1/search?" + urllib.parse.urlencode({"q": q, "locale": loc}))[1][
                "total"
            ]
            > 0
        ]
        load = Load(base, queries)
        threads = [threading.Thread(target=load.worker, args=(n,)) for n in range(args.threads)]
        started = time.monotonic()
        for t in threads:
            t.start()
        log = []
        time.sleep(2)
        # Two at the same moment: one is accepted, the other answered 409 with its id.
        pair = [None, None]
        ts = [
            threading.Thread(target=lambda k=k: pair.__setitem__(k, reindex(base, {"full": True})))
            for k in range(2)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        log.append(("simultaneous full", [s for s, _ in pair]))
        accepted = [b for s, b in pair if s == 202]
        for b in accepted:
            job = wait(base, b["id"])
            log.append(("full", job["status"], job.get("seconds")))
        # An edit in one locale: an incremental job rebuilds just that locale (+ en-US if needed).
        path = next((corpus / "de-DE").glob("*.md"))
        path.write_text(path.read_text("utf-8") + "\nZusatz Lasttest.\n", "utf-8")
        status, body = reindex(base, {})
        job = wait(base, body["id"])
        log.append(("incremental edit", job["status"], sorted(job["locales"]), job["counts"]))
        status, body = reindex(base, {})
        job = wait(base, body["id"])
        log.append(("incremental no change", job["status"], job.get("seconds")))
        status, body = reindex(base, {"full": True})
        job = wait(base, body["id"])
        log.append(("full", job["status"], job.get("seconds")))
        remaining = args.seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        load.stop.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
    for entry in log:
        print("reindex:", *entry)
    print(
        f"seconds {elapsed:.1f}  requests {load.requests}  ({load.requests / elapsed:.0f}/s)  "
        f"5xx {load.errors_5xx}  connection errors {load.conn_errors}  lost {load.lost}  "
        f"other {load.other}"
    )
    if load.lost_examples:
        print("lost examples:", load.lost_examples[:5])
    ok = load.errors_5xx == 0 and load.conn_errors == 0 and load.lost == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
