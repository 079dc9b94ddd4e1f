"""The landing page and the demo's locale (issue #19 items 2 and 6)."""


def test_landing_page_is_html_with_links(client):
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert 'href="/demo"' in page and 'href="/v1/openapi.json"' in page
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_landing_page_is_json_for_api_clients(client):
    resp = client.get("/", headers={"Accept": "application/json"})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json()["links"]["openapi"] == "/v1/openapi.json"


def test_demo_follows_the_browser_language_not_a_fixed_one(client):
    page = client.get("/demo", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(True)
    assert '<html lang="en-US">' in page
    page = client.get("/demo", headers={"Accept-Language": "fi"}).get_data(True)
    assert '<html lang="fi-FI">' in page
    # An unindexed language keeps its tag: the widget shows the English-results notice.
    page = client.get("/demo", headers={"Accept-Language": "pt-BR"}).get_data(True)
    assert '<html lang="pt-BR">' in page
    page = client.get("/demo").get_data(True)
    assert '<html lang="en-US">' in page
    page = client.get("/demo?locale=ja-JP").get_data(True)
    assert '<html lang="ja-JP">' in page
