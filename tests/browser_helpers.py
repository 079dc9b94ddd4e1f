"""Selenium helpers shared by the browser tests (test_browser.py, test_widget_v2.py)."""

from __future__ import annotations


def wait_for(driver, condition, timeout=60):
    """``condition(driver)`` once truthy; an element that a late search response replaced
    while it was being checked (stale) counts as "not yet". The deadline is generous: under CPU
    load on CI a search response can take seconds; a passing wait returns as soon as it holds."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(lambda d: condition(d))


def css(driver, selector):
    """Every element matching the CSS ``selector`` now (no implicit wait)."""
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def type_slowly(element, text):
    """One key at a time, as a user types: each keystroke is its own search request."""
    for ch in text:
        element.send_keys(ch)
