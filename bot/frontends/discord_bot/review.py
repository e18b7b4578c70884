"""``/querylog review``'s message: one gap group at a time, with a topic menu and Teach, Dismiss, Skip and Back.

Every component is a ``DynamicItem`` whose custom id carries all it needs (the action, the
look-back in days, the group's key and, on Teach, the chosen topic), so a review message keeps
working after the bot restarts: each click reads the queue afresh from the query log
(:func:`~bot.querylog.review.read_queue`, the gap groups; Skip and Back change only the
decisions, so on a queue read whole they re-order it instead of reading it again). Choosing a
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
from bot.querylog.reports import GapGroup
from bot.querylog.review import DISMISSED, SKIPPED, TAUGHT, Queue, answered_with, last_skipped, read_queue
from bot.querylog.store import QueryLog
from bot.service import NothingToLearn

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)
PREFIX = "allybot:rv"
OTHER = "*other"  # the menu's "Another topic…" option (no entry id starts with "*")
MAX_ENTRY_ID = 64  # an entry id longer than this does not fit in Teach's custom id (100 characters)
# GapGroup.key in a custom id; or 12 hex digits, on a message from before groups had their own key: the click is
# answered like any group that has changed since (REVIEW_GONE, and the queue as it is now), not dropped.
KEY = r"(?P<key>g[0-9a-f]{16}|[0-9a-f]{12})"


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


async def _queue(bot: AllyBot, days: int) -> Queue:
    return await read_queue(_query_log(bot), bot.service.matcher, days)


async def review_screen(
    bot: AllyBot, days: int, *, key: str | None = None, chosen: str | None = None, notice: str = ""
) -> Screen:
    """The group ``key`` (else the head of the queue), with topic ``chosen`` picked, under ``notice``."""
    return _screen(bot, days, await _queue(bot, days), key=key, chosen=chosen, notice=notice)


def _screen(
    bot: AllyBot, days: int, queue: Queue, *, key: str | None = None, chosen: str | None = None, notice: str = ""
) -> Screen:
    note = render.health_note(bot.query_log.health if bot.query_log else None)
    found = queue.find(key) if key is not None else None
    if key is not None and found is None and not notice:
        notice = render.REVIEW_GONE
    content = render.clip(notice, render.MAX_CONTENT) if notice else None
    groups = queue.groups
    if not groups:
        return Screen(content, render.review_empty_embed(days, note), None)
    group = found or groups[0]
    service = bot.service
    candidates = [t.entry for i in group.candidates if (t := service.topic(i)) and len(t.entry.id) <= MAX_ENTRY_ID]
    picked = service.topic(chosen) if chosen else None
    entry = picked.entry if picked and len(picked.entry.id) <= MAX_ENTRY_ID else None
    back = last_skipped(queue.marks, {g.key for g in groups}, besides=group.key) is not None
    embed = render.review_embed(group, groups.index(group) + 1, len(groups), queue.more, days, candidates, entry, note)
    return Screen(content, embed, review_view(group, days, candidates, entry, can_go_back=back))


def review_view(
    group: GapGroup, days: int, candidates: list[Entry], chosen: Entry | None, *, can_go_back: bool
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    options = [
        render.review_option(e, f"The bot's choice {n}", default=chosen is not None and e.id == chosen.id)
        for n, e in enumerate(candidates, 1)
    ]
    if chosen is not None and all(e.id != chosen.id for e in candidates):
        options.append(render.review_option(chosen, "Chosen with “Another topic…”", default=True))
    options.append(discord.SelectOption(label="Another topic…", value=OTHER, description="Type a title or id"))
    view.add_item(ReviewSelect(days, group.key, options))
    view.add_item(ReviewButton("teach", days, group.key, chosen.id if chosen else None))
    view.add_item(ReviewButton("dismiss", days, group.key))
    view.add_item(ReviewButton("skip", days, group.key))
    view.add_item(ReviewButton("back", days, group.key, disabled=not can_go_back))
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
    queue = await _queue(bot, days)
    group = queue.find(key)
    if group is None:
        return _screen(bot, days, queue, notice=render.REVIEW_GONE)
    if entry_id is None:
        return _screen(bot, days, queue, key=key, notice=render.REVIEW_PICK_FIRST)
    try:
        entry = await bot.service.teach_all(group.questions, entry_id)
    except NothingToLearn:
        return _screen(bot, days, queue, key=key, notice=render.nothing_learned_text("this group's wordings"))
    if entry is None:
        return _screen(bot, days, queue, key=key, notice=render.REVIEW_NO_TOPIC)
    await _query_log(bot).mark_reviewed(key, TAUGHT, group.question, entry.id)
    answered = await asyncio.to_thread(answered_with, bot.service.matcher, group, entry.id)
    return await review_screen(bot, days, notice=render.taught_text(group, entry, answered))


async def dismiss(bot: AllyBot, days: int, key: str) -> Screen:
    queue = await _queue(bot, days)
    group = queue.find(key)
    if group is None:
        return _screen(bot, days, queue, notice=render.REVIEW_GONE)
    for question in group.questions:
        await bot.service.dismiss(question)
    await _query_log(bot).mark_reviewed(key, DISMISSED, group.question)
    return await review_screen(bot, days, notice=render.dismissed_text(group))


async def skip(bot: AllyBot, days: int, key: str) -> Screen:
    queue = await _queue(bot, days)
    group = queue.find(key)
    if group is None:
        return _screen(bot, days, queue, notice=render.REVIEW_GONE)
    query_log = _query_log(bot)
    await query_log.mark_reviewed(key, SKIPPED, group.question)
    notice = render.skipped_text(group, alone=len(queue.ranked) == 1 and not queue.more)
    # A queue read whole only changes order; one cut short takes in the next group (read_queue reads one more).
    after = await _queue(bot, days) if queue.more else queue.remarked(await query_log.review_marks())
    return _screen(bot, days, after, notice=notice)


async def back(bot: AllyBot, days: int, key: str) -> Screen:
    queue = await _queue(bot, days)
    previous = last_skipped(queue.marks, {g.key for g in queue.ranked}, besides=key)
    if previous is None:
        return _screen(bot, days, queue, key=key, notice=render.back_text(None))
    query_log, group = _query_log(bot), queue.find(previous)
    await query_log.unmark_reviewed(previous)  # back in its place by impact, shown now
    after = queue.remarked(await query_log.review_marks())
    return _screen(bot, days, after, key=previous, notice=render.back_text(group))


# --- the components -------------------------------------------------------------------------------


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=PREFIX
    + r":(?P<action>teach|dismiss|skip|back):(?P<days>[0-9]{1,4}):"
    + KEY
    + r"(?::(?P<entry_id>[a-z0-9-]{1,64}))?",
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
    template=PREFIX + r":pick:(?P<days>[0-9]{1,4}):" + KEY,
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
