"""Compare a recorded Trace with the scripted participant's ground truth: segmentation, actions, watch time, transcripts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from device.virtual.participant import View
from recorder.trace import Step

ACTIONS = ("like", "comment", "share")


@dataclass(frozen=True)
class Score:
    """Recorder vs ground truth; `n_*` are the counts each figure rests on."""

    segmentation_recall: float
    segmentation_precision: float
    action_f1: float
    action_counts: dict[str, int]
    comment_text_accuracy: float | None
    watch_mae_s: float
    transcript_hit_rate: float | None
    n_views: int
    n_steps: int
    n_matched: int
    n_watch: int
    n_transcripts: int
    n_unplayed: int = 0  # videos swiped away before their key words were played: not in transcript_hit_rate


def _key(step: Step) -> str:
    return f"{step.meta.author or ''}\x1f{step.meta.caption or ''}"


def match(steps: Sequence[Step], views: Sequence[View], origin: float, tolerance_s: float = 0.6) -> list[tuple[int, int]]:
    """(view index, step index) pairs: same metadata key and starts within `tolerance_s`, in order."""
    pairs: list[tuple[int, int]] = []
    j = 0
    starts = [float(s.extra.get("capture", {}).get("start_h", -1e9)) for s in steps]
    for i, view in enumerate(views):
        start = view.start - origin
        for k in range(j, len(steps)):
            if starts[k] > start + tolerance_s:
                break
            # The recording starts while the first video already plays: its start time is the recorder's, not the view's.
            if _key(steps[k]) == view.key and (abs(starts[k] - start) <= tolerance_s or (i == 0 and k == 0)):
                pairs.append((i, k))
                j = k + 1
                break
        else:
            continue
    return pairs


def _first_view_start_ok(i: int, views: Sequence[View]) -> bool:
    return 0 < i < len(views) - 1  # the first and last views are cut by the recording's start and stop


def score(steps: Sequence[Step], views: Sequence[View], origin: float) -> Score:
    """Every acceptance figure of the recorder."""
    pairs = match(steps, views, origin)
    matched_views = {i for i, _ in pairs}
    matched_steps = {k for _, k in pairs}
    tp = fp = fn = 0
    per_name: Counter[str] = Counter()
    texts_ok = texts = 0
    for i, k in pairs:
        truth = Counter(a["name"] for a in views[i].actions if a["name"] in ACTIONS)
        found = Counter(a.name for a in steps[k].actions if a.name in ACTIONS)
        tp += sum((truth & found).values())
        fp += sum((found - truth).values())
        fn += sum((truth - found).values())
        per_name.update(truth)
        for a in views[i].actions:
            if a["name"] == "comment":
                texts += 1
                texts_ok += any(b.text == a["text"] for b in steps[k].actions if b.name == "comment")
    fn += sum(1 for i, v in enumerate(views) if i not in matched_views for a in v.actions if a["name"] in ACTIONS)
    fp += sum(1 for k, s in enumerate(steps) if k not in matched_steps for a in s.actions if a.name in ACTIONS)
    f1 = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0
    errors = [abs(steps[k].watch_s - (views[i].end - views[i].start)) for i, k in pairs if _first_view_start_ok(i, views)]
    # A transcript can only hold words the phone played: videos left before their speech ended are counted apart.
    spoken = [(i, k) for i, k in pairs if heard_in_full(views[i])]
    unplayed = sum(1 for v in views if v.keywords and v.words_played is False)
    hits = sum(keywords_heard(views[i].keywords, steps[k].transcript) for i, k in spoken)
    return Score(
        segmentation_recall=len(pairs) / len(views) if views else 1.0,
        segmentation_precision=len(pairs) / len(steps) if steps else 1.0,
        action_f1=f1, action_counts=dict(per_name),
        comment_text_accuracy=texts_ok / texts if texts else None,
        watch_mae_s=sum(errors) / len(errors) if errors else float("nan"),
        transcript_hit_rate=hits / len(spoken) if spoken and any(s.transcript for s in steps) else None,
        n_views=len(views), n_steps=len(steps), n_matched=len(pairs), n_watch=len(errors), n_transcripts=len(spoken),
        n_unplayed=unplayed)


def heard_in_full(view: View) -> bool:
    """Whether a view says key words and the phone played all its speech (unknown counts as played)."""
    return bool(view.keywords) and view.words_played is not False


def keywords_heard(keywords: Sequence[str], text: str | None) -> bool:
    """Whether `text` holds every key word (case-insensitive), the test of a transcript."""
    lowered = (text or "").lower()
    return all(word.lower() in lowered for word in keywords)
