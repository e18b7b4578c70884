"""Security: no raw user id in the database file, the token in no output, secrets and data never committed.

(Moderator commands refused at run time when a server shows them to everyone: test_moderation.py.)
"""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, cast

import discord
import pytest

from bot.app import open_app
from bot.config import Settings
from bot.frontends.cli import UserError, _discord_errors
from bot.frontends.discord_bot.client import AllyBot, sync_commands
from bot.service import AnswerService
from tests.conftest import ROOT, TINY_KB, app_settings, run_cli
from tests.discord_harness import (
    ASK_CHANNEL_ID,
    BOT_ID,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    Harness,
    RecordingHTTP,
    click,
    message,
    option,
    slash,
    user,
)

MANAGE_SERVER = 1 << 5
SETTINGS = Settings(ask_channel_ids=frozenset({ASK_CHANNEL_ID}), cooldown_rate=100)
MENTIONED_ID = 930000000000000042  # never asks anything; only mentioned in someone's question
PLANTED = "PLANTED-t0ken.MTIzNDU2Nzg5MDEyMzQ1Njc4.do-not-print-me"


def buttons(payload: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in payload.get("components", []) for c in row["components"]]


def database_bytes(database: Path) -> bytes:
    """The file and, while it is open, its write-ahead log and shared memory."""
    return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))


def assert_no_raw_ids(contents: bytes) -> None:
    for user_id in (USER_ID, OTHER_USER_ID, MENTIONED_ID, BOT_ID):
        assert str(user_id).encode() not in contents, user_id
        assert user_id.to_bytes(8, "big") not in contents and user_id.to_bytes(8, "little") not in contents


async def test_no_raw_user_id_in_the_database_after_questions_votes_and_privacy(tmp_path):
    database = tmp_path / "log.sqlite3"
    async with open_app(app_settings(tmp_path, base=SETTINGS)) as app:
        query_log = app.query_log
        assert query_log is not None and query_log.path == database
        h = await Harness.start(app.settings, app.service, query_log)
        me = user(BOT_ID, "allybot", bot=True)
        try:
            answered = (await h.interact(slash("ask", option("question", f"<@{MENTIONED_ID}> what is PfP?")))).json
            await h.interact(slash("ask", option("question", "mutual defence clause"), user_id=OTHER_USER_ID))
            await h.post(message("which treaty created the alliance?", dm=True))
            await h.post(message(f"ask <@!{MENTIONED_ID}> about partner exercises", channel_id=ASK_CHANNEL_ID))
            await h.post(message(f"<@{BOT_ID}> <@{MENTIONED_ID}> PfP", mentions=(me, user(MENTIONED_ID, "colleague"))))
            up, down = buttons(answered["data"])[-2:]
            for voter, vote in ((USER_ID, up), (OTHER_USER_ID, down), (OTHER_USER_ID, up)):  # one vote changes
                await h.interact(click(vote, user_id=voter))
            await h.interact(slash("privacy"))  # looks only
            shown = (await h.interact(slash("privacy", user_id=OTHER_USER_ID))).json["data"]
            await h.interact(click(buttons(shown)[0], message_id=h.adapter.last_message_id, user_id=OTHER_USER_ID))
            await query_log.flush()
            assert_no_raw_ids(database_bytes(database))
        finally:
            await h.stop()
    assert_no_raw_ids(database_bytes(database))
    with sqlite3.connect(database) as db:  # the scan covered real rows: the asker's questions and vote remain
        assert db.execute("SELECT COUNT(*) FROM queries WHERE user_hash IS NOT NULL").fetchone() == (4,)
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (1,)
        assert db.execute("SELECT question FROM queries WHERE source = 'slash'").fetchone() == ("@user what is PfP?",)


class _Unauthorized:
    """The response Discord gives a bad token: all discord.HTTPException reads of it."""

    status, reason = 401, "Unauthorized"


class RefusingHTTP(RecordingHTTP):
    """Discord's answer to a token it does not accept."""

    async def request(self, route: Any, **kwargs: Any) -> Any:
        if route.path == "/users/@me":
            raise discord.HTTPException(cast(Any, _Unauthorized()), {"message": "401: Unauthorized", "code": 0})
        return await super().request(route, **kwargs)


class Exploding(AnswerService):
    """Fails on one question, as a bug would: the error path logs a traceback."""

    def answer(self, question: str, **kwargs: Any) -> Any:
        if question == "explode":
            raise RuntimeError("an unexpected failure")
        return super().answer(question, **kwargs)


async def test_the_token_is_in_no_log_error_or_message(tiny_kb, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, discord.py's too
    h = await Harness.start(SETTINGS, Exploding(tiny_kb), token=PLANTED)
    try:
        assert h.bot.http.token == PLANTED, "the bot really holds the planted token"
        for question in ("PfP", "explode"):
            await h.interact(slash("ask", option("question", question)))
            await h.post(message(question, dm=True))
        await h.interact(slash("recent", group="querylog", permissions=MANAGE_SERVER))  # no query log: an error
        await h.interact(slash("reload", group="kb", permissions=MANAGE_SERVER))
    finally:
        await h.stop()
    syncing = AllyBot(SETTINGS, AnswerService(tiny_kb))
    synced_http = Harness.offline(syncing)
    await sync_commands(syncing, PLANTED, GUILD_ID)
    refused = AllyBot(SETTINGS, AnswerService(tiny_kb))
    Harness.offline(refused, RefusingHTTP)
    with pytest.raises(UserError) as caught, _discord_errors():
        await sync_commands(refused, PLANTED, None)
    assert "Discord rejected DISCORD_TOKEN" in str(caught.value)
    sent = json.dumps([c.json for c in (*h.http.calls, *h.adapter.calls, *synced_http.calls)], ensure_ascii=False)
    everything = "\n".join([caplog.text, sent, str(caught.value), repr(caught.value.__cause__)])
    assert "RuntimeError: an unexpected failure" in caplog.text and "DEBUG" in caplog.text and "allybot" in sent
    assert PLANTED not in everything


def test_the_token_is_in_no_command_line_output(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"DISCORD_TOKEN={PLANTED}\nALLYBOT_LOG_LEVEL=DEBUG\n", encoding="utf-8")
    asked = run_cli("ask", "--json", "--knowledge", str(TINY_KB), "PfP", cwd=tmp_path)
    assert asked.returncode == 0 and "DEBUG" in asked.stderr
    env_file.write_text(f"DISCORD_TOKEN={PLANTED}\n{PLANTED}\n", encoding="utf-8")  # pasted again, on its own line
    broken = run_cli("ask", "PfP", cwd=tmp_path)
    assert broken.returncode == 2 and ".env:2: expected KEY=value" in broken.stderr
    for result in (asked, broken):
        assert PLANTED not in result.stdout + result.stderr


def test_secrets_and_data_are_ignored_by_git():
    paths = [".env", "data/allybot.sqlite3", "data/allybot.sqlite3-wal", ".env.example", "tests/data/bad_inputs.yaml"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--non-matching", "--verbose", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = {line.split("\t")[1]: not line.startswith("::") for line in result.stdout.splitlines()}
    assert ignored == {path: not path.startswith((".env.", "tests/")) for path in paths}
