"""The hand-over from a finished job to its follow-up (helpapi.jobs._finish_with_follow_up):
no moment where the follow-up reads dead, no follow-up named and then deleted, no signal that
kills the runner while it records its success.

* While ``clean_leftovers`` ran (it removes dead builds' staging folders: seconds on a big
  index), the queued follow-up had neither a lease in its record nor a lock file: it read
  alive only for LEGACY_GRACE (10 s), then any reader recorded it failed.
* A failure to start the follow-up's runner deleted its record, which the finished job already
  named (a 404 for the client), and the writes it was for were never indexed.
* The runner restored its SIGTERM handler (the default: die) while its heartbeat still ran: a
  cancel or lost lease seen in that moment killed it before its success was recorded.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from helpapi import jobs
from helpapi import lease as leases

FINISHED = "20261124000000aaaaaaaa"


class _Proc:
    """Stands for the follow-up's runner (no build is started); holds the lock it inherits
    (``pass_fds``) as the runner does, until ``exit``."""

    pid = 0

    def __init__(self, *args, pass_fds=(), **kwargs):
        self.fds = [os.dup(fd) for fd in pass_fds]

    def exit(self):
        for fd in self.fds:
            os.close(fd)

    def poll(self):
        return 0

    def wait(self):
        return 0


class _Beat:
    """The finished job's heartbeat: releases its lease when stopped."""

    def __init__(self, folder, held):
        self.folder, self.held, self.stopped = folder, held, False

    def stop(self):
        if not self.stopped:
            leases.release(self.folder, self.held)
        self.stopped = True

    halt = renew = lambda self: None


def _finished_job(tmp_path):
    """A job that has just built, holding the lease, with writes asking for a follow-up."""
    folder = jobs.jobs_dir(tmp_path)
    (folder / jobs.PENDING).write_text("{}", "utf-8")
    held = leases.take(folder, FINISHED, 60, "host-a")
    job = jobs._record(FINISHED, str(tmp_path), None, False, 1, "t", 60, "host-a")
    job.update(status="succeeded", lease=held.seq)
    path = folder / f"{FINISHED}.json"
    return folder, job, (lambda: jobs._write(path, job)), _Beat(folder, held)


def test_the_follow_up_reads_alive_while_leftovers_are_cleaned(tmp_path, monkeypatch):
    folder, job, save, beat = _finished_job(tmp_path)
    seen = []

    def slow_clean(index_dir):
        # Removing a dead build's staging folder of a big index takes seconds: as if more
        # than LEGACY_GRACE had gone by, another worker reads the follow-up now.
        monkeypatch.setattr(jobs, "LEGACY_GRACE", -1.0)
        follow_id = jobs._load(folder / f"{FINISHED}.json")["follow_up"]
        seen.append(jobs.read_job(tmp_path, follow_id))
        return []

    monkeypatch.setattr(jobs, "clean_leftovers", slow_clean)
    runners = []
    monkeypatch.setattr(
        jobs.subprocess, "Popen", lambda *a, **k: runners.append(_Proc(**k)) or runners[-1]
    )
    assert jobs._finish_with_follow_up(tmp_path, folder, job, save, beat)
    assert seen and seen[0]["status"] == "queued", seen
    follow = jobs.read_job(tmp_path, job["follow_up"])
    assert follow["status"] == "queued" and not follow["errors"], follow
    assert isinstance(follow["lease"], int)
    # Its runner holds the very lock taken before the record was written.
    runners[0].exit()
    assert jobs.read_job(tmp_path, job["follow_up"])["status"] == "failed"


def test_a_follow_up_that_cannot_start_is_recorded_failed_not_deleted(tmp_path, monkeypatch):
    folder, job, save, beat = _finished_job(tmp_path)

    def no_memory(*args, **kwargs):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(jobs.subprocess, "Popen", no_memory)
    assert jobs._finish_with_follow_up(tmp_path, folder, job, save, beat)
    done = jobs.read_job(tmp_path, FINISHED)
    assert done["status"] == "succeeded" and done["follow_up"] == job["follow_up"]
    # The follow-up the finished job names exists, and says why it did not run.
    follow = jobs.read_job(tmp_path, done["follow_up"])
    assert follow is not None and follow["status"] == "failed", follow
    assert "Cannot allocate memory" in follow["errors"][-1]
    # The writes it was for still ask for a build (the next job scans them) and no lease or
    # lock is left held.
    assert (folder / jobs.PENDING).exists()
    assert jobs._active_job(tmp_path) is None
    assert leases.take(folder, "20261124000002cccccccc", 60, "host-a") is not None


def test_a_stop_asked_for_while_the_runner_records_its_success_does_not_kill_it(
    tmp_path, monkeypatch
):
    folder, job, _, _ = _finished_job(tmp_path)
    path = folder / f"{FINISHED}.json"
    job.update(status="queued", heartbeat_seconds=0.01, lease_seconds=60)
    jobs._write(path, job)
    held = jobs._job_lease(folder, job)
    # The runner's own stop_build, in-process (tests/ run the runner in-process the same way).
    beat = jobs._Heartbeat(folder, job, held, lambda: os.kill(os.getpid(), signal.SIGTERM))
    beat.start()

    class Report:
        locales, changes, generation, switched, seconds = {}, {}, "g1", True, 0.1

    monkeypatch.setattr("helpapi.indexer.build_indexes", lambda *a, **k: Report())
    real_args = jobs._follow_up_args

    def cancel_now(finished):
        # The build is in; the hand-over starts. A cancel through another instance arrives
        # now: the heartbeat sees it within one beat.
        jobs._write(jobs._cancel_path(folder, FINISHED), {"instance": "host-b"})
        time.sleep(0.2)
        return real_args(finished)

    monkeypatch.setattr(jobs, "_follow_up_args", cancel_now)
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: _Proc())
    killed = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: killed.append(signum))
    try:
        code = jobs._run_job(tmp_path, folder, path, job, beat)
    finally:
        beat.stop()
        signal.signal(signal.SIGTERM, previous)
    assert code == 0
    assert killed == [], "the runner got a SIGTERM it does not handle: it would have died"
    assert jobs.read_job(tmp_path, FINISHED)["status"] == "succeeded"


@pytest.fixture(autouse=True)
def _instance(monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
