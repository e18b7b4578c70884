"""The query log: every question and vote, written off the answer path.

``record`` and ``record_feedback`` only put a row on a queue and return; one
writer task drains it in batches, one transaction per batch, committing as soon
as rows are queued. A front end that can wait (the command line) calls
``keep_up`` after each answer: it returns at once unless more than ``LAG_ROWS``
rows, or rows older than ``LAG_SECONDS``, are still unwritten, which bounds what
a SIGKILL can lose. A failing write (locked, read-only or full disk) is reported
in the bot's log and retried with backoff: the rows stay queued, so nothing is
lost while the process lives, and ``close`` flushes what is queued and returns
how many rows it could not write. The queue holds at most ``MAX_QUEUED`` rows:
beyond that, ``keep_up`` waits and ``record`` drops the row and counts it
(``Health.dropped``), so a file that keeps failing cannot exhaust memory. After
a failure that a fresh connection can cure (a file opened read-only, moved or
replaced) the file is opened again. A path that cannot be opened at all at start
(a folder, a file that is not SQLite, a device) is a set-up mistake: ``open``
says so once, or with ``strict`` raises :class:`QueryLogUnavailable`. A damaged
SQLite file found at start is moved aside, never deleted, and a new log started.
Every write transaction on the shared connection holds one lock, so one that
fails and rolls back can never undo another's work (a moderator's ``learn``, a
``forget``, the purge). The WAL is checkpointed every ``CHECKPOINT_PAGES`` pages
and kept at most ``WAL_LIMIT`` bytes, so a small disk holds rows, not journal.
User ids are stored only as salted hashes, and a user mentioned in a question is
stored as "@user": the log holds no raw user id, not even of someone who never asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import re
import secrets
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.querylog import QueryLogUnavailable, unavailable_on_failure
from bot.querylog.schema import QUERY_COLUMNS, QueryRow, migrate
from bot.service import Answer, Asker, QuerySource

log = logging.getLogger(__name__)
MAX_STORED_QUESTION = 2000
RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)  # seconds between attempts at a failing write, the last repeating
# How long a statement waits for another process's lock before it fails (and is reported and retried). Short, because
# moderators' reads share the connection and Discord wants their replies within 3 s.
BUSY_TIMEOUT = 1.0
SETUP_BUSY_TIMEOUT = 10.0
# Conditions of the file that the same connection outlasts; after any other failure the file is opened again.
WAITED_OUT = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL})
DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
SQLITE_HEADER = b"SQLite format 3\x00"
DAY = 24 * 3600
SHUTDOWN_WAIT = 10.0  # seconds close() waits for a failing file before giving up the rows still queued
LAG_ROWS = 50  # keep_up waits while more rows than this are unwritten ...
LAG_SECONDS = 0.1  # ... or the oldest has waited longer than this
MAX_QUEUED = 10_000  # rows held in memory while the file fails (a few MB); beyond, keep_up waits, record drops
CHECKPOINT_PAGES = 64  # WAL pages (4 KB each) between automatic checkpoints; SQLite's default is 1,000
WAL_LIMIT = 1 << 20  # bytes: a WAL grown past this while a reader held it is cut back at the next checkpoint
USER_MENTION = re.compile(r"<@!?\d+>")


@dataclass
class Health:
    """What moderators see about the log itself."""

    pending: int = 0  # rows queued or being written
    last_error: str | None = None
    failing_since: datetime | None = None
    notice: str | None = None  # something moderators must know even while the log works, e.g. a damaged file moved
    dropped: int = 0  # rows given up because the queue was full (the file failing for a long time)


class PendingQuery(NamedTuple):
    """A question waiting to be written: its row, and the asker's raw id, hashed only when written."""

    row: QueryRow  # user_hash is still None
    user_id: int | None


class PendingVote(NamedTuple):
    query_id: int
    user_id: int
    vote: int
    voted_at: str


Pending = PendingQuery | PendingVote


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def retention_cutoff(days: int) -> str:
    """The ISO time before which questions are purged when kept ``days`` days."""
    return iso(utc_now() - timedelta(days=days))


def storable(text: str) -> str:
    """``text`` as SQLite can store it: a lone surrogate (possible in JSON from Discord) becomes "?".

    One such row used to fail its whole batch on every retry, and so stopped the log for good.
    """
    return text.encode("utf-8", "replace").decode("utf-8")


def stored_question(question: str) -> str:
    """A question as the log keeps it: bounded, storable, and a mentioned user as "@user" (no raw id)."""
    return storable(USER_MENTION.sub("@user", question[:MAX_STORED_QUESTION]))


def sqlite_code(error: BaseException) -> int:
    """SQLite's primary result code for an error it raised (SQLITE_BUSY, SQLITE_FULL...), else 0."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF


class QueryLog:
    def __init__(
        self, path: Path, *, salt: str | None = None, retention_days: int | None = None, batch_size: int = 500
    ) -> None:
        self.path, self.retention_days, self.batch_size = Path(path), retention_days, batch_size
        self._configured_salt = salt
        self._salt = ""
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._queued_at: deque[float] = deque()  # when each unwritten row was queued (monotonic), oldest first
        self._progress = asyncio.Event()  # set, and replaced, whenever a batch is done or a write fails
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting = asyncio.Lock()  # the writer, the purge and moderators may all ask at once
        self._writing = asyncio.Lock()  # one write transaction at a time on the shared connection
        self._outstanding = 0  # rows queued or being written
        self._dropping = False  # the queue is full and rows are being given up (logged once)
        self.setup_error: str | None = None  # why the file could not be opened at start, when it is a set-up mistake
        self.health = Health()

    # --- life cycle ----------------------------------------------------------------------------

    async def open(self, *, strict: bool = False) -> None:
        """Open (creating folder and file), migrate, start the writer and the daily purge.

        If the file is locked or the disk full, the log keeps queueing and keeps trying: answers never wait
        for it. A path that cannot be opened at all (a folder, a file that is not SQLite, a device, a file
        where a folder should be) is a set-up mistake: with ``strict`` it raises :class:`QueryLogUnavailable`;
        otherwise it is said once, in the bot's log and to moderators, and the log keeps trying, so it
        catches up once the path is fixed. A damaged SQLite file is moved aside first (``connection``,
        which readers use, never does that).
        """
        self._loop = asyncio.get_running_loop()
        try:
            await self._connect(repair=True)
        except (sqlite3.Error, OSError) as error:
            if sqlite_code(error) in WAITED_OUT:
                self._failed(error)
            elif strict:
                raise QueryLogUnavailable(str(error)) from error
            else:
                self._cannot_use(error)
        self._tasks.append(asyncio.create_task(self._writer(), name="querylog-writer"))
        if self.retention_days:
            self._tasks.append(asyncio.create_task(self._purge_daily(), name="querylog-retention"))

    def _cannot_use(self, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        self.setup_error = self.health.last_error = message
        self.health.failing_since = utc_now()
        self.health.notice = (
            f"the log file {self.path} cannot be used ({message}); questions are answered but not logged "
            "until ALLYBOT_DB_PATH is fixed"
        )
        log.error(
            "query log: cannot use %s (%s): check ALLYBOT_DB_PATH; answers go on, questions are not logged until "
            "it is fixed",
            self.path,
            message,
        )

    async def _connect(self, *, repair: bool = False) -> aiosqlite.Connection:
        async with self._connecting:
            if self._db is not None:
                return self._db
            try:
                return await self._open_file()
            except sqlite3.DatabaseError as error:
                if not (repair and self._move_aside_if_damaged(error)):
                    raise
            return await self._open_file()

    async def _open_file(self) -> aiosqlite.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as error:  # mkdir's own words, "File exists", do not say what is wrong
            raise NotADirectoryError(errno.ENOTDIR, "not a folder (a file is in the way)", error.filename) from error
        connecting = aiosqlite.connect(self.path, timeout=BUSY_TIMEOUT)
        try:
            db = await connecting
        except Exception:
            # aiosqlite stops its thread without waiting for it: wait here, or the thread reports to an event
            # loop that a command line exiting at once (a set-up mistake) has already closed.
            thread = getattr(connecting, "_thread", None)
            if thread is not None:
                await asyncio.to_thread(thread.join, 5)
            raise
        try:
            # Set-up waits longer for another process's lock than statements later do: it happens once, before
            # anyone waits on this connection, and several processes starting on a new file take turns at it.
            await db.execute(f"PRAGMA busy_timeout = {int(SETUP_BUSY_TIMEOUT * 1000)}")
            await db.execute("PRAGMA journal_mode=WAL")
            # Checkpoint often, and cut the WAL back: by default it grows to 4 MB (7 KB per row logged one at a
            # time) before its first checkpoint, which is what a small disk filled up with instead of rows.
            await db.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
            await db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            await migrate(db)
            self._salt = self._configured_salt or await self._stored_salt(db)
            await db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        except BaseException:
            await db.close()
            raise
        self._db = db
        return db

    async def _reopen_later(self) -> None:
        """Drop the connection, so the next attempt opens the file again (never under another's transaction)."""
        async with self._writing, self._connecting:
            if self._db is not None:
                db, self._db = self._db, None
                with contextlib.suppress(sqlite3.Error):
                    await db.close()

    def _move_aside_if_damaged(self, error: sqlite3.DatabaseError) -> bool:
        """Rename a damaged SQLite file (and its -wal, -shm) to ``NAME.corrupt-TIME``, so a new log can start.

        Only a file that starts like an SQLite database is moved: anything else at the path is
        probably a wrong ALLYBOT_DB_PATH, and is left alone. Nothing is deleted: the evidence stays.
        """
        moved = utc_now()
        target = self.path.with_name(f"{self.path.name}.corrupt-{moved:%Y%m%dT%H%M%SZ}")
        if sqlite_code(error) not in DAMAGED or not self._looks_like_sqlite() or target.exists():
            return False
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").rename(f"{target}{suffix}")
        self.health.notice = (
            f"the log file was damaged ({type(error).__name__}: {error}); it was moved to {target.name} "
            f"on {moved:%Y-%m-%d %H:%M} UTC and a new log was started"
        )
        log.error("query log: %s is damaged (%s): moved to %s, starting a new log", self.path, error, target)
        return True

    def _looks_like_sqlite(self) -> bool:
        try:
            with self.path.open("rb") as file:
                return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
        except OSError:
            return False

    @staticmethod
    async def _stored_salt(db: aiosqlite.Connection) -> str:
        """The salt kept in the file, created once: hashes stay comparable across restarts.

        Two processes starting on a new file may both find none: ``INSERT OR IGNORE`` lets the first one's
        stand, and both read it back.
        """
        query = "SELECT value FROM meta WHERE key = 'salt'"
        async with db.execute(query) as cursor:
            row = await cursor.fetchone()
        if row:
            return row[0]
        await db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(16),))
        await db.commit()
        async with db.execute(query) as cursor:
            (salt,) = await cursor.fetchone()  # type: ignore[misc]
        return salt

    async def close(self, timeout: float | None = None) -> int:
        """Write everything queued (waiting up to ``timeout`` seconds, default ``SHUTDOWN_WAIT``), then close.

        Returns how many rows were lost: still queued when the wait ran out, or dropped earlier because
        the queue was full. Both are said in the bot's log.
        """
        lost = 0
        try:
            await asyncio.wait_for(self._queue.join(), SHUTDOWN_WAIT if timeout is None else timeout)
        except TimeoutError:
            lost = self._outstanding
            log.error(
                "query log: %d rows could not be written before shutdown and are lost: %s",
                lost,
                self.health.last_error,
            )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._db is not None:
            await self._db.close()
            self._db = None
        if self.health.dropped:
            log.error("query log: %d rows were dropped while the queue was full", self.health.dropped)
        return lost + self.health.dropped

    async def flush(self) -> None:
        await self._queue.join()

    async def keep_up(self) -> None:
        """Back-pressure for a front end that can wait (the command line): call it after each answer.

        Returns at once unless more than ``LAG_ROWS`` rows, or rows older than ``LAG_SECONDS``, are still
        unwritten while the file works; then it waits for the writer, so a SIGKILL loses at most that
        much. While the file fails it waits only when ``MAX_QUEUED`` rows are held: answers go on as
        long as memory allows, and then slow down rather than grow it.
        """
        while self._must_wait():
            await self._progress.wait()

    def _must_wait(self) -> bool:
        if not self._tasks:  # not open: no writer would ever catch up
            return False
        if self._outstanding >= MAX_QUEUED:
            return True
        if self.health.last_error is not None:
            return False
        too_old = bool(self._queued_at) and time.monotonic() - self._queued_at[0] > LAG_SECONDS
        return self._outstanding > LAG_ROWS or too_old

    def _signal(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    # --- recording (never blocks) ----------------------------------------------------------------------

    def user_hash(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:32]

    def record(self, answer: Answer, source: QuerySource, asker: Asker | None = None) -> None:
        asker = asker or Asker()
        question = stored_question(answer.query)
        row = QueryRow(
            id=answer.query_id,
            asked_at=iso(utc_now()),
            source=source.value,
            guild_id=asker.guild_id,
            channel_id=asker.channel_id,
            user_hash=None,  # hashed when written, once the salt is known
            question=question,
            question_truncated=int(answer.truncated or len(answer.query) > MAX_STORED_QUESTION),
            normalized=storable(answer.normalized),
            outcome=answer.outcome.value,
            entry_id=answer.entry.id if answer.entry else None,
            score=answer.score,
            alternatives=json.dumps([{"id": s.entry.id, "score": s.score} for s in answer.alternatives]),
            kb_version=answer.kb_version,
            latency_ms=answer.latency_ms,
        )
        self._enqueue(PendingQuery(row, asker.user_id))

    def record_feedback(self, query_id: int, user_id: int, vote: str) -> None:
        self._enqueue(PendingVote(query_id, user_id, 1 if vote == "up" else -1, iso(utc_now())))

    def _enqueue(self, item: Pending) -> None:
        """Queue a row from the event loop, or from a front end's worker thread (the console)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None or running is self._loop:
            self._put(item)
        else:
            self._loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: Pending) -> None:
        if self._outstanding >= MAX_QUEUED:
            self.health.dropped += 1
            if not self._dropping:
                self._dropping = True
                log.error(
                    "query log: %d rows are waiting for %s (%s); new rows are dropped until it works again",
                    self._outstanding,
                    self.path,
                    self.health.last_error,
                )
            return
        self._queue.put_nowait(item)
        self._queued_at.append(time.monotonic())
        self._outstanding += 1
        self.health.pending = self._outstanding

    # --- the writer ---------------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_until_done(batch)
            self._outstanding -= len(batch)
            self.health.pending = self._outstanding
            for _ in batch:
                self._queued_at.popleft()
                self._queue.task_done()
            self._signal()

    async def _write_until_done(self, batch: list[Pending]) -> None:
        attempt = 0
        while True:
            try:
                await self._write(batch)
            except Exception as error:  # a disk fault, or a bug: either way keep the rows and say so
                self._failed(error)
                if sqlite_code(error) not in WAITED_OUT:
                    await self._reopen_later()
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
                continue
            if self.health.last_error is not None:
                log.warning("query log: writing again after %s", self.health.last_error)
                self.health.last_error = self.health.failing_since = None
                if self.setup_error is not None:
                    self.setup_error = self.health.notice = None
            if self._dropping:
                self._dropping = False
                log.warning("query log: writing again; %d rows were dropped while it failed", self.health.dropped)
            return

    async def _write(self, batch: list[Pending]) -> None:
        # Raw user ids live only in memory, on the queue; they are hashed here, once the salt is known.
        queries = [p.row._replace(user_hash=self.user_hash(p.user_id)) for p in batch if isinstance(p, PendingQuery)]
        votes = [
            (p.query_id, self.user_hash(p.user_id), p.vote, p.voted_at) for p in batch if isinstance(p, PendingVote)
        ]
        async with self._transaction() as db:
            await db.executemany(
                f"INSERT OR IGNORE INTO queries ({', '.join(QUERY_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(QUERY_COLUMNS))})",
                queries,
            )
            await db.executemany(
                "INSERT INTO feedback (query_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (query_id, user_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                votes,
            )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for one write transaction: committed at the end, rolled back on any error.

        Writers take turns (``_writing``): a batch that fails and rolls back must not take with it a
        ``learn``, ``forget`` or purge whose statements ran on the same connection in between.
        """
        async with self._writing:
            db = await self._connect()
            try:
                yield db
                await db.commit()
            except BaseException:
                with contextlib.suppress(sqlite3.Error, ValueError):  # ValueError: the connection is closed
                    await db.rollback()
                raise

    def _failed(self, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}"
        if self.health.last_error != message:
            expected = isinstance(error, sqlite3.Error | OSError)
            log.error(
                "query log: cannot write to %s (%s); answers go on, rows stay queued",
                self.path,
                message,
                exc_info=None if expected else error,
            )
        self.health.last_error = message
        self.health.failing_since = self.health.failing_since or utc_now()
        self._signal()

    # --- retention ------------------------------------------------------------------------------------

    @unavailable_on_failure
    async def purge(self, days: int) -> int:
        """Delete questions (and their votes) older than ``days``; return how many questions went."""
        cutoff = retention_cutoff(days)
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM feedback WHERE query_id IN (SELECT id FROM queries WHERE asked_at < ?)", (cutoff,)
            )
            cursor = await db.execute("DELETE FROM queries WHERE asked_at < ?", (cutoff,))
        return cursor.rowcount

    async def _purge_daily(self) -> None:
        assert self.retention_days
        while True:
            try:
                removed = await self.purge(self.retention_days)
                if removed:
                    log.info("query log: purged %d questions older than %d days", removed, self.retention_days)
            except QueryLogUnavailable as error:
                self._failed(error.__cause__ or error)
            except Exception as error:  # a bug: said with its traceback, and the purge runs again tomorrow
                self._failed(error)
            await asyncio.sleep(DAY)

    # --- access for reports -----------------------------------------------------------------------------

    @unavailable_on_failure
    async def connection(self) -> aiosqlite.Connection:
        """The open connection, for reports and moderator actions (raises QueryLogUnavailable when unusable)."""
        return await self._connect()

    # --- what moderators taught or dismissed ------------------------------------------------------------

    @unavailable_on_failure
    async def learn(self, phrasing: str, normalized: str, entry_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO learned (normalized, phrasing, entry_id, added_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (normalized) DO UPDATE SET phrasing = excluded.phrasing, entry_id = excluded.entry_id,"
                " added_at = excluded.added_at",
                (normalized, phrasing, entry_id, iso(utc_now())),
            )

    @unavailable_on_failure
    async def learned(self) -> dict[str, list[str]]:
        """Taught phrasings by entry id, oldest first."""
        return await self.learned_from(await self._connect())

    @staticmethod
    async def learned_from(db: aiosqlite.Connection) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        async with db.execute("SELECT entry_id, phrasing FROM learned ORDER BY added_at, normalized") as cursor:
            async for entry_id, phrasing in cursor:
                found.setdefault(entry_id, []).append(phrasing)
        return found

    @unavailable_on_failure
    async def dismiss(self, normalized: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO dismissed (normalized, dismissed_at) VALUES (?, ?)",
                (normalized, iso(utc_now())),
            )

    # --- the review queue (/querylog review) ---------------------------------------------------------------

    @unavailable_on_failure
    async def mark_reviewed(self, key: str, decision: str, question: str, entry_id: str | None = None) -> None:
        """Keep a moderator's decision on one gap group: "skipped", "taught" or "dismissed" (the latest one counts)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO reviewed (group_key, decision, entry_id, question, decided_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (group_key) DO UPDATE SET decision = excluded.decision, entry_id = excluded.entry_id,"
                " question = excluded.question, decided_at = excluded.decided_at",
                (key, decision, entry_id, storable(question), utc_now().isoformat(timespec="microseconds")),
            )

    @unavailable_on_failure
    async def unmark_reviewed(self, key: str) -> None:
        """Forget the decision on one group (Back: a skipped group returns to its place in the queue)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM reviewed WHERE group_key = ?", (key,))

    @unavailable_on_failure
    async def review_marks(self) -> dict[str, tuple[str, str]]:
        """Every group's decision and when it was made, by group key, oldest decision first."""
        db = await self._connect()
        async with db.execute("SELECT group_key, decision, decided_at FROM reviewed ORDER BY decided_at") as cursor:
            return {key: (decision, at) async for key, decision, at in cursor}

    # --- one asker's own data (privacy) -------------------------------------------------------------------

    @unavailable_on_failure
    async def about(self, user_id: int) -> dict[str, Any]:
        """How many questions and votes are stored for this user, and their latest questions."""
        db, hashed = await self._connect(), self.user_hash(user_id)
        async with db.execute("SELECT COUNT(*) FROM queries WHERE user_hash = ?", (hashed,)) as cursor:
            (questions,) = await cursor.fetchone()  # type: ignore[misc]
        async with db.execute("SELECT COUNT(*) FROM feedback WHERE user_hash = ?", (hashed,)) as cursor:
            (votes,) = await cursor.fetchone()  # type: ignore[misc]
        async with db.execute(
            "SELECT asked_at, question FROM queries WHERE user_hash = ? ORDER BY id DESC LIMIT 5", (hashed,)
        ) as cursor:
            latest = [tuple(row) for row in await cursor.fetchall()]
        return {"questions": questions, "votes": votes, "latest": latest}

    @unavailable_on_failure
    async def forget(self, user_id: int) -> int:
        """Delete this user's questions and votes; return how many questions went."""
        hashed = self.user_hash(user_id)
        async with self._transaction() as db:
            await db.execute("DELETE FROM feedback WHERE user_hash = ?", (hashed,))
            cursor = await db.execute("DELETE FROM queries WHERE user_hash = ?", (hashed,))
        return cursor.rowcount
