"""Driving Debian's chromium through selenium and Debian's chromedriver (Selenium Manager never
runs, so nothing is downloaded). The ``browser`` fixture (tests/conftest.py) gives a fresh
headless chromium per test; tests needing another set-up call :func:`chromium` themselves.

Where chromium or chromedriver is absent the tests skip with a reason (:func:`need_chromium`);
``scripts/setup.sh`` installs both, so CI runs them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT = 300.0
"""How long to wait for the page to get somewhere: a failure report, not a speed limit."""


def chromium(profile: Path, javascript: bool = True, downloads: Path | None = None) -> WebDriver:
    """A headless chromium with its profile in ``profile``; ``downloads``, if given, is where
    it saves what it downloads, without asking."""
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    prefs: dict[str, object] = {}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    if downloads is not None:
        prefs.update({"download.default_directory": str(downloads),
                      "download.prompt_for_download": False})
    if prefs:
        options.add_experimental_option("prefs", prefs)
    # Chromium keeps its crash reports under $XDG_CONFIG_HOME/chromium and GLib its dconf
    # cache under $XDG_CACHE_HOME, whatever the profile: both go beside the profile, not HOME.
    env = dict(os.environ, XDG_CONFIG_HOME=str(profile.parent / "xdg-config"),
               XDG_CACHE_HOME=str(profile.parent / "xdg-cache"))
    return webdriver.Chrome(options=options,
                            service=Service(executable_path=CHROMEDRIVER, env=env))


def need_chromium() -> None:
    """Skip the test, with the reason, where chromium or chromedriver is not installed."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromium-driver (Debian packages) are not installed: "
                    "scripts/setup.sh installs them")


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """A wait of :data:`WAIT` seconds on ``driver``. An element found just before the page is
    replaced (a form sent, a link followed) goes stale: the condition is tried again."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))


__all__ = ["CHROMEDRIVER", "CHROMIUM", "WAIT", "chromium", "need_chromium", "wait"]
