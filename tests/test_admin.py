"""Admin reindex: auth matrix, body validation, job lifecycle, incremental builds."""

import shutil
import time

import pytest

from helpapi import create_app
from helpapi import generations
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .conftest import FRUITS
from .conftest import fruit_article
from .conftest import sxs_article

TOKEN = "s3cret-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(FRUITS)


@pytest.fixture
def admin_app(corpus, make_app):
    return make_app(corpus, ADMIN_TOKEN=TOKEN, BUILD_JOBS=1)


def wait_job(client, url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=AUTH).get_json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job['status']}")


@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({}, "", 401, "unauthorized"),
        ({"Authorization": "Bearer wrong"}, "", 401, "unauthorized"),
        ({"Authorization": "Basic czNjcmV0"}, "", 401, "unauthorized"),
        ({"Authorization": f"Bearer {TOKEN}"}, f"?token={TOKEN}", 400, "bad_request"),
    ],
)
def test_auth_matrix(admin_app, headers, query, status, code):
    r = admin_app.test_client().get(f"/v1/admin/reindex{query}", headers=headers)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_token_configured_disables_admin(corpus_index):
    c = create_app({"INDEX_DIR": str(corpus_index)}).test_client()
    r = c.post("/v1/admin/reindex", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 403 and "HELPAPI_ADMIN_TOKEN" in r.get_json()["error"]["message"]


def test_right_token_lists_jobs(admin_app):
    r = admin_app.test_client().get("/v1/admin/reindex", headers=AUTH)
    assert r.status_code == 200 and r.get_json() == {"jobs": []}


def test_admin_routes_have_no_cors(admin_app):
    r = admin_app.test_client().get("/v1/admin/reindex", headers={**AUTH, "Origin": "https://x"})
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize(
    ("body", "status", "parameter"),
    [
        ('{"colour": 1}', 400, "colour"),
        ('{"full": "yes"}', 400, "full"),
        ('{"locales": "de-DE"}', 400, "locales"),
        ('{"locales": []}', 400, "locales"),
        ('{"locales": ["xx-XX"]}', 400, "locales"),
        ("[1, 2]", 400, None),
        ("{not json", 400, None),
        ('{"locales": ["' + "x" * 70000 + '"]}', 413, None),
    ],
)
def test_body_validation(admin_app, body, status, parameter):
    r = admin_app.test_client().post(
        "/v1/admin/reindex", data=body, headers=AUTH, content_type="application/json"
    )
    assert r.status_code == status
    assert r.get_json()["error"].get("parameter") == parameter


def test_job_lifecycle_incremental_edit(admin_app, corpus):
    client = admin_app.test_client()
    (corpus / "de-DE" / "a.md").write_text(fruit_article("Kirsche", "cherry"), "utf-8")
    r = client.post("/v1/admin/reindex", headers=AUTH)
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    job = wait_job(client, r.headers["Location"])
    assert job["status"] == "succeeded", job
    assert job["counts"]["updated"] == 1 and job["counts"]["added"] == 0
    assert set(job["locales"]) == {"de-DE", "en-US"}  # fi-FI untouched
    assert job["progress"]["de-DE"] == {"done": 2, "total": 2}
    hits = client.get("/v1/search?q=Kirsche&locale=de-DE").get_json()
    assert [h["slug"] for h in hits["results"]] == ["a"]
    listed = client.get("/v1/admin/reindex", headers=AUTH).get_json()["jobs"]
    assert listed[0]["id"] == job["id"]


def test_second_request_while_running_is_409(admin_app):
    client = admin_app.test_client()
    first = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    second = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    assert first.status_code == 202
    if second.status_code == 409:  # the first may already have finished on a fast machine
        assert second.get_json()["error"]["job"] == first.get_json()["id"]
    wait_job(client, first.headers["Location"])


def test_failed_build_keeps_serving_generation(admin_app, corpus):
    client = admin_app.test_client()
    before = generations.current_generation(admin_app.config["INDEX_DIR"])
    shutil.rmtree(corpus)  # the build cannot find any locale
    r = client.post("/v1/admin/reindex", json={"full": True}, headers=AUTH)
    job = wait_job(client, r.headers["Location"])
    assert job["status"] == "failed" and "does not exist" in job["errors"][0]
    assert generations.current_generation(admin_app.config["INDEX_DIR"]) == before
    assert client.get("/v1/search?q=Apfel&locale=de-DE").get_json()["total"] == 1


def test_unknown_job_is_404(admin_app):
    r = admin_app.test_client().get("/v1/admin/reindex/nope", headers=AUTH)
    assert r.status_code == 404


# Incremental planning, through the same build function the job runs.


def build(corpus, index):
    return build_indexes(corpus, index, jobs=1, incremental=True)


def test_incremental_no_change_is_a_no_op(corpus, tmp_path):
    build_indexes(corpus, tmp_path / "ix", jobs=1)
    report = build(corpus, tmp_path / "ix")
    assert report.switched is False and report.locales == {}


def test_incremental_add_and_delete_touch_one_locale(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    (corpus / "fi-FI" / "c.md").write_text(fruit_article("kirsikka", "cherry"), "utf-8")
    report = build(corpus, ix)
    assert set(report.locales) == {"fi-FI", "en-US"}
    assert report.changes == {"fi-FI": {"added": 1, "updated": 0, "deleted": 0}}
    (corpus / "de-DE" / "b.md").unlink()
    report = build(corpus, ix)
    assert report.changes == {"de-DE": {"added": 0, "updated": 0, "deleted": 1}}
    with open_current(ix) as ixset:
        assert search(ixset, "Birne", "de-DE")["results"] == []
        assert search(ixset, "kirsikka", "fi-FI")["total"] == 1


def test_incremental_edit_without_english_change_skips_en_us(corpus, tmp_path):
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    text = (corpus / "de-DE" / "a.md").read_text("utf-8").replace("Text Apfel", "Text Äpfel")
    (corpus / "de-DE" / "a.md").write_text(text, "utf-8")
    assert set(build(corpus, ix).locales) == {"de-DE"}


def test_incremental_locale_added_and_removed(corpus, tmp_path, make_corpus):
    ix = tmp_path / "ix"
    build_indexes(corpus, ix, jobs=1)
    make_corpus(
        {"ja-JP": {"a": sxs_article("りんご", "Title apple", [("りんごです。", "Apple.")])}},
        root=corpus,
    )
    assert set(build(corpus, ix).locales) == {"ja-JP", "en-US"}
    shutil.rmtree(corpus / "fi-FI")
    build(corpus, ix)
    with open_current(ix) as ixset:
        assert set(ixset.locales) == {"de-DE", "ja-JP", "en-US"}


def test_incremental_unreadable_file_is_not_new_every_time(corpus, tmp_path):
    ix = tmp_path / "ix"
    (corpus / "de-DE" / "broken.md").symlink_to(tmp_path / "missing.md")
    report = build_indexes(corpus, ix, jobs=1)
    assert report.locales["de-DE"].rejected == 1
    assert build(corpus, ix).switched is False
