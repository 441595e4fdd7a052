"""The precedent finder in Debian's Chromium: type, submit, narrow, open a letter; no request
leaves the loopback address; axe-core finds no WCAG 2.x A/AA violation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

VENDOR = Path(__file__).parent / "vendor"
SHOTS_ENV = "IMR_GRAPH_SCREENSHOTS"  # a folder: save one screenshot per page there
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _wait(driver: Any, cond: Any, timeout: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(cond)


def _resources(driver: Any) -> list[str]:
    return driver.execute_script(
        "return [location.href].concat(performance.getEntriesByType('resource')"
        ".map(function (e) { return e.name; }));"
    )


def _axe(driver: Any) -> list[dict]:
    driver.execute_script((VENDOR / "axe.min.js").read_text(encoding="utf-8"))
    return driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(function (r) { done(r.violations.map(function (v) {"
        " return {id: v.id, help: v.help, nodes: v.nodes.map(function (n) {"
        " return n.target.join(' '); })}; })); })"
        ".catch(function (e) { done([{id: 'axe-error', help: String(e), nodes: []}]); });",
        WCAG,
    )


def _shot(driver: Any, name: str) -> None:
    folder = os.environ.get(SHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        h = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(max(800, h), 2400))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(1280, 1000)


def _ask(browser: Any, url: str, request: str) -> None:
    By = _by()
    browser.get(url)
    box = browser.find_element(By.ID, "request")
    box.clear()
    box.send_keys(request)
    browser.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()
    _wait(browser, lambda d: "/precedents?" in d.current_url)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ol#results > li"))


def test_type_a_request_submit_and_see_results(browser: Any, served_url: str) -> None:
    By = _by()
    _ask(browser, served_url, "Norco 10/325 #90")
    q = parse_qs(urlsplit(browser.current_url).query)
    assert q["request"] == ["Norco 10/325 #90"]  # the address bar holds the request
    assert browser.execute_script("return typeof htmx") == "object"  # the vendored copy ran
    items = browser.find_elements(By.CSS_SELECTOR, "ol#results > li")
    assert len(items) == 10
    assert "Upheld" in items[0].text or "Overturned" in items[0].text


def test_a_facet_click_narrows(browser: Any, served_url: str) -> None:
    By = _by()
    _ask(browser, served_url, "MRI")
    link = browser.find_element(By.CSS_SELECTOR, 'ul.facet[data-facet="decision"] a')
    wanted = link.text.strip().lower()
    link.click()
    _wait(browser, lambda d: f"decision={wanted}" in d.current_url)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ol#results > li"))
    decisions = browser.find_elements(By.CSS_SELECTOR, "ol#results .result h3 .decision")
    assert decisions and all(d.text.lower().startswith(wanted) for d in decisions)


def test_the_letter_page_opens_from_a_result(browser: Any, served_url: str) -> None:
    By = _by()
    _ask(browser, served_url, "ketamine cream")
    browser.find_element(By.CSS_SELECTOR, "ol#results > li h3 a").click()
    _wait(browser, lambda d: "/letters/" in d.current_url)
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("IMR "))
    assert browser.find_elements(By.CSS_SELECTOR, "article.item")
    _shot(browser, "letter")


def test_slash_focuses_the_search_box(browser: Any, served_url: str) -> None:
    from selenium.webdriver.common.keys import Keys

    By = _by()
    browser.get(served_url)
    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "request"
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "summary"


PAGES = {
    "search": "",
    "results": "precedents?request=Norco+10%2F325+%2390&summary=chronic+low+back+pain",
    "letter": "letters/004_030cb33236d584c4",
    "section": "sections/gdoc:mtus-chronic-pain/analgesic-topical",
    "passages": "search?q=topical+ketamine+is+under+study",
    "stats": "stats",
    "graph": "graph/letter:004_030cb33236d584c4",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_request_leaves_loopback_and_axe_finds_no_violation(
    browser: Any, served_url: str, name: str
) -> None:
    browser.get(served_url + PAGES[name])
    assert "Not answered" not in browser.title, browser.title
    for url in _resources(browser):
        assert url.startswith(served_url), f"{name}: {url} is not on the loopback address"
    violations = _axe(browser)
    assert violations == [], f"{name}: {violations}"
    _shot(browser, name if name != "search" else "home")


def test_upload_a_letter_from_the_form(browser: Any, served_url: str) -> None:
    from corpus_paths import SAMPLE_DIR

    By = _by()
    browser.get(served_url)
    letter = sorted(SAMPLE_DIR.glob("*.txt"))[4]
    browser.find_element(By.ID, "letter").send_keys(str(letter))
    browser.find_element(By.CSS_SELECTOR, "section.upload button[type=submit]").click()
    _wait(browser, lambda d: "/upload" in d.current_url)
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "section.asked"))
    assert "left out of its own results" in browser.page_source
    assert _axe(browser) == []
    _shot(browser, "upload")


def test_bad_input_is_a_page_with_one_sentence(browser: Any, served_url: str) -> None:
    By = _by()
    browser.get(served_url + "precedents?request=MRI&from=2016-13-01")
    assert "YYYY-MM-DD" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    assert _axe(browser) == []
    _shot(browser, "error")


def test_an_unknown_filter_from_the_form_shows_its_sentence(browser: Any, served_url: str) -> None:
    By = _by()
    browser.get(served_url)
    browser.find_element(By.ID, "request").send_keys("MRI")
    browser.find_element(By.CSS_SELECTOR, "details.filters summary").click()
    browser.find_element(By.ID, "region").send_keys("zzzz")
    browser.find_element(By.CSS_SELECTOR, "form.ask button[type=submit]").click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))
    assert "matches no body region" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    assert "region=zzzz" in browser.current_url
