"""Measure the matcher on a labelled question set, beside simple baselines.

``python -m bot.matching.evaluate [--holdout] [--grid]`` prints accuracy per
question kind. The question files live in ``tests/data/``; each item has ``q``
(the question), ``expect`` (an entry id, a list of acceptable ids, or null for
out of scope) and ``kind``. Definitions used everywhere (tests, closing notes):

- **rank-1**: in scope, and the best-scoring entry is an expected one, whatever
  the score (ranking quality alone);
- **top-1**: in scope, and the bot's best entry (answered or offered first as
  "did you mean") is an expected one;
- **answered right**: in scope, answered outright with an expected entry;
- **rejected**: out of scope and unanswered;
- **wrong**: answered outright with an entry that is not expected (any question).
"""

from __future__ import annotations

import argparse
import difflib
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from bot.config import PROJECT_ROOT
from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.matching.matcher import Matcher, Outcome, Scoring, Thresholds, decide

QUESTIONS_DIR = PROJECT_ROOT / "tests" / "data"
TUNE_FILE = QUESTIONS_DIR / "questions_tune.yaml"
HOLDOUT_FILE = QUESTIONS_DIR / "questions_holdout.yaml"


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    expected: frozenset[str]  # empty: out of scope
    kind: str


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    entry_id: str | None  # the best entry offered (answered or first suggestion)


@dataclass
class Tally:
    questions: int = 0
    in_scope: int = 0
    rank1: int = 0
    top1: int = 0
    answered_right: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    wrong: int = 0
    misses: list[tuple[Question, Verdict]] = field(default_factory=list)

    def add(self, question: Question, verdict: Verdict) -> None:
        self.questions += 1
        offered = verdict.outcome is not Outcome.UNANSWERED
        right = verdict.entry_id in question.expected
        if question.expected:
            self.in_scope += 1
            self.rank1 += right
            self.top1 += offered and right
            self.answered_right += verdict.outcome is Outcome.ANSWERED and right
        else:
            self.out_of_scope += 1
            self.rejected += not offered
        wrong = verdict.outcome is Outcome.ANSWERED and not right
        self.wrong += wrong
        if wrong or (question.expected and not (offered and right)) or (not question.expected and offered):
            self.misses.append((question, verdict))

    def rates(self) -> dict[str, float]:
        def pct(part: int, whole: int) -> float:
            return round(100 * part / whole, 1) if whole else float("nan")

        return {
            "rank1": pct(self.rank1, self.in_scope),
            "top1": pct(self.top1, self.in_scope),
            "answered_right": pct(self.answered_right, self.in_scope),
            "rejected": pct(self.rejected, self.out_of_scope),
            "wrong": pct(self.wrong, self.questions),
        }


def load_questions(path: Path) -> list[Question]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    questions = []
    for item in items:
        expect = item.get("expect")
        expected = frozenset([expect] if isinstance(expect, str) else expect or [])
        questions.append(Question(str(item["q"]), expected, item["kind"]))
    return questions


def evaluate(decide: Callable[[str], Verdict], questions: Sequence[Question]) -> dict[str, Tally]:
    """Tallies per question kind, plus ``"all"``."""
    tallies: defaultdict[str, Tally] = defaultdict(Tally)
    for question in questions:
        verdict = decide(question.text)
        tallies[question.kind].add(question, verdict)
        tallies["all"].add(question, verdict)
    return dict(tallies)


def matcher_decider(matcher: Matcher) -> Callable[[str], Verdict]:
    def verdict(text: str) -> Verdict:
        match = matcher.match(text)
        return Verdict(match.outcome, match.best.entry.id if match.best else None)

    return verdict


def closest_title(knowledge: KnowledgeBase, method: str) -> Callable[[str], tuple[str, float]]:
    """The simplest thing that could work: the entry whose title is closest, and how close.

    ``method`` is ``"wratio"`` (rapidfuzz WRatio, 0-100) or ``"difflib"``
    (stdlib SequenceMatcher ratio x 100), both on lower-cased text.
    """
    titles = {entry.id: entry.title.lower() for entry in knowledge}

    def best(text: str) -> tuple[str, float]:
        if method == "wratio":
            _, score, entry_id = process.extractOne(text.lower(), titles, scorer=fuzz.WRatio)
            return entry_id, score
        scores = {i: difflib.SequenceMatcher(None, text.lower(), t).ratio() * 100 for i, t in titles.items()}
        entry_id = max(scores, key=scores.__getitem__)
        return entry_id, scores[entry_id]

    return best


def format_report(name: str, tallies: dict[str, Tally]) -> str:
    lines = [
        f"{name}",
        f"  {'kind':14} {'n':>4} {'rank-1':>7} {'top-1':>7} {'answered':>9} {'rejected':>9} {'wrong':>7}",
    ]
    for kind in sorted(tallies, key=lambda k: (k == "all", k)):
        tally, rates = tallies[kind], tallies[kind].rates()
        lines.append(
            f"  {kind:14} {tally.questions:4} {rates['rank1']:7} {rates['top1']:7} {rates['answered_right']:9} "
            f"{rates['rejected']:9} {rates['wrong']:7}"
        )
    return "\n".join(lines)


def set_sort_mean(query: str, phrasing: str, **kwargs: Any) -> float:
    """Mean of token_set_ratio (rewards a phrasing found inside a long question) and
    token_sort_ratio (penalises phrasings with words the question lacks)."""
    return (fuzz.token_set_ratio(query, phrasing, **kwargs) + fuzz.token_sort_ratio(query, phrasing, **kwargs)) / 2


SIMILARITIES: dict[str, Callable[..., float]] = {
    "set_sort_mean": set_sort_mean,
    "token_sort_ratio": fuzz.token_sort_ratio,
}


def grid(knowledge: KnowledgeBase, questions: Sequence[Question]) -> list[tuple[tuple, dict[str, float]]]:
    """Every scorer x coverage weight x threshold combination on ``questions``, best first.

    Ranked by top-1 + rejected - 3 x wrong: a wrong answer costs more than a shy one.
    """
    results = []
    wide_open = Thresholds(answer=100, suggest=0, margin=0)  # keep every runner-up; re-decided below
    choices = itertools.product(SIMILARITIES.items(), (0.5, 0.6, 0.7), (0.5,), (1.0, 1.5), (0, 1), (12, 14))
    for (name, scorer), weight, summary_credit, unknown_weight, specifics, cap in choices:
        scoring = Scoring(scorer, weight, summary_credit, unknown_weight, specifics, cap)
        matcher = Matcher(knowledge, wide_open, scoring)
        rankings = [(q, matcher.match(q.text).ranked) for q in questions]
        for answer_at, suggest_at, margin in itertools.product(range(50, 90, 4), range(30, 70, 4), (0, 3, 6)):
            if suggest_at > answer_at:
                continue
            thresholds = Thresholds(answer_at, suggest_at, margin)
            tally = Tally()
            for question, ranked in rankings:
                match = decide(ranked, thresholds)
                tally.add(question, Verdict(match.outcome, match.best.entry.id if match.best else None))
            config = (name, weight, summary_credit, unknown_weight, specifics, cap, answer_at, suggest_at, margin)
            results.append((config, tally.rates()))
    results.sort(key=lambda r: -merit(r[1]))
    return results


def merit(rates: dict[str, float]) -> float:
    """How the grid and the baselines' thresholds are ranked: a wrong answer costs three shy ones,
    and a direct answer is worth a little more than a "did you mean"."""
    return rates["top1"] + rates["rejected"] + 0.25 * rates["answered_right"] - 3 * rates["wrong"]


def baseline_tallies(
    knowledge: KnowledgeBase, method: str, tune: Sequence[Question], reported: Sequence[Question]
) -> tuple[float, dict[str, Tally]]:
    """The baseline on ``reported``, answering above the threshold that suits it best on ``tune``.

    Choosing its threshold on the tuning set keeps the comparison fair to the baseline.
    """
    best = closest_title(knowledge, method)
    tuned = [(q, best(q.text)) for q in tune]

    def tallies(scored: list[tuple[Question, tuple[str, float]]], threshold: float) -> dict[str, Tally]:
        answers = {
            q.text: Verdict(Outcome.ANSWERED if s >= threshold else Outcome.UNANSWERED, i) for q, (i, s) in scored
        }
        return evaluate(answers.__getitem__, [q for q, _ in scored])

    threshold = max(range(30, 100, 5), key=lambda t: merit(tallies(tuned, t)["all"].rates()))
    scored = tuned if reported is tune else [(q, best(q.text)) for q in reported]
    return threshold, tallies(scored, threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=PROJECT_ROOT / "knowledge")
    parser.add_argument("--holdout", action="store_true", help="also report the holdout set (final figures only)")
    parser.add_argument("--grid", action="store_true", help="search scorers and thresholds on the tuning set")
    parser.add_argument("--misses", action="store_true", help="list the tuning set's misses")
    args = parser.parse_args()
    knowledge = load_knowledge(args.knowledge)
    tune = load_questions(TUNE_FILE)
    if args.grid:
        for config, rates in grid(knowledge, tune)[:25]:
            print(config, rates)
        return
    sets = [("tuning set", tune)] + ([("holdout set", load_questions(HOLDOUT_FILE))] if args.holdout else [])
    for label, questions in sets:
        print(format_report(f"allybot matcher — {label}", evaluate(matcher_decider(Matcher(knowledge)), questions)))
        for method in ("wratio", "difflib"):
            threshold, tallies = baseline_tallies(knowledge, method, tune, questions)
            print(format_report(f"baseline: {method} over titles, answer at >= {threshold} — {label}", tallies))
    if args.misses:
        for question, verdict in evaluate(matcher_decider(Matcher(knowledge)), tune)["all"].misses:
            print(f"  {sorted(question.expected) or '-'} <- {verdict.outcome} {verdict.entry_id} :: {question.text!r}")


if __name__ == "__main__":
    main()
