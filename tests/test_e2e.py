"""End to end: real gunicorn on a free loopback port, queried over HTTP, then shut down."""

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_search_and_fetch_over_http(server):
    q = urllib.parse.quote("パスワード")
    status, headers, body = get(f"{server}/v1/search?q={q}&locale=ja-JP")
    assert status == 200 and body["total"] > 0 and headers["Content-Language"] == "ja-JP"
    status, _, article = get(server + body["results"][0]["url"])
    assert status == 200 and article["locale"] == "ja-JP"


def test_errors_over_http(server):
    status, _, body = get(f"{server}/v1/search?q=a&limit=999")
    assert status == 400 and body["error"]["parameter"] == "limit"
    status, _, body = get(f"{server}/v1/articles/%FF%FE")
    assert status == 400
    status, _, body = get(f"{server}/nowhere")
    assert status == 404 and body["error"]["code"] == "not_found"
