"""The one entry point every front end calls: question in, :class:`Answer` out.

Discord cogs, the console and the command line only translate between their
transport and this service, so an answer is the same wherever it is asked.
The matcher (knowledge base plus index) is held in a single attribute and
replaced whole on reload: a question in flight keeps the matcher it started
with, and no question ever sees half of an old and half of a new index.
Everything a front end shows comes out of one matcher too: an :class:`Answer`
or a :class:`Topic` carries its entry's category title and related entries, so
a front end never looks anything up in ``service.knowledge`` afterwards (a
reload in between would mix two knowledge bases in one reply). Teaching and
dismissing also go through the service, which persists them through its
:class:`Recorder` (the query log) before they take effect.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Match, Matcher, Outcome, Scored, Thresholds, content_tokens
from bot.matching.snapshots import Snapshots
from bot.pacing import Pacer
from bot.querylog import QueryLogUnavailable

MAX_QUESTION_CHARS = 2000  # read this much of a question; Discord messages are at most 2000 characters
MAX_SUGGESTIONS = 3
# Lone surrogates (byte 0xFF in a command-line argument, a broken client's JSON) cannot be encoded as UTF-8,
# so they could be neither stored nor sent; they are read as U+FFFD, as a UTF-8 decoder would read them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class NothingToLearn(ValueError):
    """None of the phrasings to teach has a word the matcher reads (only common words, emoji or punctuation):
    storing them would change no answer, so nothing is stored."""


class QuerySource(StrEnum):
    """Which front end a question came through (logged with it)."""

    SLASH = "slash"
    MENTION = "mention"
    DM = "dm"
    ASK_CHANNEL = "ask-channel"
    CONSOLE = "console"
    CLI = "cli"


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, where; all optional (the console and CLI have no Discord ids)."""

    user_id: int | None = None
    guild_id: int | None = None
    channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """One entry as front ends show it, resolved against the knowledge base it came from."""

    entry: Entry
    category: str  # the category's title
    related: tuple[Entry, ...]  # the related entries that knowledge base has

    @classmethod
    def of(cls, entry: Entry, knowledge: KnowledgeBase, first: Sequence[Entry] = ()) -> Topic:
        """The topic of ``entry``; related entries in ``first`` (close runners-up) lead the list."""
        related = knowledge.related(entry)
        leading = tuple(e for e in first if e in related)
        ordered = leading + tuple(e for e in related if e not in leading)
        return cls(entry, knowledge.category_title(entry.category), ordered)


@dataclass(frozen=True, slots=True)
class Answer:
    """What allybot says to one question, independent of how it is shown."""

    query: str
    normalized: str
    outcome: Outcome
    score: float
    topic: Topic | None  # the best entry, resolved; None when unanswered
    alternatives: tuple[Scored, ...]
    kb_version: str
    latency_ms: float
    query_id: int  # unique, roughly time-ordered; feedback buttons and the query log refer to it
    truncated: bool = False
    problem: str | None = None  # why the question could not be read, e.g. it was empty

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWERED

    @property
    def entry(self) -> Entry | None:
        return self.topic.entry if self.topic else None

    @property
    def suggestions(self) -> tuple[Entry, ...]:
        """The "did you mean" choices: the best entry and the runners-up, at most three."""
        if self.entry is None:
            return ()
        return (self.entry, *(s.entry for s in self.alternatives))[:MAX_SUGGESTIONS]

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract of ``python -m bot ask --json``."""
        return {
            "query": self.query,
            "outcome": self.outcome.value,
            "answered": self.answered,
            "score": self.score,
            "entry": entry_as_dict(self.entry) if self.entry else None,
            "alternatives": [{"id": s.entry.id, "title": s.entry.title, "score": s.score} for s in self.alternatives],
            "normalized": self.normalized,
            "truncated": self.truncated,
            "problem": self.problem,
            "kb_version": self.kb_version,
            "latency_ms": self.latency_ms,
            "query_id": self.query_id,
        }


def entry_as_dict(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "category": entry.category,
        "summary": entry.summary,
        "related": list(entry.related),
        "sources": [{"file": s.file, "section": s.section, "title": s.title} for s in entry.sources],
    }


@dataclass(frozen=True, slots=True)
class KnowledgeChange:
    """What a reload changed, by entry id."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    edited: tuple[str, ...]
    version: str

    @classmethod
    def between(cls, old: KnowledgeBase, new: KnowledgeBase) -> KnowledgeChange:
        edited = tuple(
            i for i in new.entries if i in old.entries and old.entries[i].content() != new.entries[i].content()
        )
        return cls(
            added=tuple(i for i in new.entries if i not in old.entries),
            removed=tuple(i for i in old.entries if i not in new.entries),
            edited=edited,
            version=new.version,
        )


_sequence = itertools.count(secrets.randbits(20))  # random start: two processes rarely share a value


def new_query_id() -> int:
    """Milliseconds since the epoch, then a 20-bit counter: unique without a database round trip.

    (Random low bits collided: 2,000 answers within 100 ms lost a logged question.)
    """
    return (time.time_ns() // 1_000_000) << 20 | (next(_sequence) & 0xFFFFF)


class Recorder(Protocol):
    """Where answers, votes and moderators' decisions are kept (the query log implements it).

    ``record`` and ``record_feedback`` must never block or raise; ``learn`` and ``dismiss``
    return once the decision is stored, and raise when it cannot be.
    """

    def record(self, answer: Answer, source: QuerySource, asker: Asker | None = None) -> None: ...

    def record_feedback(self, query_id: int, user_id: int, vote: str) -> None: ...

    def learn(self, phrasing: str, normalized: str, entry_id: str) -> Awaitable[None]: ...

    def dismiss(self, normalized: str) -> Awaitable[None]: ...


def index_knowledge(
    knowledge: Matcher | KnowledgeBase | Path, thresholds: Thresholds, snapshots: Snapshots | None = None
) -> Matcher:
    """A matcher for ``knowledge``: as given, over a loaded knowledge base, or over a folder (from its snapshot when
    ``snapshots`` has one; raises KnowledgeError when the folder is invalid)."""
    if isinstance(knowledge, Matcher):
        return knowledge
    if isinstance(knowledge, KnowledgeBase):
        return Matcher(knowledge, thresholds)
    if snapshots is not None:
        return snapshots.matcher(knowledge, thresholds)
    return Matcher(load_knowledge(knowledge), thresholds)


class AnswerService:
    """Answers questions from the current knowledge base; safe to reload while answering.

    ``learned`` maps entry ids to phrasings moderators taught at runtime; they count
    like the YAML's and survive reloads.
    """

    def __init__(
        self,
        knowledge: Matcher | KnowledgeBase | Path,
        thresholds: Thresholds | None = None,
        recorder: Recorder | None = None,
        learned: Mapping[str, Sequence[str]] | None = None,
        snapshots: Snapshots | None = None,
    ) -> None:
        """Serve ``knowledge``: a built matcher, a loaded knowledge base or its folder (raises KnowledgeError if
        invalid). From a folder, ``snapshots`` (if given) spare a restart the parsing and indexing; reloads use them
        too. ``recorder`` (the query log) is told every answer and vote, and keeps what moderators teach.
        """
        self._thresholds = thresholds or Thresholds()
        self.recorder = recorder
        self._learned = {entry_id: list(texts) for entry_id, texts in (learned or {}).items()}
        self._snapshots = snapshots
        self._matcher = self._index(knowledge)
        self._pacer = Pacer()
        self._teaching = asyncio.Lock()  # one teach or reload at a time, so none is lost to another's re-index

    def _index(self, knowledge: Matcher | KnowledgeBase | Path) -> Matcher:
        return index_knowledge(knowledge, self._thresholds, self._snapshots).with_phrasings(self._learned)

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._matcher.knowledge

    def answer(self, question: str, *, source: QuerySource, asker: Asker | None = None) -> Answer:
        """Match ``question``, decide what to say, and hand it to the recorder. Never raises for any text."""
        started = time.perf_counter()
        matcher = self._matcher  # one consistent knowledge base for the whole question
        text = _LONE_SURROGATE.sub("\ufffd", question[:MAX_QUESTION_CHARS])
        match = matcher.match(text)
        best = match.best
        problem = None
        if not question.strip():
            problem = "The question is empty."
        elif not match.normalized:
            problem = "The question has no words I can read (only emoji, symbols or mentions?)."
        answer = Answer(
            query=text,
            normalized=match.normalized,
            outcome=match.outcome,
            score=best.score if best else 0.0,
            topic=self._topic_of(match, matcher),
            alternatives=match.ranked[1:] if match.outcome is not Outcome.UNANSWERED else (),
            kb_version=matcher.knowledge.version,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            query_id=new_query_id(),
            truncated=len(question) > MAX_QUESTION_CHARS,
            problem=problem,
        )
        if self.recorder is not None:
            self.recorder.record(answer, source, asker)
        return answer

    async def answer_in_turn(self, question: str, *, source: QuerySource, asker: Asker | None = None) -> Answer:
        """:meth:`answer` for code on the event loop: waits its turn, so a burst of questions never holds the loop."""
        return await self._pacer.run(partial(self.answer, question, source=source, asker=asker))

    async def complete_in_turn(self, text: str, limit: int = 25) -> list[Entry]:
        """Autocomplete choices for ``text`` (see :meth:`Matcher.complete`), in turn with the questions."""
        return await self._pacer.run(partial(self._matcher.complete, text, limit))

    @staticmethod
    def _topic_of(match: Match, matcher: Matcher) -> Topic | None:
        """The answered or first suggested entry; a sibling that came close is offered first among its related."""
        if match.best is None or match.outcome is Outcome.UNANSWERED:
            return None
        return Topic.of(match.best.entry, matcher.knowledge, first=[s.entry for s in match.ranked[1:]])

    def topic(self, entry_id: str) -> Topic | None:
        """The entry with this id, resolved for showing; None when the knowledge base has no such entry."""
        knowledge = self._matcher.knowledge
        entry = knowledge.get(entry_id)
        return Topic.of(entry, knowledge) if entry else None

    def find_topic(self, wanted: str) -> Topic | None:
        """The entry with this id, else the one whose title ``wanted`` best begins (as autocomplete ranks them)."""
        matcher = self._matcher
        entry = matcher.knowledge.get(wanted) or next(iter(matcher.complete(wanted, limit=1)), None)
        return Topic.of(entry, matcher.knowledge) if wanted and entry else None

    async def find_topic_in_turn(self, wanted: str) -> Topic | None:
        """:meth:`find_topic` for code on the event loop, in turn with the questions."""
        return await self._pacer.run(partial(self.find_topic, wanted))

    def record_feedback(self, query_id: int, user_id: int, vote: str) -> None:
        if self.recorder is not None:
            self.recorder.record_feedback(query_id, user_id, vote)

    def _keeper(self) -> Recorder:
        if self.recorder is None:
            raise QueryLogUnavailable("the query log is turned off for this bot")
        return self.recorder

    async def teach(self, phrasing: str, entry_id: str) -> Entry | None:
        """Store that ``phrasing`` means ``entry_id``, then make it a phrasing of that entry at once (the YAML is
        unchanged; learned phrasings survive reloads and, through the recorder, restarts).

        Returns the entry, or None when the knowledge base has no such entry (nothing is stored then); raises
        :class:`NothingToLearn` when ``phrasing`` has no word the matcher reads.
        """
        return await self.teach_all([phrasing], entry_id)

    async def teach_all(self, phrasings: Sequence[str], entry_id: str) -> Entry | None:
        """:meth:`teach` for several phrasings at once (a gap group in the review queue): each is stored, then the
        entry is re-indexed once. Phrasings with no words the matcher reads are left out; if that is all of them,
        :class:`NothingToLearn` is raised. Returns the entry, or None when the knowledge base has no such entry
        (nothing is stored then).

        Re-indexing retrains the entry classifier (1-2 s for the bundled knowledge base on a 2-core machine), so it
        runs in a worker thread, one teach or reload at a time (:meth:`reload_in_turn`); questions meanwhile are
        answered by the matcher as it was.
        """
        async with self._teaching:
            matcher = self._matcher
            entry = matcher.knowledge.get(entry_id)
            if entry is None:
                return None
            normalized = {text: matcher.normalize(text) for text in phrasings}
            texts = [text for text, words in normalized.items() if content_tokens(words)]
            if not texts:
                raise NothingToLearn(f"no word the matcher reads in {len(phrasings)} phrasing(s) for {entry.id}")
            for text in texts:
                await self._keeper().learn(text, normalized[text], entry.id)
            self._learned.setdefault(entry.id, []).extend(texts)
            self._matcher = await asyncio.to_thread(matcher.with_phrasings, {entry.id: texts})
            return entry

    async def dismiss(self, question: str) -> None:
        """Store that ``question`` (and questions normalised like it) is out of scope: no longer a gap."""
        await self._keeper().dismiss(self._matcher.normalize(question))

    async def reload_in_turn(self, directory: Path | None = None) -> KnowledgeChange:
        """:meth:`reload` for code on the event loop: in a worker thread, never at the same time as a teach (each
        would build on the matcher the other is replacing, and one of them would be lost)."""
        async with self._teaching:
            return await asyncio.to_thread(self.reload, directory)

    def reload(self, directory: Path | None = None) -> KnowledgeChange:
        """Reload from disk and switch in one step; on any validation error raise and keep serving the current one."""
        old = self.knowledge
        self._matcher = self._index(directory or Path(old.directory))
        return KnowledgeChange.between(old, self.knowledge)
