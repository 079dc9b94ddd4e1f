"""The insights dashboard (``GET /admin``) and its per-day series (``/v1/admin/insights/daily``):
Flask-client tests of the route, its headers and the API, then the page in headless Chromium
against gunicorn after a scripted load of searches and clicks."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
import urllib.parse
import urllib.request
from datetime import UTC
from datetime import datetime
from decimal import ROUND_HALF_UP
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpapi import analytics
from helpapi import create_app

from .conftest import run_gunicorn
from .test_browser import ARTIFACTS
from .test_browser import CHROMIUM
from .test_browser import DRIVER
from .test_browser import _png_is_not_blank
from .test_browser import browser  # noqa: F401  (the shared Chromium fixture)
from .test_browser import css
from .test_browser import wait_for

TOKEN = "dashboard-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def db(tmp_path):
    return tmp_path / "analytics.sqlite3"


@pytest.fixture
def dash_app(corpus_index, db):
    app = create_app(
        {
            "TESTING": True,
            "INDEX_DIR": str(corpus_index),
            "ANALYTICS_DB": str(db),
            "ADMIN_TOKEN": TOKEN,
        }
    )
    yield app
    app.extensions["helpapi.indexes"].close()


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_code: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_data(self, data):
        if self._in in ("script", "style") and data.strip():
            self.inline_code.append(data)

    def handle_endtag(self, tag):
        self._in = None


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


# -- the page, its assets and headers ----------------------------------------------------------


def test_admin_page_is_static_html_under_the_strict_policy(dash_app):
    r = dash_app.test_client().get("/admin")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in r.headers["Cache-Control"]
    page = _parse(r.get_data(as_text=True))
    # No inline script or style (the CSP would block them), no style attributes.
    assert page.inline_code == []
    assert not [t for t, a in page.tags if "style" in a or any(k.startswith("on") for k in a)]
    scripts = [a["src"] for t, a in page.tags if t == "script"]
    assert scripts == ["/admin/admin.js"]
    sheets = [a["href"] for t, a in page.tags if t == "link" and a.get("rel") == "stylesheet"]
    assert sheets == ["/admin/admin.css"]


def test_admin_page_needs_no_token_and_holds_no_data(dash_app, corpus_index):
    """The page is the same for everyone (the data comes from the token-protected API), and
    it is served even when the admin routes are disabled (it then says so after sign-in)."""
    with_token = dash_app.test_client().get("/admin").get_data()
    off = create_app({"TESTING": True, "INDEX_DIR": str(corpus_index)})
    try:
        assert off.test_client().get("/admin").get_data() == with_token
    finally:
        off.extensions["helpapi.indexes"].close()


def test_token_field_cannot_reach_a_url(dash_app):
    """The token input has no name (a form submit without the script sends nothing), and the
    script keeps it in sessionStorage and sends it as a header only."""
    page = _parse(dash_app.test_client().get("/admin").get_data(as_text=True))
    field = next(a for t, a in page.tags if t == "input" and a.get("id") == "token")
    assert "name" not in field and field["type"] == "password"
    label = [a for t, a in page.tags if t == "label" and a.get("for") == "token"]
    assert label
    js = dash_app.test_client().get("/admin/admin.js").get_data(as_text=True)
    assert "sessionStorage.setItem(TOKEN_KEY" in js
    assert "localStorage.setItem(TOKEN_KEY" not in js
    assert '"Bearer " +' in js


def test_every_control_has_a_label(dash_app):
    page = _parse(dash_app.test_client().get("/admin").get_data(as_text=True))
    ids = {a["id"] for t, a in page.tags if t in ("input", "select")}
    labelled = {a["for"] for t, a in page.tags if t == "label"}
    assert ids and ids <= labelled


def test_assets_are_self_contained(dash_app):
    client = dash_app.test_client()
    js = client.get("/admin/admin.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript"
    css = client.get("/admin/admin.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    for body in (js.get_data(as_text=True), css.get_data(as_text=True)):
        # Nothing from another origin (the SVG namespace is a name, not a fetch).
        urls = set(re.findall(r"https?://[^\s\"')]+", body)) - {"http://www.w3.org/2000/svg"}
        assert urls == set()
    text = js.get_data(as_text=True)
    assert "innerHTML" not in text and "eval(" not in text  # data goes in as text only
    assert "prefers-color-scheme: dark" in css.get_data(as_text=True)
    # Right-to-left: logical properties, never physical left/right.
    assert not re.search(r"\b(margin|padding|border)-(left|right)\b", css.get_data(as_text=True))
    assert not re.search(r"text-align:\s*(left|right)", css.get_data(as_text=True))


def test_landing_page_links_the_dashboard(dash_app):
    client = dash_app.test_client()
    assert 'href="/admin"' in client.get("/").get_data(as_text=True)
    links = client.get("/", headers={"Accept": "application/json"}).get_json()["links"]
    assert links["admin"] == "/admin"


# -- GET /v1/admin/insights/daily ----------------------------------------------------------------


def _seed(db, now):
    conn = analytics.connect(db)
    rows = [
        # query_id, seconds before now, query, requested, served, fallback, total
        ("a1", 0, "outlook", "de-DE", "de-DE", 0, 5),
        ("a2", 10, "outlook", "de-DE", "de-DE", 0, 5),
        ("a3", 20, "nada", "de-DE", "de-DE", 0, 0),
        ("a4", 30, "vpn", "ar-SA", "en-US", 1, 3),
        ("b1", 86400 + 5, "vpn", "ar-SA", "en-US", 1, 0),
        ("b2", 86400 + 5, "wifi", None, "en-US", 0, 2),
        ("old", 40 * 86400, "ancient", "de-DE", "de-DE", 0, 1),
    ]
    for qid, ago, q, req, served, fb, total in rows:
        conn.execute(
            "INSERT INTO searches (query_id, ts, query, requested_locale, locale, fallback, total,"
            ' "offset", "limit", ms, articles) VALUES (?,?,?,?,?,?,?,0,10,1.0,?)',
            (qid, now - ago, q, req, served, fb, total, "[]"),
        )
    # Two clicks on one search count it once as clicked.
    for qid in ("a1", "a1", "a4"):
        conn.execute(
            "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,?,?,?,0)",
            (now, "click", qid, "x"),
        )
    conn.execute(
        "INSERT INTO events (ts, type, query_id, article, position) VALUES (?,?,?,?,0)",
        (now, "helpful", "b2", "x"),
    )
    conn.commit()
    conn.close()


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def test_daily_series_per_utc_day_and_locale(dash_app, db):
    now = time.time()
    _seed(db, now)
    body = dash_app.test_client().get("/v1/admin/insights/daily", headers=AUTH).get_json()
    assert body["days"] == 30 and body["locale"] is None
    got = {(r["day"], r["locale"]): r for r in body["daily"]}
    # Grouped by UTC day of each search (its seconds may fall either side of midnight).
    want: dict = {}
    for _qid, ago, loc, zero, fb, clicked in [
        ("a1", 0, "de-DE", 0, 0, 1),
        ("a2", 10, "de-DE", 0, 0, 0),
        ("a3", 20, "de-DE", 1, 0, 0),
        ("a4", 30, "ar-SA", 0, 1, 1),
        ("b1", 86405, "ar-SA", 1, 1, 0),
        ("b2", 86405, "en-US", 0, 0, 0),
    ]:
        w = want.setdefault((_day(now - ago), loc), [0, 0, 0, 0])
        for i, v in enumerate((1, zero, fb, clicked)):
            w[i] += v
    assert set(got) == set(want)
    for key, (searches, zero, fb, clicked) in want.items():
        row = got[key]
        assert (row["searches"], row["zero_results"], row["fallbacks"], row["clicked"]) == (
            searches,
            zero,
            fb,
            clicked,
        )
        assert row["zero_result_rate"] == round(zero / searches, 4)
        assert row["fallback_rate"] == round(fb / searches, 4)
    days = [r["day"] for r in body["daily"]]
    assert days == sorted(days)
    assert body["recording"] is True and body["dropped"] == 0


def test_daily_filters_by_locale_and_days(dash_app, db):
    now = time.time()
    _seed(db, now)
    client = dash_app.test_client()
    q = {"locale": "ar-sa"}
    rows = client.get("/v1/admin/insights/daily", query_string=q, headers=AUTH).get_json()["daily"]
    assert {r["locale"] for r in rows} == {"ar-SA"}
    assert sum(r["searches"] for r in rows) == 2
    q = {"days": 1}
    rows = client.get("/v1/admin/insights/daily", query_string=q, headers=AUTH).get_json()["daily"]
    assert sum(r["searches"] for r in rows) == 4  # the searches of the last 24 hours
    q = {"days": 90, "locale": "de-DE"}
    rows = client.get("/v1/admin/insights/daily", query_string=q, headers=AUTH).get_json()["daily"]
    assert sum(r["searches"] for r in rows) == 4  # with the one 40 days ago


def test_daily_limit_does_not_cut_the_series(dash_app, db):
    now = time.time()
    _seed(db, now)
    q = {"limit": 1}
    rows = (
        dash_app.test_client()
        .get("/v1/admin/insights/daily", query_string=q, headers=AUTH)
        .get_json()["daily"]
    )
    assert sum(r["searches"] for r in rows) == 6


def test_daily_csv(dash_app, db):
    _seed(db, time.time())
    r = dash_app.test_client().get("/v1/admin/insights/daily?format=csv", headers=AUTH)
    assert r.mimetype == "text/csv"
    assert 'filename="insights-daily.csv"' in r.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert list(table[0]) == [
        "day",
        "locale",
        "searches",
        "requests",
        "zero_results",
        "fallbacks",
        "clicked",
        "zero_result_rate",
        "fallback_rate",
    ]
    assert sum(int(row["searches"]) for row in table) == 6


def test_daily_needs_the_admin_token_and_valid_parameters(dash_app, corpus_index):
    client = dash_app.test_client()
    assert client.get("/v1/admin/insights/daily").status_code == 401
    bad = client.get("/v1/admin/insights/daily?days=0", headers=AUTH)
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "invalid_parameter"
    assert client.get(f"/v1/admin/insights/daily?token={TOKEN}").status_code == 400
    off = create_app({"TESTING": True, "INDEX_DIR": str(corpus_index)})
    try:
        assert off.test_client().get("/v1/admin/insights/daily", headers=AUTH).status_code == 403
    finally:
        off.extensions["helpapi.indexes"].close()


def test_daily_and_dashboard_are_in_the_openapi_document(dash_app):
    paths = dash_app.test_client().get("/v1/openapi.json").get_json()["paths"]
    daily = paths["/v1/admin/insights/daily"]["get"]
    assert daily["security"] == [{"bearer": []}]
    assert {p["name"] for p in daily["parameters"]} >= {"locale", "days", "format"}
    assert "/admin" in paths


# -- in headless Chromium, after a scripted load ----------------------------------------------

# (query, locale, times): own-language answers, English fallbacks (ar-SA, sw-KE), no result.
LOAD = [
    ("password", "en-US", 3),
    ("outlook", "de-DE", 4),
    ("パスワード", "ja-JP", 2),
    ("password", "sw-KE", 3),
    ("printer", "ar-SA", 2),
    ("qqqzzzxxw", "de-DE", 2),
    ("zzzqqqvvk", "en-US", 1),
]


def _http(base, path, params=None, token=None, body=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def loaded(corpus_index, tmp_path_factory):
    """gunicorn with the admin token and its own analytics file, after searches and events."""

    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed")
    tmp = tmp_path_factory.mktemp("dashboard")
    with run_gunicorn(
        tmp / "log.txt",
        HELPAPI_INDEX_DIR=str(corpus_index),
        HELPAPI_ADMIN_TOKEN=TOKEN,
        HELPAPI_ANALYTICS_DB=str(tmp / "analytics.sqlite3"),
        HELPAPI_EVENTS_PER_MINUTE="1000",
        WEB_CONCURRENCY="2",
    ) as served:
        base = served.base
        answers = []
        for q, loc, times in LOAD:
            for _ in range(times):
                answers.append(_http(base, "/v1/search", {"q": q, "locale": loc}))
        events = []
        for a in answers:
            if not a["results"]:
                continue
            first = a["results"][0]["id"]
            if a["requested_locale"] in ("en-US", "sw-KE") and len(events) % 3 != 2:
                events.append({"type": "click", "query_id": a["query_id"], "article": first})
            if a["requested_locale"] == "de-DE":
                events.append({"type": "helpful", "query_id": a["query_id"], "article": first})
        events.append({"type": "not_helpful", "query_id": answers[0]["query_id"], "article": "x"})
        for e in events:
            _http(base, "/v1/events", body={**e, "position": 0})
        # Recording is off the request path: wait until every record is written.
        sent = sum(t for _, _, t in LOAD)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            daily = _http(base, "/v1/admin/insights/daily", token=TOKEN)["daily"]
            conn = sqlite3.connect(tmp / "analytics.sqlite3")
            n_events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            conn.close()
            if sum(r["searches"] for r in daily) == sent and n_events == len(events):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the scripted load was not recorded in time")
        yield base
    assert served.returncode == 0, served.output


def _pct(v) -> str:
    # What the page's toFixed(1) shows: half away from zero on the exact binary value.
    if v is None:
        return "–"
    return f"{Decimal(v * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _table(driver, name):

    out = []
    for tr in css(driver, f'table[data-table="{name}"] tbody tr'):
        cells = tr.find_elements("css selector", "th, td")
        out.append({c.get_attribute("data-col"): c.text.strip() for c in cells})
    return out


def _wait_loaded(driver, after: int, filters: str):

    def ready(d):
        board = d.find_element("id", "board")
        n = int(board.get_attribute("data-loads") or 0)
        return n > after and board.get_attribute("data-filters") == filters

    wait_for(driver, ready, timeout=20)
    return int(driver.find_element("id", "board").get_attribute("data-loads"))


def _check_numbers(driver, base, locale=""):
    """Every figure the page shows equals the API's (same filters, same limit)."""
    params = {"days": 30, "limit": 25, **({"locale": locale} if locale else {})}
    get = lambda name: _http(base, f"/v1/admin/insights/{name}", params, TOKEN)  # noqa: E731
    daily = get("daily")["daily"]
    total = sum(r["searches"] for r in daily)
    zero = sum(r["zero_results"] for r in daily)
    fb = sum(r["fallbacks"] for r in daily)
    clicked = sum(r["clicked"] for r in daily)
    text = lambda i: driver.find_element("id", i).text  # noqa: E731
    assert text("kpi-searches") == str(total)
    assert text("kpi-zero") == _pct(zero / total)
    assert text("kpi-fallback") == _pct(fb / total)
    assert text("kpi-ctr") == _pct(clicked / total)

    queries = get("queries")["queries"]
    shown = _table(driver, "queries")
    assert [r["query"] for r in shown] == [q["query"] for q in queries]
    for row, q in zip(shown, queries, strict=True):
        assert row["searches"] == str(q["searches"])
        assert row["click_through_rate"] == _pct(q["click_through_rate"])
        assert row["zero_result_rate"] == _pct(q["zero_result_rate"])
        assert row["fallback_rate"] == _pct(q["fallback_rate"])

    zero_rows = get("zero-results")["zero_results"]
    shown = _table(driver, "zero-results")
    assert [(r["query"], r["searches"]) for r in shown] == [
        (z["query"], str(z["searches"])) for z in zero_rows
    ]

    fallbacks = get("fallbacks")["fallbacks"]
    shown = _table(driver, "fallbacks")
    cols = ("locale", "searches", "fallback_searches", "fallback_share")
    assert [tuple(r[c] for c in cols) for r in shown] == [
        (f["locale"], str(f["searches"]), str(f["fallback_searches"]), _pct(f["fallback_share"]))
        for f in fallbacks
    ]

    todo = {e.get_attribute("data-locale"): e.text for e in css(driver, ".todo-item[data-locale]")}
    assert set(todo) == {f["locale"] for f in fallbacks if f["fallback_searches"]}
    for f in fallbacks:
        for item in f["english_articles_clicked"]:
            assert item["article"] in todo[f["locale"]]

    arts = get("articles")["articles"]
    shown = _table(driver, "articles")
    assert [r["article"] for r in shown] == [a["article"] for a in arts]
    for row, a in zip(shown, arts, strict=True):
        for key in ("shown", "clicks", "helpful", "not_helpful"):
            assert row[key] == str(a[key])
        assert row["click_through_rate"] == _pct(a["click_through_rate"])

    # The chart: one bar segment per (day, locale) with searches, each with its <title>.
    rects = css(driver, "#chart-searches svg rect")
    assert len(rects) == len(daily)
    titles = driver.execute_script(
        "return [...document.querySelectorAll('#chart-searches rect title')]"
        ".map(t => t.textContent)"
    )
    for r in daily:
        assert f"{r['day']} · {r['locale']}: {r['searches']}" in titles
    assert driver.execute_script(
        "return document.querySelector('#chart-zero svg title').textContent"
    )
    return total


@pytest.mark.e2e
def test_dashboard_in_chromium_shows_the_api_figures(browser, loaded):  # noqa: F811

    base = loaded
    browser.set_window_size(1280, 2200)
    browser.get(f"{base}/admin")
    browser.execute_script("sessionStorage.clear(); localStorage.clear();")
    browser.get(f"{base}/admin")

    # A wrong token: the form says so and keeps nothing.
    box = wait_for(browser, lambda d: [e for e in css(d, "#token") if e.is_displayed()])[0]
    box.send_keys("wrong-token-wrong-token-wrong-token")
    css(browser, "#login-form button[type=submit]")[0].click()
    wait_for(browser, lambda d: d.find_element("id", "login-error").text)
    assert browser.execute_script("return sessionStorage.getItem('helpapi.admin.token')") is None

    box.send_keys(TOKEN)
    css(browser, "#login-form button[type=submit]")[0].click()
    loads = _wait_loaded(browser, 0, "|30")
    assert TOKEN not in browser.current_url and "token" not in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('helpapi.admin.token')") == TOKEN
    assert browser.execute_script("return localStorage.getItem('helpapi.admin.token')") is None
    assert browser.find_element("tag name", "html").get_attribute("dir") == "ltr"

    total = _check_numbers(browser, base)
    assert total == sum(t for _, _, t in LOAD)
    ARTIFACTS.mkdir(exist_ok=True)
    png = browser.get_screenshot_as_png()
    (ARTIFACTS / "admin.png").write_bytes(png)
    assert _png_is_not_blank(png)

    # Filter by locale (a requested-only locale is offered from the data too).
    from selenium.webdriver.support.ui import Select

    options = [o.get_attribute("value") for o in Select(css(browser, "#f-locale")[0]).options]
    assert {"de-DE", "sw-KE", "ar-SA"} <= set(options)
    Select(css(browser, "#f-locale")[0]).select_by_value("de-DE")
    loads = _wait_loaded(browser, loads, "de-DE|30")
    assert _check_numbers(browser, base, "de-DE") == 6

    # A reload keeps the token (this tab's sessionStorage) and the filters.
    browser.refresh()
    loads = _wait_loaded(browser, 0, "de-DE|30")
    assert not css(browser, "#login")[0].is_displayed()
    Select(css(browser, "#f-locale")[0]).select_by_value("")
    loads = _wait_loaded(browser, loads, "|30")

    # Right to left: Arabic UI, dark scheme; the figures are the same (Latin digits).
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    Select(css(browser, "#ui-lang")[0]).select_by_value("ar")
    html = browser.find_element("tag name", "html")
    assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == "ar"
    assert css(browser, "#h-queries")[0].text == "أكثر عمليات البحث"
    _check_numbers(browser, base)
    # Logical properties: the KPI accent border sits on the right in RTL.
    side = browser.execute_script(
        "const s = getComputedStyle(document.querySelector('.kpi'));"
        "return [s.borderRightWidth, s.borderLeftWidth]"
    )
    assert side == ["4px", "1px"]
    png = browser.get_screenshot_as_png()
    (ARTIFACTS / "admin-rtl-dark.png").write_bytes(png)
    assert _png_is_not_blank(png)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    Select(css(browser, "#ui-lang")[0]).select_by_value("en")

    # Sign out forgets the token.
    css(browser, "#sign-out")[0].click()
    assert css(browser, "#token")[0].is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('helpapi.admin.token')") is None
    browser.set_window_size(1000, 900)
