"""``/querylog review``'s message: one gap group at a time, with a topic menu and Teach, Dismiss, Skip and Back.

Every component is a ``DynamicItem`` whose custom id carries all it needs (the action, the
look-back in days, the group's key and, on Teach, the chosen topic), so a review message keeps
working after the bot restarts: each click reads the queue afresh from the query log. Choosing a
topic in the menu rewrites the message so that its Teach button carries the topic; "Another
topic…" opens a form to type any title or id. Moderator rights are checked on every click and
form, whatever happened before. Every click is acknowledged first (the queue is read and the
bot's candidates ranked, off the event loop), then the message is edited.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.frontends.discord_bot import render
from bot.frontends.discord_bot.render import APOLOGY, NO_PINGS, NOT_A_MODERATOR, unavailable_text
from bot.frontends.discord_bot.views import bot_of, is_moderator, reply_privately
from bot.knowledge.model import Entry
from bot.querylog import QueryLogUnavailable
from bot.querylog.review import (
    DISMISSED,
    SKIPPED,
    TAUGHT,
    ReviewItem,
    answered_with,
    closed_keys,
    last_skipped,
    order_queue,
    review_items,
)
from bot.querylog.store import QueryLog

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)
PREFIX = "allybot:rv"
OTHER = "*other"  # the menu's "Another topic…" option (no entry id starts with "*")
MAX_ENTRY_ID = 64  # an entry id longer than this does not fit in Teach's custom id (100 characters)


@dataclass(frozen=True, slots=True)
class Screen:
    """What one review message shows."""

    content: str | None
    embed: discord.Embed
    view: discord.ui.View | None


def _query_log(bot: AllyBot) -> QueryLog:
    if bot.query_log is None:
        raise QueryLogUnavailable("the query log is turned off for this bot")
    return bot.query_log


async def _queue(bot: AllyBot, days: int) -> tuple[list[ReviewItem], dict[str, tuple[str, str]]]:
    """The review queue as it is now, and every decision kept (by group key)."""
    query_log = _query_log(bot)
    marks = await query_log.review_marks()
    items = await review_items(await query_log.connection(), bot.service.matcher, days, exclude=closed_keys(marks))
    return order_queue(items, marks), marks


async def review_screen(
    bot: AllyBot, days: int, *, key: str | None = None, chosen: str | None = None, notice: str = ""
) -> Screen:
    """The group ``key`` (else the head of the queue), with topic ``chosen`` picked, under ``notice``."""
    queue, marks = await _queue(bot, days)
    return _screen(bot, days, queue, marks, key=key, chosen=chosen, notice=notice)


def _screen(
    bot: AllyBot,
    days: int,
    queue: list[ReviewItem],
    marks: dict[str, tuple[str, str]],
    *,
    key: str | None = None,
    chosen: str | None = None,
    notice: str = "",
) -> Screen:
    note = render.health_note(bot.query_log.health if bot.query_log else None)
    found = next((i for i in queue if i.key == key), None)
    if key is not None and found is None and not notice:
        notice = render.REVIEW_GONE
    content = render.clip(notice, render.MAX_CONTENT) if notice else None
    if not queue:
        return Screen(content, render.review_empty_embed(days, note), None)
    item = found or queue[0]
    service = bot.service
    candidates = [t.entry for i in item.candidates if (t := service.topic(i)) and len(t.entry.id) <= MAX_ENTRY_ID]
    picked = service.topic(chosen) if chosen else None
    entry = picked.entry if picked and len(picked.entry.id) <= MAX_ENTRY_ID else None
    back = last_skipped(marks, {i.key for i in queue}, besides=item.key) is not None
    embed = render.review_embed(item, queue.index(item) + 1, len(queue), days, candidates, entry, note)
    return Screen(content, embed, review_view(item, days, candidates, entry, can_go_back=back))


def review_view(
    item: ReviewItem, days: int, candidates: list[Entry], chosen: Entry | None, *, can_go_back: bool
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    options = [
        render.review_option(e, f"The bot's choice {n}", default=chosen is not None and e.id == chosen.id)
        for n, e in enumerate(candidates, 1)
    ]
    if chosen is not None and all(e.id != chosen.id for e in candidates):
        options.append(render.review_option(chosen, "Chosen with “Another topic…”", default=True))
    options.append(discord.SelectOption(label="Another topic…", value=OTHER, description="Type a title or id"))
    view.add_item(ReviewSelect(days, item.key, options))
    view.add_item(ReviewButton("teach", days, item.key, chosen.id if chosen else None))
    view.add_item(ReviewButton("dismiss", days, item.key))
    view.add_item(ReviewButton("skip", days, item.key))
    view.add_item(ReviewButton("back", days, item.key, disabled=not can_go_back))
    return view


async def show(interaction: discord.Interaction, screen: Screen) -> None:
    """Put ``screen`` in the message the clicked component is on (the interaction is acknowledged already)."""
    await interaction.edit_original_response(
        content=screen.content, embed=screen.embed, view=screen.view, allowed_mentions=NO_PINGS
    )


async def refuse_unless_moderator(interaction: discord.Interaction) -> bool:
    """True for a moderator, as of this very click; anyone else is told privately, and nothing happens."""
    if is_moderator(interaction, bot_of(interaction).settings.moderator_role_id):
        return True
    await interaction.response.send_message(NOT_A_MODERATOR, ephemeral=True, allowed_mentions=NO_PINGS)
    return False


async def guarded(interaction: discord.Interaction, work: Callable[[], Awaitable[None]]) -> None:
    """Run a click's work; a failing query log or a bug is said to the moderator privately, never a silent failure."""
    try:
        await work()
    except QueryLogUnavailable as error:
        log.error("review: query log unavailable: %s", error)
        await reply_privately(interaction, unavailable_text(error))
    except Exception:
        log.exception("review: a click failed")
        await reply_privately(interaction, APOLOGY)


# --- the actions ----------------------------------------------------------------------------------


async def teach(bot: AllyBot, days: int, key: str, entry_id: str | None) -> Screen:
    queue, marks = await _queue(bot, days)
    item = next((i for i in queue if i.key == key), None)
    if item is None:
        return _screen(bot, days, queue, marks, notice=render.REVIEW_GONE)
    if entry_id is None:
        return _screen(bot, days, queue, marks, key=key, notice=render.REVIEW_PICK_FIRST)
    entry = await bot.service.teach_all(item.questions, entry_id)
    if entry is None:
        return _screen(bot, days, queue, marks, key=key, notice=render.REVIEW_NO_TOPIC)
    await _query_log(bot).mark_reviewed(key, TAUGHT, item.question, entry.id)
    answered = await asyncio.to_thread(answered_with, bot.service.matcher, item, entry.id)
    return await review_screen(bot, days, notice=render.taught_text(item, entry, answered))


async def dismiss(bot: AllyBot, days: int, key: str) -> Screen:
    queue, marks = await _queue(bot, days)
    item = next((i for i in queue if i.key == key), None)
    if item is None:
        return _screen(bot, days, queue, marks, notice=render.REVIEW_GONE)
    for question in item.questions:
        await bot.service.dismiss(question)
    await _query_log(bot).mark_reviewed(key, DISMISSED, item.question)
    return await review_screen(bot, days, notice=render.dismissed_text(item))


async def skip(bot: AllyBot, days: int, key: str) -> Screen:
    queue, marks = await _queue(bot, days)
    item = next((i for i in queue if i.key == key), None)
    if item is None:
        return _screen(bot, days, queue, marks, notice=render.REVIEW_GONE)
    await _query_log(bot).mark_reviewed(key, SKIPPED, item.question)
    return await review_screen(bot, days, notice=render.skipped_text(item, alone=len(queue) == 1))


async def back(bot: AllyBot, days: int, key: str) -> Screen:
    queue, marks = await _queue(bot, days)
    previous = last_skipped(marks, {i.key for i in queue}, besides=key)
    if previous is None:
        return _screen(bot, days, queue, marks, key=key, notice=render.back_text(None))
    item = next(i for i in queue if i.key == previous)
    await _query_log(bot).unmark_reviewed(previous)  # back in its place by impact, shown now
    return await review_screen(bot, days, key=previous, notice=render.back_text(item))


# --- the components -------------------------------------------------------------------------------


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=PREFIX + r":(?P<action>teach|dismiss|skip|back):(?P<days>[0-9]{1,4}):(?P<key>[0-9a-f]{12})"
    r"(?::(?P<entry_id>[a-z0-9-]{1,64}))?",
):
    """Teach (with the chosen topic in its custom id), Dismiss, Skip or Back, on one group."""

    LOOKS: ClassVar[dict[str, tuple[str, str, discord.ButtonStyle]]] = {
        "teach": ("Teach", "✅", discord.ButtonStyle.success),
        "dismiss": ("Dismiss", "🚫", discord.ButtonStyle.danger),
        "skip": ("Skip", "⏭️", discord.ButtonStyle.secondary),
        "back": ("Back", "↩️", discord.ButtonStyle.secondary),
    }

    def __init__(
        self, action: str, days: int, key: str, entry_id: str | None = None, *, disabled: bool = False
    ) -> None:
        label, emoji, style = self.LOOKS[action]
        custom_id = f"{PREFIX}:{action}:{days}:{key}" + (f":{entry_id}" if entry_id else "")
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=label,
            emoji=emoji,
            style=style,
            custom_id=custom_id,
            disabled=disabled or (action == "teach" and entry_id is None),
            row=1,
        )
        super().__init__(button)
        self.action, self.days, self.key, self.entry_id = action, days, key, entry_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReviewButton:
        return cls(match["action"], int(match["days"]), match["key"], match["entry_id"])

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await refuse_unless_moderator(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> None:
            await interaction.response.defer()  # reading the queue and ranking candidates can take a moment
            if self.action == "teach":
                screen = await teach(bot, self.days, self.key, self.entry_id)
            elif self.action == "dismiss":
                screen = await dismiss(bot, self.days, self.key)
            elif self.action == "skip":
                screen = await skip(bot, self.days, self.key)
            else:
                screen = await back(bot, self.days, self.key)
            await show(interaction, screen)

        await guarded(interaction, work)


class ReviewSelect(
    discord.ui.DynamicItem[discord.ui.Select],
    template=PREFIX + r":pick:(?P<days>[0-9]{1,4}):(?P<key>[0-9a-f]{12})",
):
    """The topic menu: the bot's candidates for the group, the topic chosen so far, and "Another topic…"."""

    def __init__(self, days: int, key: str, options: list[discord.SelectOption] | None = None) -> None:
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=f"{PREFIX}:pick:{days}:{key}",
            placeholder="Choose the topic that answers these questions…",
            options=options or [],
            row=0,
        )
        super().__init__(select)
        self.days, self.key = days, key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReviewSelect:
        return cls(int(match["days"]), match["key"])

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await refuse_unless_moderator(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        value = self.item.values[0] if self.item.values else OTHER

        async def work() -> None:
            if value == OTHER:  # a form is a response of its own: it cannot follow a deferral
                await interaction.response.send_modal(OtherTopic(self.days, self.key))
                return
            await interaction.response.defer()
            await show(interaction, await review_screen(bot, self.days, key=self.key, chosen=value))

        await guarded(interaction, work)


class OtherTopic(discord.ui.Modal):
    """A form for any topic, by title (as autocomplete ranks titles) or id."""

    topic: discord.ui.TextInput[OtherTopic] = discord.ui.TextInput(
        label="Topic title or id", placeholder="e.g. Partnership for Peace", max_length=100
    )

    def __init__(self, days: int, key: str) -> None:
        super().__init__(title="Teach which topic?", custom_id=f"{PREFIX}:other:{days}:{key}", timeout=600)
        self.days, self.key = days, key

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return await refuse_unless_moderator(interaction)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        bot, typed = bot_of(interaction), self.topic.value

        async def work() -> None:
            await interaction.response.defer()
            found = await bot.service.find_topic_in_turn(typed)
            notice = "" if found else render.review_no_match_text(typed)
            chosen = found.entry.id if found else None
            await show(interaction, await review_screen(bot, self.days, key=self.key, chosen=chosen, notice=notice))

        await guarded(interaction, work)
