"""Reindex jobs survive process and disk faults: liveness by lock, process groups, timeouts,
cancellation, leftovers of dead jobs, read-only or full disks (issue #12, items 3 and 5)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from helpapi import create_app
from helpapi import generations
from helpapi import jobs
from helpapi.config import SettingsError
from helpapi.config import load_settings
from helpapi.indexer import build_indexes

from .conftest import FRUITS
from .conftest import job_record
from .conftest import wait_job_record

TOKEN = "s3cret-token-for-the-jobs-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LINUX = sys.platform.startswith("linux")


@pytest.fixture
def tiny_corpus(make_corpus):
    return make_corpus(FRUITS)


def _app(corpus, index, **extra):
    return create_app(
        {
            "INDEX_DIR": str(index),
            "CORPUS_DIR": str(corpus),
            "ADMIN_TOKEN": TOKEN,
            "BUILD_JOBS": 1,
            **extra,
        }
    )


@pytest.fixture
def small_app(tiny_corpus, tmp_path):
    """Serves a tiny corpus; its reindex jobs take well under a second of work."""
    index = tmp_path / "ix"
    build_indexes(tiny_corpus, index, jobs=1)
    app = _app(tiny_corpus, index)
    yield app
    _stop_all(index)
    app.extensions["helpapi.indexes"].close()


@pytest.fixture
def big_app(tiny_corpus, copy_corpus, tmp_path):
    """Serves a tiny generation, but reindexes every locale of the bundled corpus with a pool
    of two workers: a job that takes several seconds, long enough to kill it mid-way. (Two
    locales took 1.4 s once the build got faster: the 1 s time limit then raced the build.)"""
    index = tmp_path / "ix"
    build_indexes(tiny_corpus, index, jobs=1)
    app = _app(copy_corpus(None), index, BUILD_JOBS=2)
    yield app
    _stop_all(index)
    app.extensions["helpapi.indexes"].close()


def _stop_all(index):
    """No test leaves a build running."""
    for job in jobs.list_jobs(index):
        if job["status"] in jobs.ACTIVE:
            with contextlib.suppress(jobs.JobFinished):
                jobs.cancel(index, job["id"])


@pytest.fixture
def subreaper():
    """Make this process the reaper of orphans, as init is in a real container.

    The runner's pool workers are its children; when it is killed they are re-parented to the
    nearest subreaper. Here PID 1 may never reap them, and a zombie still counts as a member of
    its process group, so the test adopts and reaps them itself.
    """
    if not LINUX:
        pytest.skip("Linux only")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    yield
    libc.prctl(36, 0, 0, 0, 0)


def group_members(pgid: int) -> dict[int, str]:
    """{pid: state} of every process (zombies included) in process group ``pgid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found[int(entry.name)] = fields[0]
    return found


def reap(pids) -> None:
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(index, pgid, members, timeout=15.0) -> float:
    """Seconds until no process of group ``pgid`` is left (reaping our own children)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        jobs.list_jobs(index)  # collects the runner, which is this process's child
        reap(members)
        if group_gone(pgid):
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"processes left in group {pgid}: {group_members(pgid)}")


def wait_for_pool(index, job_id, timeout=60.0) -> int:
    """Wait until the job runs with its pool started; return the runner's pid (= its pgid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.read_job(index, job_id)
        assert job["status"] in jobs.ACTIVE, job
        pid = job.get("pid")
        # runner + two workers (+ multiprocessing's resource tracker)
        if job["status"] == "running" and pid and len(group_members(pid)) >= 3 and job["progress"]:
            return pid
        time.sleep(0.05)
    raise AssertionError("the job's pool never started")


def fake_job(folder: Path, status="running", pid=None, created=None) -> str:
    """A job file as a runner would leave it; no lock is held for it."""
    folder.mkdir(parents=True, exist_ok=True)
    job_id = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "0badf00d"
    job = job_record(
        job_id,
        status=status,
        created=created or time.time() - 60,
        started=time.time() - 60,
        pid=pid,
    )
    (folder / f"{job_id}.json").write_text(json.dumps(job), "utf-8")
    return job_id


# Finding 1: liveness through the job's lock, never a bare PID.


@pytest.mark.parametrize("lock_file", [False, True], ids=["no-lock-file", "lock-file-unheld"])
def test_job_whose_pid_was_reused_does_not_block_reindex(small_app, lock_file):
    index = Path(small_app.config["INDEX_DIR"])
    # The pid is alive (it is this test's own process), but nobody holds the job's lock.
    job_id = fake_job(index / "jobs", pid=os.getpid())
    if lock_file:
        (index / "jobs" / f"{job_id}.lock").touch()
    client = small_app.test_client()
    job = client.get(f"/v1/admin/reindex/{job_id}", headers=AUTH).get_json()
    assert job["status"] == "failed" and "the build process died" in job["errors"]
    r = client.post("/v1/admin/reindex", headers=AUTH)
    assert r.status_code == 202, r.get_json()
    assert wait_job_record(index, r.get_json()["id"])["status"] == "succeeded"


def test_job_whose_lock_is_held_is_running_whatever_its_pid(small_app):
    index = Path(small_app.config["INDEX_DIR"])
    job_id = fake_job(index / "jobs", pid=2**22 + 1)  # above pid_max: no such process
    with open(index / "jobs" / f"{job_id}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        client = small_app.test_client()
        assert client.get(f"/v1/admin/reindex/{job_id}", headers=AUTH).get_json()["status"] == (
            "running"
        )
        r = client.post("/v1/admin/reindex", headers=AUTH)
        assert r.status_code == 409 and r.get_json()["error"]["job"] == job_id
    assert client.get(f"/v1/admin/reindex/{job_id}", headers=AUTH).get_json()["status"] == "failed"


def test_dead_job_is_recorded_failed_once(small_app):
    index = Path(small_app.config["INDEX_DIR"])
    job_id = fake_job(index / "jobs")
    first = jobs.read_job(index, job_id)
    time.sleep(0.01)
    assert jobs.read_job(index, job_id)["finished"] == first["finished"]  # written, not guessed


# Finding 2: the runner and its pool die together.


@pytest.mark.skipif(not LINUX, reason="process groups and PR_SET_PDEATHSIG")
def test_killed_runner_takes_its_pool_along(big_app, subreaper, capsys):
    index = Path(big_app.config["INDEX_DIR"])
    client = big_app.test_client()
    r = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    assert r.status_code == 202
    job_id = r.get_json()["id"]
    pgid = wait_for_pool(index, job_id)
    assert os.getpgid(pgid) == pgid  # the runner leads its own process group
    members = group_members(pgid)
    staging = sorted(index.glob(".build-*"))
    assert staging
    killed = time.monotonic()
    os.kill(pgid, signal.SIGKILL)  # the runner only: its workers must follow by themselves
    gone = wait_gone(index, pgid, members)
    job = client.get(f"/v1/admin/reindex/{job_id}", headers=AUTH).get_json()
    assert job["status"] == "failed" and "the build process died" in job["errors"]
    again = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    accepted = time.monotonic() - killed
    assert again.status_code == 202, again.get_json()
    assert not any(p.exists() for p in staging)  # the dead job's staging went at that submit
    with capsys.disabled():
        print(
            f"\n[jobs] {len(members)} processes; SIGKILL -> none left {gone:.2f}s, "
            f"-> next submit accepted {accepted:.2f}s"
        )


# Finding 3: leftovers of dead jobs go at the next submit.


def test_dead_job_leftovers_are_removed_at_next_submit(small_app):
    index = Path(small_app.config["INDEX_DIR"])
    folder = index / "jobs"
    dead = fake_job(folder, pid=os.getpid())
    stale = index / ".build-g20260101-000000-000000-dead"
    (stale / "de-DE").mkdir(parents=True)
    (stale / "de-DE" / "_MAIN_1.toc").write_bytes(b"x")
    tmp = folder / f"{dead}.1a2b3c4d.tmp"
    tmp.touch()
    busy = index / ".build-g20260101-000000-000000-busy"  # a CLI build holds its staging
    busy.mkdir()
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = small_app.test_client().post("/v1/admin/reindex", headers=AUTH)
        assert r.status_code == 202
        assert not stale.exists() and not tmp.exists()
        assert busy.exists()
    finally:
        os.close(fd)
    assert wait_job_record(index, r.get_json()["id"])["status"] == "succeeded"


# Finding 4: a read-only or full disk is 503 with the errno, and leaks nothing.


class _FullDisk:
    """A file whose writes fail the way a full disk fails them."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _broken_open(err):
    real_open = open

    def fake_open(file, mode="r", *args, **kwargs):
        writes = any(c in mode for c in "wa+x")
        if err == errno.EROFS and writes:
            raise OSError(err, os.strerror(err), str(file))
        fh = real_open(file, mode, *args, **kwargs)
        if err == errno.ENOSPC and str(file).endswith(".tmp"):
            return _FullDisk(fh)
        return fh

    return fake_open


def job_files(index):
    """The jobs folder's files, but its own lock files (.submit.lock, .build.lock)."""
    return {p.name for p in (index / "jobs").iterdir() if not p.name.startswith(".")}


@pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC], ids=["EROFS", "ENOSPC"])
def test_broken_disk_is_503_with_errno(small_app, monkeypatch, err):
    index = Path(small_app.config["INDEX_DIR"])
    (index / "jobs").mkdir(exist_ok=True)
    before = job_files(index)
    monkeypatch.setattr(jobs, "open", _broken_open(err), raising=False)
    r = small_app.test_client().post("/v1/admin/reindex", headers=AUTH)
    assert r.status_code == 503, r.get_json()
    body = r.get_json()["error"]
    name = errno.errorcode[err]
    assert body["code"] == "storage_unavailable" and body["errno"] == name
    assert name in body["message"]
    assert job_files(index) == before  # no 0-byte *.tmp, no half-made job
    monkeypatch.undo()
    assert small_app.test_client().post("/v1/admin/reindex", headers=AUTH).status_code == 202


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_unwritable_jobs_folder_is_503(small_app):
    folder = Path(small_app.config["INDEX_DIR"]) / "jobs"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o555)
    try:
        r = small_app.test_client().post("/v1/admin/reindex", headers=AUTH)
    finally:
        folder.chmod(0o755)
    assert r.status_code == 503 and r.get_json()["error"]["errno"] == "EACCES"
    assert not list(folder.glob("*.tmp"))


# Finding 5: a build has a time limit.


def test_build_timeout_setting_bounds():
    assert load_settings({})["BUILD_TIMEOUT"] == 1800
    assert load_settings({"HELPAPI_BUILD_TIMEOUT": "60"})["BUILD_TIMEOUT"] == 60
    for bad in ("5", "86401", "soon"):
        with pytest.raises(SettingsError, match="HELPAPI_BUILD_TIMEOUT"):
            load_settings({"HELPAPI_BUILD_TIMEOUT": bad})


@pytest.mark.skipif(not LINUX, reason="process groups")
def test_job_over_its_time_limit_is_stopped(big_app, subreaper):
    index = Path(big_app.config["INDEX_DIR"])
    before = generations.current_generation(index)
    job = jobs.submit(index, big_app.config["CORPUS_DIR"], None, True, jobs=2, timeout=1)
    pgid = job["pid"]
    members = group_members(pgid)
    job = wait_job_record(index, job["id"])
    assert job["status"] == "failed", job
    assert "timed out after 1 s (HELPAPI_BUILD_TIMEOUT)" in job["errors"]
    wait_gone(index, pgid, {**members, **group_members(pgid)})
    assert generations.current_generation(index) == before
    assert not list(index.glob(".build-*"))


# Finding 6: DELETE /v1/admin/reindex/{job} cancels.


@pytest.mark.skipif(not LINUX, reason="process groups")
def test_cancel_running_job(big_app, subreaper, caplog):
    caplog.set_level(logging.INFO, "helpapi.admin")
    index = Path(big_app.config["INDEX_DIR"])
    before = generations.current_generation(index)
    client = big_app.test_client()
    r = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    url = r.headers["Location"]
    pgid = wait_for_pool(index, r.get_json()["id"])
    members = group_members(pgid)
    r = client.delete(url, headers=AUTH)
    assert r.status_code == 200, r.get_json()
    job = r.get_json()
    assert job["status"] == "cancelled" and job["finished"] and job["url"] == url
    wait_gone(index, pgid, members, timeout=5)
    assert not list(index.glob(".build-*"))
    assert generations.current_generation(index) == before
    assert client.get(url, headers=AUTH).get_json()["status"] == "cancelled"
    again = client.delete(url, headers=AUTH)
    assert again.status_code == 409 and again.get_json()["error"]["job"] == job["id"]
    assert client.post("/v1/admin/reindex", headers=AUTH).status_code == 202
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpapi.admin"]
    wanted = {"method": "DELETE", "path": url, "outcome": "cancelled"}
    assert any(wanted.items() <= a.items() for a in audit), audit


def test_cancel_unknown_or_finished_job(small_app):
    client = small_app.test_client()
    index = Path(small_app.config["INDEX_DIR"])
    assert client.delete("/v1/admin/reindex/nope", headers=AUTH).status_code == 404
    assert client.delete("/v1/admin/reindex/nope").status_code == 401
    done = fake_job(index / "jobs", status="succeeded")
    r = client.delete(f"/v1/admin/reindex/{done}", headers=AUTH)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"


def test_cancel_queued_job_whose_runner_is_gone(small_app):
    index = Path(small_app.config["INDEX_DIR"])
    job_id = fake_job(index / "jobs", status="queued", pid=os.getpid(), created=time.time())
    (index / "jobs" / f"{job_id}.lock").touch()
    r = small_app.test_client().delete(f"/v1/admin/reindex/{job_id}", headers=AUTH)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


# Finding 7: a failed job names the file that caused it.


def test_error_message_keeps_the_path():
    exc = MemoryError()
    exc.path = "/corpus/de-DE/bomb.md"
    assert jobs.describe_error(exc) == "MemoryError while reading /corpus/de-DE/bomb.md"
    exc = ValueError("bad front matter")
    exc.add_note("in /corpus/fi-FI/x.md")
    assert jobs.describe_error(exc) == "ValueError: bad front matter (in /corpus/fi-FI/x.md)"
    long = "x" * 5000
    exc = OSError(errno.EIO, long, "/corpus/ja-JP/y.md")
    text = jobs.describe_error(exc)
    assert long in text and "/corpus/ja-JP/y.md" in text


def test_failed_job_records_the_whole_error(small_app, monkeypatch):
    import helpapi.indexer

    index = Path(small_app.config["INDEX_DIR"])

    def explode(*args, **kwargs):
        exc = MemoryError()
        exc.filename = "/corpus/de-DE/bomb.md"
        raise exc

    monkeypatch.setattr(helpapi.indexer, "build_indexes", explode)
    job_id = fake_job(index / "jobs", status="queued", created=time.time())
    handler = signal.getsignal(signal.SIGTERM)
    assert jobs.run(index, job_id) == 1
    job = jobs.read_job(index, job_id)
    assert job["status"] == "failed"
    assert job["errors"] == ["MemoryError while reading /corpus/de-DE/bomb.md"]
    assert signal.getsignal(signal.SIGTERM) == handler  # run() restored it
