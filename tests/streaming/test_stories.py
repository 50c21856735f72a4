"""Stories: near-duplicates within the horizon share one story id (MinHash LSH)."""

from __future__ import annotations

import pytest

from streaming.stories import MemoryStories, bands_for

ORIGIN = "Tesco share price down as grocer faces SFO investigation over its accounts"


def test_reposts_and_light_edits_join_the_first_story_and_others_start_their_own() -> None:
    index = MemoryStories(similarity=0.6)
    first = index.stories({"a": ORIGIN, "n": "Nvidia market value tops $3 trillion on AI demand"})
    assert first == {"a": "a", "n": "n"}
    later = index.stories({
        "b": ORIGIN + " https://t.co/abc123",  # another link
        "c": "BREAKING: " + ORIGIN.upper() + " - Reuters",  # case, a prefix and a suffix
        "d": "Tesco share price up as grocer beats forecasts on strong Christmas sales",
        "e": "Nvidia market value tops $3 trillion on AI demand, shares at record",
    })  # fmt: skip
    assert later == {"b": "a", "c": "a", "d": "d", "e": "n"}


def test_a_story_begun_in_a_batch_is_joined_within_the_same_batch() -> None:
    assert MemoryStories().stories({"x": ORIGIN, "y": ORIGIN + " (update)"}) == {"x": "x", "y": "x"}


def test_a_text_without_words_is_a_story_of_its_own() -> None:
    assert MemoryStories().stories({"p": "!!! ???", "q": "!!! ???"}) == {"p": "p", "q": "q"}


@pytest.mark.parametrize("similarity", [0.3, 0.5, 0.6, 0.8, 0.9])
def test_the_bands_put_the_threshold_near_the_similarity_asked_for(similarity: float) -> None:
    bands, rows = bands_for(similarity)
    assert bands * rows <= 64
    assert abs((1 / bands) ** (1 / rows) - similarity) < 0.08
