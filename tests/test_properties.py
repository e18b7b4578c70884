"""Properties of normalisation, matching and answering, for any text (hypothesis).

The text strategy mixes hypothesis's own characters with the nasty ones: lone surrogates (which
``text()`` leaves out by default; the service promises to take any ``str``, so they are in), invisible
and bidi characters, control characters, Discord syntax, markdown, SQL, and words the knowledge base
knows, sometimes repeated far past the length caps. Examples are bounded so the file stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.frontends.cli import _print_answers, _questions
from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Match, Matcher, Outcome, Scored, Thresholds, decide
from bot.service import MAX_QUESTION_CHARS, AnswerService, QuerySource

FEW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
FRAGMENTS = [
    "article 5",
    "Article Five",
    "PfP",
    "US",
    "us",
    "U.S.",
    "NATO's",
    "nuclear deterrence",
    "cyber defence",
    "hybrid warfare",
    "what is",
    "@everyone",
    "@here",
    "<@&940000000000000001>",
    "<@!930000000000000009>",
    "<#920000000000000001>",
    "<:nato:123456789012345678>",
    "<t:1700000000:R>",
    "https://example.com/a_b?c=<d>",
    "[label](https://x.example)",
    "```",
    "**",
    "||",
    "'; DROP TABLE queries; --",
    "ＮＡＴＯ",
    "Défense",
    "\u0301",
    "\0",
    "\x1b[31m",
    "🛡️",
    "👩\u200d👩\u200d👧",
]
CHARACTER = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates
    st.sampled_from(INVISIBLE + "\0\x1b\x7f\x85\t\r\n\u2028"),
)
PIECE = st.one_of(
    st.lists(CHARACTER, max_size=12).map("".join),  # text() would drop the surrogates, even from this alphabet
    st.sampled_from(FRAGMENTS),
    st.builds(lambda fragment, times: fragment * times, st.sampled_from(FRAGMENTS), st.integers(1, 800)),
)
TEXT = st.lists(PIECE, max_size=6).map(" ".join)
THRESHOLDS = st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100)).map(
    lambda t: Thresholds(answer=max(t[0], t[1]), suggest=min(t[0], t[1]), margin=t[2])
)


@pytest.fixture(scope="module")
def matcher(bundled_kb: KnowledgeBase) -> Matcher:
    return Matcher(bundled_kb)


@pytest.fixture(scope="module")
def twin(bundled_kb: KnowledgeBase) -> Matcher:
    """A second index over the same knowledge base: no state may make the two answer differently."""
    return Matcher(bundled_kb)


@pytest.fixture(scope="module")
def service(bundled_kb: KnowledgeBase) -> AnswerService:
    return AnswerService(bundled_kb)


def linked(one: Entry | None, other: Entry) -> bool:
    return one is not None and (other.id in one.related or one.id in other.related)


def outcome_follows_the_thresholds(match: Match, thresholds: Thresholds) -> None:
    """Module docstring of bot/matching/matcher.py, the decision, in terms of what the match offers.

    The runner-up is the best alternative offered that is not a related entry of the best; runners-up
    below the suggest threshold are offered only as an answer's related siblings, and never count
    against the lead.
    """
    scores = [s.score for s in match.ranked]
    assert scores == sorted(scores, reverse=True) and len(scores) <= Matcher.RANKED
    assert all(0 <= s <= 100 for s in scores)
    best = match.ranked[0].entry if match.ranked else None
    kept = [s for s in match.ranked[1:] if s.score < thresholds.suggest]
    assert all(match.outcome is Outcome.ANSWERED and linked(best, s.entry) for s in kept), (
        "runners-up below the suggest threshold are dropped, but for an answer's related siblings"
    )
    assert len({s.entry.id for s in match.ranked}) == len(scores)
    if not scores or scores[0] < thresholds.suggest:
        assert match.outcome is Outcome.UNANSWERED
        return
    assert best is not None
    rivals = [s.score for s in match.ranked[1:] if s.score >= thresholds.suggest and not linked(best, s.entry)]
    lead = scores[0] - (rivals[0] if rivals else 0.0)  # a related runner-up is a neighbour, not a doubt
    confident = scores[0] >= thresholds.answer and lead >= thresholds.margin
    assert match.outcome is (Outcome.ANSWERED if confident else Outcome.SUGGESTED)


# --- normalisation -------------------------------------------------------------------------------------


@FEW
@given(text=TEXT)
def test_normalize_never_raises_is_deterministic_and_gives_plain_words(matcher, twin, text):
    normalized = matcher.normalize(text)
    assert normalized == matcher.normalize(text) == twin.normalize(text)
    assert normalized == " ".join(normalized.split()), "single spaces, none at the ends"
    assert all(ch.isalnum() or ch == " " for ch in normalized)
    assert normalized == normalized.casefold()


@FEW
@given(
    pieces=st.lists(
        st.tuples(st.text("abcdefghijklmnopqrstuvwxyz ", max_size=8), st.text(INVISIBLE, max_size=3)), max_size=8
    )
)
def test_invisible_characters_cannot_disguise_words(matcher, pieces):
    plain = "".join(word for word, _ in pieces)
    disguised = "".join(word + hidden for word, hidden in pieces)
    assert matcher.normalize(disguised) == matcher.normalize(plain)


# --- matching -----------------------------------------------------------------------------------------


@FEW
@given(text=TEXT)
def test_match_never_raises_is_deterministic_and_follows_the_thresholds(matcher, twin, text):
    match = matcher.match(text)
    assert match == matcher.match(text) == twin.match(text)
    outcome_follows_the_thresholds(match, matcher.thresholds)


@FEW
@given(thresholds=THRESHOLDS, text=TEXT)
def test_any_thresholds_decide_consistently(tiny_kb, thresholds, text):
    outcome_follows_the_thresholds(Matcher(tiny_kb, thresholds).match(text), thresholds)


@FEW
@given(thresholds=THRESHOLDS, scores=st.lists(st.floats(0, 100), max_size=Matcher.RANKED))
def test_decide_follows_the_thresholds_for_any_scores(tiny_kb, thresholds, scores):
    ranked = [Scored(entry, score) for entry, score in zip(tiny_kb, sorted(scores, reverse=True), strict=False)]
    match = decide(ranked, thresholds)
    answered = match.outcome is Outcome.ANSWERED
    offered = [
        s for s in ranked[1:] if s.score >= thresholds.suggest or (answered and linked(ranked[0].entry, s.entry))
    ]
    assert list(match.ranked) == ranked[:1] + offered
    outcome_follows_the_thresholds(match, thresholds)


# --- the answer service, and ask --batch ------------------------------------------------------------------


def shown(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("latency_ms", "query_id")}


@FEW
@given(text=TEXT)
def test_answer_never_raises_and_is_consistent(service, text):
    answer = service.answer(text, source=QuerySource.CLI)
    assert shown(answer.as_dict()) == shown(service.answer(text, source=QuerySource.CLI).as_dict())
    assert 0 <= answer.score <= 100
    assert answer.truncated == (len(text) > MAX_QUESTION_CHARS) and len(answer.query) <= MAX_QUESTION_CHARS
    answer.query.encode("utf-8")  # storable and sendable: no lone surrogates
    assert (answer.entry is None) == (answer.outcome is Outcome.UNANSWERED)
    assert not answer.alternatives or answer.entry is not None
    assert (answer.problem is not None) == (answer.normalized == "")
    json.dumps(answer.as_dict())


LINE = (
    st.lists(st.one_of(PIECE, st.just("")), max_size=4)
    .map(" ".join)
    .map(lambda text: "".join(ch for ch in text if ch not in "\r\n" and not 0xD800 <= ord(ch) <= 0xDFFF))
)


async def _each(questions: Iterable[str]) -> AsyncIterator[str]:
    for question in questions:
        yield question


def printed(questions: Iterable[str] | AsyncIterator[str], service: AnswerService) -> list[dict]:
    """What ``ask --json`` prints for ``questions``, as dicts without the timing fields."""
    lines = questions if isinstance(questions, AsyncIterator) else _each(questions)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(_print_answers(lines, service, json_lines=True))
    return [shown(json.loads(line)) for line in out.getvalue().split("\n")[:-1]]


@settings(FEW, max_examples=40)
@given(questions=st.lists(LINE, min_size=1, max_size=8))
def test_batch_output_is_the_one_by_one_output(service, tmp_path_factory, questions):
    """``ask --batch`` reads a file (lines may hold any character but \\r and \\n) and answers like single asks."""
    batch = Path(tmp_path_factory.mktemp("batch")) / "questions.txt"
    batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
    with _questions(argparse.Namespace(batch=str(batch), question=None)) as lines:
        together = printed(lines, service)
    assert together == [answer for q in questions for answer in printed([q], service)]
    assert [a["query"] for a in together] == [q[:MAX_QUESTION_CHARS] for q in questions]
