"""The renderer: each kind's sections, numbers written beside the HTML, generated limitations, refusals."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from reports.model import Estimate, ReportError
from reports.render import build_report, write_report
from reports.sources import load_sources
from tests.reports import fixtures


def _written(paths: list[Path], out: Path):
    report = build_report(paths, command="test")
    return report, write_report(report, out)


def _csv_numbers(path: Path) -> list[float]:
    values = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            for key in ("value", "ci_low", "ci_high", "n"):
                try:
                    values.append(float(row[key]))
                except ValueError:
                    pass
    return values


def test_every_number_in_a_table_cell_is_in_the_csv(results, tmp_path: Path) -> None:
    report, written = _written(list(results.values()), tmp_path / "out" / "all.html")
    html = written.html.read_text()
    known = _csv_numbers(written.numbers_csv)
    cells = re.findall(r"<td>(.*?)</td>", html, flags=re.S)
    shown = [float(x) for cell in cells if "sha" not in cell.lower()
             for x in re.findall(r"(?<![\w.])-?\d+\.\d+(?![\w.])", cell)]
    assert len(shown) > 100
    missing = [x for x in shown if not any(abs(x - k) <= 5e-4 + 1e-9 for k in known)]
    assert missing == []
    data = json.loads(written.numbers_json.read_text())
    assert data["kind"] == "report_numbers" and len(data["numbers"]) == len(report.numbers)
    assert data["provenance"]["sources"][0]["sha256"]


def test_kinds_give_their_sections(results, tmp_path: Path) -> None:
    _, written = _written(list(results.values()), tmp_path / "r.html")
    anchors = set(written.sections)
    assert {"comparison", "comparison-diversity", "audit-breadth-p1-diversity", "audit-breadth-p1-breadth",
            "audit-depth-p1-bep", "audit-depth-p1-incidents", "audit-depth-p1-persona", "audit-depth-p1-manifest",
            "validation", "policy-evaluation", "sandbox-run", "sandbox-compare-compare",
            "sandbox-sweep-sweep"} <= anchors
    html = written.html.read_text()
    assert "0.410 (n=1, no CI)" in html  # single repeat shown without a CI
    assert "0.220 [0.160, 0.280] (n=3)" in html  # relative decline with its CI
    assert "&lt;b&gt;late&lt;/b&gt;" in html and "<b>late</b>" not in html  # persona text is escaped
    assert "NEW" in html and "PASS" in html
    assert "Reported beside (not part of the verdict): relative diversity decline" in html
    assert "Persona p1-reversed: reverses p1: watch times quantile-reversed" in html  # depth: both cards shown
    assert "http://" not in html.replace("http://www.w3.org", "")  # no external reference (SVG namespaces only)


def test_comparison_table_is_personas_by_platforms(results, tmp_path: Path) -> None:
    report = build_report([results["breadth"], results["breadth2"], results["depth"]])
    table = next(b for b in report.sections[0].blocks if getattr(b, "caption", "").startswith("Relative diversity"))
    assert table.headers == ("persona", "sandbox (in-process)", "virtual phone (adb/uiautomator2)")
    assert [row[0] for row in table.rows] == ["p1", "p2"]
    assert table.rows[0][2] == "not run" and table.rows[1][1] == "not run"


def test_limitations_come_from_the_run(results, tmp_path: Path) -> None:
    fixtures.validation(results["validation"], passed=False)
    fixtures.evaluation(results["evaluation"], policy_smape=0.5)
    lines = build_report(list(results.values())).limitations
    text = "\n".join(lines)
    assert "depth-p1: single repeat: no CI across accounts" in text
    assert "categoriser platform accuracy 0.71 measured on sandbox items (n=300)" in text
    assert "validation failed" in text
    assert "policy statistical worse than the last k median (trivial baseline) (paired SMAPE difference 0.150" in text
    assert "breadth-p1: single repeat" not in text
    exact = fixtures.audit(tmp_path / "exact", "breadth", extra={"categoriser": {"name": "platform", "accuracy": None,
                                                                                  "n": 0}})
    assert any("exact: categories are the sandbox items' own" in line for line in build_report([exact]).limitations)
    evaluated = fixtures.audit(tmp_path / "evaluated", "depth", extra={"policy": {"kind": "statistical", "evaluation": {
        "smape": fixtures.est(0.7, 0.05, 35), "smape_diff_vs_last10_median": fixtures.est(0.01, 0.04, 35),
        "smape_diff_vs_training_median": fixtures.est(-0.2, 0.05, 35)}}})
    report = build_report([evaluated])
    lines = "\n".join(report.limitations)
    assert "evaluated: the policy is not better than the last10_median baseline" in lines
    assert "training_median" not in lines and "was not evaluated" not in lines
    policy = next(s for s in report.sections if s.anchor == "audit-evaluated-policy")
    assert any("0.700 [0.650, 0.750] (n=35)" in cell for row in policy.blocks[0].rows for cell in row)


def test_folder_search_and_kind_detection(results, tmp_path: Path) -> None:
    sources = load_sources([results["breadth"].parent])
    assert sorted(s.kind for s in sources) == sorted(["audit"] * 3 + ["validation", "sandbox_run", "sandbox_compare",
                                                                      "sandbox_sweep", "policy_evaluation"])
    assert all("manifest" in s.companions for s in sources if s.kind == "audit")
    (tmp_path / "odd.json").write_text(json.dumps({"kind": "mystery"}))
    with pytest.raises(ReportError, match="odd.json: no known \"kind\""):
        load_sources([tmp_path / "odd.json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no result files"):
        load_sources([tmp_path / "empty"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text("{not json")
    with pytest.raises(ReportError, match="results.json: not valid JSON"):
        load_sources([tmp_path / "bad"])


def test_refuses_to_overwrite_and_wrong_suffix(results, tmp_path: Path) -> None:
    report = build_report([results["validation"]])
    write_report(report, tmp_path / "v.html")
    with pytest.raises(ReportError, match="--overwrite"):
        write_report(report, tmp_path / "v.html")
    write_report(report, tmp_path / "v.html", overwrite=True)
    with pytest.raises(ReportError, match="ending in .html"):
        write_report(report, tmp_path / "v.pdf")


def test_malformed_estimate_names_the_key(tmp_path: Path) -> None:
    folder = fixtures.audit(tmp_path / "a", "depth", extra={"depth": {"bep": {"mean": "high"}}})
    with pytest.raises(ReportError, match=r"depth.bep.mean: expected a number"):
        build_report([folder])


def test_estimate_text() -> None:
    assert Estimate.parse({"mean": 0.5, "ci": [0.4, 0.6], "n": 7}, "x").text(2) == "0.50 [0.40, 0.60] (n=7)"
    assert Estimate.parse(3, "x").text(1, "s") == "3.0 s (n=1, no CI)"


def test_plots_are_titled_svg_without_external_references(results) -> None:
    report = build_report([results["breadth"], results["validation"]])
    figures = [b for s in report.sections for b in s.blocks if b.__class__.__name__ == "Figure"]
    assert len(figures) == 5
    for figure in figures:
        assert figure.svg.startswith("<svg") and "<title>" in figure.svg[:600] and 'aria-label="' in figure.svg[:600]
        assert "<!DOCTYPE" not in figure.svg and "xlink:href=\"http" not in figure.svg
    assert "#0072b2" in figures[0].svg.lower()  # Okabe-Ito blue: the colour-blind-safe palette is used


def test_sandbox_compare_and_sweep_plot_runs_and_levels(results) -> None:
    report = build_report([results["sandbox_compare"], results["sandbox_sweep"]])
    compare, sweep = report.sections
    titles = [b.title for b in compare.blocks if b.__class__.__name__ == "Figure"]
    assert titles == ["Sandbox compare: metrics over time, every seed"]
    assert any(n.item == "mf mf/s1 @ step 5" for n in report.numbers)  # each seed's run read from its metrics.json
    titles = [b.title for b in sweep.blocks if b.__class__.__name__ == "Figure"]
    assert titles == ["Sandbox sweep: metrics by personalisation level"]
    table = next(b for b in sweep.blocks if b.__class__.__name__ == "Table")
    assert table.headers[:3] == ("recommender", "knob", "level") and len(table.rows) == 6


def test_audits_in_folders_of_the_same_name_are_told_apart(tmp_path: Path) -> None:
    first = fixtures.audit(tmp_path / "phone-a" / "audit", "breadth")
    second = fixtures.audit(tmp_path / "phone-b" / "audit", "depth")
    report = build_report([first, second])
    assert {"audit-phone-a-audit", "audit-phone-b-audit-bep"} <= {s.anchor for s in report.sections}
    with pytest.raises(ReportError, match="given twice"):
        build_report([first, first / "results.json"])
