"""Reindex jobs: state on disk (so every gunicorn worker sees the same job), run in a subprocess.

Files in ``<index>/jobs/``:

- ``<id>.json``: the job's state, rewritten atomically (write a ``*.tmp``, rename) by whoever
  owns it; a failed write removes its ``*.tmp``.
- ``<id>.lock``: the job's liveness. The submitter takes an exclusive ``flock`` on it before the
  job exists and hands that very lock to the runner (an inherited descriptor), which holds it
  until it exits: the lock is held exactly while the job's runner lives. Anyone tests liveness
  with a non-blocking shared ``flock`` (acquired => the runner is dead). A PID is never trusted
  for that: PIDs wrap and are reused, and containers restart them low.
- ``.submit.lock``: taken by submit and cancel, so two workers of one instance do not race.
- ``.build.lock``: held by the runner for the whole build.
- ``.lease.<seq>``: the build lease (:mod:`helpapi.lease`), the lock across instances.
- ``<id>.cancel``: a cancel asked for through another instance than the runner's.

Replicas on several hosts share this folder. There a ``flock`` may be local to each host and a
PID names another kernel's process, so ownership is the lease: the submitter takes it for the
job (one build at a time across every instance), the runner renews it every
``HELPAPI_HEARTBEAT_SECONDS`` and releases it when done. Another instance judges the job by the
lease only: once it has expired (``HELPAPI_LEASE_SECONDS`` without a heartbeat) the job is
recorded ``failed`` and the lease fenced off, so a late runner stops instead of switching. The
job's lock (and its PID, to signal it) is trusted only by the instance that owns the lease.

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
import logging
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

from . import lease as leases

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
EXPIRED = (
    "the build lease expired: instance {instance} stopped renewing it"
    " (its build process died or its host is unreachable)"
)
LOST = "the build lease was taken over by another instance"


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
    # Bounded and never blocking (a FIFO, a symlink to a device); only a JSON object counts.
    try:
        data = json.loads(leases.read_small(path))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _held(path: Path) -> bool | None:
    """Whether some process holds an exclusive ``flock`` on ``path``; None if it does not exist.

    The test takes a shared lock, so concurrent testers never see each other as the holder.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO put there must not block
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


def _job_lease(folder: Path, job: dict) -> leases.Lease | None:
    seq = job.get("lease")
    return leases.read(folder, seq) if isinstance(seq, int) else None


def _death(folder: Path, job: dict, now: float | None = None) -> str | None:
    """None while an active job's owner lives, else why it is dead (the ``failed`` message).

    A job with a lease is judged by it: taken over, released without a final state, or
    expired means dead. Only the instance that owns the lease also asks the job's lock (its
    own kernel's ``flock``), which tells at once that a runner died. A job without a lease
    (written by a version that had none, or run by hand) is judged by its lock alone.
    """
    if job.get("lease") is None:
        return None if _alive(folder, job) else DIED
    held = _job_lease(folder, job)
    if held is None or leases.superseded(folder, held):
        return LOST
    if held.released:
        return DIED
    if held.instance == leases.instance_id() and _held(_lock_path(folder, job["id"])) is False:
        return DIED
    if not held.live(time.time() if now is None else now):
        return EXPIRED.format(instance=held.instance)
    return None


def _settle(
    folder: Path, job_id: str, status: str, message: str, replace: tuple = ACTIVE
) -> dict | None:
    """Record a job whose runner is gone as ``status`` if it still reads as one of ``replace``.

    The caller has seen the runner dead; a dead runner never takes its lock again, so the
    exclusive lock here only waits for other settlers. The job is re-read under it: the runner
    may have written its final state just before it exited. Its lease is fenced off first, so
    a runner that was only late (a paused VM) stops at its next heartbeat and never switches.
    Returns the job's state.
    """
    path = folder / f"{job_id}.json"
    job = _load(path)
    held = _job_lease(folder, job) if job is not None else None
    if held is not None and not leases.superseded(folder, held):
        with contextlib.suppress(OSError):
            leases.supersede(folder, held)
    fd = None
    # Another instance's lock is never waited for: on a network filesystem it may be held by
    # a runner of another host that is only late (the fence above stops it).
    if held is None or held.instance == leases.instance_id():
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(_lock_path(folder, job_id), os.O_RDONLY | os.O_NONBLOCK)
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
    if job is not None and not (job.get("id") == job_id and isinstance(job.get("status"), str)):
        return None  # not a job file this service wrote (a hand edit, a disk fault)
    if job is not None and job["status"] in ACTIVE:
        why = _death(folder, job)
        if why is not None:
            job = _settle(folder, job_id, "failed", why)
    return job


def list_jobs(index_dir: Path, limit: int = 20) -> list[dict]:
    """Most recent jobs first."""
    folder = jobs_dir(index_dir, create=False)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.json"), reverse=True)[:limit]
    jobs = [read_job(index_dir, p.stem) for p in paths]
    return [j for j in jobs if j is not None]


def _active_job(index_dir: Path) -> dict | None:
    """A queued or running job among the newest (read with the submit lock held), or None."""
    return next((j for j in list_jobs(index_dir, limit=5) if j["status"] in ACTIVE), None)


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
    instance: str | None = None,
) -> dict:
    """Queue a build and start its runner. Raises :class:`JobRunning` if one is active, on
    this instance or any other sharing the index folder (the build lease is taken here).

    Leftovers of dead jobs are removed first. An ``OSError`` (read-only or full disk) leaves
    no job and no ``*.tmp`` file behind. ``instance`` defaults to ``HELPAPI_INSTANCE_ID``.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        active = _active_job(index_dir)
        if active is not None:
            raise JobRunning(active)
        job = _start_locked(
            index_dir, folder, corpus_dir, locales, full, jobs, client, timeout, instance
        )
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
        active = _active_job(index_dir)
        if active is not None:
            (folder / PENDING).write_text(json.dumps({"client": client}), "utf-8")
            return active, True
        try:
            job = _start_locked(index_dir, folder, corpus_dir, None, False, jobs, client, timeout)
        except JobRunning as running:  # another instance's build took the lease first
            (folder / PENDING).write_text(json.dumps({"client": client}), "utf-8")
            return running.job, True
    _prune_jobs(folder)
    return job, False


def _follow_up_args(job: dict) -> tuple:
    """A follow-up build of ``job``: corpus, locales (all), full (no), jobs, client, timeout."""
    return (
        job["corpus_dir"],
        None,
        False,
        job.get("jobs", 0),
        "follow-up of " + job["id"],
        job.get("timeout", DEFAULT_TIMEOUT),
    )


def start_follow_up(index_dir: Path, job: dict) -> dict | None:
    """Called by a runner once its job is recorded finished: start the incremental build that
    writes made during the job asked for (:func:`submit_or_follow`), if any."""
    folder = jobs_dir(index_dir)
    with _locked(folder / ".submit.lock"):
        if not (folder / PENDING).exists():
            return None
        if _active_job(index_dir) is not None:
            return None  # a job started meanwhile scans the corpus after those writes
        try:
            return _start_locked(index_dir, folder, *_follow_up_args(job), job.get("instance"))
        except JobRunning:
            return None  # another instance's job took the lease: it scans after those writes


def _finish_with_follow_up(index_dir: Path, folder: Path, job: dict, save, beat) -> bool:
    """Record ``job`` (finished) naming the follow-up that writes made during it asked for
    (:func:`submit_or_follow`), then hand the build lease to that follow-up and start it.

    False when none was asked for: nothing was written (the caller saves the job). The
    follow-up's record exists (queued) before ``job`` reads finished, so a client that polls
    until ``succeeded`` finds the follow-up named there, and can fetch it. A follow-up whose
    runner cannot start is recorded ``failed`` with the reason (never deleted: ``job`` names
    it), and the writes it was for are left asking for a build.
    """
    with _locked(folder / ".submit.lock"):
        if not (folder / PENDING).exists():
            return False
        args = _follow_up_args(job)
        follow_id = _new_job_id()
        follow_path = folder / f"{follow_id}.json"
        # The follow-up's lock is held from before its record exists until its runner holds
        # it: a reader finds the queued record alive however long the hand-over takes
        # (clean_leftovers may remove a big staging folder), not for LEGACY_GRACE only.
        fd = os.open(_lock_path(folder, follow_id), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write(follow_path, _record(follow_id, *args, job.get("instance")))
            job["follow_up"] = follow_id
            save()
            beat.stop()  # releases this job's lease: the follow-up takes the next one
            try:
                held = _take_lease(
                    index_dir, folder, follow_id, lease_settings()[0], job.get("instance")
                )
            except JobRunning as other:  # another instance took the build: it scans the writes
                _end_follow_up(
                    follow_path,
                    _record(follow_id, *args, job.get("instance")),
                    "cancelled",
                    f"job {other.job['id']} of another instance indexes these writes",
                )
                return True
            try:
                _start_leased(index_dir, folder, *args, follow_id, held, lock_fd=fd)
            except Exception as exc:
                leases.release(folder, held)
                # The writes still ask for a build: the next job scans them.
                with contextlib.suppress(OSError):
                    (folder / PENDING).write_text(json.dumps({"client": args[4]}), "utf-8")
                failed = _record(follow_id, *args, job.get("instance"))
                _end_follow_up(follow_path, failed, "failed", describe_error(exc))
            except BaseException:
                leases.release(folder, held)
                raise
        finally:
            os.close(fd)
    return True


def _end_follow_up(path: Path, record: dict, status: str, why: str) -> None:
    """Record a follow-up that never ran as ``status``, saying ``why``."""
    record.update(status=status, finished=time.time(), errors=[why])
    with contextlib.suppress(OSError):
        _write(path, record)


def lease_settings() -> tuple[int, int]:
    """``(HELPAPI_LEASE_SECONDS, HELPAPI_HEARTBEAT_SECONDS)`` from the environment."""
    from .config import load_settings

    settings = load_settings()
    return settings["LEASE_SECONDS"], settings["HEARTBEAT_SECONDS"]


def _take_lease(index_dir: Path, folder: Path, job_id: str, seconds: int, instance: str):
    """The build lease for a new job, or :class:`JobRunning` with the job that holds it."""
    for _ in range(2):
        try:
            return leases.take(folder, job_id, seconds, instance)
        except leases.LeaseHeld as held:
            owner = held.lease
            other = read_job(index_dir, owner.job) if owner.job.isalnum() else None
            if other is None or other["status"] in ACTIVE:
                # No job file yet: the lease was just taken and the job is being written.
                raise JobRunning(
                    other or {"id": owner.job or "unknown", "status": "queued"}
                ) from None
            # Its job has finished (or was just recorded failed): it no longer needs the lease,
            # whatever its runner is still doing (a release on its way). Fence it off, retry.
            with contextlib.suppress(OSError):
                leases.supersede(folder, owner, instance)
    raise JobRunning({"id": "unknown", "status": "queued"})


def _start_locked(
    index_dir, folder, corpus_dir, locales, full, jobs, client, timeout, instance=None
) -> dict:
    """Take the build lease, create a job and start its runner (the submit lock is held)."""
    instance = instance or leases.instance_id()
    lease_seconds = lease_settings()[0]
    job_id = _new_job_id()
    held = _take_lease(index_dir, folder, job_id, lease_seconds, instance)
    try:
        return _start_leased(
            index_dir, folder, corpus_dir, locales, full, jobs, client, timeout, job_id, held
        )
    except BaseException:
        leases.release(folder, held)
        raise


def _new_job_id() -> str:
    """Time first, so that names sort by creation (``list_jobs``)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(4)


def _record(job_id, corpus_dir, locales, full, jobs, client, timeout, instance) -> dict:
    """A new job's record, queued, without a lease yet."""
    return {
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
        "instance": instance,
        "lease": None,
        "lease_seconds": None,
        "heartbeat_seconds": None,
    }


def _start_leased(
    index_dir, folder, corpus_dir, locales, full, jobs, client, timeout, job_id, held, lock_fd=None
) -> dict:
    """Write the job's record and start its runner. ``lock_fd``: the job's lock, already
    held by the caller, which owns the record and the lock file (kept on a failure)."""
    # The lease is ours: whatever build folders are left belong to dead builds.
    clean_leftovers(index_dir)
    # Whatever writes asked for a follow-up, this job scans the corpus after them.
    with contextlib.suppress(FileNotFoundError):
        (folder / PENDING).unlink()
    job = _record(job_id, corpus_dir, locales, full, jobs, client, timeout, held.instance)
    job.update(
        lease=held.seq,
        lease_seconds=round(held.expires - held.acquired),
        heartbeat_seconds=lease_settings()[1],
    )
    path = folder / f"{job_id}.json"
    lock = _lock_path(folder, job_id)
    proc = None
    try:
        # A dup shares the caller's lock (one open file): the runner inherits that very lock.
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644) if lock_fd is None else os.dup(lock_fd)
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
                env={**os.environ, "HELPAPI_INSTANCE_ID": held.instance},
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
        for leftover in (path, lock) if lock_fd is None else ():
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

    A job whose lease another instance owns cannot be signalled from here (its PID names a
    process of another host): a ``<id>.cancel`` file asks its runner, which stops at its next
    heartbeat and records itself ``cancelled``; this waits for that, a few heartbeats at most,
    and returns the job as it then reads (``cancel_requested`` is set on it).
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir, create=False)
    if not job_id.isalnum() or not (folder / f"{job_id}.json").exists():
        return None
    job = _load(folder / f"{job_id}.json")
    held = _job_lease(folder, job) if job is not None else None
    if (
        job is not None
        and job["status"] in ACTIVE
        and held is not None
        and held.instance != leases.instance_id()
    ):
        return _cancel_remote(index_dir, folder, job)
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


def _cancel_path(folder: Path, job_id: str) -> Path:
    return folder / f"{job_id}.cancel"


def _cancel_remote(index_dir: Path, folder: Path, job: dict) -> dict:
    """Ask another instance's runner to stop (see :func:`cancel`) and wait for it to."""
    _write(_cancel_path(folder, job["id"]), {"instance": leases.instance_id(), "at": time.time()})
    beat = job.get("heartbeat_seconds") or leases.DEFAULT_HEARTBEAT
    deadline = time.monotonic() + beat + 2 * STOP_GRACE
    while time.monotonic() < deadline:
        now = read_job(index_dir, job["id"]) or job
        if now["status"] not in ACTIVE:
            if now["status"] == "succeeded":
                raise JobFinished(now)
            return now
        time.sleep(0.1)
    return {**now, "cancel_requested": True}


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
        for path in (old, _lock_path(folder, old.stem), _cancel_path(folder, old.stem)):
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


class _Heartbeat:
    """Renews the runner's lease every ``interval`` seconds in a thread; on a lost lease or a
    cancel asked through another instance, stops the build (SIGTERM to the runner's group)."""

    def __init__(self, folder: Path, job: dict, held: leases.Lease, stop_build):
        self.folder, self.job_id, self.held = folder, job["id"], held
        self.seconds = job.get("lease_seconds") or leases.DEFAULT_SECONDS
        self.interval = job.get("heartbeat_seconds") or leases.DEFAULT_HEARTBEAT
        self.stop_build = stop_build
        self.lost: str | None = None
        self.cancelled_by: str | None = None
        self.stopped = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="lease-heartbeat")

    def renew(self) -> None:
        """Renew now; :class:`helpapi.lease.LeaseLost` once another instance owns the build.
        Called before the switch too (the fence): a runner that lost never switches."""
        with self._lock:
            if self.lost:
                raise leases.LeaseLost(self.lost)
            try:
                self.held = leases.renew(self.folder, self.held, self.seconds, pid=os.getpid())
            except leases.LeaseLost as exc:
                self.lost = str(exc)
                raise

    def start(self) -> None:
        self.renew()
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.renew()
            except leases.LeaseLost:
                self.stop_build()
                return
            except OSError:
                continue  # a network filesystem hiccup: the next beat retries, expiry decides
            # The marker's presence asks for the stop; its content (who asked) is only told.
            marker = _cancel_path(self.folder, self.job_id)
            if os.path.lexists(marker):
                self.cancelled_by = str((_load(marker) or {}).get("instance", "?"))
                self.stop_build()
                return

    def halt(self) -> None:
        """Stop renewing (and so stop asking to stop the build); the lease stays held."""
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def stop(self) -> None:
        """Stop renewing and release the lease (unless it was lost: then it is not ours).
        Once: a lease handed to a follow-up is released before the runner's own stop."""
        self.halt()
        with self._lock:
            if not self.lost and not self.stopped:
                leases.release(self.folder, self.held)
            self.stopped = True


def _run_locked(index_dir: Path, folder: Path, job_id: str) -> int:
    path = folder / f"{job_id}.json"
    with _locked(folder / ".submit.lock"):  # the submitter has finished writing the job
        job = json.loads(path.read_text("utf-8"))
    held = _job_lease(folder, job)
    beat = None
    if held is not None:

        def stop_build():
            # The runner leads its own process group (its pool is in it); run in-process (a
            # test), only this process is signalled.
            if os.getpgrp() == os.getpid():
                _signal_group(os.getpid(), signal.SIGTERM)
            else:
                os.kill(os.getpid(), signal.SIGTERM)

        beat = _Heartbeat(folder, job, held, stop_build)
        try:
            beat.start()
        except leases.LeaseLost as exc:  # fenced off before it began: never build
            job.update(status="failed", finished=time.time(), errors=[*job["errors"], str(exc)])
            with contextlib.suppress(OSError):
                _write(path, job)
            return 1
    try:
        code = _run_job(index_dir, folder, path, job, beat)
    finally:
        if beat is not None:
            beat.stop()
    if code == 0:
        # Articles written while this job ran (ingestion API) get their own incremental job.
        follow = start_follow_up(index_dir, job)
        if follow is not None:
            job["follow_up"] = follow["id"]
            _write(path, job)
    return code


def _run_job(index_dir: Path, folder: Path, path: Path, job: dict, beat) -> int:
    from . import indexer
    from .config import load_settings

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
                    # The fence: renewed (and so still ours) right before the switch.
                    before_switch=beat.renew if beat is not None else None,
                )
            finally:
                if flags["phase"] == "build":
                    flags["phase"] = "done"
    except _Stop:
        if beat is not None and (beat.lost or beat.cancelled_by):
            if beat.lost:
                status, why = "failed", f"{LOST} ({beat.lost}); this build stopped"
            else:
                status, why = (
                    "cancelled",
                    (f"cancelled by DELETE /v1/admin/reindex through instance {beat.cancelled_by}"),
                )
            with state:
                flags["phase"] = "done"
                job.update(status=status, finished=time.time(), errors=[*job["errors"], why])
                with contextlib.suppress(OSError):
                    _write(path, job)
            return 1
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
        # The heartbeat halts first: a stop it asks for (a cancel, a lost lease) while the
        # build's outcome is being recorded must meet on_sigterm, not the default (death).
        if beat is not None:
            beat.halt()
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
    # Articles written while this job ran (ingestion API) get their own incremental job,
    # named in the same write as "succeeded". A job without a lease starts it after.
    if beat is None or not _finish_with_follow_up(index_dir, folder, job, save, beat):
        save()
    return 0


@contextlib.contextmanager
def cli_build_lease(index_dir: Path, corpus_dir: Path, build_jobs: int = 0):
    """The build lease for a build run outside a job (``helpapi index build``).

    Without it a CLI build on a shared index folder (a Kubernetes Job, a cron entry) could run
    beside a reindex job that a replica started, and the two would race to switch ``CURRENT``.
    Raises :class:`JobRunning` when a build (a job, or another CLI build) holds the lease.
    Yields the fence to pass as ``before_switch``: it renews the lease and raises
    :class:`helpapi.lease.LeaseLost` once another instance took the build over (this one was
    too late renewing), so a build that lost its lease never switches. The lease is renewed
    every ``HELPAPI_HEARTBEAT_SECONDS`` in a thread and released at the end; writes through the
    ingestion API made meanwhile start their follow-up job then, as after a job.
    """
    index_dir = Path(index_dir)
    folder = jobs_dir(index_dir)
    seconds, heartbeat = lease_settings()
    instance = leases.instance_id()
    # Not alphanumeric, so never mistaken for a job file's id (there is none for a CLI build).
    name = "cli-" + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(4)
    with _locked(folder / ".submit.lock"):
        active = _active_job(index_dir)
        if active is not None:
            raise JobRunning(active)
        held = _take_lease(index_dir, folder, name, seconds, instance)
    record = {"id": name, "lease_seconds": seconds, "heartbeat_seconds": heartbeat}
    # A lost lease is acted on at the fence (before the switch), not by signalling this process.
    beat = _Heartbeat(folder, record, held, stop_build=lambda: None)
    beat.start()
    # Its beats touch only the lease files and its own lock: the build's pool may fork its
    # workers beside it rather than spawn new interpreters (helpapi.indexer.fork_safe_beside).
    from .indexer import fork_safe_beside

    fork_safe_beside(beat._thread)
    try:
        yield beat.renew
    finally:
        beat.stop()
    start_follow_up(
        index_dir,
        {
            "id": name,
            "corpus_dir": str(corpus_dir),
            "jobs": build_jobs,
            "timeout": DEFAULT_TIMEOUT,
            "instance": instance,
        },
    )


if __name__ == "__main__":
    # The runner. Once the job is recorded it ends at once with os._exit: everything it leaves
    # is written by then (the job record, the generation and CURRENT, the article cache, the
    # metrics file: each written and closed, or renamed in; the lease released). What is
    # skipped is freeing the build's memory object by object (kept until now, see
    # helpapi.indexer.keep_until_exit) and the interpreter's teardown.
    from . import indexer as _indexer

    _indexer.keep_until_exit()
    _indexer.parallel_postings()
    try:
        _code = run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
        from .metrics import observe_reindex_job  # the duration histogram (README "/metrics")

        observe_reindex_job(Path(sys.argv[1]), sys.argv[2])
    except SystemExit as _exit:
        # As the interpreter would: None is success, a message goes to stderr with status 1.
        if _exit.code is None or isinstance(_exit.code, int):
            _code = _exit.code or 0
        else:
            print(_exit.code, file=sys.stderr)
            _code = 1
    except BaseException:
        traceback.print_exc()
        _code = 1
    logging.shutdown()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(_code)
