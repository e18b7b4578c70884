"""The one place allybot is put together: settings -> knowledge -> matcher (snapshots) -> query log -> service.

Every entry point builds the app with :func:`open_app`: the command line's ``run``,
``console``, ``ask`` and ``sync``, the benchmarks and the tests. Front ends are then
built from the :class:`App` (``AllyBot(app.settings, app.service, app.query_log)``,
``Console(app.service, ...)``) and never assemble the parts themselves.

The order matters: a knowledge base that does not load stops everything before
the query log is opened; a query log that cannot be read costs only the learned
phrasings (logged), never the answers, unless ``strict`` asks for a path that can
never work to stop the command (the command line does; the Discord bot does not).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.config import Settings
from bot.matching.snapshots import Snapshots
from bot.querylog import QueryLogUnavailable
from bot.querylog.store import QueryLog
from bot.service import AnswerService, index_knowledge

log = logging.getLogger(__name__)


@dataclass
class App:
    """What the front ends need: the settings, the answer service and the query log (None with logging off).

    ``rows_lost`` is set when :func:`open_app` closes: the rows the query log could not write (exit code 3
    on the command line).
    """

    settings: Settings
    service: AnswerService
    query_log: QueryLog | None
    rows_lost: int = 0

    async def keep_up(self) -> None:
        """Back-pressure for a front end that can wait (the command line): call it after each answer, so the
        query log never falls far behind (see ``QueryLog.keep_up``). Returns at once with logging off."""
        if self.query_log is not None:
            await self.query_log.keep_up()


@asynccontextmanager
async def open_app(
    settings: Settings, *, log_queries: bool = True, strict: bool = False, close_timeout: float | None = None
) -> AsyncIterator[App]:
    """The app for ``settings``; on exit the query log writes what it has queued (waiting at most
    ``close_timeout`` seconds for a failing file, default ``SHUTDOWN_WAIT``), closes, and the rows it
    could not write are counted in ``App.rows_lost``.

    Raises KnowledgeError when the knowledge folder does not load. With ``log_queries`` False
    nothing is logged and no database is opened (``--no-log``, ``sync``). ``strict``: a log path that
    can never work (a folder, a file that is not SQLite) raises :class:`QueryLogUnavailable` (the command
    line's set-up mistake); otherwise it is said once, in the log and to moderators, and answers go on
    (the Discord bot).
    """
    snapshots = Snapshots(settings.snapshot_dir) if settings.snapshot_dir else None
    matcher = index_knowledge(settings.knowledge_dir, settings.thresholds, snapshots)
    if not log_queries:
        yield App(settings, AnswerService(matcher, settings.thresholds, snapshots=snapshots), None)
        return
    query_log = QueryLog(settings.db_path, salt=settings.user_hash_salt, retention_days=settings.retention_days)
    await query_log.open(strict=strict)
    app: App | None = None
    try:
        learned: dict[str, list[str]] = {}
        if query_log.setup_error is None:  # a path that cannot be used has been said once already
            try:
                learned = await query_log.learned()
            except QueryLogUnavailable as error:
                log.error("query log unavailable, answering without learned phrasings: %s", error)
        service = AnswerService(matcher, settings.thresholds, recorder=query_log, learned=learned, snapshots=snapshots)
        app = App(settings, service, query_log)
        yield app
    finally:
        lost = await query_log.close(close_timeout)
        if app is not None:
            app.rows_lost = lost
