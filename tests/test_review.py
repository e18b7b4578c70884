"""``/querylog review`` through discord.py (see discord_harness.py) against a real query-log file and knowledge folder.

The whole loop as a moderator drives it: questions asked with /ask, the review message, a topic picked in its
menu, Teach, the same questions answered, a restart, and the decisions kept; Dismiss; Skip and Back; one group
per intent (the gap groups of reports.py); and the rights checked again on every click.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.frontends.discord_bot.client import NOT_A_MODERATOR
from bot.querylog import reports
from bot.querylog.reports import GapGroup
from bot.querylog.review import Queue, last_skipped, order_queue
from bot.service import Asker, QuerySource
from tests.conftest import BUNDLED_KB
from tests.discord_harness import (
    MODERATOR_ROLE_ID,
    OTHER_USER_ID,
    USER_ID,
    assert_sendable,
    click,
    custom_ids,
    interaction,
    option,
    slash,
)
from tests.test_gap_groups import NRF_ASKED, NRF_WORDINGS, ask_all
from tests.test_moderation import EPHEMERAL, MANAGE_SERVER, Bot

PIZZA = ["what is the best pizza in town", "whats the best pizza in town?", "best pizza in town"]
WEATHER = "what is the weather in brussels"
REPRESENTATIVE = "best pizza in town"  # of equally asked wordings, a group shows the first in alphabetical order
DEFERRED_UPDATE, UPDATE, MODAL = 6, 7, 9
EXERCISES = "Exercises with partner countries"
AS_MODERATOR: dict[str, Any] = {"permissions": MANAGE_SERVER}


@pytest.fixture
async def bot(kb_copy: Path, tmp_path: Path) -> AsyncIterator[Bot]:
    started = await Bot.start(kb_copy, tmp_path)
    yield started
    await started.stop()


@pytest.fixture
async def bundled_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot on the bundled knowledge base, for groups that need its topics."""
    started = await Bot.start(BUNDLED_KB, tmp_path)
    yield started
    await started.stop()


async def ask(bot: Bot, question: str, user_id: int = USER_ID) -> dict[str, Any]:
    """/ask, as a member would: the answer message's JSON."""
    call = await bot.harness.interact(slash("ask", option("question", question), user_id=user_id))
    return call.json["data"]


async def ask_the_gaps(bot: Bot) -> None:
    """The pizza questions three times by two people, the weather once, all unanswered; then logged."""
    for number, question in enumerate(PIZZA):
        assert "embeds" not in (await ask(bot, question, USER_ID if number % 2 else OTHER_USER_ID))
    await ask(bot, WEATHER)
    await bot.log.flush()


async def open_review(bot: Bot, days: int | None = None, **who: Any) -> dict[str, Any]:
    """``/querylog review``: checks it defers (privately) first, returns the review message."""
    options = (option("days", days, kind=4),) if days else ()
    before = len(bot.harness.adapter.calls)
    shown = await bot.harness.interact_deferred(slash("review", *options, group="querylog", **(who or AS_MODERATOR)))
    assert bot.harness.adapter.calls[before].json["data"]["flags"] & EPHEMERAL, "private to the moderator"
    assert shown["flags"] & EPHEMERAL
    assert_sendable(shown)
    return shown


def component(message: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = [c for row in message["components"] for c in row["components"] if c["custom_id"].startswith(prefix)]
    assert len(found) == 1, f"one component {prefix!r} in {custom_ids(message)}"
    return found[0]


async def edit_by(bot: Bot, message: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Send a click (or form) on ``message``; check it was acknowledged first, return the message as edited."""
    before = len(bot.harness.adapter.calls)
    call = await bot.harness.interact(payload)
    assert call.json["type"] == DEFERRED_UPDATE, f"acknowledged before the work: {call.json}"
    [edit] = bot.harness.adapter.calls[before + 1 :]
    assert edit.method == "PATCH" and edit.path.endswith("/messages/@original"), "the review message is edited"
    assert_sendable(edit.json)
    return {**message, **edit.json}


async def press(bot: Bot, message: dict[str, Any], action: str, **who: Any) -> dict[str, Any]:
    button = component(message, f"allybot:rv:{action}:")
    assert not button.get("disabled"), f"{action} is enabled"
    return await edit_by(
        bot, message, click(button["custom_id"], components=message["components"], **(who or AS_MODERATOR))
    )


async def choose(bot: Bot, message: dict[str, Any], entry_id: str, **who: Any) -> dict[str, Any]:
    menu = component(message, "allybot:rv:pick:")
    assert entry_id in [o["value"] for o in menu["options"]], "offered in the menu"
    payload = click(menu["custom_id"], values=[entry_id], components=message["components"], **(who or AS_MODERATOR))
    return await edit_by(bot, message, payload)


def described(message: dict[str, Any]) -> str:
    [embed] = message["embeds"]
    return "\n".join(
        [embed["title"], embed.get("description", "")] + [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    )


def learned_rows(bot: Bot) -> list[tuple[str, str]]:
    with sqlite3.connect(bot.log.path) as db:
        return db.execute("SELECT phrasing, entry_id FROM learned ORDER BY phrasing").fetchall()


async def test_teach_a_group_through_the_menu_and_the_button_then_restart(kb_copy, tmp_path):
    first = await Bot.start(kb_copy, tmp_path)
    try:
        await ask_the_gaps(first)
        shown = await open_review(first)
        text = described(shown)
        assert shown["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days"
        assert f"**{REPRESENTATIVE}**" in text and "Asked **3 times** by **2 people**" in text
        assert "0 👎" in text and "Other phrasings (2)" in text and "• whats the best pizza in town?" in text
        assert "Chosen topic: None yet" in text
        assert component(shown, "allybot:rv:teach:").get("disabled"), "Teach waits for a topic"
        options = [o["label"] for o in component(shown, "allybot:rv:pick:")["options"]]
        assert options[-1] == "Another topic…"

        chosen = await choose(first, shown, "partner-exercises")
        teach = component(chosen, "allybot:rv:teach:")
        assert teach["custom_id"].endswith(":partner-exercises") and not teach.get("disabled")
        assert f"Chosen topic: **{EXERCISES}**: press Teach" in described(chosen)
        picked = [o for o in component(chosen, "allybot:rv:pick:")["options"] if o.get("default")]
        assert [o["value"] for o in picked] == ["partner-exercises"]

        after = await press(first, chosen, "teach")
        assert after["content"].startswith(f"✅ Taught: 3 logged questions would now be answered with *{EXERCISES}*.")
        assert after["embeds"][0]["title"] == "Gap 1 of 1 · last 30 days" and WEATHER in described(after)
        assert learned_rows(first) == sorted((q, "partner-exercises") for q in PIZZA)
        for question in PIZZA:  # effective at once, for whoever asks
            assert (await ask(first, question, OTHER_USER_ID))["embeds"][0]["title"] == EXERCISES
        await first.log.flush()
    finally:
        await first.stop()

    again = await Bot.start(kb_copy, tmp_path)  # a new bot on the same database and knowledge folder
    try:
        for question in PIZZA:
            assert (await ask(again, question))["embeds"][0]["title"] == EXERCISES
        await again.log.flush()
        shown = await open_review(again)
        assert shown["embeds"][0]["title"] == "Gap 1 of 1 · last 30 days" and "pizza" not in described(shown)
        # The message from before the restart still works: its components carry their state.
        stale = await press(again, chosen, "teach")
        assert stale["content"].startswith("This group was reviewed already") and WEATHER in described(stale)
        assert learned_rows(again) == sorted((q, "partner-exercises") for q in PIZZA), "nothing taught twice"
    finally:
        await again.stop()


async def test_a_click_on_a_message_from_before_group_keys_gets_the_queue_as_it_is(bot):
    await ask_the_gaps(bot)
    shown = await open_review(bot)
    after = await edit_by(bot, shown, click("allybot:rv:skip:30:0123456789ab", **AS_MODERATOR))  # its Skip button
    assert after["content"].startswith("This group was reviewed already") and REPRESENTATIVE in described(after)
    with sqlite3.connect(bot.log.path) as db:
        assert db.execute("SELECT COUNT(*) FROM reviewed").fetchone() == (0,), "nothing marked"


async def test_the_last_group_taught_leaves_an_empty_queue(bot):
    await ask(bot, WEATHER)
    await bot.log.flush()
    chosen = await choose(bot, await open_review(bot), "partner-exercises")
    done = await press(bot, chosen, "teach")
    assert done["content"].startswith(f"✅ Taught: 1 logged question would now be answered with *{EXERCISES}*.")
    assert done["embeds"][0]["description"] == (
        "Nothing to review: every gap of the last 30 days has been taught or dismissed."
    )
    assert done["components"] == [], "no buttons left"


async def test_dismiss_hides_the_group_for_good(bot):
    await ask_the_gaps(bot)
    shown = await open_review(bot)
    after = await press(bot, shown, "dismiss")
    assert after["content"] == (
        f"🚫 Dismissed as out of scope: “{REPRESENTATIVE}” and 2 other phrasings; the group no longer shows."
    )
    assert WEATHER in described(after)
    gaps = (await bot.mod("gaps"))["embeds"][0]["description"]
    assert "pizza" not in gaps and "weather" in gaps
    assert WEATHER in described(await open_review(bot)) and "pizza" not in described(await open_review(bot))
    assert learned_rows(bot) == []


async def test_skip_sends_a_group_to_the_back_and_back_brings_it_again(kb_copy, tmp_path):
    first = await Bot.start(kb_copy, tmp_path)
    try:
        await ask_the_gaps(first)
        shown = await open_review(first)
        assert component(shown, "allybot:rv:back:").get("disabled"), "nothing skipped yet"
        skipped = await press(first, shown, "skip")
        assert skipped["content"] == f"⏭️ Skipped “{REPRESENTATIVE}”. It comes back after the others."
        assert skipped["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days" and WEATHER in described(skipped)
        again = await press(first, skipped, "skip")  # the skipped group comes back
        assert again["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days" and "pizza" in described(again)
        back = await press(first, again, "back")
        assert back["content"] == f"↩️ Back to “{WEATHER}” (it was skipped)." and WEATHER in described(back)
        assert back["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days", "un-skipped: ahead of the skipped pizza"
    finally:
        await first.stop()
    restarted = await Bot.start(kb_copy, tmp_path)  # the queue's order is kept in the database
    try:
        shown = await open_review(restarted)
        assert WEATHER in described(shown), "Back un-skipped the weather; the pizza group is still skipped"
        assert shown["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days"
        assert "pizza" in described(await press(restarted, shown, "skip")), "and comes back after it"
    finally:
        await restarted.stop()


async def test_a_downvoted_answer_comes_first(bot):
    await ask_the_gaps(bot)
    answered = bot.service.answer("PfP", source=QuerySource.SLASH, asker=Asker(USER_ID))
    bot.service.record_feedback(answered.query_id, USER_ID, "down")
    await bot.log.flush()
    shown = await open_review(bot)
    assert "**PfP**" in described(shown) and "1 👎" in described(shown) and "Gap 1 of 3" in described(shown)
    assert "1. Partnership for Peace" in described(shown), "the bot's own candidates, best first"


async def test_another_topic_through_a_form(bot):
    await ask_the_gaps(bot)
    shown = await open_review(bot)
    menu = component(shown, "allybot:rv:pick:")
    form = await bot.harness.interact(
        click(menu["custom_id"], values=["*other"], components=shown["components"], **AS_MODERATOR)
    )
    assert form.json["type"] == MODAL
    groups = await reports.gap_groups(await bot.log.connection(), bot.service.matcher)
    [key] = [g.key for g in groups if g.question == REPRESENTATIVE]
    assert re.fullmatch(r"g[0-9a-f]{16}", key), "the gap group's own key"
    assert form.json["data"]["custom_id"] == f"allybot:rv:other:30:{key}"
    [field] = [c for row in form.json["data"]["components"] for c in row.get("components", [row.get("component")])]
    submitted = interaction(
        5,
        {
            "custom_id": form.json["data"]["custom_id"],
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": field["custom_id"], "value": "partnership"}]}
            ],
        },
        message_payload={**click("x")["message"], "components": shown["components"]},
        **AS_MODERATOR,
    )
    chosen = await edit_by(bot, shown, submitted)
    assert "Chosen topic: **Partnership for Peace**" in described(chosen)
    assert component(chosen, "allybot:rv:teach:")["custom_id"].endswith(":peace-partnership")
    done = await press(bot, chosen, "teach")
    assert "answered with *Partnership for Peace*" in done["content"]


REFUSED = {
    "member": {"permissions": 0},
    "moderator-who-lost-the-role": {"permissions": 0, "roles": ()},
    "direct-message": {"dm": True},
}


@pytest.mark.parametrize("who", REFUSED.values(), ids=REFUSED.keys())
async def test_every_click_checks_the_rights_again(bot, who):
    """The message was opened by a moderator (by role); whoever clicks is checked as of that click."""
    await ask_the_gaps(bot)
    by_role = {"permissions": 0, "roles": (MODERATOR_ROLE_ID,)}
    shown = await open_review(bot, **by_role)
    chosen = await choose(bot, shown, "partner-exercises", **by_role)  # still a moderator: allowed
    for custom_id, values in [
        (component(chosen, "allybot:rv:teach:")["custom_id"], None),
        (component(chosen, "allybot:rv:dismiss:")["custom_id"], None),
        (component(chosen, "allybot:rv:skip:")["custom_id"], None),
        (component(chosen, "allybot:rv:pick:")["custom_id"], ["partner-exercises"]),
        (component(chosen, "allybot:rv:pick:")["custom_id"], ["*other"]),
    ]:
        before = len(bot.harness.adapter.calls)
        call = await bot.harness.interact(click(custom_id, values=values, components=chosen["components"], **who))
        assert len(bot.harness.adapter.calls) == before + 1, "one reply, no edit"
        assert call.json["type"] == 4 and call.json["data"]["content"] == NOT_A_MODERATOR
        assert call.json["data"]["flags"] & EPHEMERAL
    assert learned_rows(bot) == []
    with sqlite3.connect(bot.log.path) as db:
        assert db.execute("SELECT COUNT(*) FROM reviewed").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM dismissed").fetchone() == (0,)


async def test_the_review_message_stays_within_discords_limits(bot):
    long = "pizza " + "x" * 1990
    for number in range(12):
        bot.service.answer(f"{long} {number} @everyone <@{USER_ID}>", source=QuerySource.DM, asker=Asker(number))
    await bot.log.flush()
    shown = await open_review(bot)  # assert_sendable inside
    assert len(described(shown)) < 6000


def test_the_queue_keeps_impact_order_then_skipped_groups_oldest_skip_first():
    def group(key: str) -> GapGroup:
        return GapGroup(key, key, (key,), (1,), 1, 1, "2026-11-21T12:00:00+00:00", 0, None, ())

    ranked = [group(key) for key in "cbade"]  # as gap_groups gives them: by impact
    marks = {"b": ("skipped", "2026-11-21T12:00:02"), "a": ("skipped", "2026-11-21T12:00:01"), "e": ("taught", "x")}
    assert [g.key for g in order_queue(ranked[:4], marks)] == ["c", "d", "a", "b"]
    assert last_skipped(marks, {"a", "b", "c", "d"}, besides="c") == "b"
    assert last_skipped(marks, {"a", "c", "d"}, besides="a") is None
    queue = Queue(ranked[:4], marks, more=False)
    unskipped = queue.remarked({k: v for k, v in marks.items() if k != "a"})
    assert [g.key for g in unskipped.groups] == ["c", "a", "d", "b"], "back in its place by impact"
    assert queue.find("e") is None and queue.find("a") is ranked[2]


async def test_one_group_per_intent_split_by_best_candidate(bundled_bot):
    """Three wordings of "what is the NRF" are one group; "nrf size" (the same words and one more) is its own."""
    ask_all(bundled_bot.service, NRF_ASKED)
    await bundled_bot.log.flush()
    shown = await open_review(bundled_bot)
    text = described(shown)
    assert shown["embeds"][0]["title"] == "Gap 1 of 3 · last 30 days"
    [head] = [q for q in NRF_WORDINGS if f"**{q}**" in text]
    others = NRF_WORDINGS - {head}
    assert "Asked **3 times** by **3 people**" in text and "3 👎" in text and "Other phrasings (2)" in text
    assert all(f"• {q}" in text for q in others) and "nrf size" not in text
    assert "1. The NATO Response Force (NRF)" in text, "the group's best candidate first"
    options = [o["value"] for o in component(shown, "allybot:rv:pick:")["options"]]
    assert options[0] == "nato-response-force" and len(options) > 2, "the bot's candidates, then Another topic…"
    detail = await press(bundled_bot, shown, "skip")
    assert "**nrf size**" in described(detail) and "Other phrasings" not in described(detail)
    assert "pizza" in described(await press(bundled_bot, detail, "skip"))


async def test_near_identical_wordings_with_different_best_candidates_are_two_groups(bundled_bot):
    """One wording cluster, two intents to the matcher: one group each (a group by wording alone would hold both)."""
    asked = [("How does US policy shape NATO's direction?", 1, True)] * 2  # answered, and voted down
    asked.append(("what year did US policy shape NATO's direction", 2, False))  # unanswered: asks for a date
    ask_all(bundled_bot.service, asked)
    await bundled_bot.log.flush()
    shown = await open_review(bundled_bot)
    first = described(shown)
    second = described(await press(bundled_bot, shown, "skip"))
    assert shown["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days"
    assert "**How does US policy shape NATO's direction?**" in first and "Asked **2 times**" in first
    assert "Other phrasings" not in first and "1. How U.S. policy shapes NATO" in first
    assert "**what year did US policy shape NATO's direction**" in second and "Other phrasings" not in second


async def test_teach_counts_every_time_a_wording_was_asked(bot):
    for number in range(3):
        await ask(bot, REPRESENTATIVE, USER_ID if number % 2 else OTHER_USER_ID)
    for _ in range(2):
        await ask(bot, "whats the best pizza in town?")
    await bot.log.flush()
    shown = await open_review(bot)
    text = described(shown)
    assert f"**{REPRESENTATIVE}**" in text and "Asked **5 times** by **2 people**" in text
    assert "• whats the best pizza in town? (2×)" in text
    after = await press(bot, await choose(bot, shown, "partner-exercises"), "teach")
    assert after["content"].startswith(
        f"✅ Taught: 5 logged questions would now be answered with *{EXERCISES}*. 2 phrasings added, effective now"
    )


async def test_a_long_queue_says_there_are_more(bot, monkeypatch):
    monkeypatch.setattr("bot.querylog.review.QUEUE_GROUPS", 1)
    await ask_the_gaps(bot)
    shown = await open_review(bot)
    assert shown["embeds"][0]["title"] == "Gap 1 of 1+ · last 30 days" and REPRESENTATIVE in described(shown)
    skipped = await press(bot, shown, "skip")  # a skip reads one group more: the weather comes in
    assert skipped["embeds"][0]["title"] == "Gap 1 of 2 · last 30 days" and WEATHER in described(skipped)
