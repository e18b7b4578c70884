"""The query log against real SQLite files: fields, votes, migrations, retention, shutdown (faults: test_db_faults)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.frontends.cli import _kept_up, _print_answers
from bot.querylog import store
from bot.querylog.schema import MIGRATIONS, QUERY_COLUMNS, SCHEMA_VERSION, QueryRow
from bot.querylog.store import QueryLog
from bot.service import AnswerService, Asker, QuerySource
from tests.conftest import TINY_KB, app_settings, run_cli
from tests.discord_harness import (
    ASK_CHANNEL_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    Harness,
    message,
    option,
    slash,
    user,
)


def rows(database: Path) -> list[dict]:
    with sqlite3.connect(database) as db:
        return [
            dict(zip(QUERY_COLUMNS, r, strict=True))
            for r in db.execute(f"SELECT {', '.join(QUERY_COLUMNS)} FROM queries ORDER BY id")
        ]


@pytest.fixture
def query_log(app: App) -> QueryLog:
    assert app.query_log is not None
    return app.query_log


async def test_every_field_is_logged_from_discord_sources(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    async with open_app(app_settings(tmp_path, ask_channel_ids=frozenset({ASK_CHANNEL_ID}))) as app:
        h = await Harness.start(app.settings, app.service, app.query_log)
        try:
            await h.interact(slash("ask", option("question", "PfP?")))
            me = user(BOT_ID, "allybot", bot=True)
            await h.post(message(f"<@{BOT_ID}> which treaty created the alliance?", mentions=(me,)))
            await h.post(message("best pizza in town", dm=True))
            await h.post(message("partners", channel_id=ASK_CHANNEL_ID))
        finally:
            await h.stop()
    logged = rows(database)
    assert [r["source"] for r in logged] == ["slash", "mention", "dm", "ask-channel"]
    slash_row, mention_row, dm_row, channel_row = logged
    assert slash_row["question"] == "PfP?" and slash_row["normalized"] == "partnership for peace"
    assert (slash_row["outcome"], slash_row["entry_id"]) == ("answered", "peace-partnership")
    assert 90 < slash_row["score"] <= 100
    assert (slash_row["guild_id"], slash_row["channel_id"]) == (GUILD_ID, CHANNEL_ID)
    assert dm_row["guild_id"] is None and dm_row["outcome"] == "unanswered" and dm_row["entry_id"] is None
    assert channel_row["channel_id"] == ASK_CHANNEL_ID
    assert mention_row["entry_id"] == "founding-treaty"
    for row in logged:
        assert datetime.fromisoformat(row["asked_at"]).utcoffset() == timedelta(0)
        assert len(row["user_hash"]) == 32 and str(USER_ID) not in row["user_hash"]
        assert row["kb_version"] == tiny_kb.version and row["latency_ms"] >= 0
        assert isinstance(json.loads(row["alternatives"]), list)
    assert len({r["user_hash"] for r in logged}) == 1, "one asker, one stable hash"


def test_cli_and_console_are_logged_and_no_log_is_respected(tmp_path):
    database = tmp_path / "log.sqlite3"
    run_cli("ask", "--knowledge", str(TINY_KB), "--db", str(database), "PfP")
    run_cli("console", "--knowledge", str(TINY_KB), "--db", str(database), stdin="partner exercises\n:quit\n")
    run_cli("ask", "--knowledge", str(TINY_KB), "--db", str(database), "--no-log", "not logged")
    logged = rows(database)
    assert [(r["source"], r["question"]) for r in logged] == [("cli", "PfP"), ("console", "partner exercises")]
    assert all(r["user_hash"] is None and r["guild_id"] is None for r in logged)


async def test_a_vote_per_user_per_answer_and_a_later_click_changes_it(query_log, app):
    service = app.service
    answer = service.answer("PfP", source=QuerySource.SLASH, asker=Asker(USER_ID))
    service.record_feedback(answer.query_id, USER_ID, "up")
    service.record_feedback(answer.query_id, USER_ID, "down")
    service.record_feedback(answer.query_id, USER_ID + 1, "up")
    await query_log.flush()
    db = await query_log.connection()
    async with db.execute("SELECT query_id, vote FROM feedback ORDER BY vote") as cursor:
        assert await cursor.fetchall() == [(answer.query_id, -1), (answer.query_id, 1)]


async def test_migrates_an_empty_file_and_every_earlier_version(tmp_path):
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2
    for version in range(SCHEMA_VERSION):
        database = tmp_path / f"v{version}.sqlite3"
        with sqlite3.connect(database) as db:
            for script in MIGRATIONS[:version]:
                db.executescript(script)
            db.execute(f"PRAGMA user_version = {version}")
            if version >= 1:
                db.execute(
                    "INSERT INTO queries (id, asked_at, source, question, normalized, outcome, score,"
                    " alternatives, kb_version, latency_ms) VALUES (1, '2026-01-01T00:00:00+00:00', 'cli',"
                    " 'old', 'old', 'answered', 90, '[]', 'v', 1)"
                )
        query_log = QueryLog(database)
        await query_log.open()
        await query_log.close()
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"queries", "feedback", "learned", "dismissed", "meta"} <= tables
            if version >= 1:
                assert db.execute("SELECT question FROM queries").fetchall() == [("old",)]


async def test_retention_purges_old_questions_and_their_votes(query_log, app):
    service = app.service
    recent = service.answer("PfP", source=QuerySource.CLI)
    old = service.answer("partners", source=QuerySource.CLI)
    service.record_feedback(old.query_id, USER_ID, "down")
    await query_log.flush()
    db = await query_log.connection()
    long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat(timespec="seconds")
    await db.execute("UPDATE queries SET asked_at = ? WHERE id = ?", (long_ago, old.query_id))
    await db.commit()
    assert await query_log.purge(365) == 1
    async with db.execute("SELECT id FROM queries") as cursor:
        assert await cursor.fetchall() == [(recent.query_id,)]
    async with db.execute("SELECT COUNT(*) FROM feedback") as cursor:
        assert await cursor.fetchone() == (0,)


async def test_nothing_queued_is_lost_on_a_clean_shutdown(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database, batch_size=100)
    await query_log.open()
    service = AnswerService(tiny_kb, recorder=query_log)
    ids = [service.answer(f"question {i}", source=QuerySource.CLI, asker=Asker(i)).query_id for i in range(2000)]
    await query_log.close()
    assert [r["id"] for r in rows(database)] == sorted(ids)


async def test_no_raw_user_id_anywhere_in_the_file(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database)
    await query_log.open()
    service = AnswerService(tiny_kb, recorder=query_log)
    raw_id = 987654321098765432
    answer = service.answer("PfP", source=QuerySource.DM, asker=Asker(raw_id, None, CHANNEL_ID))
    service.record_feedback(answer.query_id, raw_id, "up")
    await query_log.close()
    contents = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert str(raw_id).encode() not in contents
    assert raw_id.to_bytes(8, "big") not in contents and raw_id.to_bytes(8, "little") not in contents


async def test_salt_is_kept_in_the_file_or_taken_from_settings(tiny_kb, tmp_path):
    first = QueryLog(tmp_path / "a.sqlite3")
    await first.open()
    hashed = first.user_hash(USER_ID)
    await first.close()
    again = QueryLog(tmp_path / "a.sqlite3")
    await again.open()
    assert again.user_hash(USER_ID) == hashed, "same salt after a restart"
    await again.close()
    configured = QueryLog(tmp_path / "b.sqlite3", salt="team-salt")
    await configured.open()
    assert configured.user_hash(USER_ID) != hashed
    await configured.close()


async def test_shell_reports_read_the_same_log(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    run_cli(
        "ask",
        "--knowledge",
        str(TINY_KB),
        "--db",
        str(database),
        "--batch",
        "-",
        stdin="PfP\nbest pizza in town\nwhat is the best pizza in town?\nbest pizza in town\n=cmd|' /C calc'!A0\n",
    )
    recent = json.loads(run_cli("logs", "recent", "--json", "--db", str(database)).stdout)
    assert [r["question"] for r in recent][-1] == "PfP" and len(recent) == 5
    gaps_of = ("logs", "gaps", "--db", str(database), "--knowledge", str(TINY_KB))
    pizza, formula = json.loads(run_cli(*gaps_of, "--json").stdout)
    assert pizza["question"] == "best pizza in town" and pizza["count"] == 3 and pizza["askers"] == 0
    assert pizza["questions"] == ["best pizza in town", "what is the best pizza in town?"] and pizza["times"] == [2, 1]
    assert re.fullmatch(r"g[0-9a-f]{16}", pizza["key"]) and pizza["answered_as"] == {"unanswered": 3}
    assert pizza["topic"] is None and pizza["candidates"] and pizza["last_asked"][:2] == "20"
    assert formula["question"] == "=cmd|' /C calc'!A0" and formula["times"] == [1]
    chart = tmp_path / "chart.png"
    stats = json.loads(run_cli("logs", "stats", "--json", "--chart", str(chart), "--db", str(database)).stdout)
    assert stats["total"] == 5 and stats["outcomes"]["answered"] == 1
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    exported = run_cli("logs", "export", "--db", str(database)).stdout.splitlines()
    assert exported[0].startswith("id,asked_at,source") and len(exported) == 6
    assert any(line.count(",'=cmd") for line in exported), "a formula-looking question is defused in the CSV"
    text = run_cli(*gaps_of).stdout
    assert "   3x  0 askers  last 20" in text and "best pizza in town\n        closest topic: -\n" in text
    assert "also asked as: what is the best pizza in town? (1)\n        answered as: unanswered (3)" in text
    missing = run_cli("logs", "recent", "--db", str(tmp_path / "nope.sqlite3"))
    assert missing.returncode == 2 and "no query log at" in missing.stderr


async def test_kb_learned_prints_taught_phrasings_not_yet_in_the_yaml(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database)
    await query_log.open()
    await query_log.learn("allies training together", "allies training together", "partner-exercises")
    await query_log.learn("which treaty created the alliance?", "which treaty created the alliance", "founding-treaty")
    await query_log.close()
    printed = run_cli("kb", "learned", str(TINY_KB), "--db", str(database)).stdout
    assert 'partner-exercises:\n  - "allies training together"' in printed
    assert "which treaty created" not in printed, "already a phrasing in the YAML"


async def test_retention_runs_at_start(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    first = QueryLog(database)
    await first.open()
    AnswerService(tiny_kb, recorder=first).answer("PfP", source=QuerySource.CLI)
    await first.close()
    with sqlite3.connect(database) as db:
        db.execute("UPDATE queries SET asked_at = ?", ((datetime.now(UTC) - timedelta(days=40)).isoformat(),))
    kept = QueryLog(database, retention_days=30)
    await kept.open()
    for _ in range(50):  # the purge task runs as the log opens
        await asyncio.sleep(0.02)
        if not rows(database):
            break
    await kept.close()
    assert rows(database) == []


async def test_a_question_sqlite_cannot_encode_is_stored_and_does_not_stop_the_log(tiny_kb, tmp_path):
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database)
    await query_log.open()
    service = AnswerService(tiny_kb, recorder=query_log)
    for question in ("PfP", "lone \ud800 surrogate", "partners"):  # JSON from Discord can carry a lone surrogate
        service.answer(question, source=QuerySource.DM)
    await asyncio.wait_for(query_log.flush(), 5)
    await query_log.close()
    assert [r["question"] for r in rows(database)] == ["PfP", "lone \ufffd surrogate", "partners"]
    assert query_log.health.last_error is None


async def test_a_row_is_written_by_column_name_and_the_user_id_hashed_by_name(tiny_kb, tmp_path):
    """The queued row is a QueryRow whose fields are the table's columns; the asker is hashed as user_hash."""
    assert QueryRow._fields == QUERY_COLUMNS
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database)
    await query_log.open()
    answer = AnswerService(tiny_kb, recorder=query_log).answer(
        "PfP", source=QuerySource.SLASH, asker=Asker(user_id=111, guild_id=222, channel_id=333)
    )
    await query_log.close()
    [row] = rows(database)
    assert (row["guild_id"], row["channel_id"], row["user_hash"]) == (222, 333, query_log.user_hash(111))
    assert (row["id"], row["source"], row["question"], row["entry_id"]) == (
        answer.query_id,
        "slash",
        "PfP",
        "peace-partnership",
    )
    assert (row["kb_version"], row["latency_ms"], row["score"]) == (answer.kb_version, answer.latency_ms, answer.score)


async def test_the_wal_is_checkpointed_often_so_a_small_disk_holds_rows(tiny_kb, tmp_path):
    """Rows logged one per commit grew the WAL by about 7 KB each until 4 MB; now it stays near 256 KB."""
    database = tmp_path / "log.sqlite3"
    query_log = QueryLog(database)
    await query_log.open()
    service = AnswerService(tiny_kb, recorder=query_log)
    try:
        for n in range(200):
            service.answer(f"PfP {n}", source=QuerySource.CLI)
            await query_log.flush()  # one row per commit: the worst case for the WAL
        wal = Path(f"{database}-wal").stat().st_size
    finally:
        await query_log.close()
    assert wal <= (store.CHECKPOINT_PAGES + 4) * 4120, f"WAL {wal} bytes after 200 rows"
    assert len(rows(database)) == 200


async def test_a_burst_on_the_command_line_waits_for_the_log_instead_of_running_ahead(app, query_log, capsys):
    """What SIGKILL can lose is what is answered but not written. While the writer is held inside a commit
    (a real trigger calling a function that waits), `ask --batch` stops answering after LAG_ROWS more
    rows instead of printing the whole burst (it printed all 300 before, none of them written)."""
    database, service = app.settings.db_path, app.service
    entered, release = threading.Event(), threading.Event()

    def hold() -> int:
        entered.set()
        release.wait(10)
        return 1

    db = await query_log.connection()
    await db.create_function("hold", 0, hold)
    await db.execute("CREATE TEMP TRIGGER slow_disk BEFORE INSERT ON queries WHEN hold() = 0 BEGIN SELECT 1; END")
    await db.commit()

    async def burst() -> AsyncIterator[str]:
        for n in range(300):
            yield f"PfP {n}"

    answering = asyncio.create_task(_print_answers(_kept_up(burst(), app), service, json_lines=True))
    try:
        assert await asyncio.to_thread(entered.wait, 10)
        for _ in range(500):
            await asyncio.sleep(0)
        printed = capsys.readouterr().out.count("\n")
        assert 1 <= printed <= store.LAG_ROWS + 2, printed  # the row being written, then LAG_ROWS + 1 waiting
        assert not answering.done()
    finally:
        release.set()
    await asyncio.wait_for(answering, 20)
    await query_log.flush()
    assert len(rows(database)) == 300
