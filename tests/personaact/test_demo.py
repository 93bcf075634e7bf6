"""The demo on a small setting: every stage runs and the report has BEP, diversity and validation sections."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from personaact.demo import DemoError, DemoSize, run_demo


@pytest.mark.slow
def test_small_demo_writes_a_report_with_every_section(public_data: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    outputs = run_demo(public_data, tmp_path / "demo", DemoSize.small(), echo=lambda text: lines.append(str(text)))
    html = outputs.report.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<section id="([^"]+)"', html))
    assert any(a.endswith("-bep") for a in anchors)  # BEP of the depth audits
    assert any(a.endswith("-diversity") for a in anchors) and "comparison-diversity" in anchors
    assert {"validation", "comparison", "policy-evaluation", "limitations", "provenance"} <= anchors
    evaluated = [json.loads((p / "results.json").read_text())["policy"]["evaluation"] for p in outputs.audits.values()]
    assert any(e and "smape" in e for e in evaluated)  # persona B's policy carries its evaluation figures
    assert outputs.numbers.is_file() and outputs.validation.is_file()
    kinds = {name: json.loads((path / "results.json").read_text())["feed"]["kind"]
             for name, path in outputs.audits.items()}
    assert sorted(kinds.values()).count("virtual") == 1 and list(kinds.values()).count("sandbox") == 3
    protocols = sorted(name.split("-", 1)[0] for name in outputs.audits)
    assert protocols == ["breadth", "breadth", "depth", "depth"]
    assert len(outputs.personas) == 2 and all(p.is_file() for p in outputs.personas.values())
    persona_a = json.loads(next(p for n, p in outputs.personas.items() if n.startswith("sandbox-user")).read_text())
    assert persona_a["features"]["category_distribution"]  # fitted on a categorised sandbox trace
    virtual = json.loads((outputs.audits[next(n for n in kinds if kinds[n] == "virtual")] / "results.json").read_text())
    assert virtual["categoriser"]["accuracy"] is not None  # measured on sandbox items, shown as a limitation
    printed = "\n".join(lines)
    assert str(outputs.report) in printed and str(outputs.validation) in printed
    assert set(outputs.seconds) >= {"import", "evaluation", "persona_a", "persona_b", "audits_sandbox", "audit_virtual",
                                    "validation", "report", "total"}
    from tests.reports.browser import chromium, inspect

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = chromium(Path(profile))
        try:
            page = inspect(driver, outputs.report)
        finally:
            driver.quit()
    assert page.console_errors == [] and page.requests == [] and page.unlabelled_graphics == []


def test_demo_size_errors_name_the_field() -> None:
    with pytest.raises(DemoError, match="users"):
        DemoSize(users=0)
    with pytest.raises(DemoError, match="breadth_steps: 60 is fewer than two windows of 50"):
        DemoSize(breadth_steps=60)


def test_demo_refuses_a_used_folder_and_missing_data(public_data: Path, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(DemoError, match="not empty"):
        run_demo(public_data, tmp_path / "used", DemoSize.small())
    with pytest.raises(DemoError, match="--data"):
        run_demo(tmp_path / "nothing", tmp_path / "fresh", DemoSize.small())
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
