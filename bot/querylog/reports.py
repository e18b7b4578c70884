"""What moderators read from the query log: recent questions, gaps, statistics, a CSV export.

Every function takes an open connection and returns plain data; the Discord cog
and the command line only format it. A file that fails while being read raises
:class:`~bot.querylog.QueryLogUnavailable`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiosqlite
from rapidfuzz import fuzz, process

from bot.matching.matcher import content_tokens
from bot.querylog import unavailable_on_failure
from bot.querylog.schema import QUERY_COLUMNS

SIMILAR = 85  # token_sort_ratio at which two questions count as the same gap


def since(days: int | None) -> str:
    """ISO timestamp ``days`` ago (the epoch when None: everything)."""
    if days is None:
        return "0000"
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


async def _fetch(db: aiosqlite.Connection, sql: str, *params: object) -> list[aiosqlite.Row]:
    db.row_factory = aiosqlite.Row
    async with db.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


@unavailable_on_failure
async def recent(db: aiosqlite.Connection, limit: int = 20) -> list[dict]:
    rows = await _fetch(
        db,
        "SELECT id, asked_at, source, question, outcome, entry_id, score FROM queries ORDER BY id DESC LIMIT ?",
        limit,
    )
    return [dict(row) for row in rows]


@dataclass
class Gap:
    """Near-identical questions the bot did not answer well, counted together."""

    question: str  # the most frequent wording
    count: int = 0
    last_seen: str = ""
    downvotes: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # what the bot did: "unanswered", "suggested: id"...
    normalized: set[str] = field(default_factory=set)
    asker_hashes: set[str] = field(default_factory=set, repr=False)
    wordings: Counter[str] = field(default_factory=Counter, repr=False)

    def add(self, row: aiosqlite.Row) -> None:
        self.count += 1
        self.last_seen = max(self.last_seen, row["asked_at"])
        self.downvotes += row["downvotes"]
        self.answers[row["outcome"] + (f": {row['entry_id']}" if row["entry_id"] else "")] += 1
        self.normalized.add(row["normalized"])
        self.wordings[row["question"]] += 1
        if row["user_hash"]:
            self.asker_hashes.add(row["user_hash"])
        self.question = self.wordings.most_common(1)[0][0]

    @property
    def askers(self) -> int:
        return len(self.asker_hashes)

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "count": self.count,
            "askers": self.askers,
            "last_seen": self.last_seen,
            "downvotes": self.downvotes,
            "answered_as": dict(self.answers.most_common()),
        }


@unavailable_on_failure
async def gaps(db: aiosqlite.Connection, days: int | None = 30, limit: int = 25) -> list[Gap]:
    """Unanswered and suggested questions and 👎-voted answers, near-duplicates grouped, most frequent first.

    Questions a moderator resolved (taught) or dismissed, and their near-duplicates, are left out.
    """
    rows = await _fetch(
        db,
        "SELECT q.question, q.normalized, q.asked_at, q.user_hash, q.outcome, q.entry_id,"
        " (SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote < 0) AS downvotes"
        " FROM queries q WHERE q.asked_at >= ? AND q.normalized != ''"
        " AND (q.outcome != 'answered' OR EXISTS (SELECT 1 FROM feedback f WHERE f.query_id = q.id AND f.vote < 0))",
        since(days),
    )
    closed = [
        _key(r["normalized"])
        for r in await _fetch(db, "SELECT normalized FROM learned UNION SELECT normalized FROM dismissed")
    ]
    groups: list[Gap] = []
    representatives: list[str] = []  # the first wording of each group, which later questions are compared to
    by_frequency = Counter(_key(r["normalized"]) for r in rows)
    for row in sorted(rows, key=lambda r: (-by_frequency[_key(r["normalized"])], r["normalized"])):
        text = _key(row["normalized"])
        if closed and process.extractOne(text, closed, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR):
            continue
        found = process.extractOne(text, representatives, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR)
        if found is None:
            representatives.append(text)
            groups.append(Gap(question=row["question"]))
        groups[found[2] if found else -1].add(row)
    groups.sort(key=lambda g: (-g.count, -g.askers, g.question))
    return groups[:limit]


def _key(normalized: str) -> str:
    """What makes two questions the same gap: their content words ("best pizza town"), as the matcher sees them."""
    return " ".join(content_tokens(normalized)) or normalized


@dataclass
class Stats:
    days: int | None
    total: int
    outcomes: dict[str, int]
    top_entries: list[tuple[str, int]]
    upvotes: int
    downvotes: int
    busiest_channels: list[tuple[int, int]]
    per_day: list[tuple[str, int, int]]  # (date, answered, not answered)

    @property
    def answer_rate(self) -> float:
        return round(100 * self.outcomes.get("answered", 0) / self.total, 1) if self.total else 0.0

    def as_dict(self) -> dict:
        return {
            "days": self.days,
            "total": self.total,
            "answer_rate": self.answer_rate,
            "outcomes": self.outcomes,
            "top_entries": self.top_entries,
            "upvotes": self.upvotes,
            "downvotes": self.downvotes,
            "busiest_channels": self.busiest_channels,
            "per_day": self.per_day,
        }


@unavailable_on_failure
async def stats(db: aiosqlite.Connection, days: int | None = 30) -> Stats:
    start = since(days)
    outcomes = {
        r["outcome"]: r["n"]
        for r in await _fetch(
            db, "SELECT outcome, COUNT(*) AS n FROM queries WHERE asked_at >= ? GROUP BY outcome", start
        )
    }
    top = await _fetch(
        db,
        "SELECT entry_id, COUNT(*) AS n FROM queries WHERE asked_at >= ? AND outcome = 'answered'"
        " GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT 5",
        start,
    )
    votes = {
        r["vote"]: r["n"]
        for r in await _fetch(
            db,
            "SELECT f.vote, COUNT(*) AS n FROM feedback f JOIN queries q ON q.id = f.query_id"
            " WHERE q.asked_at >= ? GROUP BY f.vote",
            start,
        )
    }
    channels = await _fetch(
        db,
        "SELECT channel_id, COUNT(*) AS n FROM queries WHERE asked_at >= ?"
        " AND channel_id IS NOT NULL GROUP BY channel_id ORDER BY n DESC LIMIT 5",
        start,
    )
    days_rows = await _fetch(
        db,
        "SELECT substr(asked_at, 1, 10) AS day, SUM(outcome = 'answered') AS yes,"
        " SUM(outcome != 'answered') AS no FROM queries WHERE asked_at >= ?"
        " GROUP BY day ORDER BY day",
        start,
    )
    return Stats(
        days=days,
        total=sum(outcomes.values()),
        outcomes=outcomes,
        top_entries=[(r["entry_id"], r["n"]) for r in top],
        upvotes=votes.get(1, 0),
        downvotes=votes.get(-1, 0),
        busiest_channels=[(r["channel_id"], r["n"]) for r in channels],
        per_day=[(r["day"], r["yes"], r["no"]) for r in days_rows],
    )


EXPORT_COLUMNS = (*QUERY_COLUMNS, "upvotes", "downvotes")


@unavailable_on_failure
async def export_csv(db: aiosqlite.Connection, days: int | None = 30) -> str:
    rows = await _fetch(
        db,
        f"SELECT {', '.join('q.' + c for c in QUERY_COLUMNS)},"
        " (SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote > 0) AS upvotes,"
        " (SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote < 0) AS downvotes"
        " FROM queries q WHERE q.asked_at >= ? ORDER BY q.id",
        since(days),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(tuple(_cell(value) for value in row) for row in rows)
    return out.getvalue()


def _cell(value: object) -> object:
    """Questions are user text: keep a spreadsheet from reading "=..." as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
