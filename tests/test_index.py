"""The title index on an index larger than its candidate pool, where its shortcuts apply."""

from __future__ import annotations

from bot.matching.index import TitleIndex

LIMIT = 50


def crowded_index() -> TitleIndex:
    """600 titles: most share the common words "nato" and "north"; only a few have rarer words."""
    titles = {number: f"nato north policy {number}" for number in range(590)}
    titles |= {590 + number: f"nuclear sharing {number}" for number in range(5)}
    titles |= {595 + number: f"naval mission {number} north" for number in range(5)}
    return TitleIndex(titles)


def test_small_index_offers_every_title():
    titles = {0: "cyber defence", 1: "article 5"}
    assert TitleIndex(titles).candidates("c", limit=LIMIT) == titles


def test_a_rare_word_keeps_its_titles_in_the_pool_whatever_the_common_prefix_brings():
    pool = crowded_index().candidates("naval n", limit=LIMIT)
    assert len(pool) == LIMIT
    assert {595, 596, 597, 598, 599} <= pool.keys()
    assert all(title.split()[0] in {"nato", "naval", "nuclear"} for title in pool.values())


def test_titles_matching_more_words_rank_first():
    pool = list(crowded_index().candidates("naval mission nor", limit=LIMIT))
    assert set(pool[:5]) == {595, 596, 597, 598, 599}


def test_a_single_letter_fills_the_pool_with_titles_it_begins_a_word_of():
    index = crowded_index()
    pool = index.candidates("s", limit=LIMIT)
    assert pool.keys() == {590, 591, 592, 593, 594}
    assert len(index.candidates("n", limit=LIMIT)) == LIMIT


def test_a_misspelt_word_counts_for_the_closest_title_word_with_its_first_letter():
    index = crowded_index()
    assert set(index.candidates("nuclaer sh", limit=LIMIT)) >= {590, 591, 592, 593, 594}
    assert not index.candidates("mnuclear", limit=LIMIT)  # a different first letter is not a typo fix
