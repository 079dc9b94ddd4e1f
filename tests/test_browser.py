"""The widget in real headless Chromium (Debian chromium + chromium-driver) against gunicorn."""

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from .browser_helpers import css
from .browser_helpers import type_slowly
from .browser_helpers import wait_for
from .conftest import ROOT
from .conftest import start_webdriver

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(DRIVER).exists())
        and not os.environ.get("HELPAPI_REQUIRE_BROWSER"),
        reason="Debian chromium and chromium-driver are not installed",
    ),
]
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
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
        "--window-size=1000,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        opts.add_argument(arg)
    driver = start_webdriver(lambda: webdriver.Chrome(service=Service(DRIVER), options=opts))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def test_typing_japanese_then_keyboard_opens_article(browser, server):
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server}/demo?locale=ja-JP")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    type_slowly(box, "パスワード")

    # The titles are read in the same pass that finds the options (a late response for a
    # partial query re-renders the list: elements held across it go stale).
    def titles_once_matching(d):
        found = [o.find_element("css selector", ".hw-title").text for o in css(d, ".hw-option")]
        return any("パスワード" in t for t in found) and found

    titles = wait_for(browser, titles_once_matching)
    assert box.get_attribute("aria-expanded") == "true"
    box.send_keys(Keys.ARROW_DOWN)
    active = box.get_attribute("aria-activedescendant")
    selected = wait_for(
        browser, lambda d: [o.get_attribute("aria-selected") for o in css(d, f"#{active}")]
    )
    assert selected == ["true"]
    box.send_keys(Keys.ENTER)
    body = wait_for(browser, lambda d: [e.text for e in css(d, ".hw-body") if e.is_displayed()])[0]
    assert titles[0] in body
    assert css(browser, ".hw-locales button")  # other languages of the article
    css(browser, ".hw-back")[0].click()
    assert css(browser, ".hw-input")[0].is_displayed()


def test_escape_closes_the_list(browser, server):
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server}/demo?locale=de-DE")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    type_slowly(box, "Outlook")
    wait_for(browser, lambda d: css(d, ".hw-option"))
    box.send_keys(Keys.ESCAPE)
    assert box.get_attribute("aria-expanded") == "false"


def test_fallback_note_for_unindexed_locale(browser, server):
    browser.get(f"{server}/demo?locale=pt-BR")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    type_slowly(box, "password")
    note = wait_for(browser, lambda d: [e.text for e in css(d, ".hw-fallback")])[0]
    assert "English" in note


def test_empty_state(browser, server):
    browser.get(f"{server}/demo?locale=de-DE")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    type_slowly(box, "qqqqzzzzxxxx")
    wait_for(browser, lambda d: css(d, ".hw-empty"))


def test_arabic_page_is_right_to_left(browser, server):
    browser.get(f"{server}/demo?locale=ar-SA")
    root = wait_for(browser, lambda d: css(d, ".helpapi-widget"))[0]
    assert root.get_attribute("dir") == "rtl"
    assert css(browser, ".hw-input")[0].get_attribute("placeholder") == "البحث في التعليمات"


def test_markup_in_query_is_text(browser, server):
    browser.get(f"{server}/demo?locale=en-US")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    box.send_keys('<img src=x onerror="window.__pwned=1"> password')
    wait_for(browser, lambda d: css(d, ".hw-option") or css(d, ".hw-empty"))
    assert browser.execute_script("return window.__pwned === undefined")
    assert not css(browser, ".helpapi-widget img")
    assert box.get_attribute("value").startswith("<img")


def _png_is_not_blank(data: bytes) -> bool:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) > 16


def test_demo_screenshot(browser, server):
    browser.get(f"{server}/demo?locale=ja-JP")
    box = wait_for(browser, lambda d: css(d, ".hw-input"))[0]
    type_slowly(box, "設定")
    wait_for(browser, lambda d: css(d, ".hw-option"))
    ARTIFACTS.mkdir(exist_ok=True)
    png = browser.get_screenshot_as_png()
    (ARTIFACTS / "demo.png").write_bytes(png)
    assert _png_is_not_blank(png)
    shutil.copyfile(ARTIFACTS / "demo.png", ARTIFACTS / "demo-ja-JP.png")
