"""The keyword categoriser and the genre resolver (moved from the sandbox creators into the recorder)."""

from __future__ import annotations

import pytest

from recorder.categorise import GenreResolver, KeywordCategoriser
from recorder.taxonomy import load_taxonomy
from recorder.trace import VideoMeta


def test_resolver_exact_alias_typo_and_invented_sub():
    r = GenreResolver(load_taxonomy())
    assert r.resolve("Knowledge/Science") == ("Knowledge", "Science")
    assert r.resolve("搞笑") == ("Entertainment", "Comedy")
    assert r.resolve("Knowlege / Sciense") == ("Knowledge", "Science")
    assert r.resolve("Music/Kazoo") == ("Music",)
    assert r.try_resolve("zzzz unrelated") is None
    with pytest.raises(ValueError, match="not in the taxonomy"):
        r.resolve("zzzz unrelated")


def test_keyword_categoriser_prefers_hashtags_and_names_its_source():
    cat = KeywordCategoriser.shipped()
    found = cat.categorise(VideoMeta(caption="my new build", hashtags=("编程",)), "today some code review")
    assert found is not None and found.path == ("Technology", "Programming") and found.source == "keyword"
    assert 0.0 < (found.confidence or 0) <= 1.0
    assert cat.categorise(VideoMeta(caption="qwxyz"), None) is None


def test_platform_labels_resolve_to_platform_categories():
    cat = KeywordCategoriser.shipped()
    found = cat.platform_label(["", "游戏"])
    assert found is not None and found.path == ("Gaming",) and found.source == "platform"
    assert cat.platform_label(["not a zone"]) is None
