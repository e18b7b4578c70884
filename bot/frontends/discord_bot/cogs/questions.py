"""Asking and browsing: /ask, /topic, /topics, /help, and questions in messages.

Only translation happens here: Discord input -> ``AnswerService.answer`` ->
``render.answer_reply`` -> Discord message. Mentions, DMs and ask-channel
messages get the same reply as /ask, as a reply to the message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.frontends.discord_bot.render import (
    MAX_CHOICE_NAME,
    NO_PINGS,
    answer_reply,
    categories_embed,
    clip,
    help_embed,
    topic_choices,
)
from bot.frontends.discord_bot.views import RateLimiter, TopicsPager, answer_view, send_topic
from bot.service import Asker, QuerySource

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)
MAX_QUESTION = 300  # /ask's option limit; messages may be longer and are read up to the service's limit


def question_source(message: discord.Message, me: discord.abc.User, ask_channels: frozenset[int]) -> QuerySource | None:
    """Which kind of question a message is, or None for chat the bot must ignore."""
    if message.author.bot or message.webhook_id is not None or message.author.id == me.id:
        return None
    if message.guild is None:
        return QuerySource.DM
    if any(user.id == me.id for user in message.mentions):
        return QuerySource.MENTION
    if message.channel.id in ask_channels:
        return QuerySource.ASK_CHANNEL
    return None


def cooldown_text(seconds: float) -> str:
    return f"You're asking quickly; please wait {max(1, round(seconds))} s before your next question."


class Questions(commands.Cog):
    def __init__(self, bot: AllyBot) -> None:
        self.bot = bot
        self.limiter = RateLimiter(bot.settings.cooldown_rate, bot.settings.cooldown_seconds)

    @app_commands.command(name="ask", description="Ask a question about NATO policy")
    @app_commands.describe(question="Your question, in your own words")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, MAX_QUESTION]) -> None:
        wait = self.limiter.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(cooldown_text(wait), ephemeral=True, allowed_mentions=NO_PINGS)
            return
        asker = Asker(interaction.user.id, interaction.guild_id, interaction.channel_id)
        answer = await self.bot.service.answer_in_turn(question, source=QuerySource.SLASH, asker=asker)
        reply = answer_reply(answer)
        await interaction.response.send_message(
            content=reply.content,
            embed=reply.embed or discord.utils.MISSING,
            view=answer_view(reply, answer.query_id) or discord.utils.MISSING,
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="topic", description="Open one topic of the knowledge base")
    @app_commands.describe(name="Start typing a topic title")
    async def topic(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]) -> None:
        topic = await self.bot.service.find_topic_in_turn(name)
        if topic is None:
            await interaction.response.send_message(
                "No topic matches that; browse them with `/topics`.", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await send_topic(interaction, topic, ephemeral=False)

    @topic.autocomplete("name")
    async def topic_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return topic_choices(await self.bot.service.complete_in_turn(current, limit=25))

    @app_commands.command(name="topics", description="Browse the knowledge base by category")
    @app_commands.describe(category="A category to list (leave empty to see them all)")
    async def topics(self, interaction: discord.Interaction, category: str | None = None) -> None:
        knowledge = self.bot.service.knowledge  # read once: the listing and the pages come from one knowledge base
        if category is None:
            await interaction.response.send_message(
                embed=categories_embed(knowledge), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        chosen = next((c for c in knowledge.categories if category in (c.id, c.title)), None)
        if chosen is None:
            await interaction.response.send_message(
                "No such category; leave the option empty to see them all.", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        pager = TopicsPager(interaction.user.id, chosen.title, knowledge.in_category(chosen.id))
        await interaction.response.send_message(
            embed=pager.embed(), view=pager, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @topics.autocomplete("category")
    async def category_names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        knowledge = self.bot.service.knowledge
        typed = current.casefold()
        return [
            app_commands.Choice(
                name=clip(f"{c.title} ({len(knowledge.in_category(c.id))})", MAX_CHOICE_NAME), value=c.id
            )
            for c in knowledge.categories
            if typed in c.title.casefold() or typed in c.id
        ][:25]

    @app_commands.command(name="help", description="What allybot does and how to ask")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=help_embed(), ephemeral=True, allowed_mentions=NO_PINGS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        assert self.bot.user is not None  # messages only arrive once logged in
        source = question_source(message, self.bot.user, self.bot.settings.ask_channel_ids)
        if source is None:
            return
        try:
            await self._answer_message(message, source)
        except Exception:
            log.exception("answering message %s failed", message.id)
            await self._apologise(message)

    async def _answer_message(self, message: discord.Message, source: QuerySource) -> None:
        wait = self.limiter.retry_after(message.author.id)
        if wait:
            if self.limiter.should_notify(message.author.id, wait):
                await message.reply(cooldown_text(wait), allowed_mentions=NO_PINGS, mention_author=False)
            return
        asker = Asker(message.author.id, message.guild.id if message.guild else None, message.channel.id)
        answer = await self.bot.service.answer_in_turn(message.content, source=source, asker=asker)
        reply = answer_reply(answer)
        await message.reply(
            content=reply.content,
            embed=reply.embed or discord.utils.MISSING,
            view=answer_view(reply, answer.query_id) or discord.utils.MISSING,
            allowed_mentions=NO_PINGS,
            mention_author=False,
        )

    @staticmethod
    async def _apologise(message: discord.Message) -> None:
        try:
            await message.reply(
                "Sorry, something went wrong while answering; it has been logged.",
                allowed_mentions=NO_PINGS,
                mention_author=False,
            )
        except discord.HTTPException:
            log.exception("could not send the apology for message %s", message.id)


async def setup(bot: AllyBot) -> None:
    await bot.add_cog(Questions(bot))
