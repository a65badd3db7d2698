"""A real headless Chromium (the system's, from the Debian packages) driven by Selenium, for page tests.

Selenium is given the system chromedriver explicitly, so it never tries to download a driver or a browser.
`make test` installs both packages when they are missing (tests/browser/ensure_chromium.sh).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

WINDOW_SIZE = (1280, 900)


def system_chromium() -> tuple[str, str]:
    """Paths of the system browser and its driver; a clear failure (not a skip) when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            "page tests need chromium and chromedriver on PATH: run tests/browser/ensure_chromium.sh "
            "(as root on Debian) or install your system's packages"
        )
    return browser, driver


def start_browser() -> WebDriver:
    browser, driver = system_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the whole session; each test navigates where it needs."""
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, path: Path) -> Path:
    """Save what the page shows now as a PNG (the README's screenshots are made this way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
