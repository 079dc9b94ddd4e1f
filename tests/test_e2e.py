"""End to end: real gunicorn on a free loopback port, queried over HTTP, then shut down."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(corpus_index):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(
        HELPAPI_INDEX_DIR=str(corpus_index), HELPAPI_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2"
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=1).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(proc.stdout.read().decode()) from None
            time.sleep(0.2)
    yield base
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode()


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
