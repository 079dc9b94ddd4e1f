"""Reindex jobs: state on disk (so every gunicorn worker sees the same job), run in a subprocess.

Files in ``<index>/jobs/``:

- ``<id>.json``: the job's state, rewritten atomically (write a ``*.tmp``, rename) by whoever
  owns it; a failed write removes its ``*.tmp``.
- ``<id>.lock``: the job's liveness. The submitter takes an exclusive ``flock`` on it before the
  job exists and hands that very lock to the runner (an inherited descriptor), which holds it
  until it exits: the lock is held exactly while the job's runner lives. Anyone tests liveness
  with a non-blocking shared ``flock`` (acquired => the runner is dead). A PID is never trusted
  for that: PIDs wrap and are reused, and containers restart them low.
- ``.submit.lock``: taken by submit and cancel, so two workers cannot both start a build.
- ``.build.lock``: held by the runner for the whole build.

The runner is ``python -m helpapi.jobs <index_dir> <job_id> --lock-fd N``, started in a new
session so that it leads a process group of its own; its pool workers are in that group and
are killed by the kernel when the runner dies (``PR_SET_PDEATHSIG``, see
:func:`helpapi.indexer.die_with_parent`). Cancellation and the time limit signal the whole
group. The runner calls the same :func:`helpapi.indexer.build_indexes` as
``helpapi index build``.

A job whose runner died (killed, machine restarted) is recorded ``failed`` by the next reader;
its staging folder and ``*.tmp`` files are removed at the next submit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

ACTIVE = ("queued", "running")
# Marker: articles were written while a job ran; that job starts a follow-up when it ends.
PENDING = ".pending"
KEEP_JOBS = 50
DEFAULT_TIMEOUT = 1800
# A job file without a lock file was written by a version that had none; a queued one may
# still be starting.
LEGACY_GRACE = 10.0
# Cancel: SIGTERM lets the runner remove its staging folder; SIGKILL after this many seconds.
STOP_GRACE = 5.0
DIED = "the build process died"


class JobRunning(Exception):
    """A build is already queued or running; ``job`` is its state."""

    def __init__(self, job: dict):
        super().__init__(job["id"])
        self.job = job


class JobFinished(Exception):
    """The job to cancel has already finished; ``job`` is its state."""

    def __init__(self, job: dict):
        super().__init__(job["id"])
        self.job = job


def jobs_dir(index_dir: Path, create: bool = True) -> Path:
    """Where job files live (created on demand when ``create``)."""
    path = Path(index_dir) / "jobs"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, job: dict) -> None:
    data = json.dumps(job, ensure_ascii=False, indent=1).encode("utf-8")
    tmp = path.with_name(f"{path.stem}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        # A full or read-only disk must not leave 0-byte files behind.
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _held(path: Path) -> bool | None:
    """Whether some process holds an exclusive ``flock`` on ``path``; None if it does not exist.

    The test takes a shared lock, so concurrent testers never see each other as the holder.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases our shared lock
    return False


def _lock_path(folder: Path, job_id: str) -> Path:
    return folder / f"{job_id}.lock"


def _alive(folder: Path, job: dict) -> bool:
    """Whether the job's runner lives: its lock is held. Never judged by PID."""
    held = _held(_lock_path(folder, job["id"]))
    if held is None:
        return job["status"] == "queued" and time.time() - job["created"] < LEGACY_GRACE
    return held


def _settle(
    folder: Path, job_id: str, status: str, message: str, replace: tuple = ACTIVE
) -> dict | None:
    """Record a job whose runner is gone as ``status`` if it still reads as one of ``replace``.

    The caller has seen the runner dead; a dead runner never takes its lock again, so the
    exclusive lock here only waits for other settlers. The job is re-read under it: the runner
    may have written its final state just before it exited. Returns the job's state.
    """
    path = folder / f"{job_id}.json"
    try:
        fd = os.open(_lock_path(folder, job_id), os.O_RDONLY)
    except FileNotFoundError:
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        job = _load(path)
        if job is not None and job["status"] in replace:
            job.update(status=status, finished=time.time(), errors=[*job["errors"], message])
            with contextlib.suppress(OSError):  # a read-only disk: still report it
                _write(path, job)
        return job
    finally:
        if fd is not None:
            os.close(fd)


def read_job(index_dir: Path, job_id: str) -> dict | None:
    """A job's state, or None. An active job whose runner is gone is recorded failed."""
    _reap()
    if not job_id.isalnum():
        return None
    folder = jobs_dir(index_dir, create=False)
    job = _load(folder / f"{job_id}.json")
    if job is not None and job["status"] in ACTIVE and not _alive(folder, job):
        job = _settle(folder, job_id, "failed", DIED)
    return job


def list_jobs(index_dir: Path, limit: int = 20) -> list[dict]:
    """Most recent jobs first."""
    folder = jobs_dir(index_dir, create=False)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.json"), reverse=True)[:limit]
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


def submit(
    index_dir: Path,
    corpus_dir: Path,
    locales: list[str] | None,
    full: bool,
    jobs: int = 0,
    client: str = "",
    timeout: int = DEFAULT_TIMEOUT,
) -> dict:
    """Queue a build and start its runner. Raises :class:`JobRunning` if one is active.

    Leftovers of dead jobs are removed first. An ``OSError`` (read-only or full disk) leaves
    no job and no ``*.tmp`` file behind.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        for job in list_jobs(index_dir, limit=5):
            if job["status"] in ACTIVE:
                raise JobRunning(job)
        job = _start_locked(index_dir, folder, corpus_dir, locales, full, jobs, client, timeout)
    _prune_jobs(folder)
    return job


def submit_or_follow(
    index_dir: Path,
    corpus_dir: Path,
    jobs: int = 0,
    client: str = "",
    timeout: int = DEFAULT_TIMEOUT,
) -> tuple[dict, bool]:
    """An incremental build of what was just written: ``(job, False)`` for a job started now,
    or ``(running job, True)`` when one is active; that job then starts a follow-up when it
    ends (:func:`start_follow_up`), so the change is indexed without anyone asking again.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        for job in list_jobs(index_dir, limit=5):
            if job["status"] in ACTIVE:
                (folder / PENDING).write_text(json.dumps({"client": client}), "utf-8")
                return job, True
        job = _start_locked(index_dir, folder, corpus_dir, None, False, jobs, client, timeout)
    _prune_jobs(folder)
    return job, False


def start_follow_up(index_dir: Path, job: dict) -> dict | None:
    """Called by a runner once its job is recorded finished: start the incremental build that
    writes made during the job asked for (:func:`submit_or_follow`), if any."""
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        if not (folder / PENDING).exists():
            return None
        if any(j["status"] in ACTIVE for j in list_jobs(index_dir, limit=5)):
            return None  # a job started meanwhile scans the corpus after those writes
        return _start_locked(
            index_dir,
            folder,
            job["corpus_dir"],
            None,
            False,
            job.get("jobs", 0),
            "follow-up of " + job["id"],
            job.get("timeout", DEFAULT_TIMEOUT),
        )


def _start_locked(index_dir, folder, corpus_dir, locales, full, jobs, client, timeout) -> dict:
    """Create a job and start its runner (the submit lock is held)."""
    clean_leftovers(index_dir)
    # Whatever writes asked for a follow-up, this job scans the corpus after them.
    with contextlib.suppress(FileNotFoundError):
        (folder / PENDING).unlink()
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
        "timeout": timeout,
        "progress": {},
        "counts": {},
        "locales": {},
        "generation": None,
        "errors": [],
        "pid": None,
    }
    path = folder / f"{job_id}.json"
    lock = _lock_path(folder, job_id)
    proc = None
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # Held from before the job exists; the runner inherits this very lock.
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write(path, job)
            proc = subprocess.Popen(
                [sys.executable, "-m", "helpapi.jobs", str(index_dir), job_id, str(fd)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(fd,),
                # Survives the request, the worker and its restarts, and leads a process
                # group that holds its pool: cancel and timeout signal the whole group.
                start_new_session=True,
            )
        finally:
            os.close(fd)
        job["pid"] = proc.pid  # = its process group id
        _write(path, job)
    except BaseException:
        if proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for leftover in (path, lock):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    _reap(proc)
    return job


def cancel(index_dir: Path, job_id: str) -> dict | None:
    """Stop a queued or running job and record it ``cancelled``; None for an unknown job.

    The runner's whole process group gets SIGTERM (the runner removes its staging folder on
    the way out), then SIGKILL if it is still there after :data:`STOP_GRACE` seconds. The
    serving generation is never touched. Raises :class:`JobFinished` for a finished job.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir, create=False)
    if not job_id.isalnum() or not (folder / f"{job_id}.json").exists():
        return None
    with _locked(folder / ".submit.lock"):
        job = _load(folder / f"{job_id}.json")
        if job is None:
            return None
        if job["status"] not in ACTIVE:
            raise JobFinished(job)
        lock = _lock_path(folder, job_id)
        # The group is signalled only while the lock proves the runner (its leader) alive, so
        # a reused PID is never signalled.
        if _held(lock) and job.get("pid"):
            _signal_group(job["pid"], signal.SIGTERM)
            if not _wait_released(lock, STOP_GRACE):
                _signal_group(job["pid"], signal.SIGKILL)
                _wait_released(lock, STOP_GRACE)
        # A failure recorded after the signal (a pool broken by it) is the cancel's doing.
        stopped = (*ACTIVE, "failed")
        job = _settle(folder, job_id, "cancelled", "cancelled by DELETE /v1/admin/reindex", stopped)
        if job is not None and job["status"] == "succeeded":
            raise JobFinished(job)  # it finished before the signal landed
        clean_leftovers(index_dir)
    _reap()
    return job


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_released(lock: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _held(lock):
        if time.monotonic() > deadline:
            return False
        _reap()
        time.sleep(0.02)
    return True


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what dead jobs left behind: ``.build-*`` staging folders and ``*.tmp`` job files.

    Call it with the submit lock held and no job active. Nothing goes while a runner holds
    the build lock; a staging folder is kept while a build holds its lock (a CLI build, see
    :func:`helpapi.indexer._run_builds`). Returns the names removed.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir, create=False)
    if _held(folder / ".build.lock"):
        return []
    removed = []
    for staging in index_dir.glob(".build-*"):
        if _held(staging) is False:
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging.name)
    for tmp in folder.glob("*.tmp"):
        owner = tmp.name.split(".", 1)[0]
        if not _held(_lock_path(folder, owner)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp.name)
    return removed


_children: list[subprocess.Popen] = []


def _reap(new: subprocess.Popen | None = None) -> None:
    """Keep runner handles until they exit, then collect them (no zombies, no warnings)."""
    _children[:] = [p for p in _children if p.poll() is None]
    if new is not None:
        _children.append(new)


def _prune_jobs(folder: Path) -> None:
    for old in sorted(folder.glob("*.json"), reverse=True)[KEEP_JOBS:]:
        for path in (old, _lock_path(folder, old.stem)):
            with contextlib.suppress(OSError):
                path.unlink()


def describe_error(exc: BaseException) -> str:
    """The whole message of a build failure, with the file it names when it carries one.

    ``MemoryError`` and friends have no message, so the path is the only clue; it comes from
    a ``path`` or ``filename`` attribute, or from notes added on the way up (PEP 678).
    """
    name = type(exc).__name__
    text = str(exc)
    path = getattr(exc, "path", None) or getattr(exc, "filename", None)
    if text:
        text = f"{name}: {text}"
        if path and str(path) not in text:
            text += f" (in {path})"
    else:
        text = f"{name} while reading {path}" if path else name
    notes = [str(n) for n in getattr(exc, "__notes__", ()) if str(n) not in text]
    if notes:
        text += f" ({'; '.join(notes)})"
    return text


class _Stop(BaseException):
    """Raised in the runner's main thread by SIGTERM: unwind, removing the staging folder."""


def run(index_dir: Path, job_id: str, lock_fd: int | None = None) -> int:
    """Run one queued job to the end (in the runner process). Returns an exit code.

    ``lock_fd`` is the job's lock, taken by the submitter; without it the job's lock is taken
    here. SIGTERM (cancel, or the time limit, which signals the runner's own process group)
    unwinds the build so its staging folder is removed; the serving generation is untouched.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    if lock_fd is not None:
        os.set_inheritable(lock_fd, False)  # the pool must not keep a dead runner "alive"
        return _run_locked(index_dir, folder, job_id)
    fd = os.open(_lock_path(folder, job_id), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return _run_locked(index_dir, folder, job_id)
    finally:
        os.close(fd)


def _run_locked(index_dir: Path, folder: Path, job_id: str) -> int:
    from . import indexer
    from .config import load_settings

    path = folder / f"{job_id}.json"
    with _locked(folder / ".submit.lock"):  # the submitter has finished writing the job
        job = json.loads(path.read_text("utf-8"))
    job.update(status="running", started=time.time(), pid=os.getpid())
    state = threading.Lock()  # one writer of the job file at a time: main thread or watchdog
    # start -> build -> done; SIGTERM before "done" unwinds the build ("stopping").
    flags = {"phase": "start", "timed_out": False}
    limit = job.get("timeout") or DEFAULT_TIMEOUT
    timed_out = f"timed out after {limit} s (HELPAPI_BUILD_TIMEOUT)"

    def save():
        with state:
            _write(path, job)

    def on_sigterm(signum, frame):
        if flags["phase"] in ("start", "build"):
            flags["phase"] = "stopping"
            raise _Stop
        # "done": the build has returned and its generation is in; finish recording it.

    def watchdog():
        # A watchdog thread rather than a supervising process: the runner already leads the
        # group, so one signal reaches the pool too, and the main thread unwinds (removing its
        # staging folder) and records the failure. If it cannot within STOP_GRACE (stuck in
        # C code), the failure is recorded here and the whole group is killed.
        flags["timed_out"] = True
        _signal_group(os.getpgrp(), signal.SIGTERM)
        time.sleep(STOP_GRACE)
        with state:
            if flags["phase"] == "done":
                return
            job.update(status="failed", finished=time.time(), errors=[*job["errors"], timed_out])
            with contextlib.suppress(OSError):
                _write(path, job)
            os.killpg(os.getpgrp(), signal.SIGKILL)

    timer = threading.Timer(limit, watchdog)
    timer.daemon = True
    last = [0.0]

    def progress(locale, done, total):
        job["progress"][locale] = {"done": done, "total": total}
        if time.monotonic() - last[0] > 0.5 or done == total:
            last[0] = time.monotonic()
            save()

    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, on_sigterm)
        save()
        timer.start()
        with _locked(folder / ".build.lock"):
            flags["phase"] = "build"
            settings = load_settings()
            try:
                report = indexer.build_indexes(
                    job["corpus_dir"],
                    index_dir,
                    job["request"]["locales"],
                    job["jobs"] or None,
                    progress,
                    incremental=not job["request"]["full"],
                    # The runner inherits the service's environment, where the setting lives.
                    max_article_bytes=settings["MAX_ARTICLE_BYTES"],
                    source_locale=settings["SOURCE_LOCALE"],
                )
            finally:
                if flags["phase"] == "build":
                    flags["phase"] = "done"
    except _Stop:
        if not flags["timed_out"]:
            return 1  # cancelled: the canceller records it once this process is gone
        with state:
            flags["phase"] = "done"
            job.update(status="failed", finished=time.time(), errors=[*job["errors"], timed_out])
            _write(path, job)
        return 1
    except Exception as exc:  # the job reports it; the serving generation is untouched
        job.update(
            status="failed",
            finished=time.time(),
            errors=[*job["errors"], describe_error(exc)],
            traceback=traceback.format_exc(limit=5),
        )
        with contextlib.suppress(OSError):  # a full disk: readers report the runner's death
            save()
        return 1
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
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
    save()
    # Articles written while this job ran (ingestion API) get their own incremental job.
    follow = start_follow_up(index_dir, job)
    if follow is not None:
        job["follow_up"] = follow["id"]
        save()
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None))
