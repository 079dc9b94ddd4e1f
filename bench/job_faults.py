"""Reindex jobs under process faults: kill -9 of the runner, cancel, time limit.

Per round: a full reindex of two bundled locales with a pool of two workers is submitted; once
its pool runs, the runner alone gets SIGKILL. Printed: seconds from the SIGKILL until no
process of the job's group is left, and until the next submit is accepted; then that next job
is cancelled (seconds the DELETE path takes, and until the group is gone). Linux only.

    .venv/bin/python bench/job_faults.py --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpapi import jobs  # noqa: E402


def members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    found.append(int(entry.name))
    return found


def gone_after(index: Path, pgid: int, pids: list[int], started: float) -> float:
    while True:
        jobs.list_jobs(index)  # reaps the runner (our child)
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return time.monotonic() - started
        if time.monotonic() - started > 30:
            raise SystemExit(f"group {pgid} still has {members(pgid)}")
        time.sleep(0.01)


def wait_pool(index: Path, job_id: str) -> int:
    while True:
        job = jobs.read_job(index, job_id)
        pid = job.get("pid")
        if job["status"] == "running" and job["progress"] and pid and len(members(pid)) >= 3:
            return pid
        time.sleep(0.02)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    # Orphaned workers are re-parented to us (init may never reap them in a container).
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    work = Path(tempfile.mkdtemp(prefix="helpapi-job-faults-"))
    corpus, index = work / "corpus", work / "index"
    for loc in ("de-DE", "fi-FI"):
        shutil.copytree(ROOT / "corpus" / loc, corpus / loc)
    rows = []
    try:
        for _ in range(args.rounds):
            job = jobs.submit(index, corpus, None, True, jobs=2)
            pgid = wait_pool(index, job["id"])
            pids = members(pgid)
            killed = time.monotonic()
            os.kill(pgid, signal.SIGKILL)
            gone = gone_after(index, pgid, pids, killed)
            nxt = jobs.submit(index, corpus, None, True, jobs=2)
            accepted = time.monotonic() - killed
            pgid = wait_pool(index, nxt["id"])
            pids = members(pgid)
            started = time.monotonic()
            cancelled = jobs.cancel(index, nxt["id"])
            cancel_s = time.monotonic() - started
            cancel_gone = gone_after(index, pgid, pids, started)
            assert cancelled["status"] == "cancelled", cancelled
            assert not list(index.glob(".build-*")), list(index.glob(".build-*"))
            rows.append((len(pids), gone, accepted, cancel_s, cancel_gone))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        "| round | processes | SIGKILL -> none left | -> next submit accepted "
        "| DELETE answered | -> none left |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for i, (n, gone, acc, cs, cg) in enumerate(rows, 1):
        print(f"| {i} | {n} | {gone:.3f} s | {acc:.3f} s | {cs:.3f} s | {cg:.3f} s |")
    med = [statistics.median(r[k] for r in rows) for k in range(1, 5)]
    print(f"| median | | {med[0]:.3f} s | {med[1]:.3f} s | {med[2]:.3f} s | {med[3]:.3f} s |")


if __name__ == "__main__":
    main()
