"""Search route shortcuts, second round (issue #14 item 5): the same answers, fewer lookups.

The search view reads its parameters from one plain dict (the first value of each, as
``request.args.get`` answers), negotiates against the generation's sorted locale tuple
(sorted once, not per request), and hands orjson's bytes to the response without jsonify's
argument handling. These tests pin what must not change: which value of a repeated
parameter counts, the order in which bad parameters are reported, the headers, and the body.
"""

from __future__ import annotations

import orjson
import pytest

from helpapi import create_app
from helpapi.web import API_CSP


@pytest.fixture
def make(session_apps):
    return session_apps


def _body(resp) -> dict:
    body = resp.get_json()
    body.pop("query_id")  # new for every search
    return body


def test_a_repeated_parameter_counts_by_its_first_value(make):
    client = make(RESULT_CACHE_SIZE=0).test_client()
    plain = client.get("/v1/search?q=Outlook&locale=de-DE&limit=2")
    repeated = client.get(
        "/v1/search?q=Outlook&q=zzz&locale=de-DE&locale=fr-FR&limit=2&limit=50&offset=0&offset=9"
    )
    assert plain.status_code == repeated.status_code == 200
    assert _body(plain) == _body(repeated)
    assert _body(plain)["limit"] == 2 and _body(plain)["locale"] == "de-DE"


def test_bad_parameters_are_reported_in_the_same_order(make, tmp_path):
    client = make().test_client()
    long_tag = "a" * 80
    # q, then limit, offset, prefix, refines, then the locale.
    cases = {
        f"/v1/search?q=&limit=0&locale={long_tag}": "q",
        f"/v1/search?q=x&limit=0&offset=-1&locale={long_tag}": "limit",
        f"/v1/search?q=x&offset=-1&prefix=maybe&locale={long_tag}": "offset",
        f"/v1/search?q=x&prefix=maybe&refines=!&locale={long_tag}": "prefix",
        f"/v1/search?q=x&refines=!&locale={long_tag}": "refines",
        f"/v1/search?q=x&locale={long_tag}": "locale",
        "/v1/search?q=x&locale=x_-": "locale",
    }
    for path, param in cases.items():
        resp = client.get(path)
        assert resp.status_code == 400, path
        assert resp.get_json()["error"]["parameter"] == param, path
    # Without any index, a bad locale is still a 400 (checked before the index is needed).
    empty = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    resp = empty.get(f"/v1/search?q=x&locale={long_tag}")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "locale"
    assert empty.get("/v1/search?q=x").status_code == 503


def test_search_response_headers_and_bytes(make):
    client = make(RESULT_CACHE_SIZE=0).test_client()
    resp = client.get("/v1/search?q=Outlook", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == API_CSP
    assert resp.headers["Vary"] == "Accept-Language"
    body = resp.get_json()
    # Negotiated from Accept-Language (read straight from the environ).
    assert body["requested_locale"] == "fr-FR" and resp.headers["Content-Language"] == "fr-FR"
    # The bytes are orjson's encoding of the body, as jsonify made them.
    assert resp.get_data() == orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    assert int(resp.headers["Content-Length"]) == len(resp.get_data())


def test_locale_tuple_is_the_sorted_locales_and_follows_close(make):
    app = make()
    ixset = app.extensions["helpapi.indexes"].get()
    assert ixset.locale_tuple == tuple(ixset.locales)
    assert ixset.locale_tuple is ixset.locale_tuple  # sorted once
    ixset.close()
    assert ixset.locale_tuple == () == tuple(ixset.locales)


def _gunicorn_logger(tmp_path, monkeypatch, **settings):
    """The logger gunicorn makes from gunicorn.conf.py (plus ``settings``)."""
    import runpy
    from pathlib import Path

    from gunicorn.config import Config

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the conf file's own folder
    conf = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    cfg = Config()
    for key in ("accesslog", "logconfig_dict", "logger_class"):
        cfg.set(key, conf[key])
    for key, value in settings.items():
        cfg.set(key, value)
    return cfg.logger_class(cfg)


class _Resp:
    status = "200 OK"
    status_code = 200
    headers = [("Content-Type", "application/json")]
    response_length = 15
    sent = 15


_ENV = {
    "REMOTE_ADDR": "127.0.0.1",
    "RAW_URI": "/healthz",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/healthz",
    "QUERY_STRING": "",
}


class _Req:
    headers = [("USER-AGENT", "wrk")]
    method, path, query, version, uri = "GET", "/healthz", "", (1, 1), "/healthz"


def test_gunicorn_builds_no_access_line_that_nothing_writes(tmp_path, monkeypatch):
    import datetime

    from helpapi import runtime

    logger = _gunicorn_logger(tmp_path, monkeypatch)
    assert isinstance(logger, runtime.Logger) and not logger.writes_access

    def atoms(*args):
        raise AssertionError("the access line was built")

    monkeypatch.setattr(logger, "atoms", atoms)
    env = dict(_ENV)
    logger.access(_Resp(), _Req(), env, datetime.timedelta(milliseconds=1))


def test_gunicorn_access_log_still_written_when_asked_for(tmp_path, monkeypatch):
    import datetime
    import logging

    path = tmp_path / "access.log"
    logger = _gunicorn_logger(tmp_path, monkeypatch, accesslog=str(path))
    try:
        assert logger.writes_access
        env = dict(_ENV)
        logger.access(_Resp(), _Req(), env, datetime.timedelta(milliseconds=1))
        for handler in logger.access_log.handlers:
            handler.flush()
        assert '"GET /healthz HTTP/1.1" 200' in path.read_text()
    finally:
        for handler in list(logger.access_log.handlers):
            handler.close()
            logger.access_log.removeHandler(handler)
        logging.getLogger("gunicorn.access").handlers.clear()
