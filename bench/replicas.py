"""Replicas on a shared volume: 3 gunicorn instances, one index folder, builds across instances.

Each instance has its own ``HELPAPI_INSTANCE_ID`` (what another host would be: its PIDs and
locks are not trusted by the others). Searcher threads query all three for the whole run while:

1. a full reindex is POSTed to the three instances at the same moment (exactly one 202 is
   expected: the build lease is the lock), and followed through another instance;
2. an article is edited and an incremental reindex is triggered through instance 1 and
   followed through instance 3;
3. a full reindex is triggered through instance 1 and its builder (runner and pool) is killed
   with SIGKILL mid-build, as if its host died. Instance 2 follows the job: it reads
   ``running`` until the lease expires, then ``failed``; a new job is then accepted through
   instance 2 and runs to the end.

Reported: requests, errors (5xx and connection), answers lost (a query that had hits before the
run got none during it), each instance's switch delay (the new ``CURRENT`` on disk -> that
instance's ``/readyz`` names the new generation), and the recovery from the kill (SIGKILL ->
job read ``failed`` -> new job accepted -> new generation served). Exits 1 on any error or
lost answer, or unless exactly one of the simultaneous POSTs was accepted.

    python bench/replicas.py [--seconds 60] [--articles 150] [--lease 6 --heartbeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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
from bench.common import shared_dir  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import title_queries  # noqa: E402
from helpapi import generations  # noqa: E402
from helpapi import lease as leases  # noqa: E402
from helpapi.indexer import build_indexes  # noqa: E402

TOKEN = "bench-token-replicas-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHARED = shared_dir() / "corpus"


def copy_corpus(source: Path, dest: Path, locales: list[str], articles: int) -> None:
    """The first ``articles`` files of each locale (sorted by name: the same slugs)."""
    for loc in locales:
        (dest / loc).mkdir(parents=True)
        for path in sorted((source / loc).glob("*.md"))[:articles]:
            shutil.copy2(path, dest / loc / path.name)


class Load:
    """Searcher threads cycling over every instance."""

    def __init__(self, bases, queries):
        self.bases, self.queries = bases, queries
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = [0] * len(bases)
        self.errors = [0] * len(bases)
        self.lost = [0] * len(bases)
        self.examples = []

    def worker(self, offset):
        i = offset
        while not self.stop.is_set():
            n = i % len(self.bases)
            locale, q = self.queries[(i // len(self.bases)) % len(self.queries)]
            i += 1
            url = f"{self.bases[n]}/v1/search?" + urllib.parse.urlencode({"q": q, "locale": locale})
            try:
                status, body = call(url)
                bad, lost = status >= 500, status == 200 and body["total"] == 0
            except (OSError, ValueError):
                bad, lost = True, False
            with self.lock:
                self.requests[n] += 1
                self.errors[n] += bad
                self.lost[n] += lost
                if (bad or lost) and len(self.examples) < 5:
                    self.examples.append((n + 1, locale, q, "error" if bad else "no hits"))


class Switches:
    """Watches ``CURRENT`` on disk and each instance's ``/readyz``: when each saw each
    generation first."""

    def __init__(self, index: Path, bases):
        self.index, self.bases = index, bases
        self.on_disk: dict[str, float] = {}
        self.seen: list[dict[str, float]] = [{} for _ in bases]
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._disk, daemon=True)] + [
            threading.Thread(target=self._instance, args=(n,), daemon=True)
            for n in range(len(bases))
        ]

    def start(self):
        for t in self.threads:
            t.start()

    def _disk(self):
        while not self.stop.is_set():
            name = generations.current_generation(self.index)
            if name and name not in self.on_disk:
                self.on_disk[name] = time.time()
            time.sleep(0.005)

    def _instance(self, n):
        while not self.stop.is_set():
            try:
                status, body = call(self.bases[n] + "/readyz", timeout=5)
                name = body.get("generation")
                if status == 200 and name and name not in self.seen[n]:
                    self.seen[n][name] = time.time()
            except (OSError, ValueError):
                pass
            time.sleep(0.02)

    def delays(self, name):
        """Seconds from the switch on disk until each instance served ``name`` (None: never)."""
        t0 = self.on_disk.get(name)
        return [
            None if t0 is None or name not in seen else max(0.0, seen[name] - t0)
            for seen in self.seen
        ]


def reindex(base, body):
    return call(
        f"{base}/v1/admin/reindex",
        "POST",
        json.dumps(body).encode(),
        {**AUTH, "Content-Type": "application/json"},
    )


def follow(base, job_id, until=("succeeded", "failed", "cancelled"), timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = call(f"{base}/v1/admin/reindex/{job_id}", headers=AUTH)
        if status == 200 and job["status"] in until:
            return job
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} still not {until} through {base}")


def start_instance(n, index, corpus, lease_s, beat, workers, logs):
    port = free_port()
    env = admin_server_env(
        index,
        corpus,
        TOKEN,
        port,
        HELPAPI_ANALYTICS="off",
        HELPAPI_BUILD_JOBS="1",
        HELPAPI_INSTANCE_ID=f"replica-{n}",
        HELPAPI_LEASE_SECONDS=str(lease_s),
        HELPAPI_HEARTBEAT_SECONDS=str(beat),
        WEB_CONCURRENCY=str(workers),
    )
    log = open(logs / f"instance-{n}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}", log


def wait_ready(base, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{base} exited {proc.returncode}")
        try:
            if call(base + "/readyz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} not ready")


def fmt(delays):
    return ", ".join("never" if d is None else f"{d:.2f}" for d in delays)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="least duration of the load")
    ap.add_argument("--articles", type=int, default=150, help="articles per locale")
    ap.add_argument("--locales", default="de-DE,ja-JP,fi-FI")
    ap.add_argument("--lease", type=int, default=6, help="HELPAPI_LEASE_SECONDS")
    ap.add_argument("--heartbeat", type=int, default=2, help="HELPAPI_HEARTBEAT_SECONDS")
    ap.add_argument("--workers", type=int, default=1, help="gunicorn workers per instance")
    ap.add_argument("--threads", type=int, default=3, help="searcher threads")
    ap.add_argument("--corpus", type=Path, default=SHARED)
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="helpapi-replicas-"))
    corpus, index = work / "corpus", work / "index"
    copy_corpus(args.corpus, corpus, args.locales.split(","), args.articles)
    t = time.monotonic()
    build_indexes(corpus, index, jobs=1)
    first = time.monotonic() - t
    print(f"corpus: {args.locales} x {args.articles} articles; first build {first:.1f}s")
    procs = []
    ok = True
    try:
        for n in (1, 2, 3):
            procs.append(
                start_instance(n, index, corpus, args.lease, args.heartbeat, args.workers, work)
            )
        bases = [base for _, base, _ in procs]
        for proc, base, _ in procs:
            wait_ready(base, proc)
        queries = [
            (loc, q)
            for loc, q in title_queries(corpus, 30)
            if call(f"{bases[0]}/v1/search?" + urllib.parse.urlencode({"q": q, "locale": loc}))[1][
                "total"
            ]
            > 0
        ]
        load = Load(bases, queries)
        switches = Switches(index, bases)
        switches.start()
        threads = [threading.Thread(target=load.worker, args=(k,)) for k in range(args.threads)]
        started = time.monotonic()
        for th in threads:
            th.start()
        time.sleep(2)
        rows = []

        # 1. The same POST to every instance at once: the lease admits one build.
        answers = [None] * 3
        barrier = threading.Barrier(3)

        def post(k):
            barrier.wait()
            answers[k] = reindex(bases[k], {"full": True})

        posters = [threading.Thread(target=post, args=(k,)) for k in range(3)]
        for th in posters:
            th.start()
        for th in posters:
            th.join()
        codes = [status for status, _ in answers]
        accepted = [(k, body) for k, (status, body) in enumerate(answers) if status == 202]
        conflicts = {body["error"].get("job") for status, body in answers if status == 409}
        print(f"simultaneous full POST to instances 1-3: {codes}")
        ok &= len(accepted) == 1 and conflicts <= {accepted[0][1]["id"]}
        k, body = accepted[0]
        job = follow(bases[(k + 1) % 3], body["id"])  # followed through another instance
        time.sleep(1)
        what = f"full, POST x3 (202 via {k + 1})"
        rows.append((what, job["status"], job.get("seconds"), job["generation"]))

        # 2. An edit, reindexed through instance 1, followed through instance 3.
        path = sorted((corpus / args.locales.split(",")[0]).glob("*.md"))[0]
        path.write_text(path.read_text("utf-8") + "\nZusatz Replikatest.\n", "utf-8")
        status, body = reindex(bases[0], {})
        job = follow(bases[2], body["id"])
        time.sleep(1)
        what = "incremental edit (1 -> 3)"
        rows.append((what, job["status"], job.get("seconds"), job["generation"]))

        # 3. A full build through instance 1; its builder is killed mid-build (its host "dies").
        status, body = reindex(bases[0], {"full": True})
        job_id = body["id"]
        folder = index / "jobs"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, job = call(f"{bases[1]}/v1/admin/reindex/{job_id}", headers=AUTH)
            held = leases.current(folder)
            if (
                job["status"] == "running"
                and job["progress"]
                and held
                and held.job == job_id
                and held.pid
            ):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the build never got going")
        os.killpg(held.pid, signal.SIGKILL)  # the runner and its pool, as a dead host
        killed = time.time()
        print(f"SIGKILL to builder pid {held.pid} (lease {held.seq} of {held.instance})")
        # Followed through instance 2 (another "host"): running until the lease expires.
        failed_job = follow(bases[1], job_id, until=("failed", "succeeded"))
        t_failed = time.time() - killed
        while True:
            status, body = reindex(bases[1], {"full": True})
            if status == 202:
                break
            time.sleep(0.1)
        t_accepted = time.time() - killed
        job = follow(bases[2], body["id"])
        new_gen = job["generation"]
        time.sleep(1)
        served = switches.delays(new_gen)
        t_served = max(served) + switches.on_disk[new_gen] - killed if None not in served else None
        rows.append(("full after kill (2 -> 3)", job["status"], job.get("seconds"), new_gen))
        ok &= failed_job["status"] == "failed" and job["status"] == "succeeded"

        remaining = args.seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        load.stop.set()
        for th in threads:
            th.join()
        switches.stop.set()
        elapsed = time.monotonic() - started

        print(f"\nload: {elapsed:.0f}s, {args.threads} searcher threads over 3 instances")
        print("| instance | requests | errors | answers lost |")
        print("|---|---:|---:|---:|")
        for n in range(3):
            print(f"| {n + 1} | {load.requests[n]} | {load.errors[n]} | {load.lost[n]} |")
        print(f"| all | {sum(load.requests)} | {sum(load.errors)} | {sum(load.lost)} |")
        print("\n| job | status | build s | switch delay per instance (s) |")
        print("|---|---|---:|---|")
        for what, status, seconds, gen in rows:
            print(f"| {what} | {status} | {seconds} | {fmt(switches.delays(gen))} |")
            ok &= status == "succeeded" and None not in switches.delays(gen)
        served_text = "never" if t_served is None else f"{t_served:.2f}s"
        print(
            f"\nkill -> recovery (lease {args.lease}s, heartbeat {args.heartbeat}s): job read"
            f" failed through instance 2 after {t_failed:.2f}s ({failed_job['errors'][-1]!r});"
            f" new job accepted after {t_accepted:.2f}s; its generation served by all 3 after"
            f" {served_text} (its build included)"
        )
        if load.examples:
            print("examples:", load.examples)
        ok &= sum(load.errors) == 0 and sum(load.lost) == 0
    finally:
        for proc, _, log in procs:
            stop(proc)
            log.close()
        # Any runner left (none expected) is stopped before the folder goes.
        held = leases.current(index / "jobs")
        if held and held.pid and not held.released:
            try:
                cmdline = Path(f"/proc/{held.pid}/cmdline").read_bytes()
                if b"helpapi.jobs" in cmdline and str(index).encode() in cmdline:
                    os.killpg(held.pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        shutil.rmtree(work, ignore_errors=True)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
