"""Moderator review and repair in Discord: /querylog and /kb.

Moderator commands are hidden by default (Manage Server) *and* checked at run
time (Manage Server or ALLYBOT_MODERATOR_ROLE_ID) by the cog's
``interaction_check``, which discord.py runs before every command of the cog,
so a server that shows them to everyone still keeps the log private. Every
reply here is ephemeral. Reports come from the query log; teaching and
dismissing go through the answer service.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.frontends.discord_bot import render
from bot.frontends.discord_bot.render import MAX_CONTENT, NO_PINGS, clip, inert
from bot.frontends.discord_bot.review import review_screen
from bot.frontends.discord_bot.views import is_moderator
from bot.knowledge.loader import KnowledgeError
from bot.querylog import QueryLogUnavailable, reports
from bot.querylog.chart import bar_chart
from bot.querylog.replay import replay
from bot.querylog.store import QueryLog
from bot.service import NothingToLearn

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)
MANAGE_SERVER = discord.Permissions(manage_guild=True)
Days = app_commands.Range[int, 1, 3650]


async def say(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(clip(text, MAX_CONTENT), ephemeral=True, allowed_mentions=NO_PINGS)


async def send_embed(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """An ephemeral embed, as the response or, after a deferral, as the follow-up."""
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)


GAPS = 15  # gap groups in /querylog gaps: one embed's worth
REPLAY_DAYS = 30  # /kb reload replays this much of the log on the new knowledge base
EXPORT_SLACK = 64 << 10  # bytes of the upload limit left for the rest of the request


def render_export_note(found: reports.Export, days: int) -> str:
    """What the export message says: the period, and when it is gzipped or cut short, how to get everything."""
    text = f"Questions of the last {days} days ({found.rows:,} rows"
    text += ", gzipped to fit the upload limit)." if found.compressed else ")."
    if not found.complete:
        text += (
            f" Only the oldest {found.rows:,} of {found.total:,} fit; the whole period from the shell: "
            f"`allybot logs export --days {days} > queries.csv`."
        )
    return text


class Moderation(commands.Cog):
    """``/querylog`` and ``/kb``: for moderators only."""

    querylog = app_commands.Group(
        name="querylog",
        description="Review what people asked (moderators)",
        default_permissions=MANAGE_SERVER,
        guild_only=True,
    )
    kb = app_commands.Group(
        name="kb",
        description="Knowledge-base maintenance (moderators)",
        default_permissions=MANAGE_SERVER,
        guild_only=True,
    )

    def __init__(self, bot: AllyBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every command here, every time: a moderator, whatever the server's command permissions say."""
        return is_moderator(interaction, self.bot.settings.moderator_role_id)

    def _log(self) -> QueryLog:
        if self.bot.query_log is None:
            raise QueryLogUnavailable("the query log is turned off for this bot")
        return self.bot.query_log

    def _health_note(self) -> str:
        return render.health_note(self.bot.query_log.health if self.bot.query_log else None)

    @querylog.command(name="recent", description="The latest questions with outcome, topic and score")
    @app_commands.describe(limit="How many (1-25)")
    async def recent(self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 25] = 10) -> None:
        rows = await reports.recent(await self._log().connection(), limit)
        await send_embed(interaction, render.recent_embed(rows, self._health_note()))

    # Reports acknowledge first (Discord's 3 s window) and read the log in a worker thread (bot/querylog/reports.py):
    # a year of log takes seconds to read and never holds the event loop.

    @querylog.command(name="gaps", description="Unanswered, unsure and 👎 questions, one group per intent, by impact")
    @app_commands.describe(days="Look back this many days")
    async def gaps(self, interaction: discord.Interaction, days: Days = 30) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await reports.gap_groups(await self._log().connection(), self.bot.service.matcher, days, limit=GAPS)
        await send_embed(interaction, render.gaps_embed(found, days, self._health_note()))

    @querylog.command(name="review", description="Fix gaps one group at a time: teach a topic, dismiss or skip")
    @app_commands.describe(days="Look back this many days")
    async def review(self, interaction: discord.Interaction, days: Days = 30) -> None:
        # Grouping the log and ranking each group's candidates takes a moment on a big log: acknowledge first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        screen = await review_screen(self.bot, days)
        await interaction.followup.send(
            content=screen.content or discord.utils.MISSING,
            embed=screen.embed,
            view=screen.view or discord.utils.MISSING,
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @querylog.command(name="stats", description="Volume, answer rate, top topics, feedback and a daily chart")
    @app_commands.describe(days="Look back this many days")
    async def stats(self, interaction: discord.Interaction, days: Days = 30) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = await reports.stats(await self._log().connection(), days)
        png = await asyncio.to_thread(bar_chart, found.per_day)
        await interaction.followup.send(
            embed=render.stats_embed(found, days, self._health_note()),
            file=discord.File(io.BytesIO(png), filename=render.CHART_FILE),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @querylog.command(name="export", description="The log as a CSV file")
    @app_commands.describe(days="Look back this many days")
    async def export(self, interaction: discord.Interaction, days: Days = 30) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # a big log takes a moment
        limit = interaction.guild.filesize_limit if interaction.guild else discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES
        with tempfile.TemporaryDirectory(prefix="allybot-export-") as folder:
            # Streamed to a file in a worker thread; gzipped when the CSV would not fit Discord's upload limit.
            found = await reports.export_file(await self._log().connection(), days, Path(folder), limit - EXPORT_SLACK)
            await interaction.followup.send(
                self._health_note() + render_export_note(found, days),
                ephemeral=True,
                file=discord.File(found.path, filename=found.path.name),
                allowed_mentions=NO_PINGS,
            )

    @querylog.command(name="resolve", description="Teach the bot: this question means that topic, from now on")
    @app_commands.describe(question="The question as people ask it", topic="The topic that answers it")
    async def resolve(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 300], topic: str
    ) -> None:
        try:
            entry = await self.bot.service.teach(question, topic)
        except NothingToLearn:
            await say(interaction, render.nothing_learned_text(f"“{inert(question)}”"))
            return
        if entry is None:
            await say(interaction, "Pick the topic from the list (start typing its title).")
            return
        await say(
            interaction,
            f"Learned: “{inert(question)}” → **{entry.title}**, effective now. "
            "Run `allybot kb learned --apply` to write it into the YAML.",
        )

    @resolve.autocomplete("topic")
    async def topic_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return render.topic_choices(await self.bot.service.complete_in_turn(current, limit=25))

    @querylog.command(name="dismiss", description="Mark a gap as out of scope so it stops showing")
    @app_commands.describe(question="The question (as shown in /querylog gaps)")
    async def dismiss(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 300]) -> None:
        await self.bot.service.dismiss(question)
        await say(interaction, f"Dismissed: “{inert(question)}” and questions like it no longer show as gaps.")

    @kb.command(name="reload", description="Reload the knowledge base from disk")
    async def reload(self, interaction: discord.Interaction) -> None:
        # Parsing and indexing take seconds on a large knowledge base: off the event loop, after acknowledging.
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            change = await self.bot.service.reload_in_turn()
        except KnowledgeError as error:
            await send_embed(interaction, render.reload_failed_embed(error, self._health_note()))
            return
        embed = render.reloaded_embed(change, self._health_note())
        replayed = await self._replayed()
        if replayed:
            embed.description = clip(f"{embed.description or ''}\n\n{replayed}", render.MAX_DESCRIPTION)
        await send_embed(interaction, embed)

    async def _replayed(self) -> str:
        """The effect of the knowledge base now served on the last 30 days of real questions (in a worker thread);
        nothing with the query log turned off."""
        if self.bot.query_log is None:
            return ""
        try:
            found = await replay(await self.bot.query_log.connection(), self.bot.service.matcher, REPLAY_DAYS)
        except QueryLogUnavailable as error:
            return f"No replay: the query log is unavailable ({error})."
        return found.summary()


async def setup(bot: AllyBot) -> None:
    await bot.add_cog(Moderation(bot))
