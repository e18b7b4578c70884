"""Replay: every question of a period asked again of a knowledge base, compared with what the bot said then.

Each distinct question (by normalised text) of the period is answered once by the given matcher
(the current knowledge base, an edited folder before a merge, with the learned phrasings), and its
latest logged answer is the baseline. The differences, each with how many distinct questions and how
many asks they cover, and the most asked examples:

- ``now_answered``: a gap (not answered outright then) that is answered now;
- ``changed_topic``: answered then and now, with another entry;
- ``lost``: answered then, not answered outright now.

Runs in a worker thread on a connection of its own (see :mod:`bot.querylog.reports`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.querylog import unavailable_on_failure
from bot.querylog.reports import off_loop, since

if TYPE_CHECKING:
    from bot.matching.matcher import Matcher

EXAMPLES = 5
KINDS = ("now_answered", "changed_topic", "lost")
WORDS = {"now_answered": "gaps now answered", "changed_topic": "answers that changed topic", "lost": "answers lost"}


@dataclass(frozen=True)
class Change:
    question: str  # the latest wording logged
    asks: int
    before: str  # "answered: id", "suggested: id", "unanswered"
    after: str


@dataclass
class Kind:
    questions: int = 0
    asks: int = 0
    examples: list[Change] = field(default_factory=list)  # the most asked first, at most EXAMPLES


@dataclass
class Replay:
    days: int | None
    kb_version: str
    questions: int = 0  # distinct questions replayed
    asks: int = 0  # rows they stand for
    kinds: dict[str, Kind] = field(default_factory=lambda: {kind: Kind() for kind in KINDS})

    def summary(self) -> str:
        """One paragraph, as ``/kb reload`` and ``kb check --replay`` show it."""
        period = f"the last {self.days} days" if self.days else "the whole log"
        if not self.questions:
            return f"Replay of {period}: no questions logged."
        parts = []
        for kind in KINDS:
            found = self.kinds[kind]
            text = f"{found.questions} {WORDS[kind]} ({found.asks} asks)"
            if found.examples:
                example = found.examples[0]
                text += f", e.g. “{example.question[:80]}” {example.before} → {example.after}"
            parts.append(text)
        return (
            f"Replay of {period} ({self.questions} distinct questions, {self.asks} asks) on version "
            f"{self.kb_version}: " + "; ".join(parts) + "."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "kb_version": self.kb_version,
            "questions": self.questions,
            "asks": self.asks,
            **{
                kind: {
                    "questions": found.questions,
                    "asks": found.asks,
                    "examples": [vars(example) for example in found.examples],
                }
                for kind, found in self.kinds.items()
            },
        }


def _said(outcome: str, entry_id: str | None) -> str:
    return outcome + (f": {entry_id}" if entry_id and outcome != "unanswered" else "")


def replay_log(connection: sqlite3.Connection, matcher: Matcher, days: int | None) -> Replay:
    """The replay of ``days`` (None: everything) on ``matcher``, reading ``connection`` (any thread)."""
    result = Replay(days, matcher.knowledge.version)
    rows = connection.execute(
        "SELECT q.question, q.outcome, q.entry_id, g.n FROM"
        " (SELECT MAX(id) AS latest, COUNT(*) AS n FROM queries WHERE asked_at >= ? AND normalized != ''"
        " GROUP BY normalized) g JOIN queries q ON q.id = g.latest ORDER BY g.n DESC, q.id",
        (since(days),),
    ).fetchall()
    for question, outcome, entry_id, asks in rows:
        result.questions += 1
        result.asks += asks
        match = matcher.match(question)
        now_entry = match.best.entry.id if match.best and match.outcome.value == "answered" else None
        was_answered = outcome == "answered"
        if was_answered and now_entry is None:
            kind = "lost"
        elif was_answered and now_entry != entry_id:
            kind = "changed_topic"
        elif not was_answered and now_entry is not None:
            kind = "now_answered"
        else:
            continue
        found = result.kinds[kind]
        found.questions += 1
        found.asks += asks
        if len(found.examples) < EXAMPLES:  # rows come most asked first
            best = match.best.entry.id if match.best else None
            found.examples.append(Change(question, asks, _said(outcome, entry_id), _said(match.outcome.value, best)))
    return result


@unavailable_on_failure
async def replay(db: aiosqlite.Connection, matcher: Matcher, days: int | None = 30) -> Replay:
    """:func:`replay_log` off the event loop, on the file behind ``db``."""
    return await off_loop(db, replay_log, matcher, days)
