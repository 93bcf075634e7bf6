"""The audit report: diversity curves, relative decline, BEP, top-10 shift, incidents, persona, policy, manifest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.collect import Numbers, estimates, key_values
from reports.model import Block, Estimate, Part, Section, Table, Text
from reports.plots import Series, line_plot
from reports.sources import Source

ACCOUNT_NAMES = {"persona": "persona account", "control": "control account (no persona)"}
WINDOW_METRICS = (("distinct_full", "distinct categories (full paths)", "categories"),
                  ("distinct_top", "distinct top-level categories", "categories"),
                  ("entropy_full", "category entropy (full paths)", "bits"))


def audit_part(source: Source) -> Part:
    """Every section of one audit folder."""
    data, slug = source.data, anchor_slug(source.label)
    numbers: list[Any] = []
    sections = [_summary(source, slug, numbers)]
    if isinstance(data.get("breadth"), Mapping):
        sections += _breadth(source, slug, numbers)
    if isinstance(data.get("depth"), Mapping):
        sections.append(_depth(source, slug, numbers))
    sections += [_incidents(source, slug, numbers), _persona(source, slug), _policy(source, slug, numbers),
                 _manifest(source, slug, numbers)]
    return Part(tuple(sections), tuple(numbers), tuple(audit_limitations(source)), (str(source.path),))


def anchor_slug(label: str) -> str:
    """An HTML id fragment from a folder name."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in label.lower()).strip("-") or "run"


def feed_name(data: Mapping[str, Any]) -> str:
    """'sandbox', 'virtual phone', or the app and device of a phone audit."""
    feed = data.get("feed") or {}
    kind = str(feed.get("kind", "unknown feed"))
    if kind == "phone":
        return " ".join(str(feed[k]) for k in ("app", "app_version", "serial") if feed.get(k)) or "phone"
    return {"virtual": "virtual phone (adb/uiautomator2)", "sandbox": "sandbox (in-process)"}.get(kind, kind)


def persona_id(data: Mapping[str, Any]) -> str:
    """The audited persona's id."""
    return str((data.get("persona") or {}).get("id", "unknown persona"))


def _summary(source: Source, slug: str, numbers: list[Any]) -> Section:
    data = source.data
    col = Numbers(f"audit {source.label}")
    categoriser = data.get("categoriser") or {}
    rows = [("protocol", col.value("audit", "protocol", data.get("protocol"))),
            ("feed", col.value("audit", "feed", feed_name(data))),
            ("persona", col.value("audit", "persona", persona_id(data))),
            ("steps per phase", col.value("audit", "steps", data.get("steps"), unit="videos")),
            ("window", col.value("audit", "window", data.get("window"), unit="videos")),
            ("window stride", col.value("audit", "stride", data.get("stride"), unit="videos")),
            ("repeats (fresh accounts)", col.value("audit", "repeats", data.get("repeats"))),
            ("policy", col.value("audit", "policy", (data.get("policy") or {}).get("kind"))),
            ("categoriser", col.value("audit", "categoriser", categoriser.get("name"))),
            ("categoriser accuracy", col.value("audit", "categoriser accuracy", categoriser.get("accuracy"), 2,
                                               n=categoriser.get("n")))]
    blocks: list[Block] = []
    if isinstance(data.get("breadth"), Mapping) and "relative_decline" in data["breadth"]:
        est = Estimate.parse(data["breadth"]["relative_decline"], "breadth.relative_decline")
        rows.insert(0, ("relative diversity decline (persona minus control)",
                        col.estimate("headline", "relative decline", est)))
    if isinstance(data.get("depth"), Mapping) and "bep" in data["depth"]:
        rows.insert(0, ("BEP (Jensen-Shannon divergence, base 2, 0-1)",
                        col.estimate("headline", "BEP", Estimate.parse(data["depth"]["bep"], "depth.bep"))))
    blocks.append(Table("Audit at a glance (95% CI in brackets; n = repeats)", ("quantity", "value"), tuple(rows)))
    numbers += col.rows
    return Section(f"audit-{slug}", f"Audit {source.label}: {data.get('protocol', '?')} audit of persona "
                   f"{persona_id(data)} on {feed_name(data)}", tuple(blocks))


def _accounts(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    accounts = (data.get("breadth") or {}).get("accounts") or {}
    return {name: acc for name, acc in accounts.items() if isinstance(acc, Mapping)}


def window_series(data: Mapping[str, Any], metric: str, label_prefix: str = "") -> list[Series]:
    """One curve per account of a breadth audit for a per-window metric (x = first video of the window)."""
    out = []
    for name, account in _accounts(data).items():
        windows = [w for w in account.get("windows") or [] if metric in w]
        if windows:
            out.append(Series(f"{label_prefix}{ACCOUNT_NAMES.get(name, name)}",
                              tuple(float(w.get("start", i)) for i, w in enumerate(windows)),
                              tuple(estimates(windows, metric, f"breadth.accounts.{name}.windows"))))
    return out


def _breadth(source: Source, slug: str, numbers: list[Any]) -> list[Section]:
    data = source.data
    col = Numbers(f"audit {source.label} diversity")
    window = data.get("window", "?")
    figures: list[Block] = []
    for metric, title, unit in WINDOW_METRICS:
        series = window_series(data, metric)
        if not series:
            continue
        for line in series:
            col.series(line.label, title, list(line.xs), list(line.ys), "window start")
        figures.append(line_plot(series, f"{title.capitalize()} per {window}-video window",
                                 "first video of the window (video index)", f"{title} ({unit})",
                                 f"{title.capitalize()} in each window of {window} consecutive videos, mean over "
                                 f"repeats with the 95% CI as a band, for the persona and the control account."))
    rows = []
    for name, account in _accounts(data).items():
        decline = account.get("decline") or {}
        cells = [col.estimate(name, f"decline {level}", Estimate.parse(decline[level], f"{name}.decline.{level}"))
                 if level in decline else "n/a" for level in ("top", "full")]
        slope = (col.estimate(name, "slope", Estimate.parse(account["slope"], f"{name}.slope"), 3,
                              unit="categories/window") if "slope" in account else "n/a")
        rows.append((ACCOUNT_NAMES.get(name, name), *cells, slope))
    decline_table = Table("Relative decline of distinct categories, first to last window (share of the first; "
                          "positive = narrower)", ("account", "decline (top level)", "decline (full paths)",
                                                   "trend slope"), tuple(rows))
    blocks: list[Block] = [decline_table]
    breadth = data["breadth"]
    for key, level in (("relative_decline", "full category paths"), ("relative_decline_top", "top-level categories")):
        if key in breadth:
            est = col.estimate("persona minus control", key, Estimate.parse(breadth[key], f"breadth.{key}"))
            blocks.insert(len(blocks) - 1, Text(f"Persona account's decline minus the control account's, {level}: "
                                                f"{est}."))
    repeats = [r for r in breadth.get("per_repeat") or [] if isinstance(r, Mapping)]
    if repeats:
        blocks.append(Table("Decline of each repeat (one fresh persona and control account each)",
                            ("repeat", "persona (top)", "persona (full)", "control (top)", "control (full)"),
                            tuple((str(r.get("repeat", i)),
                                   *(col.value(f"repeat {r.get('repeat', i)} {acc}", f"decline {level}",
                                               (r.get(acc) or {}).get(level))
                                     for acc in ("persona", "control") for level in ("top", "full")))
                                  for i, r in enumerate(repeats))))
    numbers += col.rows
    return [Section(f"audit-{slug}-diversity", "Diversity over windows (breadth)", tuple(figures), 3),
            Section(f"audit-{slug}-breadth", "Relative decline (breadth)", tuple(blocks), 3)]


def _depth(source: Source, slug: str, numbers: list[Any]) -> Section:
    depth = source.data["depth"]
    col = Numbers(f"audit {source.label} BEP")
    blocks: list[Block] = []
    if "bep" in depth:
        bep = col.estimate("depth", "BEP", Estimate.parse(depth["bep"], "depth.bep"))
        blocks.append(Text(f"Bubble escape potential (BEP): Jensen-Shannon divergence (base 2, 0 = no change, "
                           f"1 = disjoint) between the cultivation and reversal phases' categories: {bep}."))
    if "bep_full" in depth:
        full = col.estimate("depth", "BEP (full paths)", Estimate.parse(depth["bep_full"], "depth.bep_full"))
        blocks.append(Text(f"The same on full category paths (sub-categories): {full}."))
    rows = []
    for i, entry in enumerate(depth.get("bep_per_repeat") or []):
        # older files list plain numbers; audit.results writes {"repeat": r, "bep": ESTIMATE} (bootstrap CI, n videos)
        repeat = entry.get("repeat", i) if isinstance(entry, Mapping) else i
        value = entry.get("bep") if isinstance(entry, Mapping) else entry
        rows.append((str(repeat), col.estimate(f"repeat {repeat}", "BEP",
                                               Estimate.parse(value, f"depth.bep_per_repeat[{i}]"))))
    if rows:
        blocks.append(Table("BEP of each repeat (fresh account; bootstrap 95% CI over videos, n = videos)",
                            ("repeat", "BEP"), tuple(rows)))
    top = depth.get("top10") or {}
    cultivation, reversal = list(top.get("cultivation") or []), list(top.get("reversal") or [])
    if cultivation or reversal:
        shift: list[tuple[str, ...]] = []
        for i in range(max(len(cultivation), len(reversal))):
            left = cultivation[i] if i < len(cultivation) else {}
            right = reversal[i] if i < len(reversal) else {}
            shift.append((str(i + 1), str(left.get("category", "")),
                         col.value(f"cultivation rank {i + 1}", "share", left.get("share")) if left else "",
                         str(right.get("category", "")),
                         col.value(f"reversal rank {i + 1}", "share", right.get("share")) if right else "",
                         str(right.get("marker", ""))))
        blocks.append(Table("Top-10 categories per phase (share of the phase's videos); marker: NEW = absent from "
                            "the cultivation top 10, up/down = rank moved, = unchanged",
                            ("rank", "cultivation category", "share", "reversal category", "share", "shift"),
                            tuple(shift)))
    numbers += col.rows
    return Section(f"audit-{slug}-bep", "Bubble escape potential (depth)", tuple(blocks), 3)


def _incidents(source: Source, slug: str, numbers: list[Any]) -> Section:
    incidents = source.data.get("incidents") or {}
    col = Numbers(f"audit {source.label} incidents")
    rows = tuple((name.replace("_", " "), col.value("incidents", name, value)) for name, value in incidents.items())
    numbers += col.rows
    body: Block = (Table("Incidents during the run (counts over all repeats and accounts)", ("incident", "count"), rows)
                   if rows else Text("No incident record in results.json."))
    return Section(f"audit-{slug}-incidents", "Incidents", (body,), 3)


def _persona(source: Source, slug: str) -> Section:
    card = source.companions.get("persona")
    if not isinstance(card, Mapping):
        return Section(f"audit-{slug}-persona", "Persona", (Text("No persona.json beside results.json."),), 3)
    blocks: list[Block] = []
    # audit.protocols writes {"persona": card, "reversed": card}; a bare card is accepted too
    inner = card.get("persona")
    main: Mapping[str, Any] = inner if isinstance(inner, Mapping) else card
    cards = [main] + [v for k, v in card.items() if k in ("reversed", "reversed_persona") and isinstance(v, Mapping)]
    for one in cards:
        traits = one.get("traits") or {}
        what = one.get("narrative") or one.get("how") or "(no narrative)"
        if one.get("reverses"):
            what = f"reverses {one['reverses']}: {what}"
        blocks.append(Text(f"Persona {one.get('persona_id', '?')}: {what}"))
        if isinstance(traits, Mapping) and traits:
            blocks.append(Table(f"Traits of {one.get('persona_id', '?')}", ("trait", "level", "why"),
                                tuple((name.replace("_", " "), str((t or {}).get("level", "")),
                                       str((t or {}).get("rationale", ""))) for name, t in traits.items())))
    return Section(f"audit-{slug}-persona", "Persona card", tuple(blocks), 3)


def _policy(source: Source, slug: str, numbers: list[Any]) -> Section:
    policy = source.data.get("policy") or {}
    col = Numbers(f"audit {source.label} policy")
    rows = [("kind", str(policy.get("kind", "unknown")))]
    evaluation = policy.get("evaluation")
    if isinstance(evaluation, Mapping):
        for key, value in evaluation.items():
            if isinstance(value, Mapping) and "mean" in value:
                rows.append((key.replace("_", " "), col.estimate("policy evaluation", key, Estimate.parse(value, key))))
            elif isinstance(value, int | float | str | bool):
                rows.append((key.replace("_", " "), col.value("policy evaluation", key, value)))
    numbers += col.rows
    note = "" if isinstance(evaluation, Mapping) else "No evaluation of this policy was given to the audit."
    return Section(f"audit-{slug}-policy", "Policy and its evaluation",
                   (Table("The policy that acted for the persona", ("field", "value"), tuple(rows), note),), 3)


def _manifest(source: Source, slug: str, numbers: list[Any]) -> Section:
    manifest = source.companions.get("manifest")
    if not isinstance(manifest, Mapping):
        return Section(f"audit-{slug}-manifest", "Run manifest", (Text("No manifest.json beside results.json."),), 3)
    col = Numbers(f"audit {source.label} manifest")
    rows = key_values(col, "manifest", manifest)
    numbers += col.rows
    return Section(f"audit-{slug}-manifest", "Run manifest",
                   (Table(f"{source.folder / 'manifest.json'}", ("key", "value"), rows),), 3)


def audit_limitations(source: Source) -> list[str]:
    """What a reader must keep in mind, generated from the run's own figures."""
    data, name = source.data, source.label
    out = []
    categoriser = data.get("categoriser") or {}
    accuracy = categoriser.get("accuracy")
    where = categoriser.get("measured_on", "sandbox items")
    if isinstance(accuracy, int | float):
        out.append(f"{name}: categoriser {categoriser.get('name', '?')} accuracy {accuracy:.2f} measured on {where} "
                   f"(n={categoriser.get('n', '?')}); diversity counts inherit its errors.")
    elif categoriser.get("name") == "platform" and (data.get("feed") or {}).get("kind") == "sandbox":
        out.append(f"{name}: categories are the sandbox items' own (true) categories; a real app's labels or a "
                   "categoriser would add errors.")
    else:
        out.append(f"{name}: categoriser {categoriser.get('name', '?')} accuracy not measured.")
    if data.get("repeats") == 1:
        out.append(f"{name}: single repeat: no CI across accounts; the estimates are one account's values.")
    kind = (data.get("feed") or {}).get("kind")
    if kind in ("sandbox", "virtual"):
        out.append(f"{name}: run on the {feed_name(data)}, whose recommender is the sandbox's; the figures describe "
                   "the sandbox, not a real app.")
    incidents = {k: v for k, v in (data.get("incidents") or {}).items() if isinstance(v, int) and v > 0}
    if incidents:
        out.append(f"{name}: incidents during the run: " + ", ".join(f"{k} {v}" for k, v in incidents.items()) + ".")
    evaluation = (data.get("policy") or {}).get("evaluation")
    if not isinstance(evaluation, Mapping):
        out.append(f"{name}: the policy's fidelity to the person was not evaluated for this run.")
    else:
        for key, value in evaluation.items():  # paired SMAPE differences against trivial baselines (< 0 = better)
            if key.startswith("smape_diff_vs_") and isinstance(value, Mapping) and "mean" in value:
                diff = Estimate.parse(value, key)
                if diff.high >= 0:
                    out.append(f"{name}: the policy is not better than the {key.removeprefix('smape_diff_vs_')} "
                               f"baseline for this persona (paired SMAPE difference {diff.text()}).")
    return out
