"""Tests of the shipped taxonomy: shape, lookups, keyword matching, validation errors."""

import pytest

from recorder.taxonomy import TaxonomyError, load_taxonomy, taxonomy_from_mapping


def test_shipped_taxonomy_has_enough_categories_with_colours_and_chinese_aliases():
    tax = load_taxonomy()
    assert len(tax.top_level) >= 15
    assert all(top.subcategories and top.bgr for top in tax.categories)
    assert all(any(not a.isascii() for a in top.aliases) for top in tax.categories)
    assert ("Gaming", "MOBA") in tax.paths()


def test_lookup_by_path_and_alias():
    tax = load_taxonomy()
    assert tax.resolve("Knowledge/science") == ("Knowledge", "Science")
    assert tax.resolve("王者荣耀") == ("Gaming", "MOBA")
    assert tax.lookup("科普") == ("Knowledge",)
    with pytest.raises(KeyError, match="unknown category"):
        tax.resolve("Nonsense")


def test_keyword_match_prefers_hashtags_and_whole_words():
    tax = load_taxonomy()
    hit = tax.match("今天教大家做饭", ["#家常菜"])
    assert hit is not None and hit.path == ("Food", "Cooking")
    assert tax.match("start the party") is None  # 'art' must not match inside 'start'


def test_duplicate_alias_is_rejected_with_names():
    data = {"categories": [
        {"name": "A", "colour": "#000000", "aliases": ["x"], "subcategories": [{"name": "A1"}]},
        {"name": "B", "colour": "#000000", "aliases": ["x"], "subcategories": [{"name": "B1"}]}]}
    with pytest.raises(TaxonomyError, match="'x'.*already used by A"):
        taxonomy_from_mapping(data)


def test_bad_colour_is_rejected():
    data = {"categories": [{"name": "A", "colour": "red", "subcategories": [{"name": "A1"}]}]}
    with pytest.raises(TaxonomyError, match="colour"):
        taxonomy_from_mapping(data)
