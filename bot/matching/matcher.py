"""Match a question to knowledge-base entries and decide whether to answer.

How a question is scored. Every choice below was measured on the tuning question
set (``tests/data/questions_tune.yaml``) with ``python -m tools.evaluate``
(``--calibrate`` fits the decision and chooses the thresholds); the holdout sets are only
used to report the final figures. "rank-1" = the best entry is right, "split" =
how well one threshold separates right answers from out-of-scope questions.

1. **Tokens.** The normalised question loses stopwords and plural endings. A
   word the knowledge base does not know is corrected to the closest known word
   when rapidfuzz's ``fuzz.ratio`` reaches ``typo_cutoff`` and the first letter
   agrees ("deterence" -> "deterrence"). Correcting shorter words or any first
   letter (cutoff 80) turned off-topic words into knowledge-base words ("many" ->
   "mainly", "round" -> "ground"): 3 points less out-of-scope rejection for
   half a point of top-1. A Snowball stemmer gained under one point over the
   plural folding here, so no stemming library.
2. **Coverage (and candidate pruning).** Each known word votes, through an
   inverted index, for the entries whose phrasings contain it (full credit) or
   whose summary does (``summary_credit``), weighted by inverse document
   frequency. Coverage is the share of the question's weight an entry explains,
   but a long question only has to be explained up to ``evidence_cap``: without
   the cap chit-chat drowned rambling questions (best single-threshold split
   82%); with it, 91%. Unknown words weigh ``unknown_weight`` x the rarest known
   word, so "what is the capital of Australia" explains nothing; a question that
   asks for a figure, date, office-holder, piece of equipment or list of members
   (``ASKS_FOR_SPECIFICS``, which the knowledge base never holds) carries one more
   unknown word's weight (measured beside ``ASKS_FOR_SPECIFICS`` below). Only the
   ``candidate_limit`` best-covered entries go on to step 3, keeping the cost flat
   as the knowledge base grows.
3. **Phrasing similarity.** rapidfuzz ``token_sort_ratio`` between the question's
   words and each candidate's title, questions, aliases and keywords; the entry
   keeps its best. ``token_set_ratio`` scores 100 for any phrasing contained in
   the question, so it tied every entry mentioning "diplomatic immunity"
   (keyword questions 56% rank-1 vs 100% with ``token_sort_ratio``); ``WRatio``
   and the mean of set and sort ratios ranked within a point but separated worse;
   an IDF-weighted phrasing-overlap score added beside rapidfuzz lost on both.
4. **Lexical score** = ``coverage_weight`` x coverage + the rest x similarity, 0-100.
5. **Meaning.** ``semantic.SemanticIndex`` scores the candidates by embedding cosine and by an
   entry classifier trained on the phrasings, and adds the classifier's likeliest entries as
   candidates of their own.
6. **Decide.** ``confidence.Evidence`` (the scores, leads, agreement, coverage, unknown words)
   goes through the calibrated logistic model; ``answered`` when the best candidate's
   probability (0-100) reaches ``Thresholds.answer`` and leads the best unrelated runner-up by
   ``Thresholds.margin``; ``suggested`` (did you mean) from ``Thresholds.suggest``; otherwise
   ``unanswered``.
"""

from __future__ import annotations

import copy
import heapq
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter
from typing import NamedTuple

from rapidfuzz import fuzz, process

from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.confidence import CALIBRATION, Calibration, Evidence
from bot.matching.index import Coverage, TitleIndex, WordIndex, best_covered
from bot.matching.normalize import Normalizer, without_quotes
from bot.matching.semantic import Embedder, SemanticIndex, shared_embedder

# Chat: words people add around a question that say nothing about its topic. The embedding model reads
# the question without them too ("lol ok so ... thx" moved the vector off the topic).
CHAT_WORDS = frozenset(
    """
afternoon anybody assignment aunt boyfriend brother btw cheers classmate classmates colleague colleagues confused
cousin coworker coworkers curious dad eh eli5 essay etc evening exactly exam flatmate folks girlfriend guys hello
hey hi hiya homework honestly husband idk irl lecturer lmao lol mate mom morning mum nah ok okay omg please pls plz
prof professor q qs quiz roommate rn seriously sis sister sup tbh teacher thank thanks thx tldr tonight tutor ty
uncle wife wondering ya yeah yep yo yup
""".split()
)
STOPWORDS = CHAT_WORDS | frozenset(
    """
a about above abt actually after again against all also am an and any anyone anything anyway are arent as ask
asked asking asks at basically be because been before being below between bot both but by can cant could couldnt
did didnt do does doesnt doing done dont down during each else ever explain explained few for from further get
give go going gonna got had hadnt has hasnt have havent having he help her here heres him his how hows i id if im
in into is isnt it its ive just kind kinda know let lets like literally look looking maybe me mean means meant
more most much must my need no nor not now of off on once only or other our out over own perhaps probably
question quick quickly re really said say says she should shouldnt simply so some someone something sort sorta
stuff summarise summarize summary supposed tell than that thats the their them then there theres these they
theyre thing things this those through to too topic u under understand until up ur us very wanna want was wasnt
wat we were werent what whats when where wheres which while who whos why will with wont wot would wouldnt wut you
your youre yours youve
""".split()
)

# The knowledge base summarises policy; it holds no figures, dates, office-holders, equipment or lists of
# members. A question asking for one is partly unanswerable whatever its other words match, so this counts as
# one more unexplained word. Grouped by what is asked; "how much" only where it asks for an amount ("how much
# does US policy shape NATO" asks for a degree, which a summary answers). Widening the cues from figures, dates
# and office-holders to these groups: tuning sets out of fold 88.0/92.4/2.0 -> 89.1/94.7/1.6 (answered right /
# out of scope declined / wrong).
ASKS_FOR_SPECIFICS = re.compile(
    r"\b(how many|how much (money|of|is|are|was|were|did \w+ (cost|spend)|do \w+ spend|does \w+ (cost|spend))"
    r"|what year|which year|when (did|was|were|will|is)|exact date|what date|which date"
    r"|right now|at the moment|currently|nowadays|this year|last year|next year"
    r"|what percentage|what percent|(range|cost|price|speed|budget|salary|population) of"
    r"|which (\w+ )?(city|cities|countries|country|members|nations|tanks|weapons)|what (tanks|weapons|equipment)"
    r"|is \w+ (a member|part) of"
    r"|who (led|leads|commanded|commands (?!and)|founded|heads|chairs|is the|was the)"
    r"|who (is|was) \w+ (defence|foreign|prime) minister|what is the name|what was the name"
    r"|where (is|was)\b(?!.*\b(heading|headed|going)\b)|stand for|translate)\b"
)

ScorerFunction = Callable[..., float]


class Outcome(StrEnum):
    ANSWERED = "answered"
    SUGGESTED = "suggested"
    UNANSWERED = "unanswered"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Cut-offs on the matcher's confidence (0-100) for the three outcomes; configurable per deployment.

    The defaults are the operating point ``python -m tools.evaluate --calibrate`` chose on
    the tuning sets: at most 2% of questions answered wrongly (out of fold) where one question in five is out of
    scope (``tools.evaluate.TRAFFIC_OUT_OF_SCOPE``).
    """

    answer: float = 70.0
    suggest: float = 70.0
    margin: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.suggest <= self.answer <= 100:
            raise ValueError("thresholds must satisfy 0 <= suggest <= answer <= 100")
        if not 0 <= self.margin <= 100:
            raise ValueError("the answer margin must be between 0 and 100")


@dataclass(frozen=True, slots=True)
class Scoring:
    """The matcher's measured design choices (see the module docstring)."""

    similarity: ScorerFunction = fuzz.ratio  # on token-sorted texts, i.e. token_sort_ratio (see Matcher)
    coverage_weight: float = 0.6
    summary_credit: float = 0.5  # a question word found only in an entry's summary counts this much
    unknown_weight: float = 1.5  # weight of an unknown word, as a multiple of the rarest known word's
    specifics_weight: float = 1.0  # ASKS_FOR_SPECIFICS, as a multiple of an unknown word's weight
    evidence_cap: float = 14.0  # a long question needs only this much matched word weight for full coverage
    typo_cutoff: float = 85.0
    candidate_limit: int = 40


@dataclass(frozen=True, slots=True)
class Scored:
    entry: Entry
    score: float


class Candidate(NamedTuple):
    """An entry the question may be about, what the decision knows of it, and how probably it is right."""

    entry: Entry
    evidence: Evidence
    probability: float


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's verdict: the outcome and the best entries, best first."""

    normalized: str
    outcome: Outcome
    ranked: tuple[Scored, ...]  # the best entry, then runners-up that reach the suggest threshold

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


def decide(ranked: Sequence[Scored], thresholds: Thresholds, normalized: str = "") -> Match:
    """Outcome for entries ranked best first; runners-up below the suggest threshold are dropped, except, under an
    answer, the best entry's related siblings: they are offered first among its related topics, whatever their score.

    The margin is kept over rivals only: a runner-up linked to the best entry as a related
    topic (intelligence sharing and its modernisation) is a neighbour, not a doubt, so it
    does not turn an answer into "did you mean".
    """
    if not ranked or ranked[0].score < thresholds.suggest:
        return Match(normalized, Outcome.UNANSWERED, tuple(ranked[:1]))
    best, runners_up = ranked[0], ranked[1:]
    rivals = [s.score for s in runners_up if s.score >= thresholds.suggest and not _linked(best.entry, s.entry)]
    lead = best.score - (rivals[0] if rivals else 0.0)
    if best.score >= thresholds.answer and lead >= thresholds.margin:
        kept = [s for s in runners_up if s.score >= thresholds.suggest or _linked(best.entry, s.entry)]
        return Match(normalized, Outcome.ANSWERED, (best, *kept))
    return Match(normalized, Outcome.SUGGESTED, (best, *(s for s in runners_up if s.score >= thresholds.suggest)))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
LONG_MESSAGE_WORDS = 25  # from this many words a message is read for its last question too


def last_question(text: str) -> str | None:
    """The last sentence of a long message that asks something ("...?"), if it is not the whole message."""
    if len(text.split()) < LONG_MESSAGE_WORDS:
        return None
    asked = [s for s in _SENTENCE_END.split(text.strip()) if s.rstrip().endswith("?")]
    return asked[-1] if asked and asked[-1].strip() != text.strip() else None


def _linked(a: Entry, b: Entry) -> bool:
    return b.id in a.related or a.id in b.related


def stem(token: str) -> str:
    """Fold plural endings so 'threats', 'allies' and 'forces' meet 'threat', 'ally', 'force'."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _sorted_phrasings(phrasings: Iterable[list[str]]) -> list[str]:
    """Each phrasing's words sorted once here, so the similarity scorer need not sort them for every question."""
    return list(dict.fromkeys(" ".join(sorted(words)) for words in phrasings if words))


def content_tokens(normalized: str) -> list[str]:
    """The words that carry meaning, stemmed, in order, without repeats."""
    return list(dict.fromkeys(stem(t) for t in normalized.split() if t not in STOPWORDS))


class Matcher:
    """An index over one knowledge base, built once; ``match`` answers questions against it.

    Immutable once built: :meth:`with_phrasings` returns a new matcher, so a question
    in flight never sees an index half way through a change.
    """

    RANKED = 4  # the best entry plus up to three alternatives
    LEXICAL = 6  # candidates kept by spelling alone, beside those found by meaning (see CENTROID_CANDIDATES)
    # The writer's own words (a long message's closing question, a message without what it quotes) answered this
    # surely (0-100) are answered whatever the context: on the tuning sets rambling questions answered right went
    # from 93.0% to 94.2% with no more wrong answers (accepting any answered closing question: 94.2% but 2.3% wrong
    # instead of 1.2%); a quoted line before a question kept 96.7% of them answered right, not 54.0%
    # (python -m tools.noise).
    CLEAR_CLOSING = 90.0
    COMPLETION_CANDIDATES = 2000  # titles scored per keystroke; a full scan of this many takes about 3 ms

    def __init__(
        self,
        knowledge: KnowledgeBase,
        thresholds: Thresholds | None = None,
        scoring: Scoring | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.thresholds = thresholds or Thresholds()
        self.scoring = scoring or Scoring()
        self.calibration: Calibration = CALIBRATION
        self.normalize = Normalizer(knowledge.glossary)
        self._entries: list[Entry] = list(knowledge)
        self._position = {entry.id: index for index, entry in enumerate(self._entries)}
        normalized = [[self.normalize(p) for p in entry.phrasings] for entry in self._entries]
        summaries = [self.normalize(entry.summary) for entry in self._entries]
        phrasings = [[content_tokens(text) for text in texts] for texts in normalized]
        self._phrasings = [_sorted_phrasings(texts) for texts in phrasings]
        self._words = WordIndex(
            [(t for p in texts for t in p) for texts in phrasings],
            [content_tokens(summary) for summary in summaries],
            self.scoring.summary_credit,
        )
        self._meaning = SemanticIndex(embedder or shared_embedder(), normalized, summaries)
        self._unknown_idf = self.scoring.unknown_weight * math.log(1 + max(len(self._entries), 1))
        self._titles = TitleIndex({index: self.normalize(entry.title) for index, entry in enumerate(self._entries)})
        self._by_title = sorted(self._entries, key=lambda e: e.title.casefold())

    def with_phrasings(self, extra: Mapping[str, Sequence[str]]) -> Matcher:
        """A matcher that also knows ``extra`` (entry id -> more phrasings, e.g. moderators' learned ones).

        They count exactly as if they were in the YAML, after its phrasings. Only the
        entries they touch are re-indexed, so teaching a phrasing takes milliseconds
        where a rebuild takes seconds at 10,000 entries. Unknown entry ids are ignored
        (a learned phrasing may outlive its entry).
        """
        touched = [(self._position[entry_id], texts) for entry_id, texts in extra.items() if entry_id in self._position]
        if not any(texts for _, texts in touched):
            return self
        changed = copy.copy(self)
        changed._phrasings = list(self._phrasings)
        new_words: dict[int, set[str]] = {}
        normalized = {index: [self.normalize(text) for text in texts] for index, texts in touched}
        for index, texts in normalized.items():
            tokens = [content_tokens(text) for text in texts]
            known = {word for phrasing in changed._phrasings[index] for word in phrasing.split()}
            new_words.setdefault(index, set()).update(word for words in tokens for word in words if word not in known)
            changed._phrasings[index] = list(dict.fromkeys([*changed._phrasings[index], *_sorted_phrasings(tokens)]))
        changed._words = self._words.with_words(new_words)
        changed._meaning = self._meaning.with_phrasings(normalized)
        return changed

    @property
    def phrasings(self) -> list[list[str]]:
        """Each entry's phrasings as the similarity scorer sees them: content words, token-sorted."""
        return self._phrasings

    def match(self, question: str) -> Match:
        """The decision for ``question``, or for a closer reading of it when that one is answered.

        Closer readings may settle a question the literal one leaves unsure: a lower-case acronym
        that is also a word read as the acronym ("sofa"); a message without the lines it quotes
        (someone's quoted claim is context); and, in a long message, its last question alone (the
        context before it is for the reader, not the matcher). Each is used when it is answered
        with the literal reading's own best entry, so "a cheap sofa" never brings in a new topic.
        The message's own words, unquoted or its closing question, that are answered with
        confidence ``CLEAR_CLOSING`` on their own stand for the message even where the context
        pulled the literal reading elsewhere ("...nobody could settle it. So what is the NRF for?").
        """
        unquoted = without_quotes(question)
        if unquoted is not None:  # what the writer says, if clear on its own, is the question whatever they quote
            own = self._decided(unquoted)
            if own.outcome is Outcome.ANSWERED and own.best is not None and own.best.score >= self.CLEAR_CLOSING:
                return own
        match = self._decided(question)
        if match.outcome is Outcome.ANSWERED:
            return match
        own_words = (unquoted, last_question(question))
        for reading in (self.normalize.as_acronyms(question, keep=STOPWORDS), *own_words):
            if reading is None:
                continue
            reread = self._decided(reading)
            if reread.outcome is not Outcome.ANSWERED or reread.best is None:
                continue
            same = match.best is not None and reread.best.entry is match.best.entry
            if same or (reading in own_words and reread.best.score >= self.CLEAR_CLOSING):
                return reread
        return match

    def _decided(self, text: str) -> Match:
        normalized = self.normalize(text)
        return decide(self._ranked(normalized), self.thresholds, normalized)

    def rank(self, question: str) -> tuple[Scored, ...]:
        """The best candidates, most probably right first, each scored with that probability (0-100)."""
        return self._ranked(self.normalize(question))

    def _ranked(self, normalized: str) -> tuple[Scored, ...]:
        return tuple(
            Scored(candidate.entry, round(100 * candidate.probability, 2))
            for candidate in self._evidence(normalized)[: self.RANKED]
        )

    def evidence(self, question: str) -> list[Candidate]:
        """Candidate entries with what the decision knows of each, most probable first.

        Candidates are the entries the question's words point to plus the entries closest in
        meaning; each is scored both ways, and the two scores, their agreement, the leads over
        the other candidates and the question's unexplained words become its :class:`Evidence`.
        """
        return self._evidence(self.normalize(question))

    def _evidence(self, normalized: str) -> list[Candidate]:
        corrections = self._corrections(normalized)
        tokens = list(dict.fromkeys(corrections.values()))
        if not tokens:
            return []
        weights = [self._words.idf(t) or self._unknown_idf for t in tokens]
        specifics = bool(ASKS_FOR_SPECIFICS.search(normalized))
        unexplained = self.scoring.specifics_weight * self._unknown_idf if specifics else 0.0
        needed = min(sum(weights) + unexplained, self.scoring.evidence_cap)
        coverage = self._words.coverage(tokens, weights)
        lexical = self._lexical(tokens, coverage, needed)
        query = self._meaning.vector(self._spelled_out(normalized, corrections))
        for index in self._meaning.nearest(query):
            if index not in lexical:
                lexical[index] = self._lexical_of(index, " ".join(sorted(tokens)), float(coverage[index]) / needed)
        semantic = self._meaning.scores(query, lexical)
        shares = self._meaning.shares(query, lexical)
        blended = sorted(((lexical[i] / 100 + semantic[i], i) for i in lexical), reverse=True)
        by_lexical, by_meaning = max(lexical, key=lexical.__getitem__), max(semantic, key=semantic.__getitem__)
        by_classifier = max(shares, key=shares.__getitem__)
        unknown = sum(w for t, w in zip(tokens, weights, strict=True) if t not in self._words) / (sum(weights) or 1)
        found = []
        for rank, (score, index) in enumerate(blended):
            entry = self._entries[index]
            runner_up = blended[1 if rank == 0 else 0][0] if len(blended) > 1 else 0.0
            rivals = (b for b, other in blended if other != index and not _linked(entry, self._entries[other]))
            evidence = Evidence(
                lexical=lexical[index] / 100,
                semantic=semantic[index],
                lead=score - runner_up,
                lead_unrelated=score - next(rivals, 0.0),
                lexical_top=float(index == by_lexical),
                semantic_top=float(index == by_meaning),
                coverage=min(float(coverage[index]) / needed, 1.0),
                strength=min(float(coverage[index]) / self.scoring.evidence_cap, 1.0),
                unknown=unknown,
                specifics=float(specifics),
                classifier=shares[index],
                classifier_top=float(index == by_classifier),
            )
            found.append(Candidate(entry, evidence, self.calibration.probability(evidence)))
        found.sort(key=lambda candidate: (-candidate.probability, candidate.entry.id))
        return found

    def _spelled_out(self, normalized: str, corrections: Mapping[str, str]) -> str:
        """The question without chat words and with the words the knowledge base does not know corrected to a known
        word where one is close (``corrections``, as the word index reads them), for the embedding model: its
        tokenizer cuts "deterrnece" into pieces that mean nothing (typo questions of the tuning sets answered right:
        82.7% embedding the words as typed, 93.8% corrected)."""
        words = []
        for word in normalized.split():
            if word in CHAT_WORDS:
                continue
            stemmed = stem(word)
            corrected = corrections.get(stemmed, stemmed) if word not in STOPWORDS else stemmed
            words.append(word if corrected == stemmed else corrected)
        return " ".join(words)

    def query_tokens(self, normalized: str) -> list[str]:
        """Content tokens of a normalised question, each corrected to a known word where one is close."""
        return list(dict.fromkeys(self._corrections(normalized).values()))

    def _corrections(self, normalized: str) -> dict[str, str]:
        """Each content token (in order) and the known word it stands for: worked out once per question, for both
        the word index and the embedding."""
        return {token: self._correct(token) for token in content_tokens(normalized)}

    def _correct(self, token: str) -> str:
        """The known word a misspelt one was meant to be, or the word itself.

        Two neighbouring letters swapped is corrected from four letters up, where
        it is unambiguous; other slips only from five letters and with the same
        first letter: measured on the tuning set, looser "corrections" turned
        ordinary words of off-topic questions ("many", "round", "wider") into
        knowledge-base words.
        """
        if token in self._words or len(token) < 4:
            return token
        swapped = self._words.transposed(token)  # "cyebr": one swap of neighbours, too short for the ratio below
        if swapped or len(token) < 5:
            return swapped or token
        return self._words.correct(token, self.scoring.typo_cutoff)

    def _lexical(self, tokens: list[str], coverage: Coverage, needed: float) -> dict[int, float]:
        """Lexical score (0-100) of the best-covered entries that can still reach the best ``LEXICAL`` ones."""
        candidates = best_covered(coverage, self.scoring.candidate_limit)
        query = " ".join(sorted(tokens))
        share = self.scoring.coverage_weight
        best: list[float] = []  # min-heap of the LEXICAL best scores so far
        scored: dict[int, float] = {}
        for index, covered in candidates:  # best coverage first, so the bound below only falls
            from_coverage = share * 100 * min(covered / needed, 1.0)
            # What a candidate must reach to enter the ranking (0.01 below the last place: rounding and ties).
            entry_bar = best[0] - 0.01 if len(best) == self.LEXICAL else 0.0
            if from_coverage + (1 - share) * 100 < entry_bar:
                break  # even a perfect phrasing could not lift this or any later candidate into the ranking
            similarity = self._similarity(query, index, max(entry_bar - from_coverage, 0.0) / (1 - share))
            if similarity is None:
                continue  # no phrasing similar enough to enter the ranking
            scored[index] = round(from_coverage + (1 - share) * similarity, 2)
            heapq.heappush(best, scored[index])
            if len(best) > self.LEXICAL:
                heapq.heappop(best)
        return dict(heapq.nlargest(self.LEXICAL, scored.items(), key=itemgetter(1)))

    def _lexical_of(self, index: int, query: str, covered_share: float) -> float:
        share = self.scoring.coverage_weight
        similarity = self._similarity(query, index, 0.0) or 0.0
        return round(share * 100 * min(covered_share, 1.0) + (1 - share) * similarity, 2)

    def _similarity(self, query: str, index: int, at_least: float) -> float | None:
        """The entry's best phrasing similarity, or None below ``at_least`` (rapidfuzz then stops early)."""
        best = process.extractOne(query, self._phrasings[index], scorer=self.scoring.similarity, score_cutoff=at_least)
        return best[1] if best else None

    def complete(self, text: str, limit: int = 25) -> list[Entry]:
        """Entries whose titles best fit what a user has typed so far (for autocomplete)."""
        typed = self.normalize(text)
        if not typed:
            return self._by_title[:limit]
        pool = self._titles.candidates(typed, self.COMPLETION_CANDIDATES)
        found = process.extract(typed, pool, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
        return [self._entries[index] for _, _, index in found]
