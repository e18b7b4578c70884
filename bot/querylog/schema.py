"""The query log's schema, as ordered migrations applied in place.

``PRAGMA user_version`` holds how many migrations a file has had; opening a
file applies the missing ones in order, in one transaction. Never edit
a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

import aiosqlite

MIGRATIONS: tuple[str, ...] = (
    # 1: every question asked, and the salt for hashing user ids.
    """
    CREATE TABLE queries (
        id INTEGER PRIMARY KEY,          -- Answer.query_id (time-ordered)
        asked_at TEXT NOT NULL,          -- UTC, ISO 8601
        source TEXT NOT NULL,            -- slash, mention, dm, ask-channel, console, cli
        guild_id INTEGER,
        channel_id INTEGER,
        user_hash TEXT,                  -- salted SHA-256 of the user id; never the id itself
        question TEXT NOT NULL,          -- as asked, at most MAX_STORED_QUESTION characters
        question_truncated INTEGER NOT NULL DEFAULT 0,
        normalized TEXT NOT NULL,
        outcome TEXT NOT NULL,           -- answered, suggested, unanswered
        entry_id TEXT,
        score REAL NOT NULL,
        alternatives TEXT NOT NULL,      -- JSON list of {id, score}
        kb_version TEXT NOT NULL,
        latency_ms REAL NOT NULL
    );
    CREATE INDEX queries_asked_at ON queries (asked_at);
    CREATE INDEX queries_user ON queries (user_hash);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: feedback on answers, and what moderators taught or dismissed.
    """
    CREATE TABLE feedback (
        query_id INTEGER NOT NULL,
        user_hash TEXT NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        voted_at TEXT NOT NULL,
        PRIMARY KEY (query_id, user_hash)
    );
    CREATE TABLE learned (
        normalized TEXT PRIMARY KEY,     -- the phrasing as the matcher sees it
        phrasing TEXT NOT NULL,          -- as the moderator gave it
        entry_id TEXT NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE dismissed (
        normalized TEXT PRIMARY KEY,
        dismissed_at TEXT NOT NULL
    );
    """,
    # 3: what moderators decided in the review queue (/querylog review), one row per gap group. group_key is
    # GapGroup.key (reports.py, "g" + 16 hex digits); keys of the older 12-hex form match no group and are ignored.
    """
    CREATE TABLE reviewed (
        group_key TEXT PRIMARY KEY,      -- ReviewItem.key of the gap group
        decision TEXT NOT NULL CHECK (decision IN ('skipped', 'taught', 'dismissed')),
        entry_id TEXT,                   -- the topic it was taught (taught only)
        question TEXT NOT NULL,          -- the group's representative question, for reading the table
        decided_at TEXT NOT NULL         -- UTC, ISO 8601; skipped groups come back oldest skip first
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class QueryRow(NamedTuple):
    """A logged question as the ``queries`` table holds it: the fields are the columns, in order."""

    id: int
    asked_at: str
    source: str
    guild_id: int | None
    channel_id: int | None
    user_hash: str | None
    question: str
    question_truncated: int
    normalized: str
    outcome: str
    entry_id: str | None
    score: float
    alternatives: str
    kb_version: str
    latency_ms: float


# The columns of a logged question, in the order the store writes them and the export reads them.
QUERY_COLUMNS: tuple[str, ...] = QueryRow._fields


def statements(script: str) -> list[str]:
    """The SQL statements of ``script``, split where SQLite itself sees them end (not at a ';' in a comment)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip():
        found.append(pending.strip())
    return found


async def _version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        (version,) = await cursor.fetchone()  # type: ignore[misc]
    return version


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring ``db`` up to ``SCHEMA_VERSION``; return the version it had before.

    Safe when several processes open a new file at once: the migrations run in one transaction that
    takes the write lock first (``BEGIN IMMEDIATE``) and reads the version again under it, so the
    process that waited finds the work done instead of failing on "table queries already exists".
    """
    before = await _version(db)
    if before > SCHEMA_VERSION:
        raise RuntimeError(f"the query log has schema version {before}, newer than this allybot ({SCHEMA_VERSION})")
    if before == SCHEMA_VERSION:
        return before
    await db.execute("BEGIN IMMEDIATE")
    try:
        before = await _version(db)
        for version in range(before, SCHEMA_VERSION):
            for statement in statements(MIGRATIONS[version]):
                await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return before
