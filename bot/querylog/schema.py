"""The query log's schema, as ordered migrations applied in place.

``PRAGMA user_version`` holds how many migrations a file has had; opening a
file applies the missing ones in order, each in its own transaction. Never edit
a migration that has shipped: add a new one.
"""

from __future__ import annotations

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
)

SCHEMA_VERSION = len(MIGRATIONS)

# The columns of a logged question, in the order the store writes them and the export reads them.
QUERY_COLUMNS = (
    "id",
    "asked_at",
    "source",
    "guild_id",
    "channel_id",
    "user_hash",
    "question",
    "question_truncated",
    "normalized",
    "outcome",
    "entry_id",
    "score",
    "alternatives",
    "kb_version",
    "latency_ms",
)


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring ``db`` up to ``SCHEMA_VERSION``; return the version it had before."""
    async with db.execute("PRAGMA user_version") as cursor:
        (before,) = await cursor.fetchone()  # type: ignore[misc]
    if before > SCHEMA_VERSION:
        raise RuntimeError(f"the query log has schema version {before}, newer than this allybot ({SCHEMA_VERSION})")
    for version in range(before, SCHEMA_VERSION):
        await db.executescript(f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
    return before
