"""Replicas on a shared volume: the build lease is the lock across instances (issue #16, item 2).

Instances are simulated in one process by ``HELPAPI_INSTANCE_ID`` (what another host would be):
a PID or a ``flock`` is trusted only by the instance that owns the job's lease.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from helpapi import generations
from helpapi import jobs
from helpapi import lease as leases
from helpapi.config import SettingsError
from helpapi.config import check_settings
from helpapi.config import load_settings
from helpapi.indexer import build_indexes

from .conftest import job_record
from .conftest import sxs_article
from .conftest import wait_job_record


class Clock:
    """A fake wall clock the tests move by hand."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# Lease take / renew / expire / takeover, with a fake clock.


def test_lease_is_exclusive_until_it_expires(tmp_path):
    clock = Clock()
    a = leases.take(tmp_path, "job1", 30, "host-a", clock=clock)
    assert a.seq == 1 and a.live(clock.now + 29) and not a.live(clock.now + 30)
    clock.now += 20
    with pytest.raises(leases.LeaseHeld) as held:
        leases.take(tmp_path, "job2", 30, "host-b", clock=clock)
    assert held.value.lease.instance == "host-a" and held.value.lease.job == "job1"
    a = leases.renew(tmp_path, a, 30, pid=4242, clock=clock)  # the heartbeat
    assert leases.current(tmp_path) == a and a.pid == 4242
    clock.now += 29  # 49 s after taking: alive only thanks to the renewal
    with pytest.raises(leases.LeaseHeld):
        leases.take(tmp_path, "job2", 30, "host-b", clock=clock)
    clock.now += 1  # expired: host-a missed its heartbeats
    b = leases.take(tmp_path, "job2", 30, "host-b", clock=clock)
    assert b.seq == 2 and leases.current(tmp_path) == b
    # The late owner learns at its next heartbeat that it lost, and never renews over it.
    with pytest.raises(leases.LeaseLost):
        leases.renew(tmp_path, a, 30, clock=clock)
    assert leases.current(tmp_path) == b
    leases.release(tmp_path, a)  # a no-op for a lost lease
    assert leases.current(tmp_path) == b


def test_released_lease_is_free_at_once(tmp_path):
    clock = Clock()
    a = leases.take(tmp_path, "job1", 30, "host-a", clock=clock)
    leases.release(tmp_path, a)
    b = leases.take(tmp_path, "job2", 30, "host-b", clock=clock)
    assert b.seq == 2


def test_lease_file_is_whole_json_with_the_owner(tmp_path):
    clock = Clock()
    leases.take(tmp_path, "job1", 30, "host-a", pid=7, clock=clock)
    data = json.loads((tmp_path / ".lease.000000000001").read_text())
    assert data["instance"] == "host-a" and data["job"] == "job1" and data["pid"] == 7
    assert data["expires"] == clock.now + 30
    assert [p.name for p in tmp_path.iterdir()] == [".lease.000000000001"]  # no temp left


def test_concurrent_takers_one_wins(tmp_path):
    """Many instances see the lease free at the same moment: exactly one takes it."""
    barrier = threading.Barrier(8)
    won, lost = [], []

    def taker(i):
        barrier.wait()
        try:
            won.append(leases.take(tmp_path, f"job{i}", 30, f"host-{i}"))
        except leases.LeaseHeld:
            lost.append(i)

    threads = [threading.Thread(target=taker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 7
    assert leases.current(tmp_path) == won[0]


def test_unreadable_lease_counts_as_live_not_free(tmp_path):
    (tmp_path / ".lease.000000000003").write_text("")  # half-written by a filesystem without links
    with pytest.raises(leases.LeaseHeld):
        leases.take(tmp_path, "job", 30, "host-a")


def test_instance_id_from_environment_or_host():
    assert leases.instance_id({"HELPAPI_INSTANCE_ID": "pod-7"}) == "pod-7"
    auto = leases.instance_id({})
    assert auto and auto == leases.instance_id({})  # every worker of the instance agrees


def test_lease_settings_bounds():
    s = load_settings({})
    assert (s["LEASE_SECONDS"], s["HEARTBEAT_SECONDS"], s["GENERATION_GRACE_SECONDS"]) == (
        30,
        5,
        600,
    )
    with pytest.raises(SettingsError, match="HELPAPI_LEASE_SECONDS"):
        load_settings({"HELPAPI_LEASE_SECONDS": "1"})
    bad = load_settings({"HELPAPI_LEASE_SECONDS": "10", "HELPAPI_HEARTBEAT_SECONDS": "6"})
    with pytest.raises(SettingsError, match="HELPAPI_HEARTBEAT_SECONDS must be at most half"):
        check_settings(bad)


# Jobs judged by their lease.


JOB_ID = "20260101000000" + "0dd1ea5e"


def job_file(folder: Path, lease: leases.Lease | None, pid=None, status="running") -> str:
    """A job as a runner of ``lease``'s instance would leave it (its id: ``JOB_ID``)."""
    folder.mkdir(parents=True, exist_ok=True)
    job_id = JOB_ID
    job = job_record(
        job_id,
        status=status,
        created=time.time() - 60,
        started=time.time() - 60,
        pid=pid,
        instance=lease.instance if lease else None,
        lease=lease.seq if lease else None,
        lease_seconds=30,
        heartbeat_seconds=5,
    )
    (folder / f"{job_id}.json").write_text(json.dumps(job), "utf-8")
    return job_id


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "ix" / "jobs"


def test_another_instances_pid_and_lock_are_not_trusted(folder, monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    held = leases.take(folder, JOB_ID, 30, "host-a", pid=os.getpid())
    # Its PID is alive here and its lock file unheld here: both mean nothing on host-b.
    job_id = job_file(folder, held, pid=os.getpid())
    (folder / f"{job_id}.lock").touch()
    assert jobs.read_job(folder.parent, job_id)["status"] == "running"
    # Host-a itself trusts its own kernel's lock: unheld means its runner died.
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
    job = jobs.read_job(folder.parent, job_id)
    assert job["status"] == "failed" and jobs.DIED in job["errors"]


def test_another_instances_lock_held_here_does_not_keep_an_expired_job(folder, monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    held = leases.take(folder, JOB_ID, 30, "host-a", clock=Clock(time.time() - 100))
    job_id = job_file(folder, held, pid=os.getpid())
    with open(folder / f"{job_id}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # a lock that looks held (NFS locks may be local)
        job = jobs.read_job(folder.parent, job_id)
    assert job["status"] == "failed"
    assert any("build lease expired: instance host-a" in e for e in job["errors"])


def test_expired_lease_fails_the_job_once_and_fences_its_runner(folder, monkeypatch):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    clock = Clock(time.time())
    held = leases.take(folder, JOB_ID, 30, "host-a", clock=clock)
    job_id = job_file(folder, held)
    assert jobs.read_job(folder.parent, job_id)["status"] == "running"
    # host-a's runner stops renewing (SIGKILL, a paused VM): 30 s later it is failed.
    monkeypatch.setattr(leases.Lease, "live", lambda self, now: False)
    job = jobs.read_job(folder.parent, job_id)
    assert job["status"] == "failed" and job["finished"]
    assert job["errors"] == [jobs.EXPIRED.format(instance="host-a")]
    again = jobs.read_job(folder.parent, job_id)
    assert again["finished"] == job["finished"] and len(again["errors"]) == 1  # recorded once
    # The lease was fenced off: the runner, were it only late, loses at its next heartbeat.
    assert leases.superseded(folder, held)
    with pytest.raises(leases.LeaseLost):
        leases.renew(folder, held, 30)


def test_live_lease_of_another_instance_blocks_submit(folder, monkeypatch, tmp_path):
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    held = leases.take(folder, JOB_ID, 30, "host-a")
    job_id = job_file(folder, held)
    with pytest.raises(jobs.JobRunning) as running:
        jobs.submit(folder.parent, tmp_path, None, False)
    assert running.value.job["id"] == job_id


def test_lease_of_a_finished_job_does_not_block(folder, monkeypatch, make_corpus):
    """A runner that recorded its job but died before releasing: no wait for the expiry."""
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    corpus = make_corpus({"de-DE": {"a": sxs_article("Apfel", "Apple", [("Text.", "Text.")])}})
    build_indexes(corpus, folder.parent, jobs=1)
    held = leases.take(folder, JOB_ID, 30, "host-a")
    job_file(folder, held, status="succeeded")
    job = jobs.submit(folder.parent, corpus, None, False, jobs=1)
    assert wait_job_record(folder.parent, job["id"])["status"] == "succeeded"


@pytest.fixture
def small_index(make_corpus, tmp_path):
    corpus = make_corpus(
        {
            lang: {
                slug: sxs_article(f"{word} {slug}", f"Title {slug}", [(f"{word}.", "Text.")])
                for slug in ("a", "b", "c")
            }
            for lang, word in (("de-DE", "Apfel"), ("fi-FI", "omena"))
        }
    )
    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)
    return corpus, index


def test_two_instances_submitting_start_one_build(small_index, monkeypatch):
    """Without the per-host submit lock in the way (other hosts do not share it): the lease
    alone lets exactly one of two instances start a build."""
    corpus, index = small_index
    folder = jobs.jobs_dir(index)
    barrier = threading.Barrier(2)
    started, refused = [], []

    def submit(instance):
        barrier.wait()
        try:
            started.append(
                jobs._start_locked(index, folder, corpus, None, True, 1, "", 60, instance)
            )
        except jobs.JobRunning as running:
            refused.append(running.job)

    threads = [threading.Thread(target=submit, args=(i,)) for i in ("host-a", "host-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1 and len(refused) == 1, (started, refused)
    job = started[0]
    assert refused[0]["id"] == job["id"]
    assert len(list(folder.glob("*.json"))) == 1
    done = wait_job_record(index, job["id"])
    assert done["status"] == "succeeded" and done["instance"] in ("host-a", "host-b")
    # The runner renewed the lease with its own pid, and released it when done.
    held = leases.read(folder, done["lease"])
    assert held.released and held.pid == done["pid"] and held.instance == done["instance"]
    # Then the other instance may build.
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-c")
    again = jobs.submit(index, corpus, None, False, jobs=1)
    assert again["lease"] > done["lease"]
    assert wait_job_record(index, again["id"])["status"] == "succeeded"


def test_submit_failure_gives_the_lease_back(small_index, monkeypatch):
    corpus, index = small_index

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jobs, "_write", broken)
    with pytest.raises(OSError):
        jobs.submit(index, corpus, None, False, jobs=1)
    monkeypatch.undo()
    assert leases.current(jobs.jobs_dir(index)).released
    job = jobs.submit(index, corpus, None, False, jobs=1)
    assert wait_job_record(index, job["id"])["status"] == "succeeded"


# Old generations go only after the grace period.


def make_generation(index: Path, name: str, left_service: float) -> None:
    (index / name).mkdir(parents=True)
    (index / name / "meta.json").write_text("{}")
    os.utime(index / name, (left_service, left_service))


def test_prune_keeps_generations_within_the_grace_period(tmp_path, monkeypatch):
    index = tmp_path / "ix"
    now = time.time()
    names = [f"g2026010{i}-000000-000000-aaaa" for i in range(1, 6)]
    make_generation(index, names[0], now - 3600)  # out of service for an hour
    make_generation(index, names[1], now - 599)  # for just under 10 minutes
    make_generation(index, names[2], now - 601)
    make_generation(index, names[3], now - 30)  # the previous one: always kept
    make_generation(index, names[4], now)  # serving
    (index / "CURRENT").write_text(names[4])
    assert generations.prune(index, now=now) == [names[2], names[0]]  # default grace: 600 s
    assert sorted(p.name for p in index.iterdir() if p.is_dir()) == [names[1], *names[3:]]
    monkeypatch.setenv("HELPAPI_GENERATION_GRACE_SECONDS", "3600")
    make_generation(index, names[0], now - 1800)
    assert generations.prune(index, now=now) == []
    assert generations.prune(index, now=now + 1800) == [names[0]]  # 1 h out; names[1] 40 min


def test_switch_starts_the_grace_period_of_the_generation_it_replaces(tmp_path):
    index = tmp_path / "ix"
    old = time.time() - 86400
    make_generation(index, "g20260101-000000-000000-aaaa", old)
    make_generation(index, "g20260102-000000-000000-aaaa", old)
    make_generation(index, "g20260103-000000-000000-aaaa", old)
    generations.switch_to(index, "g20260102-000000-000000-aaaa")
    generations.switch_to(index, "g20260103-000000-000000-aaaa")
    # g...02 just left service (its clock starts now); g...01 was never serving: it goes.
    assert generations.prune(index) == ["g20260101-000000-000000-aaaa"]
    assert generations.prune(index, keep=1) == []


# A cancel through another instance: the runner is asked through a file, not signalled.


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")
def test_cancel_through_another_instance_stops_the_runner(copy_corpus, tmp_path, monkeypatch):
    # Every bundled locale, so the build outlasts a heartbeat by seconds: with two locales a
    # fast machine finished the build before the runner's next beat read the cancel (CI, once).
    corpus = copy_corpus(None)
    index = tmp_path / "ix2"
    build_indexes(corpus, index, jobs=1, locales=["de-DE"])
    before = generations.current_generation(index)
    # A short heartbeat so the cancel file is seen soon; a long lease so a heartbeat starved
    # by a loaded machine never lets the lease expire (host-b would then fail the job instead).
    monkeypatch.setenv("HELPAPI_LEASE_SECONDS", "60")
    monkeypatch.setenv("HELPAPI_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-a")
    job = jobs.submit(index, corpus, None, True, jobs=1)
    monkeypatch.setenv("HELPAPI_INSTANCE_ID", "host-b")
    deadline = time.monotonic() + 60
    while not jobs.read_job(index, job["id"]).get("progress"):  # building, not starting
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = jobs.cancel(index, job["id"])
    if done.get("cancel_requested"):
        # cancel() waits only a few heartbeats; under load the runner may take longer to stop.
        assert done["status"] in jobs.ACTIVE, done
        done = wait_job_record(index, job["id"])
    assert done["status"] == "cancelled", done
    assert "through instance host-b" in done["errors"][-1]
    assert generations.current_generation(index) == before
    assert not list(index.glob(".build-*"))  # removed by the runner before it recorded it
    deadline = time.monotonic() + 60
    while not leases.current(index / "jobs").released:  # given back as the runner exits
        assert time.monotonic() < deadline
        time.sleep(0.05)
