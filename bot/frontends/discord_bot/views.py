"""Buttons and pagers. Answer buttons are ``DynamicItem``s: their custom ids carry what they need
(an entry id, or a query id and a vote), so they keep working after the bot restarts."""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.frontends.discord_bot.render import (
    MAX_BUTTON_LABEL,
    MAX_CHOICE_NAME,
    NO_PINGS,
    TOPICS_PAGE_SIZE,
    Reply,
    clip,
    topic_reply,
    topics_page_embed,
)
from bot.knowledge.model import Entry
from bot.service import Topic

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """Say ``text`` to the user alone, whether or not the interaction was answered already; a send that fails is
    logged, never raised (this is how errors are reported, so there is nothing left to report to)."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.exception("could not reply to an interaction: %s", text[:80])


def bot_of(interaction: discord.Interaction) -> AllyBot:
    """The bot an interaction came to (discord.py types components' callbacks for any client)."""
    return cast("AllyBot", interaction.client)


def is_moderator(interaction: discord.Interaction, moderator_role_id: int | None) -> bool:
    """Manage Server (as Discord resolved it for this interaction) or the configured moderator role."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    return interaction.permissions.manage_guild or (
        moderator_role_id is not None and any(role.id == moderator_role_id for role in member.roles)
    )


def answer_view(reply: Reply, query_id: int) -> discord.ui.View | None:
    """Topic buttons for the reply's choices, then 👍/👎 when it takes feedback."""
    view = discord.ui.View(timeout=None)
    for entry in reply.choices:
        view.add_item(TopicButton(entry.id, entry.title))
    if reply.feedback:
        view.add_item(FeedbackButton(query_id, "up"))
        view.add_item(FeedbackButton(query_id, "down"))
    return view if view.children else None


async def send_topic(interaction: discord.Interaction, topic: Topic, *, ephemeral: bool) -> None:
    reply = topic_reply(topic)
    await interaction.response.send_message(
        embed=reply.embed or discord.utils.MISSING,
        view=answer_view(reply, query_id=0) or discord.utils.MISSING,  # None: discord.py would call None.is_finished()
        ephemeral=ephemeral,
        allowed_mentions=NO_PINGS,
    )


async def send_topic_by_id(interaction: discord.Interaction, entry_id: str) -> None:
    """Open an entry privately for whoever clicked, or say it is gone (the knowledge base may have been reloaded)."""
    topic = bot_of(interaction).service.topic(entry_id)
    if topic is None:
        await interaction.response.send_message(
            "That topic is no longer in the knowledge base; try `/topics`.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        return
    await send_topic(interaction, topic, ephemeral=True)


class TopicButton(discord.ui.DynamicItem[discord.ui.Button], template=r"allybot:topic:(?P<entry_id>[a-z0-9-]{1,64})"):
    """Opens one entry, privately for whoever clicks it."""

    def __init__(self, entry_id: str, title: str = "") -> None:
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=clip(title or entry_id, MAX_BUTTON_LABEL),
            emoji="📖",
            style=discord.ButtonStyle.secondary,
            custom_id=f"allybot:topic:{entry_id}",
            row=0,
        )
        super().__init__(button)
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TopicButton:
        return cls(match["entry_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await send_topic_by_id(interaction, self.entry_id)


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"allybot:vote:(?P<query_id>[0-9]{1,20}):(?P<vote>up|down)"
):
    """👍 or 👎 on one answer, identified by its query id."""

    def __init__(self, query_id: int, vote: str) -> None:
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            emoji="👍" if vote == "up" else "👎",
            style=discord.ButtonStyle.secondary,
            custom_id=f"allybot:vote:{query_id}:{vote}",
            row=1,
        )
        super().__init__(button)
        self.query_id, self.vote = query_id, vote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> FeedbackButton:
        return cls(int(match["query_id"]), match["vote"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot_of(interaction).service.record_feedback(self.query_id, interaction.user.id, self.vote)
        thanks = "Thanks, glad it helped." if self.vote == "up" else "Thanks; moderators will look at this one."
        await interaction.response.send_message(thanks, ephemeral=True, allowed_mentions=NO_PINGS)


class TopicsPager(discord.ui.View):
    """Pages of a category's topics with ◀ ▶ buttons and a menu to open one. Only the asker can page."""

    def __init__(self, owner_id: int, title: str, entries: list[Entry]) -> None:
        super().__init__(timeout=600)
        self.owner_id, self.title, self.entries = owner_id, title, entries
        self.page = 0
        self.pages = max(1, -(-len(entries) // TOPICS_PAGE_SIZE))
        self._show_page()

    def _shown(self) -> list[Entry]:
        return self.entries[self.page * TOPICS_PAGE_SIZE : (self.page + 1) * TOPICS_PAGE_SIZE]

    def embed(self) -> discord.Embed:
        return topics_page_embed(self.title, self._shown(), self.page, self.pages)

    def _show_page(self) -> None:
        """Enable the arrows and fill the menu for the current page.

        (Not ``_refresh``: discord.py's view store calls ``View._refresh(components)`` when the message is edited.)
        """
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        shown = self._shown()
        self.open.options = [discord.SelectOption(label=clip(e.title, MAX_CHOICE_NAME), value=e.id) for e in shown] or [
            discord.SelectOption(label="(none)", value="-")
        ]

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These pages belong to someone else; run `/topics` yourself.", ephemeral=True, allowed_mentions=NO_PINGS
        )
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = min(max(self.page + step, 0), self.pages - 1)
        self._show_page()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(emoji="◀", style=discord.ButtonStyle.secondary, row=1)
    async def previous(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(emoji="▶", style=discord.ButtonStyle.secondary, row=1)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._turn(interaction, +1)

    @discord.ui.select(cls=discord.ui.Select, placeholder="Open a topic…", row=0)
    async def open(self, interaction: discord.Interaction, select: discord.ui.Select[TopicsPager]) -> None:
        await send_topic_by_id(interaction, select.values[0])


class RateLimiter:
    """At most ``rate`` events per user in any ``per``-second window (sliding), with one notice per window."""

    def __init__(self, rate: int, per: float, clock: Any = time.monotonic) -> None:
        self.rate, self.per, self._clock = rate, per, clock
        self._events: defaultdict[int, deque[float]] = defaultdict(deque)
        self._noticed_until: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """0 and count the event when allowed; otherwise seconds until the user may ask again."""
        now = self._clock()
        events = self._events[user_id]
        while events and events[0] <= now - self.per:
            events.popleft()
        if len(events) < self.rate:
            events.append(now)
            return 0.0
        return events[0] + self.per - now

    def should_notify(self, user_id: int, retry_after: float) -> bool:
        """True once per blocked window, so a spammer gets one notice, not one per message."""
        now = self._clock()
        if self._noticed_until.get(user_id, 0.0) > now:
            return False
        self._noticed_until[user_id] = now + retry_after
        return True
