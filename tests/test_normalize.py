"""Normalisation: what the matcher compares, for questions and phrasings alike."""

from __future__ import annotations

import pytest

from bot.knowledge.model import Acronym, Glossary
from bot.matching.normalize import MAX_NORMALIZED_INPUT, Normalizer

GLOSSARY = Glossary(
    acronyms=(
        Acronym("PfP", "Partnership for Peace"),
        Acronym("NRF", "NATO Response Force"),
        Acronym("US", "United States", match_case=True),
    ),
    synonyms={"defense": "defence", "counter terrorism": "counterterrorism", "counter-terrorism": "counterterrorism"},
)


@pytest.fixture(scope="module")
def normalize() -> Normalizer:
    return Normalizer(GLOSSARY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("What IS Article 5?", "what is article 5"),
        ("  lots   of\tspace\n\nhere  ", "lots of space here"),
        ("<@123456789012345678> <@!1234> <@&999> <#42> what is deterrence", "what is deterrence"),
        ("@everyone @here nuclear policy", "nuclear policy"),
        ("see https://example.org/a?b=c and www.nato.int now", "see and now"),
        ("**bold** *it* __under__ ~~strike~~ `code` ||spoiler|| > quote", "bold it under code spoiler quote"),
        ("```py\nprint('x')\n```", "py print x"),
        ("[the treaty](https://example.org)", "the treaty"),
        ("deterrence 🛡️🤔 <:nato:456789012345678901> <a:wave:1>", "deterrence"),
        ("NATO’s role, explained!!!", "nato role explained"),
        ("Défense européenne", "defence europeenne"),
        ("nu\u200bclear \u202edeterrence\u202c", "nuclear deterrence"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("lone \ud800 surrogate", "lone surrogate"),
    ],
)
def test_normalisation_steps(normalize, raw, expected):
    assert normalize(raw) == expected


def test_glossary_expands_acronyms_in_any_case(normalize):
    assert normalize("what is pfp") == "what is partnership for peace"
    assert normalize("What is the PfP?") == "what is the partnership for peace"
    assert normalize("NRF readiness") == "nato response force readiness"


def test_case_sensitive_acronym_leaves_the_ordinary_word_alone(normalize):
    assert normalize("US policy") == "united states policy"
    assert normalize("U.S. policy") == "united states policy"
    assert normalize("tell us about policy") == "tell us about policy"


def test_synonyms_and_multi_word_variants(normalize):
    assert normalize("missile defense") == "missile defence"
    assert normalize("Counter-Terrorism and counter terrorism") == "counterterrorism and counterterrorism"
    assert normalize("defenseless") == "defenseless"  # whole words only


def test_long_input_is_capped(normalize):
    assert len(normalize("word " * 50_000)) <= MAX_NORMALIZED_INPUT


@pytest.mark.parametrize("raw", ["", "   ", "🛡️🤔", "<@123> @everyone", "!!!???", "\x00\x01\x02"])
def test_nothing_readable_gives_empty_text(normalize, raw):
    assert normalize(raw) == ""


def test_idempotent(normalize):
    once = normalize("The **US** & PfP: counter-terrorism?!")
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("asking for a friend: what is deterrence?", "what is deterrence"),
        ("need it for my essay, what is deterrence thanks in advance", "what is deterrence"),
        ("good morning all! quick question, what is deterrence", "what is deterrence"),
        ("explain like i'm 5: nuclear sharing", "nuclear sharing"),
        ("a friendly country and plain facts", "a friendly country and plain facts"),
        ("hot take: dumb question, what is deterrence", "what is deterrence"),
        ("saw this in general, not trying to start a fight: what is deterrence", "general what is deterrence"),
    ],
)
def test_chat_filler_around_a_question_is_dropped(normalize, raw, expected):
    assert normalize(raw) == expected
