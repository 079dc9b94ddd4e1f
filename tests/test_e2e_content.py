"""End to end: the README's "Bring your own content" example corpus, built with the CLI and
searched over HTTP through real gunicorn (2 workers) on a free loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .conftest import run_gunicorn
from .test_content_model import readme_example

pytestmark = pytest.mark.e2e
LINK_BASE = "https://support.example.com/{locale}/"


@pytest.fixture(scope="module")
def example_server(tmp_path_factory):
    """gunicorn serving an index of the README example, built by ``helpapi index build``."""
    root = tmp_path_factory.mktemp("readme-example")
    corpus = readme_example(root)
    index = root / "my-index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    bin_dir = Path(sys.executable).parent
    build = subprocess.run(
        [str(bin_dir / "helpapi"), "index", "build", "--corpus", str(corpus)]
        + ["--index", str(index), "--jobs", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    extra = {
        "HELPAPI_INDEX_DIR": str(index),
        "HELPAPI_CORPUS_DIR": str(corpus),
        "HELPAPI_LINK_BASE": LINK_BASE,
        "WEB_CONCURRENCY": "2",
    }
    with run_gunicorn(root / "gunicorn.log", env=env, **extra) as served:
        yield served.base
    assert served.returncode == 0, served.output


def get(base, path, **params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_english_query_in_german_finds_the_german_article(example_server):
    status, body = get(example_server, "/v1/search", q="reset password", locale="de-DE")
    assert status == 200 and body["locale"] == "de-DE" and not body["fallback"]
    hit = body["results"][0]
    assert (hit["slug"], hit["title"]) == ("passwort-zuruecksetzen", "Passwort zurücksetzen")
    status, article = get(example_server, hit["url"].split("?")[0], locale="de-DE")
    assert status == 200 and article["locales"] == ["de-DE", "en-US", "ja-JP"]


def test_native_searches_and_no_german_in_english(example_server):
    status, body = get(example_server, "/v1/search", q="パスワード", locale="ja-JP")
    assert status == 200 and [h["slug"] for h in body["results"]] == ["reset-password"]
    status, body = get(example_server, "/v1/search", q="Passwort", locale="en-US")
    assert status == 200
    assert all(h["locale"] == "en-US" and "Passwort" not in h["title"] for h in body["results"])
    status, body = get(example_server, "/v1/search", q="spreadsheet", locale="en-US")
    assert [h["slug"] for h in body["results"]] == ["export-data"]
    for snippet in (h["snippet"] for h in body["results"]):
        assert "*" not in snippet and "](" not in snippet


def test_articles_over_http_with_link_base(example_server):
    status, body = get(example_server, "/v1/articles/kb-1001", locale="de-DE")
    assert status == 200 and body["slug"] == "passwort-zuruecksetzen"
    status, body = get(example_server, "/v1/articles/kb-1001", locale="en-US")
    assert 'href="https://support.example.com/en-US/account.md"' in body["html"]
    status, body = get(example_server, "/v1/articles/export-data", locale="de-DE")
    assert status == 200 and body["locale"] == "en-US" and body["fallback"] is True
    assert "<strong>Export</strong>" in body["html"] and body["markdown"] == ""
    assert 'src="https://support.example.com/en-US/images/export.png"' in body["html"]
