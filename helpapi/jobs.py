"""Reindex jobs: state on disk (so every gunicorn worker sees the same job), run in a subprocess.

A job is ``<index>/jobs/<id>.json``, rewritten atomically (write + rename) by whoever owns it.
Submitting takes an exclusive ``flock`` on ``jobs/.submit.lock`` so two workers cannot both start
a build; the runner holds ``jobs/.build.lock`` for the whole build. A job whose runner died
(killed, machine restarted) is reported ``failed`` the next time anyone reads it.

The runner is ``python -m helpapi.jobs <index_dir> <job_id>``: it calls the same
:func:`helpapi.indexer.build_indexes` as ``helpapi index build``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import subprocess
import sys
import time
import traceback
from pathlib import Path

ACTIVE = ("queued", "running")
KEEP_JOBS = 50


def jobs_dir(index_dir: Path) -> Path:
    """Where job files live (created on demand)."""
    path = Path(index_dir) / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, job: dict) -> None:
    tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(job, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, path)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_job(index_dir: Path, job_id: str) -> dict | None:
    """A job's state, or None. An active job whose runner is gone is reported failed."""
    _reap()
    if not job_id.isalnum():
        return None
    path = jobs_dir(index_dir) / f"{job_id}.json"
    try:
        job = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    grace = 10 if job["status"] == "queued" else 0  # a runner takes a moment to start
    if job["status"] in ACTIVE and not _alive(job.get("pid")):
        if time.time() - job["created"] > grace:
            job.update(
                status="failed",
                finished=time.time(),
                errors=[*job.get("errors", []), "the build process died"],
            )
    return job


def list_jobs(index_dir: Path, limit: int = 20) -> list[dict]:
    """Most recent jobs first."""
    paths = sorted(jobs_dir(index_dir).glob("*.json"), reverse=True)[:limit]
    jobs = [read_job(index_dir, p.stem) for p in paths]
    return [j for j in jobs if j is not None]


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class JobRunning(Exception):
    """A build is already queued or running; ``job`` is its state."""

    def __init__(self, job: dict):
        super().__init__(job["id"])
        self.job = job


def submit(
    index_dir: Path,
    corpus_dir: Path,
    locales: list[str] | None,
    full: bool,
    jobs: int = 0,
    client: str = "",
) -> dict:
    """Queue a build and start its runner. Raises :class:`JobRunning` if one is active."""
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        for job in list_jobs(index_dir, limit=5):
            if job["status"] in ACTIVE:
                raise JobRunning(job)
        job_id = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(4)
        job = {
            "id": job_id,
            "status": "queued",
            "created": time.time(),
            "started": None,
            "finished": None,
            "client": client,
            "request": {"locales": locales, "full": full},
            "corpus_dir": str(corpus_dir),
            "jobs": jobs,
            "progress": {},
            "counts": {},
            "locales": {},
            "generation": None,
            "errors": [],
            "pid": None,
        }
        _write(folder / f"{job_id}.json", job)
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpapi.jobs", str(index_dir), job_id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives the request, the worker and its restarts
        )
        job["pid"] = proc.pid
        _write(folder / f"{job_id}.json", job)
        _reap(proc)
    _prune_jobs(folder)
    return job


_children: list[subprocess.Popen] = []


def _reap(new: subprocess.Popen | None = None) -> None:
    """Keep runner handles until they exit, then collect them (no zombies, no warnings)."""
    _children[:] = [p for p in _children if p.poll() is None]
    if new is not None:
        _children.append(new)


def _prune_jobs(folder: Path) -> None:
    for old in sorted(folder.glob("*.json"), reverse=True)[KEEP_JOBS:]:
        with contextlib.suppress(OSError):
            old.unlink()


def run(index_dir: Path, job_id: str) -> int:
    """Run one queued job to the end (in the runner process). Returns an exit code."""
    from .config import load_settings
    from .indexer import build_indexes

    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    path = folder / f"{job_id}.json"
    job = json.loads(path.read_text("utf-8"))
    job.update(status="running", started=time.time(), pid=os.getpid())
    _write(path, job)
    last = [0.0]

    def progress(locale, done, total):
        job["progress"][locale] = {"done": done, "total": total}
        if time.monotonic() - last[0] > 0.5 or done == total:
            last[0] = time.monotonic()
            _write(path, job)

    try:
        with _locked(folder / ".build.lock"):
            report = build_indexes(
                job["corpus_dir"],
                index_dir,
                job["request"]["locales"],
                job["jobs"] or None,
                progress,
                incremental=not job["request"]["full"],
                # The runner inherits the service's environment, where the setting lives.
                max_article_bytes=load_settings()["MAX_ARTICLE_BYTES"],
            )
    except Exception as exc:  # the job reports it; the serving generation is untouched
        job.update(
            status="failed",
            finished=time.time(),
            errors=[*job["errors"], f"{type(exc).__name__}: {exc}"],
            traceback=traceback.format_exc(limit=5),
        )
        _write(path, job)
        return 1
    job["locales"] = {
        loc: {
            "articles": s.articles,
            "repaired": s.repaired,
            "rejected": s.rejected,
            "seconds": round(s.seconds, 3),
            "errors": s.errors[:20],
        }
        for loc, s in report.locales.items()
    }
    changes = report.changes
    job["counts"] = {
        key: sum(c.get(key, 0) for c in changes.values()) for key in ("added", "updated", "deleted")
    }
    job["counts"]["rejected"] = sum(s.rejected for s in report.locales.values())
    job["counts"]["rebuilt"] = sum(s.articles for s in report.locales.values())
    job["changes"] = changes
    job.update(
        status="succeeded",
        finished=time.time(),
        generation=report.generation,
        switched=report.switched,
        seconds=round(report.seconds, 3),
    )
    _write(path, job)
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2]))
