"""The evidence overview in a real browser (Debian's chromium, ``support/browser.py``), with
JavaScript switched off: both pictures load, and the keyboard alone reaches a picture's CSV.
Screenshots go under ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from ketamine_ed_kg.server.charts import CHARTS, DOSE_SESSIONS
from ketamine_ed_kg.server.run import LiveServer
from support.browser import WAIT, chromium, need_chromium, wait
from support.server import request

pytestmark = pytest.mark.browser


def _tab_to(driver: WebDriver, href: str, limit: int = 300) -> None:
    """Press Tab until the link to ``href`` has the focus (the keyboard path a reader takes)."""
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    for _ in range(limit):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        if focused.tag_name == "a" and focused.get_dom_attribute("href") == href:
            return
    raise AssertionError(f"Tab never reached the link to {href}")


def _downloaded(folder: Path) -> Path:
    """The file chromium saved in ``folder``, once complete: chromium reserves the name with an
    empty file, writes a ``.crdownload`` beside it and renames that over it at the end."""
    stop = time.monotonic() + WAIT
    while time.monotonic() < stop:
        files = list(folder.glob("*"))
        try:
            done = [p for p in files if p.suffix != ".crdownload" and p.stat().st_size > 0]
        except FileNotFoundError:  # renamed while we looked
            done = []
        if done and not any(p.suffix == ".crdownload" for p in files):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing was downloaded into {folder}")


def test_overview_pictures_and_csv_by_keyboard(live_server: LiveServer, tmp_path: Path) -> None:
    need_chromium()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = chromium(tmp_path / "profile", javascript=False, downloads=downloads)
    try:
        driver.get(live_server.base + "/evidence")
        assert driver.find_element(By.ID, "label").text == "Evidence overview"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#table1 tbody tr")) == 5
        for name, chart in CHARTS.items():
            image = driver.find_element(By.CSS_SELECTOR, f"#{name} figure img")
            assert image.get_dom_attribute("src") == f"/evidence/{name}.svg"
            assert (image.get_dom_attribute("alt") or "").startswith(chart.title)
            wait(driver).until(lambda _: image.get_property("complete") is True)  # noqa: B023
            width = image.get_property("naturalWidth")
            assert isinstance(width, int) and width > 200, f"{name} did not load"
            assert "Mills et al. 1998" in driver.find_element(
                By.CSS_SELECTOR, f"#{name} figcaption").text
        driver.save_screenshot(str(tmp_path / "evidence-overview.png"))
        ActionChains(driver).scroll_to_element(
            driver.find_element(By.ID, DOSE_SESSIONS.name)).perform()
        driver.save_screenshot(str(tmp_path / "evidence-dose-and-sessions.png"))

        # From the dose picture to its CSV, with the keyboard only.
        link = driver.find_element(By.CSS_SELECTOR, f"#{DOSE_SESSIONS.name} a[type='text/csv']")
        href = link.get_dom_attribute("href")
        assert href == f"/api/queries/{DOSE_SESSIONS.query}?format=csv"
        _tab_to(driver, href)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        saved = _downloaded(downloads)  # chromium saves text/csv rather than showing it
        rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
        served = list(csv.reader(io.StringIO(request(live_server.base + href).text)))
        assert rows == served
        assert rows[0][:3] == ["study", "name", "route"]
        assert any(r[1] == "Mills et al. 1998" for r in rows[1:])
    finally:
        driver.quit()
