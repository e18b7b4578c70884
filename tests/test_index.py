"""The title index on an index larger than its candidate pool, and the word index's typo correction: where
their shortcuts apply, they find what a plain scan finds."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from bot.matching.index import TitleIndex, WordIndex

LIMIT = 50
BUNDLED_WORDS = """
deterrence deterrent defence defense cooperation cooperative intelligence intelligent partnership partnerships
partner sovereignty terrorism terrorist terrorists nato nation nations national alliance allied allies ally
article treaty cyber hybrid nuclear conventional diplomacy diplomatic immunity exercises exercise interoperability
"""


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


def test_typo_correction_compares_only_lengths_that_can_reach_the_cutoff_and_finds_what_a_full_scan_finds():
    """The length window is an optimisation only: the same word as comparing every known word of the same initial."""
    vocabulary = sorted({w for w in BUNDLED_WORDS.split()})
    index = WordIndex([vocabulary], [[]], summary_credit=0.0)
    typed = ["deterence", "deterrrence", "cooperaton", "intellgence", "partnershp", "sovereinty", "nato", "terorism"]
    typed += [word[:-cut] for word in vocabulary for cut in (1, 2, 3)] + [word + "es" for word in vocabulary]
    for cutoff in (75.0, 85.0, 90.0):
        for word in typed:
            same_initial = [known for known in vocabulary if known[0] == word[0]]
            found = process.extractOne(word, same_initial, scorer=fuzz.ratio, score_cutoff=cutoff)
            assert index.correct(word, cutoff) == (found[0] if found else word), (word, cutoff)
