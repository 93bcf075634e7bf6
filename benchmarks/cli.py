"""Start-up time of the command line: `personaact --help` against `python -c pass`, measured in the same run.

Runs both commands alternately N times (default 10; BENCH_CLI_RUNS), prints median, mean with a 95% t
confidence interval, and the heavy libraries `import personaact.cli` still loads at start, and writes
benchmarks/results/cli.json. Target: `personaact --help` within 1.0 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_CLI_RUNS", "10"))
TARGET_S = 1.0
OUT = Path(__file__).with_name("results") / "cli.json"
REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "numpy", "transformers", "trl", "peft", "datasets", "cv2", "matplotlib", "ray", "av",
         "pyarrow", "scipy", "faster_whisper", "uiautomator2", "adbutils", "httpx", "jinja2", "selenium")
# t quantiles (two-sided 95%) for small samples; n >= 31 uses the normal 1.96
_T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26, 11: 2.23, 12: 2.20, 13: 2.18,
        14: 2.16, 15: 2.14, 16: 2.13, 17: 2.12, 18: 2.11, 19: 2.10, 20: 2.09, 25: 2.06, 30: 2.05}


def _wall(command: list[str]) -> float:
    env = {**os.environ, "COLUMNS": "100"}
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def estimate(values: list[float]) -> dict[str, object]:
    """Mean with a 95% t interval, median, n."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"mean": mean, "ci": [mean, mean], "n": n, "median": mean}
    t = _T95.get(n) or next((v for k, v in sorted(_T95.items()) if k >= n), 1.96)
    half = t * statistics.stdev(values) / n ** 0.5
    return {"mean": mean, "ci": [mean - half, mean + half], "n": n, "median": statistics.median(values)}


def heavy_modules() -> list[str]:
    """Heavy third-party packages present in sys.modules after `import personaact.cli`."""
    probe = "import sys, personaact.cli; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.split())
    return [name for name in HEAVY if name in loaded]


def main() -> None:
    """Measure, print, write the JSON."""
    console_script = Path(sys.executable).with_name("personaact")
    help_cmd = [str(console_script), "--help"] if console_script.exists() else [sys.executable, "-m", "personaact", "--help"]
    bare_cmd = [sys.executable, "-c", "pass"]
    _wall(help_cmd)  # warm the file cache once; not counted
    helps, bares = [], []
    for _ in range(RUNS):
        bares.append(_wall(bare_cmd))
        helps.append(_wall(help_cmd))
    result = {
        "kind": "benchmark_cli", "schema_version": 1, "command": " ".join(Path(help_cmd[0]).name if i == 0 else a
                                                                           for i, a in enumerate(help_cmd)),
        "help_s": estimate(helps), "python_pass_s": estimate(bares),
        "overhead_median_s": statistics.median(helps) - statistics.median(bares),
        "target_s": TARGET_S, "meets_target": statistics.median(helps) <= TARGET_S,
        "heavy_modules_at_start": heavy_modules(), "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
    }
    help_s, bare_s = result["help_s"], result["python_pass_s"]
    print(f"personaact --help: median {help_s['median']:.3f} s, mean {help_s['mean']:.3f} s "  # type: ignore[index]
          f"(95% CI {help_s['ci'][0]:.3f}-{help_s['ci'][1]:.3f}, n={help_s['n']})")  # type: ignore[index]
    print(f"python -c pass:    median {bare_s['median']:.3f} s, mean {bare_s['mean']:.3f} s "  # type: ignore[index]
          f"(95% CI {bare_s['ci'][0]:.3f}-{bare_s['ci'][1]:.3f}, n={bare_s['n']})")  # type: ignore[index]
    print(f"overhead (median): {result['overhead_median_s']:.3f} s; target {TARGET_S} s: "
          f"{'met' if result['meets_target'] else 'NOT met'}; load average {result['load_average'][0]:.2f}")
    print(f"heavy libraries loaded at start: {', '.join(result['heavy_modules_at_start']) or 'none'}")  # type: ignore[arg-type]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
