"""Issue #12 at the HTTP edge: slow clients, short bodies, headers, settings, packaging."""

from __future__ import annotations

import io
import logging
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpapi import create_app
from helpapi import runtime
from helpapi.config import SettingsError
from helpapi.config import unknown_variables

from .conftest import ROOT
from .conftest import _free_port
from .conftest import run_gunicorn
from .test_browser import CHROMIUM
from .test_browser import DRIVER
from .test_browser import browser  # noqa: F401  (the Chromium fixture)
from .test_browser import css
from .test_browser import wait_for

GUNICORN = Path(sys.executable).parent / "gunicorn"
LONG_TOKEN = "0123456789abcdef-long-enough"


# ---- headers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/v1/search?q=password"),
        ("GET", "/v1/search?q=a&limit=999"),
        ("GET", "/widget.js"),
        ("GET", "/widget.css"),
        ("GET", "/demo"),
        ("GET", "/demo?locale=%22%3E"),
        ("GET", "/nowhere"),
        ("POST", "/healthz"),
        ("OPTIONS", "/v1/search"),
    ],
)
def test_nosniff_and_csp_on_every_response(client, method, path):
    r = client.open(path, method=method)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    if r.mimetype != "text/html":
        assert csp == "default-src 'none'; frame-ancestors 'none'"


def test_demo_page_has_restrictive_csp(client):
    r = client.get("/demo?locale=de-DE")
    assert r.status_code == 200 and r.mimetype == "text/html"
    policy = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in r.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["base-uri"] == "'none'"
    assert "unsafe" not in r.headers["Content-Security-Policy"]
    page = r.get_data(as_text=True)
    assert " on" not in page.split("<script")[0].replace(" one", "")  # no inline handlers


@pytest.mark.e2e
@pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(DRIVER).exists())
    and not os.environ.get("HELPAPI_REQUIRE_BROWSER"),
    reason="Debian chromium and chromium-driver are not installed",
)
def test_demo_works_under_its_csp(browser, server):  # noqa: F811
    browser.get(f"{server}/demo?locale=de-DE")
    wait_for(browser, lambda d: css(d, ".hw-input"))  # widget.js ran: script-src 'self'
    # The page's inline <style> is allowed by its hash; the widget's stylesheet by 'self'.
    assert browser.execute_script("return getComputedStyle(document.body).maxWidth") == "704px"
    assert browser.execute_script(
        "return [...document.styleSheets].some(s => (s.href || '').endsWith('/widget.css'))"
    )


# ---- bodies shorter than their Content-Length ----------------------------------------------


@pytest.fixture
def admin_client(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    app = create_app(
        {"INDEX_DIR": str(tmp_path / "ix"), "CORPUS_DIR": str(corpus), "ADMIN_TOKEN": LONG_TOKEN}
    )
    yield app.test_client(), tmp_path / "ix"
    app.extensions["helpapi.indexes"].close()


def _post(client, body: bytes, length: int):
    return client.post(
        "/v1/admin/reindex",
        headers={"Authorization": f"Bearer {LONG_TOKEN}", "Content-Type": "application/json"},
        environ_overrides={
            "CONTENT_LENGTH": str(length),
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,  # as gunicorn says: Werkzeug reads the raw stream
        },
    )


def test_short_body_is_400_and_starts_nothing(admin_client):
    client, index = admin_client
    r = _post(client, b"", 40)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    assert "Content-Length" in r.get_json()["error"]["message"]
    r = _post(client, b'{"full": tr', 40)
    assert r.status_code == 400
    assert not (index / "jobs").exists() or not any((index / "jobs").iterdir())


def test_whole_body_still_reaches_the_route(admin_client):
    client, _ = admin_client
    body = b'{"bogus": 1}'
    r = _post(client, body, len(body))
    assert r.status_code == 400 and "bogus" in r.get_json()["error"]["message"]


def test_announced_body_over_the_cap_is_413(admin_client):
    client, _ = admin_client
    r = _post(client, b"", 10_000_000)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"


def _post_chunked(client, body: bytes):
    environ = {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    return client.post(
        "/v1/admin/reindex",
        headers={"Authorization": f"Bearer {LONG_TOKEN}", "Content-Type": "application/json"},
        environ_overrides=environ,
    )


def test_chunked_body_is_bounded_too(admin_client):
    client, _ = admin_client
    r = _post_chunked(client, b"{" + b" " * 70_000 + b"}")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"
    r = _post_chunked(client, b'{"bogus": 1}')
    assert r.status_code == 400 and "bogus" in r.get_json()["error"]["message"]


# ---- settings ------------------------------------------------------------------------------


def test_unknown_variable_names_the_closest_one(monkeypatch, caplog, corpus_index):
    monkeypatch.setenv("HELPAPI_MAX_LIMT", "5")
    monkeypatch.setenv("HELPAPI_BIND", "127.0.0.1:1")  # read by gunicorn.conf.py: known
    with caplog.at_level(logging.WARNING, logger="helpapi"):
        app = create_app({"INDEX_DIR": str(corpus_index)})
    app.extensions["helpapi.indexes"].close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "HELPAPI_MAX_LIMT is not a helpapi setting; did you mean HELPAPI_MAX_LIMIT?"
    ]


def test_unknown_variables_function():
    env = {"HELPAPI_BND": "x", "HELPAPI_REQUIRE_BROWSER": "1", "HELPAPI_ZZZZZZZZ": "1"}
    assert unknown_variables(env) == [
        "HELPAPI_BND is not a helpapi setting; did you mean HELPAPI_BIND?",
        "HELPAPI_ZZZZZZZZ is not a helpapi setting",
    ]


def test_default_locale_must_be_indexed_or_english(corpus_index):
    with pytest.raises(SettingsError, match="HELPAPI_DEFAULT_LOCALE.*pt-BR.*not indexed"):
        create_app({"INDEX_DIR": str(corpus_index), "DEFAULT_LOCALE": "pt-BR"})
    app = create_app({"INDEX_DIR": str(corpus_index), "DEFAULT_LOCALE": "de_de"})
    assert app.config["DEFAULT_LOCALE"] == "de-DE"
    app.extensions["helpapi.indexes"].close()


def test_default_locale_must_be_a_tag(tmp_path):
    with pytest.raises(SettingsError, match="HELPAPI_DEFAULT_LOCALE"):
        create_app({"INDEX_DIR": str(tmp_path), "DEFAULT_LOCALE": "not a tag!"})
    # No index yet: any well-formed tag is accepted (checked again once one exists).
    create_app({"INDEX_DIR": str(tmp_path), "DEFAULT_LOCALE": "pt-BR"})


def test_short_admin_token_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="HELPAPI_ADMIN_TOKEN .*16"):
        create_app({"INDEX_DIR": str(tmp_path), "ADMIN_TOKEN": "s3cret-token"})
    f = tmp_path / "token"
    f.write_text("short\n")
    with pytest.raises(SettingsError, match="HELPAPI_ADMIN_TOKEN_FILE.*16"):
        create_app({"INDEX_DIR": str(tmp_path), "ADMIN_TOKEN_FILE": str(f)})
    create_app({"INDEX_DIR": str(tmp_path), "ADMIN_TOKEN": "x" * 16})


# ---- CPU quota -----------------------------------------------------------------------------


def _cgroup(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "200000 100000\n"}, 2),
        ({"cpu.max": "150000 100000\n"}, 2),  # 1.5 CPUs: round up
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "max 100000\n"}, 6),  # no quota: the affinity mask
        ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, 6),
        ({"cpu.max": "garbage\n"}, 6),
        ({}, 6),
    ],
)
def test_cpu_limit_reads_the_cgroup_quota(tmp_path, files, expected):
    root = _cgroup(tmp_path, files)
    assert runtime.cpu_limit(cgroup_root=root, affinity=lambda: set(range(6))) == expected


def test_cpu_limit_never_exceeds_the_affinity_mask(tmp_path):
    root = _cgroup(tmp_path, {"cpu.max": "800000 100000\n"})
    assert runtime.cpu_limit(cgroup_root=root, affinity=lambda: {0, 1}) == 2


def test_cpu_limit_without_affinity(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    assert runtime.cpu_limit(cgroup_root=tmp_path, affinity=None) == 5


def test_default_workers(monkeypatch):
    monkeypatch.setattr(runtime, "cpu_limit", lambda **kw: 3)
    assert runtime.default_workers() == 4


# ---- gunicorn settings and packaging ------------------------------------------------------


def test_gunicorn_conf_bounds_connections_and_headers(monkeypatch, tmp_path):
    # Set, so the conf neither makes a metrics folder nor leaves the variable to later tests.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["worker_class"] == "helpapi.runtime.GeventWorker"
    assert conf["workers"] == 3
    assert 0 < conf["worker_connections"] <= 1000
    assert conf["limit_request_line"] <= 8190 and conf["limit_request_fields"] <= 100
    assert conf["limit_request_field_size"] <= 8190
    assert conf["control_socket_disable"] is True
    assert 0 < conf["keepalive"] <= 10  # also the gevent worker's header read timeout


def test_gunicorn_conf_workers_follow_the_cpu_quota(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(runtime, "cpu_limit", lambda **kw: 2)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"] == 3


def test_dockerfile_checks_readiness_and_uses_the_conf():
    docker = (ROOT / "Dockerfile").read_text()
    health = docker.split("HEALTHCHECK", 1)[1].split("\n\n")[0]
    assert "/readyz" in health and "/healthz" not in health
    assert '"gunicorn", "-c", "gunicorn.conf.py"' in docker and "-k" not in docker
    make = (ROOT / "Makefile").read_text()
    run = make.split("\nrun:", 1)[1].split("\n\n")[0]
    assert "gunicorn -c gunicorn.conf.py wsgi:app" in run


def _gunicorn_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(extra)
    return env


def test_bad_setting_stops_gunicorn_with_one_line(tmp_path):
    env = _gunicorn_env(
        HELPAPI_MAX_LIMIT="lots",
        HELPAPI_INDEX_DIR=str(tmp_path),
        HELPAPI_BIND=f"127.0.0.1:{_free_port()}",
        WEB_CONCURRENCY="1",
    )
    proc = subprocess.run(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert lines == ["helpapi: HELPAPI_MAX_LIMIT must be a whole number, got 'lots'"]


# ---- real gunicorn with the project's conf: slow clients, short bodies -----------------------


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory):
    """gunicorn (1 worker, the project's conf) with admin routes on and a 1 s body timeout."""
    tmp = tmp_path_factory.mktemp("edge")
    (tmp / "corpus").mkdir()
    home = tmp / "home"
    home.mkdir()
    home.chmod(0o500)  # as in the image: gunicorn cannot create ~/.gunicorn there
    env = _gunicorn_env(
        HELPAPI_INDEX_DIR=str(tmp / "ix"),
        HELPAPI_CORPUS_DIR=str(tmp / "corpus"),
        HELPAPI_ADMIN_TOKEN=LONG_TOKEN,
        HELPAPI_BODY_TIMEOUT="1",
        WEB_CONCURRENCY="1",
        HOME=str(home),
    )
    env.pop("XDG_RUNTIME_DIR", None)
    # No index is built: /healthz answers, /readyz would not.
    with run_gunicorn(tmp / "log.txt", ready="/healthz", env=env) as served:
        yield served.port, tmp
    home.chmod(0o700)
    assert served.returncode == 0, served.output
    output = served.output
    assert "Control server" not in output and "Traceback" not in output, output


def _raw(port: int, data: bytes, half_close: bool, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b'"status"' in b"".join(chunks):
                break
        return b"".join(chunks)


SHORT_POST = (
    b"POST /v1/admin/reindex HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    + LONG_TOKEN.encode()
    + b"\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
)


@pytest.mark.e2e
@pytest.mark.parametrize("half_close", [True, False])
def test_short_body_over_gunicorn_is_400(edge_server, half_close):
    port, tmp = edge_server
    started = time.monotonic()
    answer = _raw(port, SHORT_POST, half_close)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert time.monotonic() - started < 5
    assert not (tmp / "ix" / "jobs").exists() or not any((tmp / "ix" / "jobs").iterdir())


@pytest.mark.e2e
def test_slow_header_clients_do_not_block_the_worker(edge_server):
    port, _ = edge_server
    slow = []
    try:
        for _ in range(8):  # one worker: a sync worker would hang on the first of these
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            slow.append(s)
        started = time.monotonic()
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        assert b"ok" in body and time.monotonic() - started < 2
    finally:
        for s in slow:
            s.close()


@pytest.mark.e2e
def test_stalled_chunked_body_over_gunicorn_is_400(edge_server):
    port, _ = edge_server
    head = SHORT_POST.replace(b"Content-Length: 40", b"Transfer-Encoding: chunked")
    started = time.monotonic()
    answer = _raw(port, head + b"20\r\n{", half_close=False)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert time.monotonic() - started < 5
