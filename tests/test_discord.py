"""The Discord front end, driven through discord.py's real parsing and dispatch (see discord_harness.py).

Assertions are on the JSON discord.py would send to Discord: content, embeds,
components, flags (64 = ephemeral) and allowed_mentions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.app import open_app
from bot.config import Settings
from bot.frontends.discord_bot import client as client_module
from bot.frontends.discord_bot.client import AllyBot, build_intents, run_bot, sync_commands
from bot.frontends.discord_bot.render import MAX_EMBED_TOTAL, clip, entry_embed
from bot.knowledge.model import Entry
from bot.matching.matcher import Thresholds
from bot.service import AnswerService, Topic
from tests.conftest import BUNDLED_KB, TINY_KB, app_settings
from tests.discord_harness import (
    APP_ID,
    ASK_CHANNEL_ID,
    BOT_ID,
    GUILD_ID,
    OTHER_USER_ID,
    Harness,
    autocomplete,
    click,
    custom_ids,
    message,
    option,
    slash,
    user,
)

EPHEMERAL = 64
ALL_COMMANDS = {"ask", "topic", "topics", "help", "querylog", "kb", "privacy"}
NO_PINGS: dict[str, list[str]] = {"parse": []}
SETTINGS = Settings(ask_channel_ids=frozenset({ASK_CHANNEL_ID}), cooldown_rate=5, cooldown_seconds=30)


@contextlib.asynccontextmanager
async def logged_in(folder: Path, knowledge: Path) -> AsyncIterator[Harness]:
    """The bot over the app the composition root builds, with a query log in ``folder``."""
    async with open_app(app_settings(folder, knowledge, base=SETTINGS)) as app:
        h = await Harness.start(app.settings, app.service, app.query_log)
        try:
            yield h
        finally:
            await h.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with logged_in(tmp_path, TINY_KB) as h:
        yield h


@pytest.fixture
async def bundled(tmp_path: Path) -> AsyncIterator[Harness]:
    async with logged_in(tmp_path, BUNDLED_KB) as h:
        yield h


def data(call: Any) -> dict[str, Any]:
    """The message part of an interaction callback."""
    assert call.method == "POST" and call.path.endswith("/callback")
    return call.json["data"]


# --- set-up ------------------------------------------------------------------------------------


async def test_login_loads_the_cog_and_registers_commands_without_syncing(harness):
    assert "Questions" in harness.bot.cogs
    assert "Moderation" in harness.bot.cogs
    assert {c.name for c in harness.bot.tree.get_commands()} == ALL_COMMANDS
    assert not [c for c in harness.http.calls if c.path.endswith("/commands")], "no sync on start"


def test_intents_are_minimal_and_content_only_for_ask_channels():
    plain = build_intents(Settings())
    assert plain.message_content is False and plain.members is False and plain.presences is False
    assert plain.guild_messages and plain.dm_messages
    assert build_intents(SETTINGS).message_content is True


async def test_sync_to_the_home_guild_or_globally(tiny_kb):
    for guild_id, path in (
        (GUILD_ID, f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"),
        (None, f"/applications/{APP_ID}/commands"),
    ):
        bot = AllyBot(SETTINGS, AnswerService(tiny_kb))
        http = Harness.offline(bot)
        synced = await sync_commands(bot, "test-token", guild_id)
        [put] = [c for c in http.calls if c.method == "PUT"]
        assert put.path == path
        assert {c["name"] for c in put.json} == ALL_COMMANDS == {c.name for c in synced}
        ask = next(c for c in put.json if c["name"] == "ask")
        assert ask["options"][0]["max_length"] == 300 and ask["options"][0]["required"] is True
        topic = next(c for c in put.json if c["name"] == "topic")
        assert topic["options"][0]["autocomplete"] is True
        for moderator_only in ("querylog", "kb"):
            group = next(c for c in put.json if c["name"] == moderator_only)
            assert int(group["default_member_permissions"]) == discord.Permissions(manage_guild=True).value
            assert group["dm_permission"] is False, "guild only"


# --- /ask ----------------------------------------------------------------------------------------


async def test_ask_answers_with_an_embed_related_buttons_and_feedback(harness):
    call = await harness.interact(slash("ask", option("question", "if an ally is attacked must the others help?")))
    assert call.json["type"] == 4  # a channel message, not deferred
    payload = data(call)
    [embed] = payload["embeds"]
    assert embed["title"] == "The mutual defence clause"
    assert embed["description"].startswith("A test summary about allies")
    assert embed["footer"]["text"] == (
        "Sources (AI-assisted articles):\n• Understanding NATO and Collective Security in Modern Defense Strategies"
        " › The Foundations of NATO’s Collective Security Principle"
    )
    ids = custom_ids(payload)
    assert ids[0] == "allybot:topic:founding-treaty"
    assert ids[1].startswith("allybot:vote:") and ids[1].endswith(":up") and ids[2].endswith(":down")
    assert payload["allowed_mentions"] == NO_PINGS
    assert not payload.get("flags", 0) & EPHEMERAL


async def test_ask_suggests_when_unsure(tiny_kb):
    h = await Harness.start(SETTINGS, AnswerService(tiny_kb, Thresholds(answer=25, suggest=10, margin=50)))
    try:
        payload = data(await h.interact(slash("ask", option("question", "partners and the alliance"))))
    finally:
        await h.stop()
    assert "Did you mean one of these?" in payload["content"]
    topics = [i for i in custom_ids(payload) if i.startswith("allybot:topic:")]
    assert set(topics) == {"allybot:topic:partner-exercises", "allybot:topic:peace-partnership"}
    assert "embeds" not in payload or payload["embeds"] == []


async def test_ask_says_plainly_when_it_has_no_answer(harness):
    payload = data(await harness.interact(slash("ask", option("question", "best pizza in town?"))))
    assert "I don't have an answer for that yet; moderators can see it." in payload["content"]
    assert "/topics" in payload["content"]
    assert [i.rsplit(":", 1)[1] for i in custom_ids(payload)] == ["up", "down"]


async def test_echoed_question_cannot_ping(tiny_kb):
    h = await Harness.start(SETTINGS, AnswerService(tiny_kb, Thresholds(answer=25, suggest=10, margin=50)))
    try:
        question = "@everyone @here <@&234567890123456789> <@123456789012345678> partners and the alliance **now**"
        payload = data(await h.interact(slash("ask", option("question", question))))
    finally:
        await h.stop()
    content = payload["content"]
    assert "@everyone" not in content and "@here" not in content
    assert "<@&234567890123456789>" not in content and "<@123456789012345678>" not in content
    assert "@\u200beveryone" in content and "\\*\\*now\\*\\*" in content
    assert payload["allowed_mentions"] == NO_PINGS


async def test_empty_question_gets_a_clear_answer(harness):
    payload = data(await harness.interact(slash("ask", option("question", "🛡️ <@123>"))))
    assert "no words I can read" in payload["content"]


# --- /topic, autocomplete, /topics, /help ----------------------------------------------------------


async def test_topic_opens_an_entry_by_id_or_title(harness):
    by_id = data(await harness.interact(slash("topic", option("name", "founding-treaty"))))
    assert by_id["embeds"][0]["title"] == "The founding treaty"
    by_title = data(await harness.interact(slash("topic", option("name", "partnership for peace"))))
    assert by_title["embeds"][0]["title"] == "Partnership for Peace"
    missing = data(await harness.interact(slash("topic", option("name", "zzzz qqqq"))))
    assert missing["flags"] & EPHEMERAL and "/topics" in missing["content"]


async def test_topic_autocomplete_returns_fuzzy_titles(bundled):
    call = await bundled.interact(autocomplete("topic", option("name", "diplomatc imunity", focused=True)))
    assert call.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = call.json["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert choices[0]["value"] == "diplomatic-immunity"
    assert all(len(c["name"]) <= 100 for c in choices)
    empty = await bundled.interact(autocomplete("topic", option("name", "", focused=True)))
    assert len(empty.json["data"]["choices"]) == 25


async def test_topics_lists_categories_then_pages_through_one(bundled):
    overview = data(await bundled.interact(slash("topics")))
    assert overview["flags"] & EPHEMERAL
    assert overview["embeds"][0]["fields"][0]["name"] == "Treaty and alliance (12)"

    first = data(await bundled.interact(slash("topics", option("category", "counterterrorism"))))
    assert first["embeds"][0]["footer"]["text"].startswith("Page 1/2")
    assert first["embeds"][0]["description"].count("\n") == 9  # ten topics on a page
    message_id = bundled.adapter.last_message_id
    previous, following = [c for row in first["components"] for c in row["components"] if c["type"] == 2]
    assert previous["disabled"] is True and following["disabled"] is False

    turned = await bundled.interact(click(following["custom_id"], message_id=message_id))
    assert turned.json["type"] == 7  # UPDATE_MESSAGE
    assert turned.json["data"]["embeds"][0]["footer"]["text"].startswith("Page 2/2")

    [menu] = [c for row in first["components"] for c in row["components"] if c["type"] == 3]
    opened = data(
        await bundled.interact(click(menu["custom_id"], values=["nato-response-force"], message_id=message_id))
    )
    assert opened["embeds"][0]["title"] == "The NATO Response Force (NRF)" and opened["flags"] & EPHEMERAL


async def test_the_pager_survives_discord_reporting_its_message_edited(bundled):
    """discord.py's view store calls ``View._refresh(components)`` on MESSAGE_UPDATE; a pager method of that name
    with another signature raised TypeError there, and the page turns after it used the wrong state."""
    first = data(await bundled.interact(slash("topics", option("category", "counterterrorism"))))
    message_id = bundled.adapter.last_message_id
    await bundled.edited(message_id, first["components"])  # raised TypeError when the pager overrode _refresh
    following = [c for row in first["components"] for c in row["components"] if c["type"] == 2][1]
    turned = await bundled.interact(click(following["custom_id"], message_id=message_id))
    assert turned.json["data"]["embeds"][0]["footer"]["text"].startswith("Page 2/2")


async def test_someone_else_cannot_turn_your_pages(bundled):
    first = data(await bundled.interact(slash("topics", option("category", "counterterrorism"))))
    message_id = bundled.adapter.last_message_id
    following = [c for row in first["components"] for c in row["components"] if c["type"] == 2][1]
    refused = data(await bundled.interact(click(following["custom_id"], message_id=message_id, user_id=OTHER_USER_ID)))
    assert refused["flags"] & EPHEMERAL and "someone else" in refused["content"]


async def test_category_autocomplete(bundled):
    call = await bundled.interact(autocomplete("topics", option("category", "deter", focused=True)))
    assert call.json["data"]["choices"] == [{"name": "Deterrence (12)", "value": "deterrence"}]


async def test_help_is_ephemeral(harness):
    payload = data(await harness.interact(slash("help")))
    assert payload["flags"] & EPHEMERAL and "/ask" in payload["embeds"][0]["description"]
    assert "written with AI assistance" in payload["embeds"][0]["description"]


# --- buttons, also after a restart ----------------------------------------------------------------


async def test_topic_and_feedback_buttons_work_after_a_restart(tmp_path):
    database = tmp_path / "log.sqlite3"
    settings = app_settings(tmp_path, base=SETTINGS)
    async with open_app(settings) as app:
        first = await Harness.start(app.settings, app.service, app.query_log)
        payload = data(await first.interact(slash("ask", option("question", "mutual defence clause"))))
        await first.stop()
    topic_id, up_id, down_id = custom_ids(payload)
    query_id = int(up_id.split(":")[2])

    async with open_app(settings) as app:  # a new process: no views in memory, the same database
        restarted = await Harness.start(app.settings, app.service, app.query_log)
        try:
            opened = data(await restarted.interact(click(topic_id, components=payload["components"])))
            assert opened["flags"] & EPHEMERAL and opened["embeds"][0]["title"] == "The founding treaty"
            thanks = data(await restarted.interact(click(up_id, components=payload["components"])))
            assert thanks["flags"] & EPHEMERAL and thanks["content"] == "Thanks, glad it helped."
            changed = data(await restarted.interact(click(down_id, components=payload["components"])))
            assert changed["flags"] & EPHEMERAL and "moderators will look" in changed["content"]
        finally:
            await restarted.stop()
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT question, source FROM queries WHERE id = ?", (query_id,)).fetchone() == (
            "mutual defence clause",
            "slash",
        )
        assert db.execute("SELECT query_id, vote FROM feedback").fetchall() == [(query_id, -1)]  # one vote, changed


async def test_button_for_a_removed_topic_says_so(harness):
    payload = data(await harness.interact(click("allybot:topic:no-longer-here")))
    assert payload["flags"] & EPHEMERAL and "no longer in the knowledge base" in payload["content"]


# --- free text ---------------------------------------------------------------------------------------


def assert_reply(calls: list[Any], source_message: dict[str, Any]) -> dict[str, Any]:
    [sent] = calls
    assert sent.method == "POST" and sent.path == f"/channels/{source_message['channel_id']}/messages"
    assert str(sent.json["message_reference"]["message_id"]) == source_message["id"]
    assert sent.json["allowed_mentions"] == {"parse": [], "replied_user": False}
    return sent.json


async def test_mention_dm_and_ask_channel_get_answers(harness):
    me = user(BOT_ID, "allybot", bot=True)
    mention = message(f"<@{BOT_ID}> what is PfP?", mentions=(me,))
    assert assert_reply(await harness.post(mention), mention)["embeds"][0]["title"] == "Partnership for Peace"
    dm = message("which treaty created the alliance?", dm=True)
    assert assert_reply(await harness.post(dm), dm)["embeds"][0]["title"] == "The founding treaty"
    asked = message("mutual defence clause", channel_id=ASK_CHANNEL_ID)
    sent = assert_reply(await harness.post(asked), asked)
    assert sent["embeds"][0]["title"] == "The mutual defence clause"
    assert any(i.startswith("allybot:vote:") for i in custom_ids(sent))


@pytest.mark.parametrize(
    "payload",
    [
        message("what is PfP? just chatting"),  # ordinary chat elsewhere
        message("what is PfP?", author=user(OTHER_USER_ID, "otherbot", bot=True), dm=True),  # another bot
        message("what is PfP?", author=user(BOT_ID, "allybot", bot=True), dm=True),  # itself
        message("what is PfP?", channel_id=ASK_CHANNEL_ID, webhook_id=42),  # a webhook
        message("@everyone what is PfP?"),  # @everyone is not a mention of the bot
    ],
)
async def test_ignored_messages(harness, payload):
    assert await harness.post(payload) == []


async def test_mention_with_ping_text_is_answered_without_pinging(harness):
    me = user(BOT_ID, "allybot", bot=True)
    noisy = message(f"<@{BOT_ID}> @everyone @here <@&234567890123456789> tell me about PfP", mentions=(me,))
    sent = assert_reply(await harness.post(noisy), noisy)
    assert sent["allowed_mentions"]["parse"] == []


async def test_long_message_is_read_up_to_the_limit_and_says_so(harness):
    long = message("what is PfP? " * 460, dm=True)  # ~6,000 characters
    sent = assert_reply(await harness.post(long), long)
    assert sent["content"].startswith("(Your message was long; I read only its beginning.)")
    assert len(sent["content"]) <= 2000 and sent["embeds"][0]["title"] == "Partnership for Peace"


async def test_a_bare_mention_gets_a_hint(harness):
    me = user(BOT_ID, "allybot", bot=True)
    bare = message(f"<@{BOT_ID}>", mentions=(me,))
    sent = assert_reply(await harness.post(bare), bare)
    assert "no words I can read" in sent["content"] and "/topics" in sent["content"]


# --- cooldown ---------------------------------------------------------------------------------------


async def test_slash_cooldown_gives_an_ephemeral_notice(harness):
    for _ in range(5):
        assert "embeds" in data(await harness.interact(slash("ask", option("question", "PfP"))))
    notice = data(await harness.interact(slash("ask", option("question", "PfP"))))
    assert notice["flags"] & EPHEMERAL and "please wait" in notice["content"]


async def test_free_text_cooldown_notices_once_per_window(harness):
    dm = lambda: message("PfP", dm=True)  # noqa: E731
    answered = [await harness.post(dm()) for _ in range(5)]
    assert all(calls[0].json.get("embeds") for calls in answered)
    [notice] = await harness.post(dm())
    assert "please wait" in notice.json["content"]
    assert await harness.post(dm()) == []  # no second notice in the same window


# --- limits and errors ---------------------------------------------------------------------------------


def test_embeds_respect_discord_limits(tiny_kb):
    huge = Entry(
        id="huge",
        title="T" * 300,
        category="treaty",
        summary="word " * 2000,
        sources=tiny_kb.get("mutual-defence").sources * 60,
        keywords=("x",),
    )
    embed = entry_embed(Topic.of(huge, tiny_kb))
    assert len(embed.title) == 256 and embed.title.endswith("…")
    assert len(embed.description) <= 4096 and embed.description.endswith("…")
    assert len(embed.footer.text) <= 2048
    assert len(embed) <= MAX_EMBED_TOTAL
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…"


async def test_command_error_apologises_and_logs_the_traceback(tiny_kb, caplog):
    class Broken(AnswerService):
        def answer(self, question: str, *, source: Any, asker: Any = None) -> Any:
            raise RuntimeError("boom")

    h = await Harness.start(SETTINGS, Broken(tiny_kb))
    try:
        with caplog.at_level(logging.ERROR):
            payload = data(await h.interact(slash("ask", option("question", "PfP"))))
            assert payload["flags"] & EPHEMERAL and payload["content"].startswith("Sorry, something went wrong")
            sent = await h.post(message("PfP", dm=True))
    finally:
        await h.stop()
    assert "/ask failed" in caplog.text and "RuntimeError: boom" in caplog.text
    assert sent[-1].json["content"].startswith("Sorry, something went wrong")


@pytest.mark.parametrize("bug", [KeyError("entry-id"), IndexError("deque index out of range")], ids=type)
async def test_a_lookup_error_is_a_bug_not_a_query_log_outage(tiny_kb, caplog, bug):
    """KeyError and IndexError are LookupErrors: they used to be answered as "the query log cannot be used",
    with no traceback. Only QueryLogUnavailable means that; any other error is apologised for and logged."""

    class Buggy(AnswerService):
        def answer(self, question: str, *, source: Any, asker: Any = None) -> Any:
            raise bug

    h = await Harness.start(SETTINGS, Buggy(tiny_kb))
    try:
        with caplog.at_level(logging.ERROR):
            payload = data(await h.interact(slash("ask", option("question", "PfP"))))
    finally:
        await h.stop()
    assert payload["content"] == client_module.APOLOGY and "query log" not in payload["content"]
    [failed] = [r for r in caplog.records if r.getMessage() == "/ask failed"]
    assert failed.exc_info is not None, "logged with its traceback"
    assert f"{type(bug).__name__}: {bug}" in logging.Formatter().formatException(failed.exc_info)


async def test_a_bot_without_a_query_log_says_it_is_off(tiny_kb):
    h = await Harness.start(SETTINGS, AnswerService(tiny_kb))
    try:
        payload = data(await h.interact(slash("recent", group="querylog", permissions=1 << 5)))
    finally:
        await h.stop()
    assert payload["flags"] & EPHEMERAL
    assert payload["content"] == (
        "The query log cannot be used right now (the query log is turned off for this bot). Answers are not affected."
    )


async def test_sigterm_closes_the_gateway_cleanly(tiny_kb):
    connected = asyncio.Event()

    class OfflineBot(AllyBot):
        async def connect(self, *, reconnect: bool = True) -> None:  # stands in for the gateway loop
            connected.set()
            await asyncio.Event().wait()

    bot = OfflineBot(SETTINGS, AnswerService(tiny_kb))
    Harness.offline(bot)
    running = asyncio.create_task(run_bot(bot, "test-token"))
    await asyncio.wait_for(connected.wait(), 10)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, 10)
    assert bot.is_closed()
    assert "Questions" not in bot.cogs  # extensions unloaded on close


def test_voice_warnings_are_silenced():
    assert discord.VoiceClient.warn_nacl is False and client_module.EXTENSIONS
