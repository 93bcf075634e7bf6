"""Open a report in Debian's headless Chromium and collect what a reviewer's browser would see."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                  "--window-size=1200,900")


def chromium(profile: Path) -> Any:
    """A selenium driver for the system chromium with console and network logging on."""
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.fail("this test needs Debian's chromium and chromium-driver: bash scripts/install-system-deps.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


@dataclass(frozen=True)
class Page:
    """What the browser saw: section ids, console errors, requests, graphics without a text alternative."""

    sections: list[str]
    console_errors: list[str]
    requests: list[str]
    resource_entries: list[str]
    unlabelled_graphics: list[str]
    figures: int
    print_problems: list[str]
    text: str


def inspect(driver: Any, html: Path, screenshot: Path | None = None, scroll_to: str | None = None) -> Page:
    """Load the report from disk and check it as the acceptance criteria say."""
    from selenium.webdriver.common.by import By

    driver.get_log("performance")  # drop earlier pages' entries
    driver.get_log("browser")
    page_url = html.resolve().as_uri()
    driver.get(page_url)
    driver.find_element(By.ID, "provenance")
    if screenshot is not None:
        driver.set_window_size(1200, 900)
        if scroll_to:
            driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", scroll_to)
        driver.save_screenshot(str(screenshot))
        driver.execute_script("window.scrollTo(0, 0)")
    sections = driver.execute_script("return [...document.querySelectorAll('section[id]')].map(s => s.id)")
    unlabelled = driver.execute_script("""
        const out = [];
        for (const g of document.querySelectorAll('img, svg')) {
          if (g.closest('svg') !== g && g.tagName.toLowerCase() === 'svg') continue;  // nested svg
          const title = g.tagName.toLowerCase() === 'svg' ? g.querySelector(':scope > title') : null;
          const label = g.getAttribute('alt') || g.getAttribute('aria-label') || (title && title.textContent);
          if (!label || !label.trim()) out.push(g.outerHTML.slice(0, 80));
        }
        return out;""")
    entries = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    print_problems = driver.execute_script("""
        const out = [];
        for (const f of document.querySelectorAll('figure')) {
          const style = getComputedStyle(f);
          if (style.breakInside !== 'avoid') out.push('figure without break-inside: avoid');
          if (f.getBoundingClientRect().height > 1000) out.push('figure taller than a printed page');
        }
        return out;""")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})
    if not pdf.get("data"):
        print_problems.append("printToPDF returned nothing")
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent" and message["params"].get("documentURL") == page_url:
            requests.append(message["params"]["request"]["url"])
    errors = [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return Page(sections, errors, [u for u in requests if u != page_url], entries, unlabelled,
                len(driver.find_elements(By.CSS_SELECTOR, "figure svg")), print_problems,
                driver.find_element(By.TAG_NAME, "body").text)
