"""The first screen in a real browser: Debian's chromium, driven by selenium through Debian's
chromedriver (``support/browser.py``; the ``browser`` fixture is in conftest.py). Screenshots go
under ``tmp_path``.

Skipped with a reason where chromium or chromedriver is absent; ``scripts/setup.sh`` installs
both, so CI runs these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from ketamine_ed_kg.paths import ProjectPaths
from ketamine_ed_kg.server.run import LiveServer
from support.browser import WAIT
from support.browser import chromium as _chromium
from support.browser import need_chromium as _need_chromium
from support.browser import wait as _wait

pytestmark = pytest.mark.browser


def test_editor_runs_an_example(browser: WebDriver, live_server: LiveServer,
                                sources: ProjectPaths, tmp_path: Path) -> None:
    browser.get(live_server.base + "/")
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".yasqe .CodeMirror")))
    starter = browser.execute_script("return kedYasgui.getTab().getYasqe().getValue()")
    assert "PREFIX kedo: <https://w3id.org/ketamine-ed/ontology/>" in starter
    picker = Select(browser.find_element(By.ID, "example-picker"))
    examples = len(list(sources.queries_dir.glob("*.ttl")))
    assert len(picker.options) == 1 + examples  # the prompt, then every example
    picker.select_by_index(1)
    comment = browser.find_element(By.ID, "example-comment").text
    assert "Table 1" in comment
    query = browser.execute_script("return kedYasgui.getTab().getYasqe().getValue()")
    assert "kedo:HumanStudy" in query
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    rows = _wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".yasr table tbody tr") or False)
    assert len(rows) >= 5
    assert any("Mills" in row.text for row in rows)
    browser.save_screenshot(str(tmp_path / "editor-example-results.png"))


def test_editor_query_in_url(browser: WebDriver, live_server: LiveServer,
                             tmp_path: Path) -> None:
    browser.get(live_server.base + "/?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D")
    _wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".yasqe .CodeMirror")))
    query = browser.execute_script("return kedYasgui.getTab().getYasqe().getValue()")
    assert query == "ASK { ?s ?p ?o }"
    browser.save_screenshot(str(tmp_path / "editor-shared-url.png"))


def test_study_page_evidence_and_links(browser: WebDriver, live_server: LiveServer,
                                       tmp_path: Path) -> None:
    browser.get(live_server.base + "/resource/mills-1998")
    assert browser.find_element(By.ID, "label").text.startswith("Mills et al. 1998")
    claims = browser.find_elements(By.CSS_SELECTOR, "#evidence tr.claim")
    assert claims
    first = claims[0]
    quote = first.find_element(By.CSS_SELECTOR, "blockquote.quote").text
    assert len(quote) > 10
    source = first.find_element(By.CSS_SELECTOR, "td.source a")
    assert (source.get_attribute("href") or "").endswith("/resource/source-003")
    browser.save_screenshot(str(tmp_path / "study-mills-1998.png"))

    # study -> its participant group -> a diagnosis -> the diagnosis class
    browser.find_element(By.CSS_SELECTOR, 'a[href="/resource/mills-1998-group"]').click()
    _wait(browser).until(ec.url_contains("/resource/mills-1998-group"))
    browser.find_element(By.CSS_SELECTOR, 'a[href="/resource/mills-1998-dx-an"]').click()
    _wait(browser).until(ec.url_contains("/resource/mills-1998-dx-an"))
    browser.find_element(By.CSS_SELECTOR,
                         '.types a[href="/ontology/AtypicalAnorexiaNervosa"]').click()
    _wait(browser).until(ec.url_contains("/ontology/AtypicalAnorexiaNervosa"))
    assert "anorexia" in browser.find_element(By.ID, "label").text.lower()
    browser.save_screenshot(str(tmp_path / "diagnosis-class.png"))


def test_ontology_documentation(browser: WebDriver, live_server: LiveServer,
                                tmp_path: Path) -> None:
    browser.get(live_server.base + "/ontology")
    assert browser.find_element(By.ID, "label").text == "Ketamine in Eating Disorders Ontology"
    entry = browser.find_element(By.ID, "kedo-AtypicalAnorexiaNervosa")
    entry.find_element(By.CSS_SELECTOR, 'a[href="/ontology/AtypicalAnorexiaNervosa"]').click()
    _wait(browser).until(ec.url_contains("/ontology/AtypicalAnorexiaNervosa"))
    browser.back()
    _wait(browser).until(ec.presence_of_element_located((By.ID, "classes")))
    browser.save_screenshot(str(tmp_path / "ontology-documentation.png"))


def test_pages_work_without_javascript(live_server: LiveServer, tmp_path: Path) -> None:
    _need_chromium()
    driver = _chromium(tmp_path / "profile-nojs", javascript=False)
    try:
        driver.get(live_server.base + "/")
        # The editor needs JavaScript: its fallback names the endpoint and lists the examples.
        assert not driver.find_elements(By.CSS_SELECTOR, ".yasqe")  # no script ran
        assert len(driver.find_elements(By.CSS_SELECTOR, "noscript li")) > 10
        driver.save_screenshot(str(tmp_path / "editor-without-javascript.png"))
        driver.find_element(By.CSS_SELECTOR, "noscript li form button").click()  # Table 1
        _wait(driver).until(lambda d: "Mills et al." in d.find_element(By.TAG_NAME, "body").text)
        driver.get(live_server.base + "/resource/mills-1998")
        quote = driver.find_element(By.CSS_SELECTOR, "#evidence blockquote.quote").text
        assert quote.startswith("\u201c")
        driver.find_element(By.CSS_SELECTOR, 'a[href="/resource/mills-1998-group"]').click()
        _wait(driver).until(ec.url_contains("/resource/mills-1998-group"))
        assert "Mills et al." in driver.find_element(By.ID, "label").text
        driver.save_screenshot(str(tmp_path / "group-without-javascript.png"))
    finally:
        driver.quit()


# --------------------------------------------------------------------------- accessibility

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core, installed by scripts/setup.sh (npm ci in tests/a11y); never served by the app."""

PAGES = (
    "/",
    "/resource/mills-1998",
    "/ontology/AtypicalAnorexiaNervosa",
    "/ontology",
    "/dataset",
    "/graph/asserted",
    "/shapes/StudyShape",
    "/query/001_table1_ketamine_studies",
    "/no-such-page",
    "/evidence",
)
"""One page of every kind, the 404 page among them (adding one is adding a line)."""

BLOCKING = ("serious", "critical")


def _open(driver: WebDriver, live_server: LiveServer, path: str) -> None:
    driver.get(live_server.base + path)
    _wait(driver).until(ec.presence_of_element_located((By.TAG_NAME, "main")))
    if path == "/":  # the editor is drawn by script: check it once it is there
        _wait(driver).until(ec.presence_of_element_located(
            (By.CSS_SELECTOR, ".yasqe .CodeMirror")))


def _axe(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's violations on the current page (every rule axe runs by default)."""
    # Not a skip: ./dev test runs scripts/setup.sh, which installs it (npm ci in tests/a11y).
    assert AXE.is_file(), f"{AXE} is missing: run scripts/setup.sh (npm ci in tests/a11y)"
    driver.set_script_timeout(WAIT)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(function (r) { done(r.violations); })"
        ".catch(function (e) { done([{id: 'axe-error', impact: 'critical', help: String(e),"
        " nodes: []}]); });")
    violations: list[dict[str, Any]] = found
    return violations


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violations(browser: WebDriver, live_server: LiveServer,
                                             path: str, tmp_path: Path) -> None:
    _open(browser, live_server, path)
    violations = _axe(browser)
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    browser.save_screenshot(str(tmp_path / "axe.png"))
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        f"{[n.get('target') for n in v.get('nodes', [])][:5]}" for v in blocking)
    assert not blocking, f"axe-core on {path}:\n{report}"


def test_editor_results_accessible(browser: WebDriver, live_server: LiveServer,
                                   tmp_path: Path) -> None:
    """The editor once it shows an answer (YASR's table, its controls) passes axe too."""
    _open(browser, live_server, "/")
    Select(browser.find_element(By.ID, "example-picker")).select_by_index(1)
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".yasr table tbody tr"))
    blocking = [v for v in _axe(browser) if v.get("impact") in BLOCKING]
    browser.save_screenshot(str(tmp_path / "axe-editor-results.png"))
    assert not blocking, [(v["id"], [n.get("target") for n in v["nodes"]][:5])
                          for v in blocking]


_FOCUSABLE = """
var selector = 'a[href], button, input, select, textarea, summary, [tabindex]';
var all = Array.prototype.slice.call(document.querySelectorAll(selector));
var wanted = all.filter(function (el) {
  if (el.disabled || el.getAttribute('tabindex') === '-1') { return false; }
  if (el.closest('[hidden], [inert], noscript')) { return false; }
  if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') { return false; }
  var box = el.getBoundingClientRect();
  var style = window.getComputedStyle(el);
  return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
});
window.__kbdFocused = new Set();
wanted.forEach(function (el, i) { el.setAttribute('data-kbd', String(i)); });
document.addEventListener('focusin', function (e) {
  var el = e.target.closest('[data-kbd]');
  if (el) { window.__kbdFocused.add(el.getAttribute('data-kbd')); }
});
return wanted.map(function (el) { return el.outerHTML.slice(0, 120); });
"""


@pytest.mark.parametrize("path", PAGES)
def test_keyboard(browser: WebDriver, live_server: LiveServer, path: str) -> None:
    """The first Tab reaches a skip link to the main content, and Tab alone reaches every link
    and control of the page (nothing traps the focus)."""
    _open(browser, live_server, path)
    ActionChains(browser).send_keys(Keys.TAB).perform()  # from the top of a fresh page
    first = browser.switch_to.active_element
    assert first.get_attribute("class") == "skip", first.get_attribute("outerHTML")
    assert (first.get_attribute("href") or "").endswith("#main")
    first.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"

    _open(browser, live_server, path)
    focusable: list[str] = browser.execute_script(_FOCUSABLE)
    assert focusable
    ActionChains(browser).send_keys(Keys.TAB * (len(focusable) + 5)).perform()
    reached = set(browser.execute_script("return Array.from(window.__kbdFocused);"))
    missed = [html for i, html in enumerate(focusable) if str(i) not in reached]
    assert not missed, f"{len(missed)} of {len(focusable)} not reached by Tab on {path}: " \
                       f"{missed[:5]}"
