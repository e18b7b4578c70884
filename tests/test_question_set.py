"""The independent question set (tests/data/questions_*.yaml) measured against the bundled knowledge base.

The question sets were written from the seed articles by someone who never saw the
knowledge base's phrasings; the holdout file was not looked at while tuning. See
``tools/evaluate.py`` for the metric definitions and
``python -m tools.evaluate --holdout`` for the per-kind table.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bot.matching.matcher import Matcher
from tools.evaluate import (
    HOLDOUT_FILE,
    HOLDOUT_FILES,
    TUNE_FILE,
    TUNE_FILES,
    Tally,
    evaluate,
    load_questions,
    load_sets,
    matcher_decider,
)

KINDS = {"plain", "paraphrase", "keyword", "typo", "acronym", "rambling", "noise", "out-of-scope"}


@pytest.fixture(scope="module")
def whole_set(bundled_kb) -> Tally:
    questions = load_sets(TUNE_FILES) + load_sets(HOLDOUT_FILES)
    return evaluate(matcher_decider(Matcher(bundled_kb)), questions)["all"]


def test_question_set_shape(bundled_kb):
    tune, holdout = load_sets(TUNE_FILES), load_sets(HOLDOUT_FILES)
    everything = tune + holdout
    assert len(everything) >= 250
    assert sum(not q.expected for q in everything) >= 60
    assert len(holdout) * 3 >= len(everything), "at least a third is holdout"
    assert {q.kind for q in tune} == {q.kind for q in holdout} == KINDS
    assert {i for q in everything for i in q.expected} <= set(bundled_kb.entries)
    assert all(bool(q.expected) != (q.kind == "out-of-scope") for q in everything)
    covered = Counter(i for q in everything for i in q.expected)
    assert [e.id for e in bundled_kb if covered[e.id] < 3] == [], "every entry is asked about at least 3 times"
    assert not {q.text.casefold() for q in tune} & {q.text.casefold() for q in holdout}


def test_no_regression_below_measured_accuracy(whole_set):
    """Floors at the latest measured figures on all 1,802 questions
    (answered right 89.2, top-1 89.2, rejected 93.4, wrong 2.1); raise them as they improve."""
    rates = whole_set.rates()
    assert rates["answered_right"] >= 88.8
    assert rates["top1"] >= 88.8
    assert rates["rejected"] >= 93.0
    assert rates["wrong"] <= 2.3


def test_issue_accuracy_thresholds(bundled_kb):
    """The knowledge-base issue's bar on the 598 questions it was set on, which may only ever be raised
    (now 595 of them; measured: top-1 92.8, answered right 92.8, rejected 97.3, wrong 1.2)."""
    questions = load_questions(TUNE_FILE) + load_questions(HOLDOUT_FILE)
    rates = evaluate(matcher_decider(Matcher(bundled_kb)), questions)["all"].rates()
    assert rates["top1"] >= 90.0
    assert rates["rejected"] >= 90.0
    assert rates["wrong"] <= 5.0
