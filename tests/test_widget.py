"""Widget routes through the Flask test client (browser tests: test_browser.py)."""


def test_widget_js_is_small_and_self_contained(client):
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    # The size bound (widget.js + widget.css gzipped): test_widget_v2.py
    assert b"http://" not in r.data.replace(b"http://' + ", b"")  # loads nothing third-party
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_widget_css(client):
    r = client.get("/widget.css")
    assert r.status_code == 200 and r.mimetype == "text/css"


def test_demo_page_embeds_widget_with_locale(client):
    r = client.get("/demo?locale=de-DE")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert 'data-locale="de-DE"' in page and '<html lang="de-DE">' in page
    assert '<option value="ar-SA">' in page and '<option value="ja-JP">' in page


def test_demo_rejects_bad_locale(client):
    r = client.get('/demo?locale="><script>')
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "locale"


def test_prefix_search_route_bounds(client):
    assert client.get("/v1/search?q=Pass&prefix=true&locale=de").status_code == 200
    r = client.get("/v1/search?q=Pass&prefix=2&locale=de")
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "prefix"


def test_prefix_works_for_scripts_without_spaces(client):
    body = client.get("/v1/search", query_string={"q": "パ", "locale": "ja-JP", "prefix": "true"})
    assert body.get_json()["total"] > 0
