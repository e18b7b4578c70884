"""The one place allybot is put together: settings -> knowledge -> matcher (snapshots) -> query log -> service.

Every entry point builds the app with :func:`open_app`: the command line's ``run``,
``console``, ``ask`` and ``sync``, the benchmarks and the tests. Front ends are then
built from the :class:`App` (``AllyBot(app.settings, app.service, app.query_log)``,
``Console(app.service, ...)``) and never assemble the parts themselves.

The order matters: a knowledge base that does not load stops everything before
the query log is opened; a query log that cannot be read costs only the learned
phrasings (logged), never the answers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.config import Settings
from bot.matching.snapshots import Snapshots
from bot.querylog.store import QueryLog
from bot.service import AnswerService, index_knowledge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    """What the front ends need: the settings, the answer service and the query log (None with logging off)."""

    settings: Settings
    service: AnswerService
    query_log: QueryLog | None


@asynccontextmanager
async def open_app(settings: Settings, *, log_queries: bool = True, close_timeout: float = 10.0) -> AsyncIterator[App]:
    """The app for ``settings``; on exit the query log writes what it has queued (waiting at most
    ``close_timeout`` seconds for a failing file) and closes.

    Raises KnowledgeError when the knowledge folder does not load. With ``log_queries`` False
    nothing is logged and no database is opened (``--no-log``, ``sync``).
    """
    snapshots = Snapshots(settings.snapshot_dir) if settings.snapshot_dir else None
    matcher = index_knowledge(settings.knowledge_dir, settings.thresholds, snapshots)
    if not log_queries:
        yield App(settings, AnswerService(matcher, settings.thresholds, snapshots=snapshots), None)
        return
    query_log = QueryLog(settings.db_path, salt=settings.user_hash_salt, retention_days=settings.retention_days)
    await query_log.open()
    try:
        try:
            learned = await query_log.learned()
        except (sqlite3.Error, OSError) as error:
            log.error("query log unavailable, answering without learned phrasings: %s", error)
            learned = {}
        service = AnswerService(matcher, settings.thresholds, recorder=query_log, learned=learned, snapshots=snapshots)
        yield App(settings, service, query_log)
    finally:
        await query_log.close(close_timeout)
