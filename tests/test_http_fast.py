"""The search route's lean request and response handling (issue #14, HTTP target): the same
parameters and headers as werkzeug's general machinery gives."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from helpapi import create_app
from helpapi.web import query_params

from .conftest import CORPUS

QUERY_STRINGS = [
    b"",
    b"q=team&locale=de-DE",
    b"q=team&q=other&locale=de-DE&locale=fr-FR",  # repeats: the first value of each
    b"q=&locale=",
    b"q=team+site&limit=3&offset=2&prefix=true",
    b"q=caf%C3%A9&locale=fr-FR",
    b"q=%FF%FE&x=%E2%82",  # invalid UTF-8 stays percent-encoded, as in request.args
    b"q=a%00b",
    b"&&q=team&=x&novalue&;",
    b"q=team;locale=de-DE",
    b"q=%zz%2&limit=%31%30",
    b"q=\xc3\xa9t\xc3\xa9",  # raw UTF-8 bytes (what a server may hand over unescaped)
]


@pytest.mark.parametrize("query", QUERY_STRINGS)
def test_query_params_equal_request_args_to_dict(query):
    environ = EnvironBuilder(path="/v1/search").get_environ()
    environ["QUERY_STRING"] = query.decode("latin-1")
    request = Request(environ)
    assert query_params(request.query_string) == request.args.to_dict()


def test_search_headers_are_those_with_language_set(client):
    resp = client.get("/v1/search?q=password&locale=de-DE")
    assert resp.status_code == 200
    assert resp.headers.getlist("Content-Language") == [resp.get_json()["locale"]]
    assert resp.headers.getlist("Vary") == ["Accept-Language"]
    assert resp.headers["Content-Type"] == "application/json"


def test_search_vary_merges_with_a_cors_origin(corpus_index):
    app = create_app(
        {
            "TESTING": True,
            "INDEX_DIR": str(corpus_index),
            "CORPUS_DIR": str(CORPUS),
            "CORS_ORIGINS": "https://docs.example",
        }
    )
    try:
        resp = app.test_client().get(
            "/v1/search?q=password", headers={"Origin": "https://docs.example"}
        )
        assert resp.headers.getlist("Vary") == ["Accept-Language, Origin"]
        assert resp.headers["Access-Control-Allow-Origin"] == "https://docs.example"
    finally:
        app.extensions["helpapi.indexes"].close()


def test_search_reads_the_first_of_repeated_parameters(client):
    got = client.get("/v1/search?q=password&q=zzz&limit=1&limit=5&locale=de-DE&locale=fr-FR")
    body = got.get_json()
    assert got.status_code == 200
    assert body["query"] == "password" and body["limit"] == 1
    assert body["requested_locale"] == "de-DE"


def test_plain_search_builds_no_args_multidict(app, monkeypatch):
    """A search without filter, facets or sort parses its query string once, into a dict
    (request.args, a MultiDict, is not built as well)."""
    made = []
    storage = app.request_class.parameter_storage_class

    class Counting(storage):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app.request_class, "parameter_storage_class", Counting)
    client = app.test_client()
    assert client.get("/v1/search?q=password&locale=de-DE&limit=3").status_code == 200
    assert made == []
    # A scoped search still reads its repeated facets from request.args.
    got = client.get("/v1/search?q=team&facets=audience&facets=collection").get_json()
    assert set(got["facets"]) == {"audience", "collection"}
    assert made == [1]
