"""Moderator review through discord.py (see discord_harness.py) against a real query-log file."""

from __future__ import annotations

import contextlib
import gzip
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, open_app
from bot.frontends.discord_bot.client import NOT_A_MODERATOR
from bot.frontends.discord_bot.cogs.moderation import render_export_note
from bot.frontends.discord_bot.render import inert
from bot.querylog import reports
from bot.service import Asker, QuerySource
from tests.conftest import BUNDLED_KB, app_settings
from tests.discord_harness import (
    MODERATOR_ROLE_ID,
    OTHER_USER_ID,
    USER_ID,
    Harness,
    assert_sendable,
    click,
    option,
    slash,
)
from tests.test_gap_groups import NRF_ASKED, NRF_WORDINGS, ask_all

EPHEMERAL = 64
DEFERRED = 5  # "thinking": the reply follows
MANAGE_SERVER = 1 << 5
MANAGE_MESSAGES = 1 << 13
UNANSWERED = [
    "what is the best pizza in town",
    "whats the best pizza in town?",
    "best pizza in town",
    "what is the weather in brussels",
]


class Bot:
    """A logged-in bot over the app the composition root builds, with its query log in ``folder``."""

    def __init__(self, harness: Harness, app: App, stack: contextlib.AsyncExitStack) -> None:
        self.harness, self.service, self._stack = harness, app.service, stack
        assert app.query_log is not None
        self.log = app.query_log

    @classmethod
    async def start(cls, kb_dir: Path, folder: Path, *, close_timeout: float | None = None) -> Bot:
        stack = contextlib.AsyncExitStack()
        settings = app_settings(folder, kb_dir, moderator_role_id=MODERATOR_ROLE_ID)
        app = await stack.enter_async_context(open_app(settings, close_timeout=close_timeout))
        harness = await Harness.start(app.settings, app.service, app.query_log)
        stack.push_async_callback(harness.stop)
        return cls(harness, app, stack)

    async def stop(self) -> None:
        await self._stack.aclose()

    async def mod(self, name: str, *options: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The reply to ``/querylog name``: the response, or after a deferral ("thinking") the follow-up."""
        kwargs.setdefault("permissions", MANAGE_SERVER)
        before = len(self.harness.adapter.calls)
        call = await self.harness.interact(slash(name, *options, group="querylog", **kwargs))
        if call.json.get("type") == DEFERRED:
            return self.harness.adapter.calls[before + 1].json
        return call.json.get("data", call.json)


@pytest.fixture
async def bot(kb_copy: Path, tmp_path: Path) -> AsyncIterator[Bot]:
    started = await Bot.start(kb_copy, tmp_path)
    yield started
    await started.stop()


def ask_many(bot: Bot) -> None:
    for number, question in enumerate(UNANSWERED):
        bot.service.answer(question, source=QuerySource.DM, asker=Asker(1000 + number % 2))


MODERATOR_COMMANDS = [
    ("querylog", "recent", ()),
    ("querylog", "gaps", ()),
    ("querylog", "stats", ()),
    ("querylog", "export", ()),
    ("querylog", "review", ()),
    ("querylog", "resolve", (option("question", "best pizza in town"), option("topic", "partner-exercises"))),
    ("querylog", "dismiss", (option("question", "what is the weather in brussels"),)),
    ("kb", "reload", ()),
]
NOT_MODERATORS = {
    "member": {},
    "manage-messages-not-server": {"permissions": MANAGE_MESSAGES},
    "direct-message": {"dm": True},
}


@pytest.mark.parametrize("who", NOT_MODERATORS.values(), ids=NOT_MODERATORS.keys())
@pytest.mark.parametrize(
    ("group", "name", "options"), MODERATOR_COMMANDS, ids=lambda c: c if isinstance(c, str) else ""
)
async def test_non_moderators_are_refused_even_when_the_command_is_visible(bot, kb_copy, group, name, options, who):
    """Discord shows these commands only to Manage Server by default; a server may show them to everyone.

    Whoever runs one then is checked again at run time: refused privately, and nothing runs or leaks.
    """
    ask_many(bot)
    await bot.log.flush()
    version = bot.service.knowledge.version
    (kb_copy / "entries.yaml").write_text(
        (kb_copy / "entries.yaml").read_text(encoding="utf-8").replace("id: partner-exercises", "id: joint-exercises"),
        encoding="utf-8",
    )
    before = len(bot.harness.adapter.calls)
    call = await bot.harness.interact(slash(name, *options, group=group, **{"permissions": 0, **who}))
    assert len(bot.harness.adapter.calls) == before + 1, "one reply, no follow-up"
    payload = call.json["data"]
    assert_sendable(payload)
    assert payload["flags"] & EPHEMERAL and payload["content"] == NOT_A_MODERATOR
    assert not {"embeds", "attachments", "components"} & {k for k, v in payload.items() if v}
    assert bot.service.knowledge.version == version, "not reloaded"
    assert await bot.log.learned() == {}, "nothing taught"
    async with (await bot.log.connection()).execute("SELECT COUNT(*) FROM dismissed") as cursor:
        assert await cursor.fetchone() == (0,), "nothing dismissed"


async def test_moderator_role_or_manage_server_may_use_it(bot):
    ask_many(bot)
    await bot.log.flush()
    by_role = await bot.mod("recent", permissions=0, roles=(MODERATOR_ROLE_ID,))
    by_permission = await bot.mod("recent")
    for payload in (by_role, by_permission):
        assert payload["flags"] & EPHEMERAL
        assert "what is the weather in brussels" in payload["embeds"][0]["description"]


def gap_lines(payload: dict[str, Any]) -> list[str]:
    """The groups of a ``/querylog gaps`` reply: each one's first line, with the line below it (topic, answers)."""
    lines = payload["embeds"][0]["description"].splitlines()
    return [f"{line}\n{lines[n + 1]}" for n, line in enumerate(lines) if line.startswith("**")]


async def test_gaps_group_near_duplicates_downvoted_first_then_by_impact(bot):
    ask_many(bot)
    answered = bot.service.answer("PfP", source=QuerySource.SLASH, asker=Asker(USER_ID))
    bot.service.record_feedback(answered.query_id, USER_ID, "down")
    await bot.log.flush()
    pfp, pizza, weather = gap_lines(await bot.mod("gaps"))
    assert pfp.startswith("**1×** (1 askers") and "1 👎) PfP\n" in pfp
    assert "↳ closest topic: peace-partnership · answered: peace-partnership (1)" in pfp
    assert pizza.startswith("**3×** (2 askers") and "best pizza in town (+2 wordings)" in pizza
    assert "unanswered (3)" in pizza and "weather" in weather


async def test_gaps_show_one_group_per_intent(tmp_path):
    """The three wordings of "what is the NRF" are one line, with their topic; "nrf size" is a line of its own."""
    started = await Bot.start(BUNDLED_KB, tmp_path)
    try:
        ask_all(started.service, NRF_ASKED)
        await started.log.flush()
        nrf, detail, pizza = gap_lines(await started.mod("gaps"))
    finally:
        await started.stop()
    assert nrf.startswith("**3×** (3 askers") and "3 👎" in nrf and "(+2 wordings)" in nrf
    assert any(f") {inert(q)} (+2" in nrf for q in NRF_WORDINGS)
    assert "↳ closest topic: nato-response-force ·" in nrf
    assert detail.startswith("**1×** (1 askers") and ") nrf size\n" in detail
    assert pizza.startswith("**4×** (3 askers") and "closest topic: none" in pizza


async def test_resolve_teaches_at_once_and_after_a_restart_and_closes_the_gap(kb_copy, tmp_path):
    first = await Bot.start(kb_copy, tmp_path)
    try:
        ask_many(first)
        await first.log.flush()
        payload = await first.mod(
            "resolve", option("question", "best pizza in town"), option("topic", "partner-exercises")
        )
        assert payload["flags"] & EPHEMERAL and payload["content"].startswith("Learned:")
        for question in ("best pizza in town", "the best pizza in the town?"):
            answer = first.service.answer(question, source=QuerySource.CLI)
            assert answer.answered and answer.entry.id == "partner-exercises"
        gaps = (await first.mod("gaps"))["embeds"][0]["description"]
        assert "pizza" not in gaps and "weather" in gaps
    finally:
        await first.stop()
    again = await Bot.start(kb_copy, tmp_path)  # a restart keeps what was taught
    try:
        assert again.service.answer("best pizza in town", source=QuerySource.CLI).entry.id == "partner-exercises"
    finally:
        await again.stop()


async def test_resolve_of_a_question_without_words_says_nothing_was_learned(bot):
    """A teach the matcher could never use ("???", common words) is refused in one line, and nothing is stored."""
    for question in ("??? 🤔", "what is the"):
        payload = await bot.mod("resolve", option("question", question), option("topic", "partner-exercises"))
        assert payload["flags"] & EPHEMERAL and payload["content"].startswith("Nothing learned: ")
        assert "no word the bot matches on" in payload["content"]
    assert await bot.log.learned() == {}


async def test_dismiss_hides_a_gap(bot):
    ask_many(bot)
    await bot.log.flush()
    payload = await bot.mod("dismiss", option("question", "what is the weather in brussels"))
    assert payload["content"].startswith("Dismissed")
    gaps = (await bot.mod("gaps"))["embeds"][0]["description"]
    assert "weather" not in gaps and "pizza" in gaps


async def test_stats_sends_numbers_and_a_png_chart(bot):
    ask_many(bot)
    bot.service.answer("PfP", source=QuerySource.SLASH, asker=Asker(USER_ID))
    await bot.log.flush()
    payload = await bot.mod("stats")
    [embed] = payload["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Questions"] == "5 · 20.0% answered"
    assert embed["image"]["url"] == "attachment://questions-per-day.png"
    assert payload["attachments"][0]["filename"] == "questions-per-day.png"


async def test_export_defers_then_sends_a_csv(bot):
    ask_many(bot)
    await bot.log.flush()
    before = len(bot.harness.adapter.calls)
    await bot.mod("export")
    deferred, followup = bot.harness.adapter.calls[before : before + 2]
    assert deferred.json["type"] == 5 and deferred.json["data"]["flags"] & EPHEMERAL  # deferred, "thinking"
    assert followup.json["attachments"][0]["filename"] == "allybot-queries-30d.csv"
    assert followup.json["flags"] & EPHEMERAL


async def test_kb_reload_reports_changes_or_problems_and_keeps_serving(bot, kb_copy):
    entries = kb_copy / "entries.yaml"
    entries.write_text(
        entries.read_text(encoding="utf-8").replace("id: partner-exercises", "id: joint-exercises"), encoding="utf-8"
    )
    reloaded = await bot.harness.interact_deferred(slash("reload", group="kb", permissions=MANAGE_SERVER))
    assert reloaded["embeds"][0]["title"].startswith("Reloaded")
    assert "Added: joint-exercises" in reloaded["embeds"][0]["description"]
    entries.write_text(
        entries.read_text(encoding="utf-8").replace("related: [mutual-defence]", "related: [ghost]"), encoding="utf-8"
    )
    failed = await bot.harness.interact_deferred(slash("reload", group="kb", permissions=MANAGE_SERVER))
    assert failed["embeds"][0]["title"].startswith("Reload failed")
    assert (
        "entries.yaml:" in failed["embeds"][0]["description"]
        and "[founding-treaty]" in failed["embeds"][0]["description"]
    )
    assert bot.service.knowledge.get("joint-exercises") is not None, "still serving the last good knowledge base"


async def test_privacy_shows_and_deletes_only_your_own_questions(bot):
    bot.service.answer("PfP", source=QuerySource.SLASH, asker=Asker(USER_ID))
    bot.service.answer("partner", source=QuerySource.SLASH, asker=Asker(OTHER_USER_ID))
    await bot.log.flush()
    shown = (await bot.harness.interact(slash("privacy"))).json["data"]
    assert shown["flags"] & EPHEMERAL and "**1** questions" in shown["content"] and "PfP" in shown["content"]
    [button] = [c for row in shown["components"] for c in row["components"]]
    message_id = bot.harness.adapter.last_message_id
    deleted = (await bot.harness.interact(click(button["custom_id"], message_id=message_id))).json
    assert deleted["type"] == 7 and deleted["data"]["content"] == "Deleted 1 questions and your votes."
    with sqlite3.connect(bot.log.path) as db:
        assert db.execute("SELECT question FROM queries").fetchall() == [("partner",)]


async def test_moderator_commands_say_when_the_log_is_unusable(kb_copy, tmp_path):
    (tmp_path / "blocked").write_text("a file where the log's folder should be")
    broken = await Bot.start(kb_copy, tmp_path / "blocked", close_timeout=0.2)
    try:
        payload = await broken.mod("recent")
        assert payload["flags"] & EPHEMERAL and "query log cannot be used right now" in payload["content"]
        answer = broken.service.answer("PfP", source=QuerySource.CLI)
        assert answer.entry.id == "peace-partnership", "answers are not affected"
    finally:
        await broken.stop()


@pytest.mark.parametrize("name", ["gaps", "stats", "export"])
async def test_reports_acknowledge_first_then_follow_up(bot, name):
    """Reading a year of log takes seconds: the reply is deferred within Discord's window, then sent."""
    ask_many(bot)
    await bot.log.flush()
    followup = await bot.harness.interact_deferred(slash(name, group="querylog", permissions=MANAGE_SERVER))
    assert followup["flags"] & EPHEMERAL
    assert followup.get("embeds") or followup.get("attachments")


async def test_an_export_over_the_upload_limit_is_gzipped_and_cut_with_a_way_to_get_the_rest(bot, tmp_path):
    for number in range(3000):
        bot.service.answer(f"question number {number} about pizza", source=QuerySource.DM, asker=Asker(number))
    await bot.log.flush()
    db = await bot.log.connection()
    plain = await reports.export_file(db, 30, tmp_path, 10 << 20)
    assert not plain.compressed and plain.complete and plain.path.suffix == ".csv"
    whole = plain.path.read_bytes()
    size = len(whole)
    packed = await reports.export_file(db, 30, tmp_path, size // 2)
    assert packed.compressed and packed.complete and packed.path.name.endswith(".csv.gz")
    assert packed.path.stat().st_size <= size // 2
    assert gzip.decompress(packed.path.read_bytes()) == whole
    smaller = packed.path.stat().st_size // 2
    cut = await reports.export_file(db, 30, tmp_path, smaller)
    assert cut.compressed and not cut.complete and 0 < cut.rows < cut.total == 3000
    assert cut.path.stat().st_size <= smaller
    rows = gzip.decompress(cut.path.read_bytes()).decode().splitlines()
    assert len(rows) == cut.rows + 1, "the header and every row it says it holds, whole"
    assert "allybot logs export --days 30" in render_export_note(cut, 30)
