"""The audit categoriser: platform labels, then a JSON-validated chat answer, then keywords; cached; trace filling."""

from __future__ import annotations

from audit.categoriser import Categoriser, measure_accuracy, sandbox_sample, trace_categorise
from personas.models.fake import ScriptedChatModel
from recorder.store import read_trace, write_trace
from recorder.trace import Category, Step, Trace, TraceHeader, VideoMeta
from tests.audit.conftest import START


def test_chat_answer_is_validated_then_cached():
    chat = ScriptedChatModel(['{"category": "Cooking show"}', '{"category": "Food/Cooking"}'])
    cat = Categoriser(chat=chat)
    meta = VideoMeta(video_id="v1", caption="my dinner tonight")
    found = cat.categorise(meta, "we make noodles")
    assert found is not None and found.path == ("Food", "Cooking") and found.source == "model"
    assert len(chat.calls) == 2 and "not in the taxonomy" in chat.calls[1].last_user_text  # told what was wrong
    assert cat.categorise(meta) == found and len(chat.calls) == 2  # cached per video id


def test_unusable_model_falls_back_to_keywords_and_labels_win():
    cat = Categoriser(chat=ScriptedChatModel(lambda messages: "no idea"), max_retries=0)
    found = cat.categorise(VideoMeta(video_id="v2", caption="cat video", hashtags=("猫",)), None)
    assert cat.failures == 1 and (found is None or found.source == "keyword")
    label = cat.categorise(VideoMeta(video_id="v3"), None, labels=["游戏"])
    assert label is not None and label.source == "platform" and label.path == ("Gaming",)


def test_trace_categorise_fills_missing_categories_in_place(tmp_path):
    steps = (Step(0, START, 3.0, meta=VideoMeta(caption="today we code python", hashtags=("编程",))),
             Step(1, START, 2.0, meta=VideoMeta(caption="x"), category=Category(("Music",), "human")),
             Step(2, START, 2.0, meta=VideoMeta(caption="qqq zzz")))
    write_trace(tmp_path / "t", Trace(TraceHeader("t", "human", "douyin", START), steps))
    counts = trace_categorise([tmp_path / "t"], Categoriser())
    trace = read_trace(tmp_path / "t")
    assert counts == {"filled": 1, "kept": 1, "unknown": 1}
    assert trace.steps[0].category.path == ("Technology", "Programming") and trace.steps[0].category.source == "keyword"
    assert trace.steps[1].category.source == "human" and trace.steps[2].category is None


def test_accuracy_against_sandbox_truth():
    sample = sandbox_sample(60, seed=3)
    assert all(item.truth and item.meta.video_id for item in sample)
    result = measure_accuracy(Categoriser().categorise, sample)
    assert result["n"] == 60 and 0.0 <= result["accuracy_top"]["ci"][0] <= result["accuracy_top"]["mean"] <= 1.0
    assert result["accuracy_top"]["mean"] > 0.5  # hashtags are taxonomy aliases on sandbox items
