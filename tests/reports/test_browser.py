"""Each report kind opened in headless Chromium: sections there, no console error, no request, graphics labelled."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reports.render import build_report, write_report
from tests.reports.browser import inspect

EXPECTED = {
    "breadth": {"audit-breadth-p1", "audit-breadth-p1-diversity", "audit-breadth-p1-breadth",
                "audit-breadth-p1-incidents", "audit-breadth-p1-persona", "audit-breadth-p1-policy",
                "audit-breadth-p1-manifest"},
    "depth": {"audit-depth-p1", "audit-depth-p1-bep"},
    "validation": {"validation"},
    "sandbox_run": {"sandbox-run"},
    "sandbox_compare": {"sandbox-compare-compare"},
    "sandbox_sweep": {"sandbox-sweep-sweep"},
    "evaluation": {"policy-evaluation"},
}
SCREENSHOT = Path(__file__).parents[2] / "docs" / "report-screenshot.png"


def _check(browser, html: Path, expected: set[str], screenshot: Path | None = None) -> None:
    page = inspect(browser, html, screenshot, "comparison" if "comparison" in expected else None)
    assert expected | {"limitations", "provenance"} <= set(page.sections)
    assert page.console_errors == []
    assert page.requests == [] and page.resource_entries == []
    assert page.unlabelled_graphics == []
    assert page.print_problems == []
    assert "Limitations" in page.text and "Provenance" in page.text


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_in_chromium(kind: str, results, browser, tmp_path: Path) -> None:
    written = write_report(build_report([results[kind]]), tmp_path / f"{kind}.html")
    shot = tmp_path / f"{kind}.png"
    _check(browser, written.html, EXPECTED[kind], shot)
    assert shot.stat().st_size > 10_000


def test_comparison_report_in_chromium_with_screenshot(results, browser, tmp_path: Path) -> None:
    paths = [results[k] for k in ("breadth", "breadth2", "depth", "validation")]
    written = write_report(build_report(paths, "PersonaAct report: two personas, validation"), tmp_path / "all.html")
    shot = tmp_path / "report.png"
    _check(browser, written.html, {"comparison", "comparison-diversity", "validation"} | EXPECTED["depth"], shot)
    assert shot.stat().st_size > 20_000
    if os.environ.get("PERSONAACT_UPDATE_SCREENSHOT"):  # regenerate the README's screenshot
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_the_checks_catch_a_bad_page(results, browser, tmp_path: Path) -> None:
    written = write_report(build_report([results["validation"]]), tmp_path / "good.html")
    bad = tmp_path / "bad.html"
    bad.write_text(written.html.read_text().replace(
        "<main>", '<main><img src="http://127.0.0.1:9/pixel.png"><svg width="10" height="10"></svg>'
                  '<script>console.error("broken")</script>'))
    page = inspect(browser, bad)
    assert any("127.0.0.1:9" in url for url in page.requests)
    assert any("broken" in line for line in page.console_errors)
    assert len(page.unlabelled_graphics) == 2
