"""A job that ends with a follow-up names it in the same write that records it ``succeeded``.

Writes made through the ingestion API while a job runs ask that job for a follow-up build. The
runner used to record ``succeeded``, release its lease, start the follow-up and only then write
the follow-up's id: a client that stopped polling at ``succeeded`` could not know its write was
still being indexed (the stop 12 CI failure; the README documented the gap).
"""

from __future__ import annotations

from helpapi import jobs
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .conftest import wait_job_record


def _first_final_state(index, job_id):
    """The first state of the job that is not queued or running (polled every millisecond)."""
    return wait_job_record(index, job_id, timeout=300, every=0.001)


def test_the_succeeded_record_already_names_the_follow_up(copy_corpus, tmp_path):
    corpus = copy_corpus(["de-DE", "fi-FI"], 60)
    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)
    first = jobs.submit(index, corpus, None, True, jobs=1)
    (corpus / "de-DE" / "neu.md").write_text("# Neu\n\nZitronenfalter im Garten.\n", "utf-8")
    running, followed = jobs.submit_or_follow(index, corpus, jobs=1)
    assert followed and running["id"] == first["id"]  # the full build is still running
    done = _first_final_state(index, first["id"])
    assert done["status"] == "succeeded", done
    follow_id = done.get("follow_up")
    assert follow_id, done  # in the very first read of "succeeded"
    follow = jobs.read_job(index, follow_id)
    assert follow is not None and follow["client"] == f"follow-up of {first['id']}"
    follow = _first_final_state(index, follow_id)
    assert follow["status"] == "succeeded", follow
    assert not follow.get("follow_up")
    with open_current(index) as ixset:  # the write is indexed (by the first job or this one)
        hits = search(ixset, "Zitronenfalter", "de-DE")["results"]
    assert [h["slug"] for h in hits] == ["neu"]


def test_a_follow_up_whose_lease_another_instance_took_reads_cancelled(tmp_path, monkeypatch):
    folder = jobs.jobs_dir(tmp_path)
    (folder / jobs.PENDING).write_text("{}", "utf-8")
    job = jobs._record("20261124000000aaaaaaaa", str(tmp_path), None, False, 1, "t", 60, "host-a")
    job["status"] = "succeeded"
    path = folder / f"{job['id']}.json"
    stopped = []

    class Beat:
        def stop(self):
            stopped.append(jobs.read_job(tmp_path, job["id"]))  # the record as the lease goes

    def taken(*args):
        raise jobs.JobRunning({"id": "20261124000001bbbbbbbb", "status": "running"})

    monkeypatch.setattr(jobs, "_take_lease", taken)
    save = lambda: jobs._write(path, job)  # noqa: E731
    assert jobs._finish_with_follow_up(tmp_path, folder, job, save, Beat())
    assert stopped[0]["status"] == "succeeded" and stopped[0]["follow_up"]
    follow = jobs.read_job(tmp_path, stopped[0]["follow_up"])
    assert follow["status"] == "cancelled" and "20261124000001bbbbbbbb" in follow["errors"][0]


def test_no_follow_up_asked_for_writes_nothing(tmp_path):
    folder = jobs.jobs_dir(tmp_path)
    job = {"id": "20261124000000aaaaaaaa"}
    assert not jobs._finish_with_follow_up(tmp_path, folder, job, None, None)
    assert list(folder.glob("*.json")) == []
