"""A real headless browser: Debian's chromium driven by its chromedriver through selenium.

Explicit binary paths and SE_OFFLINE keep selenium-manager from fetching anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
"""Kept after the run (git-ignored by the .gitignore the tests write next to it)."""
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH = 1280
MAX_HEIGHT = 7000


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def start_browser() -> webdriver.Chrome:
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", f"--window-size={WIDTH},900", "--lang=en-US"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def full_page_screenshot(browser: webdriver.Chrome, path: Path) -> Path:
    """The whole page, not only the window: the window is stretched to the page's height."""
    height = browser.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    browser.set_window_size(WIDTH, min(max(int(height) + 40, 600), MAX_HEIGHT))
    browser.execute_script("window.scrollTo(0, 0)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not browser.save_screenshot(str(path)):
        raise AssertionError(f"the browser could not save a screenshot to {path}")
    browser.set_window_size(WIDTH, 900)
    return path
