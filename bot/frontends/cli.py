"""``python -m bot`` / ``allybot``: the command line, a thin layer over the answer service.

Exit codes: 0 done, 1 the knowledge base has problems (``kb check``), 2 a usage
or set-up mistake (a query-log path that cannot be opened included), always
explained in one line on stderr; 3 answered, but the query log lost rows (it
says how many); 130 after Ctrl-C and 143 after SIGTERM, both of which first
write what the query log has queued.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import aiosqlite

from bot.app import App, open_app
from bot.config import Settings, SettingsError, load_settings
from bot.frontends.console import Console
from bot.frontends.terminal import format_report, learned_yaml, render_answer
from bot.knowledge.apply import ApplyError, apply_learned
from bot.knowledge.loader import KnowledgeError, load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.knowledge.stats import compute_stats
from bot.matching.matcher import Matcher
from bot.querylog import QueryLogUnavailable, reports
from bot.querylog.chart import bar_chart
from bot.querylog.replay import KINDS, WORDS, Replay, replay
from bot.querylog.store import QueryLog
from bot.service import AnswerService, QuerySource, index_knowledge

ROWS_LOST = 3  # exit code: the command did its work, but the query log could not keep every row
log = logging.getLogger("allybot")


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="allybot", description="Answers NATO alliance-policy questions from a curated knowledge base."
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    def with_knowledge(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--knowledge", type=Path, metavar="DIR", help="knowledge-base folder (default: setting)")
        sub.add_argument("--db", type=Path, metavar="PATH", help="query-log SQLite file (default: setting)")
        sub.add_argument("--no-log", action="store_true", help="do not record questions in the query log")
        return sub

    with_knowledge(commands.add_parser("run", help="the Discord bot, or the console when no token is set"))
    sync = commands.add_parser("sync", help="register the slash commands with Discord (home guild, else global)")
    sync.add_argument("--guild", type=int, metavar="ID", help="guild to sync to (default: ALLYBOT_HOME_GUILD_ID)")
    with_knowledge(commands.add_parser("console", help="ask questions in the terminal (reads stdin)"))
    ask = with_knowledge(commands.add_parser("ask", help="answer one question, or one per line with --batch"))
    ask.add_argument("question", nargs="?", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--batch", metavar="FILE", help="read one question per line from FILE ('-' for stdin)")

    logs = commands.add_parser("logs", help="read the query log (moderators)")
    logs.add_argument("report", choices=("recent", "gaps", "stats", "export", "replay"))
    logs.add_argument("--days", type=int, default=30, help="look back this many days (0 = everything; default 30)")
    logs.add_argument("--limit", type=int, default=20, help="rows for recent, groups for gaps (default 20)")
    logs.add_argument("--json", action="store_true", help="machine-readable output")
    logs.add_argument("--db", type=Path, metavar="PATH", help="query-log SQLite file (default: setting)")
    logs.add_argument("--chart", type=Path, metavar="PNG", help="stats: also write a chart of questions per day")
    logs.add_argument(
        "--knowledge",
        type=Path,
        metavar="DIR",
        help="gaps: the knowledge base to find each group's topic in; replay: the one to ask again (default: setting)",
    )

    kb = commands.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", parser_class=_Parser)
    kb.required = True
    check = kb.add_parser("check", help="validate the knowledge base; exit 1 with every problem")
    check.add_argument("directory", nargs="?", type=Path)
    check.add_argument(
        "--replay", type=Path, metavar="DB", help="also replay that query log's last 30 days on this knowledge base"
    )
    learned = kb.add_parser("learned", help="phrasings moderators taught, as YAML to paste into knowledge/")
    learned.add_argument("directory", nargs="?", type=Path)
    learned.add_argument("--db", type=Path, metavar="PATH", help="query-log SQLite file (default: setting)")
    learned.add_argument(
        "--apply", action="store_true", help="write them into the knowledge YAML in place (comments and layout kept)"
    )
    stats = kb.add_parser("stats", help="coverage by category and source, phrasings per entry")
    stats.add_argument("directory", nargs="?", type=Path)
    stats.add_argument("--seeds", type=Path, metavar="DIR", help="folder of seed articles, to list uncited headings")
    parser.set_defaults(command="run", knowledge=None, db=None, no_log=False)  # bare `allybot` is `allybot run`
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    # Lines end at \n, \r\n or a lone \r, as in a --batch file: the same bytes are the same questions either way.
    sys.stdin.reconfigure(errors="replace", newline=None)  # type: ignore[union-attr]
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return _dispatch(args, settings)
    except (UserError, SettingsError) as error:
        print(f"allybot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    code = _command(args, settings)
    lost: int = getattr(args, "rows_lost", 0)
    return ROWS_LOST if code == 0 and lost else code


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "kb":
        if args.kb_command == "learned":
            return asyncio.run(_kb_learned(args, settings))
        return _kb_check(args, settings) if args.kb_command == "check" else _kb_stats(args, settings)
    if args.command == "logs":
        return asyncio.run(_logs(args, settings))
    if args.command == "ask":
        return _run_logging(_ask(args, settings))
    if args.command == "sync":
        return _sync(args, settings)
    if args.command == "console":
        return _run_logging(_console(args, settings, interactive=sys.stdin.isatty()))
    return _run(args, settings)


def _run_logging(command: Coroutine[Any, Any, int]) -> int:
    """Run a command that logs questions; SIGTERM cancels it as Ctrl-C does, so the query log is flushed on the way
    out (without this, ``kill`` or a service manager ended the process with answered questions still queued)."""
    terminated = False

    async def until_terminated() -> int:
        task = asyncio.current_task()
        assert task is not None

        def terminate() -> None:
            nonlocal terminated
            if not terminated:  # a second SIGTERM must not interrupt the flush the first one started
                terminated = True
                log.info("SIGTERM: writing the queued questions to the query log, then stopping")
                task.cancel()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
        return await command

    try:
        return asyncio.run(until_terminated())
    except asyncio.CancelledError:
        if not terminated:
            raise
        return 128 + signal.SIGTERM


@contextlib.asynccontextmanager
async def _app(
    args: argparse.Namespace, settings: Settings, *, log_queries: bool = True, strict: bool = True
) -> AsyncIterator[App]:
    """The app (see bot.app) with this command's --knowledge, --db and --no-log; a knowledge base that does not
    load is one line.

    ``strict``: a log path that cannot be opened at all is a set-up mistake (exit 2). The Discord bot is
    not strict: it answers anyway, and says so once in its log and to moderators. Rows the log could not
    write by the end are counted in ``args.rows_lost`` (exit code 3).
    """
    settings = dataclasses.replace(
        settings, knowledge_dir=args.knowledge or settings.knowledge_dir, db_path=args.db or settings.db_path
    )
    app: App | None = None
    with _knowledge_problems(settings.knowledge_dir):
        try:
            async with open_app(settings, log_queries=log_queries and not args.no_log, strict=strict) as app:
                yield app
        except QueryLogUnavailable as error:
            if app is not None:  # raised by the command itself, not by opening the log
                raise
            raise UserError(
                f"cannot use the query log {settings.db_path}: {error} (set ALLYBOT_DB_PATH or --db, or pass --no-log)"
            ) from error
        finally:
            args.rows_lost = app.rows_lost if app is not None else 0


async def _kept_up(lines: AsyncIterator[str], app: App) -> AsyncIterator[str]:
    """``lines``, each next one only once the query log has kept up with the answers so far (back-pressure)."""
    async for line in lines:
        yield line
        await app.keep_up()


def _knowledge(directory: Path | None, settings: Settings) -> KnowledgeBase:
    directory = directory or settings.knowledge_dir
    with _knowledge_problems(directory):
        return load_knowledge(directory)


@contextlib.contextmanager
def _knowledge_problems(directory: Path) -> Iterator[None]:
    """A knowledge base that will not load, as one line naming its first problem."""
    try:
        yield
    except KnowledgeError as error:
        first = error.problems[0]
        more = f" (and {error.total - 1} more; run: allybot kb check {directory})" if error.total > 1 else ""
        if not directory.is_dir():  # e.g. an installed allybot run outside a checkout: say how to point at one
            more = " (set ALLYBOT_KNOWLEDGE_DIR or pass --knowledge DIR)"
        raise UserError(f"cannot load the knowledge base: {first}{more}") from error


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.discord_token:
        with _discord_errors():
            asyncio.run(_discord(args, settings))
        return 0
    if not sys.stdin.isatty():
        raise UserError(
            "no DISCORD_TOKEN is set and input is not a terminal: set DISCORD_TOKEN to run the "
            "Discord bot, or use 'allybot console' to answer questions read from stdin"
        )
    print(
        f"No DISCORD_TOKEN set: starting the offline console on {args.knowledge or settings.knowledge_dir}.",
        file=sys.stderr,
    )
    return _run_logging(_console(args, settings, interactive=True))


async def _console(args: argparse.Namespace, settings: Settings, *, interactive: bool) -> int:
    async with _app(args, settings) as app:
        lines = _kept_up(_read_lines(sys.stdin), app)
        return await Console(app.service, sys.stdout, interactive=interactive).run(lines)


async def _discord(args: argparse.Namespace, settings: Settings) -> None:
    from bot.frontends.discord_bot.client import AllyBot, run_bot  # discord.py loads only when needed

    assert settings.discord_token
    async with _app(args, settings, strict=False) as app:
        await run_bot(AllyBot(app.settings, app.service, app.query_log), settings.discord_token)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.frontends.discord_bot.client import AllyBot, sync_commands

    if not settings.discord_token:
        raise UserError("sync needs DISCORD_TOKEN (in the environment or .env)")
    token, guild_id = settings.discord_token, args.guild or settings.home_guild_id

    async def sync() -> list[Any]:
        async with _app(args, settings, log_queries=False) as app:  # syncing answers nothing
            return await sync_commands(AllyBot(app.settings, app.service), token, guild_id)

    with _discord_errors():
        synced = asyncio.run(sync())
    where = f"guild {guild_id}" if guild_id else "all guilds (global; may take up to an hour to appear)"
    print(f"Synced {len(synced)} commands to {where}: " + ", ".join(sorted(f"/{c.name}" for c in synced)))
    return 0


@contextlib.contextmanager
def _discord_errors() -> Iterator[None]:
    """Discord's answers to a bad token or missing access, as one line; the token itself is never printed."""
    import aiohttp
    import discord

    try:
        yield
    except discord.LoginFailure as error:
        raise UserError("Discord rejected DISCORD_TOKEN; copy it again from the developer portal (Bot page)") from error
    except discord.PrivilegedIntentsRequired as error:
        raise UserError(
            "the message-content intent is not enabled for this bot: enable it in the developer portal "
            "(Bot > Privileged Gateway Intents), or leave ALLYBOT_ASK_CHANNEL_IDS empty"
        ) from error
    except discord.HTTPException as error:
        raise UserError(f"Discord refused the request: {error.status} {error.text or ''}".strip()) from error
    except (aiohttp.ClientError, OSError) as error:
        raise UserError(f"cannot reach Discord: {error}") from error


async def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch is not None and args.question is not None:
        raise UserError("give either a question or --batch FILE, not both")
    if args.batch is None and (args.question is None or not args.question.strip()):
        raise UserError('the question is empty: allybot ask "what is article 5?"')
    with _questions(args) as questions:
        async with _app(args, settings) as app:
            await _print_answers(_kept_up(questions, app), app.service, json_lines=args.json)
    return 0


@contextlib.contextmanager
def _questions(args: argparse.Namespace) -> Iterator[AsyncIterator[str]]:
    """The question, or the lines of the --batch file or stdin."""
    if args.batch is None:
        yield _one(args.question)
    elif args.batch == "-":
        yield _read_lines(sys.stdin)
    else:
        try:
            batch = open(args.batch, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        except OSError as error:
            raise UserError(f"cannot read {args.batch}: {error.strerror or error}") from error
        with batch:
            yield _read_lines(batch)


async def _one(question: str) -> AsyncIterator[str]:
    yield question


async def _read_lines(stream: TextIO) -> AsyncIterator[str]:
    """The lines of ``stream``, read in a daemon thread.

    The event loop stays free while a line is awaited, so the query log writes as questions
    come (not only at end of input), and a signal can end the command while a read is blocked:
    a daemon thread does not hold up the exit the way ``asyncio.to_thread`` would.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | OSError | None] = asyncio.Queue(maxsize=64)

    def hand_over(item: str | OSError | None) -> None:
        asyncio.run_coroutine_threadsafe(lines.put(item), loop).result()

    def pump() -> None:
        # The command is over: the loop closed (RuntimeError, CancelledError), or the file did (ValueError).
        with contextlib.suppress(RuntimeError, ValueError, concurrent.futures.CancelledError):
            try:
                for line in stream:
                    hand_over(line.rstrip("\r\n"))
            except OSError as error:
                hand_over(error)
            else:
                hand_over(None)

    threading.Thread(target=pump, name="allybot-input", daemon=True).start()
    while (item := await lines.get()) is not None:
        if isinstance(item, OSError):
            raise UserError(f"cannot read the input: {item.strerror or item}")
        yield item


async def _print_answers(questions: AsyncIterator[str], service: AnswerService, *, json_lines: bool) -> None:
    async for question in questions:
        answer = service.answer(question, source=QuerySource.CLI)
        if json_lines:
            print(json.dumps(answer.as_dict(), ensure_ascii=False), flush=True)
        else:
            print(render_answer(answer) + "\n", flush=True)


@contextlib.asynccontextmanager
async def _log_connection(args: argparse.Namespace, settings: Settings) -> AsyncIterator[aiosqlite.Connection]:
    """An existing query log, opened (and migrated) for reading: no writer, and a damaged file is left as it is."""
    path = args.db or settings.db_path
    if not path.is_file():
        raise UserError(f"no query log at {path} (set ALLYBOT_DB_PATH or pass --db)")
    query_log = QueryLog(path, salt=settings.user_hash_salt)
    try:
        yield await query_log.connection()
    except (QueryLogUnavailable, sqlite3.Error, OSError) as error:
        raise UserError(f"cannot read the query log {path}: {error}") from error
    finally:
        await query_log.close()


async def _logs(args: argparse.Namespace, settings: Settings) -> int:
    days = args.days or None
    async with _log_connection(args, settings) as db:
        if args.report == "export":  # streamed, row by row: a year of log never sits in memory
            await reports.off_loop(db, reports.write_csv, sys.stdout, days)
            return 0
        if args.report == "replay":
            found = await _replay(db, args.knowledge or settings.knowledge_dir, settings, days)
            print(json.dumps(found.as_dict(), ensure_ascii=False) if args.json else format_replay(found))
            return 0
        if args.report == "recent":
            data: object = await reports.recent(db, args.limit)
        elif args.report == "gaps":
            matcher = await _matcher(db, args.knowledge or settings.knowledge_dir, settings)
            data = [group.as_dict() for group in await reports.gap_groups(db, matcher, days, args.limit)]
        else:
            stats = await reports.stats(db, days)
            if args.chart:
                args.chart.write_bytes(bar_chart(stats.per_day))
            data = stats.as_dict()
    print(json.dumps(data, ensure_ascii=False) if args.json else format_report(args.report, data))
    return 0


async def _replay(
    db: aiosqlite.Connection, knowledge: Path | KnowledgeBase, settings: Settings, days: int | None
) -> Replay:
    """Every logged question of the period asked again of ``knowledge`` plus the phrasings moderators taught."""
    return await replay(db, await _matcher(db, knowledge, settings), days)


async def _matcher(db: aiosqlite.Connection, knowledge: Path | KnowledgeBase, settings: Settings) -> Matcher:
    """The matcher the bot would have on ``knowledge``: its index plus the phrasings moderators taught (kept in the
    log), built in a worker thread."""
    with _knowledge_problems(knowledge if isinstance(knowledge, Path) else Path(knowledge.directory)):
        matcher = await asyncio.to_thread(index_knowledge, knowledge, settings.thresholds)
    return matcher.with_phrasings(await QueryLog.learned_from(db))


def format_replay(found: Replay) -> str:
    lines = [found.summary()]
    for kind in KINDS:
        for example in found.kinds[kind].examples:
            lines.append(f"  {WORDS[kind]}: {example.asks}× “{example.question}”: {example.before} -> {example.after}")
    return "\n".join(lines)


async def _kb_learned(args: argparse.Namespace, settings: Settings) -> int:
    knowledge = _knowledge(args.directory, settings)
    async with _log_connection(args, settings) as db:
        taught = [(i, p) for i, texts in (await QueryLog.learned_from(db)).items() for p in texts]
    if not args.apply:
        print(learned_yaml(knowledge, taught))
        return 0
    try:
        applied = apply_learned(knowledge, taught)
    except (ApplyError, KnowledgeError, OSError) as error:
        raise UserError(f"cannot write the learned phrasings into {knowledge.directory}: {error}") from error
    for file, added in applied.added.items():
        print(f"{file}: added {len(added)} phrasing(s)")
        for line in added:
            print(f"  + {line}")
    if applied.skipped:
        print(f"{len(applied.skipped)} already in the YAML, skipped")
    for entry_id, phrasing in applied.unknown:
        print(f"no entry {entry_id} any more, not written: {phrasing}")
    print(
        f"{applied.count} phrasing(s) written; review them with git diff" if applied.count else "nothing new to write"
    )
    return 0


def _kb_check(args: argparse.Namespace, settings: Settings) -> int:
    directory = args.directory or settings.knowledge_dir
    try:
        knowledge = load_knowledge(directory)
    except KnowledgeError as error:
        print(f"{error.total} problem(s) in {directory}:")
        for problem in error.problems:
            print(f"  {problem}")
        if error.not_shown:
            print(f"  ... and {error.not_shown} more (only the first {len(error.problems)} are listed)")
        return 1
    glossary = knowledge.glossary
    print(
        f"{directory}: OK, {len(knowledge)} entries in {len(knowledge.categories)} categories, "
        f"{len(glossary.acronyms)} acronyms, {len(glossary.synonyms)} synonyms (version {knowledge.version})"
    )
    if args.replay is not None:
        print(asyncio.run(_replay_against(args, settings, knowledge)))
    return 0


async def _replay_against(args: argparse.Namespace, settings: Settings, knowledge: KnowledgeBase) -> str:
    """``kb check --replay DB``: what this knowledge base would change on the log's last 30 days."""
    args.db = args.replay
    async with _log_connection(args, settings) as db:
        return format_replay(await _replay(db, knowledge, settings, 30))


def _kb_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = compute_stats(_knowledge(args.directory, settings), args.seeds)
    print(f"{stats.entries} entries, phrasings per entry: min {stats.phrasings_min}, median {stats.phrasings_median:g}")
    print("\nEntries per category:")
    for category, count in stats.per_category.items():
        print(f"  {count:4}  {category}")
    print("\nEntries citing each source document:")
    for file, count in stats.per_source_file.items():
        print(f"  {count:4}  {file}")
    if not stats.seeds_read:
        where = f"Seed articles not found in {args.seeds}" if args.seeds else "No seed articles given"
        print(f"\n{where}; pass --seeds DIR to check section coverage.")
        return 0
    print(f"\nSeed section headings no entry cites: {len(stats.uncited_headings)}")
    for heading in stats.uncited_headings:
        print(f"  {heading.file}:{heading.line}  {heading.text}")
    if stats.unknown_citations:
        print(f"\nCited sections that are not headings of the cited seed: {len(stats.unknown_citations)}")
        for entry_id, source in stats.unknown_citations:
            print(f"  [{entry_id}] {source}")
    return 0
