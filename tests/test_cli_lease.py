"""``helpapi index build`` takes the build lease, as a reindex job does (issue 16 item 2: one
build at a time across every instance that shares an index folder)."""

from __future__ import annotations

import time

from click.testing import CliRunner

from helpapi import cli
from helpapi import generations
from helpapi import jobs
from helpapi import lease as leases
from helpapi.indexer import build_indexes

from .conftest import sxs_article

FILES = {
    "de-DE": {"a": sxs_article("Kennwort ändern", "Change password", [("Öffnen.", "Open.")])},
}


def build(corpus, index):
    return CliRunner().invoke(
        cli.main, ["index", "build", "--corpus", str(corpus), "--index", str(index), "--jobs", "1"]
    )


def test_a_build_held_by_another_instance_is_refused_and_nothing_changes(make_corpus, tmp_path):
    corpus = make_corpus(FILES)
    index = tmp_path / "ix"
    assert build(corpus, index).exit_code == 0
    before = generations.current_generation(index)
    # Another host's replica is building: its lease is live in the shared folder.
    leases.take(jobs.jobs_dir(index), "20260101000000abcdef01", 60, instance="replica-b")
    result = build(corpus, index)
    assert result.exit_code == 1
    assert "build lease" in result.output and "20260101000000abcdef01" in result.output
    assert generations.current_generation(index) == before


def test_the_cli_build_holds_the_lease_while_it_runs_and_releases_it(
    make_corpus, tmp_path, monkeypatch
):
    corpus = make_corpus(FILES)
    index = tmp_path / "ix"
    seen = {}

    def building(*args, **kwargs):
        # A replica's POST /v1/admin/reindex arriving mid-build is refused (409 in the API).
        held = leases.current(jobs.jobs_dir(index))
        seen["job"] = held.job
        try:
            jobs.submit(index, corpus, None, True, jobs=1)
        except jobs.JobRunning as running:
            seen["refused"] = running.job["id"]
        return build_indexes(*args, **kwargs)

    monkeypatch.setattr(cli, "build_indexes", building)
    result = build(corpus, index)
    assert result.exit_code == 0, result.output
    assert seen["job"].startswith("cli-") and seen["refused"] == seen["job"]
    after = leases.current(jobs.jobs_dir(index))
    assert after.job == seen["job"] and after.released


def test_a_build_whose_lease_was_taken_over_never_switches(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus(FILES)
    index = tmp_path / "ix"
    assert build(corpus, index).exit_code == 0
    before = generations.current_generation(index)

    def late(*args, **kwargs):
        # This process stalled past its lease; another instance fenced it off meanwhile.
        folder = jobs.jobs_dir(index)
        leases.supersede(folder, leases.current(folder), instance="replica-b")
        return build_indexes(*args, **kwargs)

    monkeypatch.setattr(cli, "build_indexes", late)
    result = build(corpus, index)
    assert result.exit_code == 1
    assert "abandoned" in result.output and "taken over" in result.output
    assert generations.current_generation(index) == before
    assert [p.name for p in index.iterdir() if generations.is_generation(index, p.name)] == [before]


def test_an_article_written_during_a_cli_build_gets_its_follow_up_job(
    make_corpus, tmp_path, monkeypatch
):
    corpus = make_corpus(FILES)
    index = tmp_path / "ix"
    asked = {}

    def building(*args, **kwargs):
        # PUT /v1/admin/articles mid-build: the build in progress may have read the file
        # already, so the write asks for a follow-up (as it does while a job runs).
        asked["job"], asked["follows"] = jobs.submit_or_follow(index, corpus, jobs=1)
        return build_indexes(*args, **kwargs)

    monkeypatch.setattr(cli, "build_indexes", building)
    assert build(corpus, index).exit_code == 0
    assert asked["follows"] and asked["job"]["id"].startswith("cli-")
    (follow,) = jobs.list_jobs(index)
    assert follow["client"] == "follow-up of " + asked["job"]["id"]
    deadline = time.monotonic() + 60
    while jobs.read_job(index, follow["id"])["status"] in jobs.ACTIVE:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert jobs.read_job(index, follow["id"])["status"] == "succeeded"
