"""Quick descriptive summaries of traces (per trace and per collector) for `trace show` and the demo."""

from __future__ import annotations

import pandas as pd

SUMMARY_COLUMNS = ["traces", "videos", "watch_total_min", "watch_mean_s", "watch_median_s",
                   "quick_skip_rate", "like_rate", "comments", "shares"]
QUICK_SKIP_S = 3.0


def summarise(steps: pd.DataFrame, by: str = "trace_id") -> pd.DataFrame:
    """Aggregate a steps DataFrame (from `traces_to_dataframe`) by `by` (trace_id, collector, ...)."""
    if steps.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    grouped = steps.groupby(by, sort=True)
    table = pd.DataFrame({
        "traces": grouped["trace_id"].nunique(),
        "videos": grouped.size(),
        "watch_total_min": grouped["watch_s"].sum() / 60.0,
        "watch_mean_s": grouped["watch_s"].mean(),
        "watch_median_s": grouped["watch_s"].median(),
        "quick_skip_rate": grouped["watch_s"].apply(lambda s: float((s < QUICK_SKIP_S).mean())),
        "like_rate": grouped["liked"].mean().astype(float),
        "comments": grouped["commented"].sum().astype(int),
        "shares": grouped["shared"].sum().astype(int),
    })
    return table[SUMMARY_COLUMNS]


def overall(steps: pd.DataFrame) -> pd.Series:
    """One row of the same figures over every step."""
    return summarise(steps.assign(_all="all"), by="_all").iloc[0] if not steps.empty else pd.Series(dtype=float)
