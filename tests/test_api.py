"""HTTP API through the Flask test client, on a real index of the bundled corpus."""

import pytest

from helpapi import create_app

SHARED_GUID = "686e8f18-b871-4dd2-864f-8562947ab583"  # 14 articles share it in the corpus
WORKFLOW = "47ceb983-f9a4-4c55-a40c-03d5c3d75dc9"


def test_search_japanese(client):
    r = client.get("/v1/search", query_string={"q": "パスワード 変更", "locale": "ja-JP"})
    body = r.get_json()
    assert r.status_code == 200
    assert body["locale"] == "ja-JP" and body["fallback"] is False
    hit = next(h for h in body["results"] if h["slug"] == "reset-or-change-passwords")
    assert "<mark>パスワード</mark>" in hit["snippet"]
    assert r.headers["Content-Language"] == "ja-JP"
    assert "Accept-Language" in r.headers["Vary"]
    # ensure_ascii is off: CJK travels as UTF-8, not \\u escapes
    assert "パスワード".encode() in r.data


def test_search_result_shape_and_url(client):
    body = client.get("/v1/search?q=Outlook&locale=de-DE&limit=3").get_json()
    assert set(body) == {
        "query",
        "locale",
        "requested_locale",
        "fallback",
        "total",
        "corrected",
        "filtered_out",
        "limit",
        "offset",
        "results",
        "query_id",
    }
    hit = body["results"][0]
    assert set(hit) == {"id", "assetid", "slug", "title", "snippet", "score", "locale", "url"}
    assert hit["id"] == (hit["assetid"] or hit["slug"])
    assert client.get(hit["url"]).status_code == 200
    assert len(body["results"]) == 3 and body["total"] >= 3


def test_pagination(client):
    first = client.get("/v1/search?q=Outlook&locale=de-DE&limit=4").get_json()["results"]
    second = client.get("/v1/search?q=Outlook&locale=de-DE&limit=2&offset=2").get_json()
    assert [h["slug"] for h in second["results"]] == [h["slug"] for h in first[2:4]]


def test_accept_language_negotiation(client):
    r = client.get("/v1/search?q=Outlook", headers={"Accept-Language": "pt-BR, fi;q=0.8"})
    body = r.get_json()
    assert body["locale"] == "fi-FI" and body["requested_locale"] == "fi"


def test_unindexed_locale_falls_back_to_english(client):
    body = client.get("/v1/search?q=reset+password&locale=pt-BR").get_json()
    assert body["locale"] == "en-US" and body["fallback"] is True
    assert body["requested_locale"] == "pt-BR"
    assert body["results"] and all(h["locale"] == "en-US" for h in body["results"])


def test_no_hits_in_locale_answers_in_english(client):
    # English words that are in no German text, only in English sxs spans of en-US
    body = client.get("/v1/search?q=xylophone&locale=de-DE").get_json()
    assert body["total"] == 0 and body["results"] == []
    body = client.get("/v1/search?q=grayed&locale=de-DE").get_json()
    assert body["total"] > 0


def test_english_query_finds_localized_article(client):
    body = client.get("/v1/search?q=Reset+or+change+passwords&locale=ja-JP").get_json()
    assert body["locale"] == "ja-JP"
    assert body["results"][0]["slug"] == "reset-or-change-passwords"


@pytest.mark.parametrize(
    "q", ["title:x", "*", "(", "AND", "x~5", "[a TO z]", '"unclosed', "OR OR", "-", "a*b?c"]
)
def test_query_syntax_is_plain_text(client, q):
    r = client.get("/v1/search", query_string={"q": q, "locale": "de-DE"})
    assert r.status_code == 200, r.data


def test_prefix_search(client):
    body = client.get("/v1/search?q=Passwo&locale=de-DE&prefix=true").get_json()
    assert body["total"] > 0
    exact = client.get("/v1/search?q=Passwo&locale=de-DE").get_json()
    assert exact["total"] < body["total"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/search", "q"),
        ("/v1/search?q=", "q"),
        ("/v1/search?q=%20%20", "q"),
        ("/v1/search?q=" + "a" * 257, "q"),
        ("/v1/search?q=a&limit=0", "limit"),
        ("/v1/search?q=a&limit=51", "limit"),
        ("/v1/search?q=a&limit=ten", "limit"),
        ("/v1/search?q=a&offset=-1", "offset"),
        ("/v1/search?q=a&offset=1001", "offset"),
        ("/v1/search?q=a&locale=" + "x" * 36, "locale"),
        ("/v1/search?q=a&locale=de--DE", "locale"),
        ("/v1/search?q=a&prefix=maybe", "prefix"),
        ("/v1/analyze?locale=de", "text"),
        ("/v1/analyze?text=a&chain=nope", "chain"),
        ("/v1/articles/x?locale=%E6%97%A5", "locale"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, path, parameter):
    r = client.get(path)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "invalid_parameter" and err["parameter"] == parameter
    assert err["status"] == 400 and parameter in err["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/search?q=%FF%FE",
        "/v1/search?q=a%00b",
        "/v1/articles/%FF",
        "/v1/articles/a%00b",
        "/v1/analyze?text=%C3%28",
    ],
)
def test_invalid_utf8_and_nul_are_400(client, path):
    r = client.get(path)
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "bad_request"


def test_routing_errors_use_the_json_shape(client):
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    r = client.post("/v1/search?q=a")
    assert r.status_code == 405
    assert r.get_json()["error"] == {
        "code": "method_not_allowed",
        "status": 405,
        "message": r.get_json()["error"]["message"],
    }


def test_unexpected_exception_is_a_json_500_without_traceback(app, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("helpapi.api.search", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = app.test_client().get("/v1/search?q=crash&locale=de-DE")
    assert r.status_code == 500
    assert r.get_json() == {
        "error": {
            "code": "internal_error",
            "status": 500,
            "message": "The server could not answer.",
        }
    }
    assert b"secret" not in r.data and b"Traceback" not in r.data


def test_article_by_slug_with_folder(client):
    r = client.get("/v1/articles/commercial-dialogues/about-built-in-alerts?locale=sv-SE")
    body = r.get_json()
    assert r.status_code == 200 and body["slug"] == "commercial-dialogues/about-built-in-alerts"
    assert body["locale"] == "sv-SE" and body["fallback"] is False
    assert "sxs-lookup" not in body["markdown"]
    assert set(body["locales"]) >= {"sv-SE", "de-DE", "ja-JP", "en-US"}


def test_article_by_assetid_any_case(client):
    lower = client.get(f"/v1/articles/{WORKFLOW}?locale=de-DE").get_json()
    upper = client.get(f"/v1/articles/{WORKFLOW.upper()}?locale=de-DE").get_json()
    assert lower["slug"] == upper["slug"] == "access-denied-when-viewing-a-workflow"
    assert lower["assetid"] == WORKFLOW and lower["id"] == WORKFLOW


def test_shared_assetid_resolves_deterministically_and_lists_others(client):
    body = client.get(f"/v1/articles/{SHARED_GUID}?locale=ja-JP").get_json()
    assert body["slug"] == "conditional-access-with-azure-active-directory"  # first, sorted
    assert len(body["also"]) == 13 and body["slug"] not in body["also"]


def test_article_html_is_sanitized_and_alerts_rendered(client):
    body = client.get("/v1/articles/troubleshoot-presence-issues-outlook?locale=de-DE").get_json()
    assert "<script" not in body["html"] and "onerror" not in body["html"]
    assert body["english_title"] == "Troubleshoot presence issues in Outlook"


def test_article_missing_in_locale_falls_back_to_english(client):
    body = client.get("/v1/articles/buy-windows-10?locale=pt-BR").get_json()
    assert body["locale"] == "en-US" and body["fallback"] is True


def test_unknown_article_is_404(client):
    r = client.get("/v1/articles/no-such-article?locale=de-DE")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_etag_and_304(client):
    r = client.get("/v1/articles/buy-windows-10?locale=fi-FI")
    etag = r.headers["ETag"]
    assert "public" in r.headers["Cache-Control"] and "max-age=300" in r.headers["Cache-Control"]
    again = client.get("/v1/articles/buy-windows-10?locale=fi-FI", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/v1/articles/buy-windows-10?locale=de-DE", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_cors_simple_and_preflight(client):
    r = client.get("/v1/search?q=Outlook", headers={"Origin": "https://app.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    pre = client.options(
        "/v1/search",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]


def test_cors_restricted_origins(corpus_index):
    app = create_app({"INDEX_DIR": str(corpus_index), "CORS_ORIGINS": "https://a.example"})
    c = app.test_client()
    ok = c.get("/healthz", headers={"Origin": "https://a.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert "Origin" in ok.headers["Vary"]
    assert (
        "Access-Control-Allow-Origin"
        not in c.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    )


def test_analyze_any_locale(client):
    body = client.get("/v1/analyze", query_string={"text": "การตั้งค่า", "locale": "th-TH"}).get_json()
    assert body["locale"] == "th-TH"
    assert [t["text"] for t in body["tokens"]] == ["การ", "ตั้ง", "ค่า"]


def test_locales_health_ready(client):
    body = client.get("/v1/locales").get_json()
    assert body["default"] == "en-US"
    assert {x["locale"]: x["articles"] for x in body["locales"]}["ja-JP"] == 160
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and "en-US" in ready["locales"]


def test_no_index_is_503(tmp_path):
    c = create_app({"INDEX_DIR": str(tmp_path)}).test_client()
    r = c.get("/v1/search?q=a")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "index_unavailable"
    assert c.get("/readyz").status_code == 503
    assert c.get("/healthz").status_code == 200


def test_request_id_is_echoed_or_made(client):
    assert (
        client.get("/healthz", headers={"X-Request-Id": "abc-1"}).headers["X-Request-Id"] == "abc-1"
    )
    assert len(client.get("/healthz").headers["X-Request-Id"]) == 16


def test_openapi_documents_every_route(app, client):
    spec = client.get("/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, m.upper()) for path, ops in spec["paths"].items() for m in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((path, method))
    assert routed == documented
