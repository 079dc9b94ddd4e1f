"""Ingestion API: PUT/DELETE articles and batches into the corpus folder, then reindex."""

from __future__ import annotations

import errno
import os
import time

import pytest

from helpapi import corpus_write

from .conftest import APPLE

TOKEN = "ingest-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(APPLE)


@pytest.fixture
def app(corpus, make_app):
    return make_app(corpus, ADMIN_TOKEN=TOKEN, BUILD_JOBS=1, RESULT_CACHE_SIZE=0)


def wait_job(client, url, timeout=60):
    """The job at ``url`` once it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=AUTH).get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}: {job}")


def files_of(corpus):
    return sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file())


def test_put_json_writes_the_file_and_reindexes(client, corpus):
    resp = client.put(
        "/v1/admin/articles/de-DE/guides/kennwort",
        json={
            "title": "Kennwort zurücksetzen",
            "markdown": "So setzen Sie Ihr Kennwort zurück: Einstellungen öffnen.",
            "front_matter": {"ms.date": "05/28/2021", "ms.audience": "Admin"},
        },
        headers=AUTH,
    )
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["written"][0] == {
        "op": "put",
        "locale": "de-DE",
        "slug": "guides/kennwort",
        "created": True,
        "file": "de-DE/guides/kennwort.md",
    }
    assert resp.headers["Location"] == body["job"]["url"]
    text = (corpus / "de-DE" / "guides" / "kennwort.md").read_text("utf-8")
    assert text.startswith("---\n") and "title: Kennwort zurücksetzen" in text
    job = wait_job(client, body["job"]["url"])
    assert job["status"] == "succeeded", job
    found = client.get("/v1/search", query_string={"q": "Einstellungen", "locale": "de-DE"})
    assert found.get_json()["results"][0]["slug"] == "guides/kennwort"


def test_put_raw_html_then_delete(client, corpus):
    html = "<html><head><title>Hilfe</title></head><body><p>Inhalt</p></body></html>"
    resp = client.put(
        "/v1/admin/articles/de-DE/hilfe?reindex=false",
        data=html.encode(),
        headers={**AUTH, "Content-Type": "text/html; charset=utf-8"},
    )
    assert resp.status_code == 200 and resp.get_json()["job"] is None
    assert (corpus / "de-DE" / "hilfe.html").read_text("utf-8") == html
    # A Markdown write replaces the HTML file: one file per slug.
    resp = client.put(
        "/v1/admin/articles/de-DE/hilfe?reindex=false",
        data=b"# Hilfe\n\nText",
        headers={**AUTH, "Content-Type": "text/markdown"},
    )
    assert resp.status_code == 200
    assert not (corpus / "de-DE" / "hilfe.html").exists()
    assert (corpus / "de-DE" / "hilfe.md").exists()
    resp = client.delete("/v1/admin/articles/de-DE/hilfe?reindex=false", headers=AUTH)
    assert resp.status_code == 200 and not (corpus / "de-DE" / "hilfe.md").exists()
    resp = client.delete("/v1/admin/articles/de-DE/hilfe?reindex=false", headers=AUTH)
    assert resp.status_code == 404


def test_batch_validates_everything_before_writing(client, corpus):
    before = files_of(corpus)
    ops = [
        {"op": "put", "locale": "de-DE", "slug": f"n{i}", "markdown": f"# N{i}\n\nText"}
        for i in range(3)
    ] + [{"op": "put", "locale": "de-DE", "slug": "../evil", "markdown": "x"}]
    resp = client.post("/v1/admin/articles:batch", json={"operations": ops}, headers=AUTH)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] == "operations[3].slug"
    assert files_of(corpus) == before
    resp = client.post(
        "/v1/admin/articles:batch?reindex=false", json={"operations": ops[:3]}, headers=AUTH
    )
    assert resp.status_code == 200 and len(resp.get_json()["written"]) == 3


def test_batch_limits(client):
    ops = [{"op": "delete", "locale": "de-DE", "slug": f"s{i}"} for i in range(1001)]
    resp = client.post("/v1/admin/articles:batch", json={"operations": ops}, headers=AUTH)
    assert resp.status_code == 413
    big = {"op": "put", "locale": "de-DE", "slug": "big", "markdown": "x" * (11 * 1024 * 1024)}
    resp = client.post("/v1/admin/articles:batch", json={"operations": [big]}, headers=AUTH)
    assert resp.status_code == 413


PUT_JSON = "application/json"


@pytest.mark.parametrize(
    ("path", "ctype", "data", "status", "parameter"),
    [
        ("de_de/x", PUT_JSON, b'{"markdown": "x"}', 400, "locale"),
        ("xx-YY-ZZZZZZZZZZZ/x", PUT_JSON, b'{"markdown": "x"}', 400, "locale"),
        ("12-34/x", PUT_JSON, b'{"markdown": "x"}', 400, "locale"),
        ("deutsch/x", PUT_JSON, b'{"markdown": "x"}', 400, "locale"),
        ("de-DE/a/../../etc", PUT_JSON, b'{"markdown": "x"}', 400, "slug"),
        ("de-DE/a\\b", PUT_JSON, b'{"markdown": "x"}', 400, "slug"),
        ("de-DE/.hidden", PUT_JSON, b'{"markdown": "x"}', 400, "slug"),
        ("de-DE/a%00b", PUT_JSON, b'{"markdown": "x"}', 400, None),
        ("de-DE/x", PUT_JSON, b'{"markdown": "x", "extra": 1}', 400, "extra"),
        ("de-DE/x", PUT_JSON, b'{"markdown": "x", "html": "y"}', 400, "markdown"),
        ("de-DE/x", PUT_JSON, b'{"title": "t"}', 400, "markdown"),
        ("de-DE/x", PUT_JSON, b'{"markdown": ""}', 400, "markdown"),
        ("de-DE/x", PUT_JSON, b'{"markdown": 5}', 400, "markdown"),
        ("de-DE/x", PUT_JSON, b'{"markdown": "x", "title": ""}', 400, "title"),
        ("de-DE/x", PUT_JSON, b'{"markdown": "x", "front_matter": {"a": {"b": 1}}}', 400, None),
        ("de-DE/x", PUT_JSON, b'{"markdown": "x", "front_matter": [1]}', 400, "front_matter"),
        ("de-DE/x", PUT_JSON, b"[1, 2]", 400, "body"),
        ("de-DE/x", PUT_JSON, b"{not json", 400, None),
        ("de-DE/x", PUT_JSON, b'{"markdown": "\xff\xfe"}', 400, None),
        ("de-DE/x", "text/markdown", b"\xff\xfe bad", 400, "body"),
        ("de-DE/x", "text/markdown", b"   ", 400, "body"),
        ("de-DE/x", "text/markdown", b"a\x00b", 400, "body"),
        ("de-DE/x", "application/octet-stream", b"x", 415, None),
        ("de-DE/x", "text/markdown", b"x" * (2 * 1024 * 1024 + 1), 413, None),
    ],
)
def test_bad_puts_write_nothing(client, corpus, path, ctype, data, status, parameter):
    before = files_of(corpus)
    resp = client.put(
        f"/v1/admin/articles/{path}", data=data, headers={**AUTH, "Content-Type": ctype}
    )
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["status"] == status and error["message"]
    if parameter:
        assert error.get("parameter") == parameter
    assert files_of(corpus) == before


def test_ingest_needs_the_admin_token(client):
    resp = client.put("/v1/admin/articles/de-DE/x", json={"markdown": "x"})
    assert resp.status_code == 401
    resp = client.delete("/v1/admin/articles/de-DE/a", headers={"Authorization": "Bearer no"})
    assert resp.status_code == 401


def test_symlinked_locale_folder_outside_is_refused(client, corpus, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, corpus / "fr-FR")
    resp = client.put(
        "/v1/admin/articles/fr-FR/x?reindex=false", json={"markdown": "x"}, headers=AUTH
    )
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "slug"
    assert list(outside.iterdir()) == []


def test_read_only_corpus_is_503_and_leaves_no_temp_files(client, corpus, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(corpus_write, "_stage", full)
    before = files_of(corpus)
    resp = client.put("/v1/admin/articles/de-DE/x", json={"markdown": "x"}, headers=AUTH)
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "storage_unavailable"
    assert resp.get_json()["error"]["errno"] == "ENOSPC"
    assert files_of(corpus) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_for_real(client, corpus):
    folder = corpus / "de-DE"
    folder.chmod(0o555)
    try:
        resp = client.put("/v1/admin/articles/de-DE/x", json={"markdown": "x"}, headers=AUTH)
        assert resp.status_code == 503
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    finally:
        folder.chmod(0o755)


def test_failed_staging_of_a_batch_removes_what_it_staged(corpus, monkeypatch):
    real = corpus_write._stage
    calls = []

    def flaky(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(corpus_write, "_stage", flaky)
    before = files_of(corpus)
    ops = [corpus_write.operation_from_text("de-DE", f"n{i}", b"# x", False) for i in range(3)]
    with pytest.raises(corpus_write.CorpusReadOnly):
        corpus_write.apply(corpus, ops)
    assert files_of(corpus) == before
    assert not [p for p in corpus.rglob("*") if p.name.endswith(".tmp")]


def test_large_bodies_need_the_token_first(client):
    # Without the admin token the public 64 KB cap applies: no worker buffers megabytes for a
    # stranger. With it, an article up to the article cap is accepted.
    body = b"# T\n\n" + b"x" * (200 * 1024)
    headers = {"Content-Type": "text/markdown", "Authorization": "Bearer wrong-token-0123456789"}
    resp = client.put("/v1/admin/articles/de-DE/big?reindex=false", data=body, headers=headers)
    assert resp.status_code == 413
    headers["Authorization"] = AUTH["Authorization"]
    resp = client.put("/v1/admin/articles/de-DE/big?reindex=false", data=body, headers=headers)
    assert resp.status_code == 200


def test_write_during_a_running_job_gets_a_follow_up(copy_corpus, make_app):
    corpus = copy_corpus(["de-DE", "fi-FI"], 60)
    app = make_app(corpus, ADMIN_TOKEN=TOKEN, BUILD_JOBS=1, RESULT_CACHE_SIZE=0)
    client = app.test_client()
    first = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    assert first.status_code == 202
    resp = client.put(
        "/v1/admin/articles/de-DE/neu",
        json={"markdown": "# Neu\n\nZitronenfalter im Garten."},
        headers=AUTH,
    )
    body = resp.get_json()
    assert resp.status_code == 202
    if body["follow_up"]:
        # The running job answered; it starts the follow-up when it ends.
        assert body["job"]["id"] == first.get_json()["id"]
        # "succeeded" and the follow-up's id arrive in one write (test_follow_up_record).
        done = wait_job(client, first.headers["Location"], timeout=300)
        assert done["status"] == "succeeded" and done.get("follow_up"), done
        follow = wait_job(client, f"/v1/admin/reindex/{done['follow_up']}", timeout=300)
    else:  # the first job had already ended: a job of its own
        follow = wait_job(client, body["job"]["url"], timeout=300)
    assert follow["status"] == "succeeded", follow
    hits = client.get("/v1/search", query_string={"q": "Zitronenfalter", "locale": "de-DE"})
    assert [h["slug"] for h in hits.get_json()["results"]] == ["neu"]
