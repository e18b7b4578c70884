"""Moderator review and repair in Discord: /querylog, /kb reload; and /privacy for everyone.

Moderator commands are hidden by default (Manage Server) *and* checked at run
time (Manage Server or ALLYBOT_MODERATOR_ROLE_ID), so a server that shows them
to everyone still keeps the log private. Every reply here is ephemeral.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.frontends.discord_bot.render import (
    MAX_CHOICE_NAME,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_FIELD_VALUE,
    MAX_TITLE,
    NO_PINGS,
    clip,
    inert,
)
from bot.knowledge.loader import KnowledgeError
from bot.querylog import QueryLogUnavailable, reports
from bot.querylog.chart import bar_chart
from bot.querylog.store import QueryLog

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot

log = logging.getLogger(__name__)
MANAGE_SERVER = discord.Permissions(manage_guild=True)


def is_moderator(interaction: discord.Interaction, moderator_role_id: int | None) -> bool:
    """Manage Server (as Discord resolved it for this interaction) or the configured moderator role."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    return interaction.permissions.manage_guild or (
        moderator_role_id is not None and any(role.id == moderator_role_id for role in member.roles)
    )


class ModeratorGroup(app_commands.Group):
    """A command group that re-checks moderator rights on every use."""

    def __init__(self, bot: AllyBot, **kwargs: object) -> None:
        super().__init__(default_permissions=MANAGE_SERVER, guild_only=True, **kwargs)  # type: ignore[arg-type]
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return is_moderator(interaction, self.bot.settings.moderator_role_id)


async def say(interaction: discord.Interaction, text: str, **kwargs: object) -> None:
    await interaction.response.send_message(
        clip(text, MAX_CONTENT), ephemeral=True, allowed_mentions=NO_PINGS, **kwargs
    )  # type: ignore[arg-type]


class Moderation(commands.Cog):
    def __init__(self, bot: AllyBot) -> None:
        self.bot = bot
        self.querylog = ModeratorGroup(bot, name="querylog", description="Review what people asked (moderators)")
        self.kb = ModeratorGroup(bot, name="kb", description="Knowledge-base maintenance (moderators)")
        self._add_commands()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.querylog)
        self.bot.tree.add_command(self.kb)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.querylog.name)
        self.bot.tree.remove_command(self.kb.name)

    def _log(self) -> QueryLog:
        if self.bot.query_log is None:
            raise QueryLogUnavailable("the query log is turned off for this bot")
        return self.bot.query_log

    def _health_note(self) -> str:
        health = self.bot.query_log.health if self.bot.query_log else None
        note = ""
        if health and health.last_error:
            since = f" since {health.failing_since:%Y-%m-%d %H:%M} UTC" if health.failing_since else ""
            note += f"⚠️ The query log is failing{since} ({health.last_error}); {health.pending} rows are waiting.\n"
        if health and health.notice:
            note += f"⚠️ Query log: {health.notice}.\n"
        return note

    def _add_commands(self) -> None:
        """The subcommands, as closures over the cog (one place to read them all)."""
        group = self.querylog

        @group.command(name="recent", description="The latest questions with outcome, topic and score")
        @app_commands.describe(limit="How many (1-25)")
        async def recent(interaction: discord.Interaction, limit: app_commands.Range[int, 1, 25] = 10) -> None:
            rows = await reports.recent(await self._log().connection(), limit)
            lines = [
                f"`{r['asked_at'][5:16]}` **{r['outcome']}** {r['score']:.0f} · {r['entry_id'] or '—'} · "
                f"{inert(r['question'], 90)}"
                for r in rows
            ]
            await self._reply_embed(interaction, "Recent questions", "\n".join(lines) or "Nothing logged yet.")

        @group.command(name="gaps", description="Unanswered, unsure and 👎 questions, grouped, most frequent first")
        @app_commands.describe(days="Look back this many days")
        async def gaps(interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
            found = await reports.gaps(await self._log().connection(), days, limit=15)
            lines = [
                f"**{g.count}×** ({g.askers} askers, last {g.last_seen[:10]}, {g.downvotes} 👎) "
                f"{inert(g.question, 120)}\n  ↳ " + ", ".join(f"{k} ({v})" for k, v in g.answers.most_common(3))
                for g in found
            ]
            hint = "\nFix one with `/querylog resolve`, or `/querylog dismiss` it."
            await self._reply_embed(
                interaction,
                f"Gaps, last {days} days",
                ("\n".join(lines) + hint) if lines else "No gaps in this period.",
            )

        @group.command(name="stats", description="Volume, answer rate, top topics, feedback and a daily chart")
        @app_commands.describe(days="Look back this many days")
        async def stats(interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
            found = await reports.stats(await self._log().connection(), days)
            embed = discord.Embed(title=f"Last {days} days", description=self._health_note() or None)
            embed.add_field(name="Questions", value=f"{found.total} · {found.answer_rate}% answered")
            embed.add_field(name="Outcomes", value=", ".join(f"{k} {v}" for k, v in found.outcomes.items()) or "—")
            embed.add_field(name="Feedback", value=f"{found.upvotes} 👍 · {found.downvotes} 👎")
            embed.add_field(
                name="Top topics",
                value=clip("\n".join(f"{e} ({n})" for e, n in found.top_entries) or "—", MAX_FIELD_VALUE),
                inline=False,
            )
            embed.add_field(
                name="Busiest channels",
                value="\n".join(f"<#{c}> ({n})" for c, n in found.busiest_channels) or "—",
                inline=False,
            )
            chart = discord.File(io.BytesIO(bar_chart(found.per_day)), filename="questions-per-day.png")
            embed.set_image(url="attachment://questions-per-day.png")
            embed.set_footer(text="Chart: questions per day, answered (blue) and not (grey)")
            await interaction.response.send_message(embed=embed, file=chart, ephemeral=True, allowed_mentions=NO_PINGS)

        @group.command(name="export", description="The log as a CSV file")
        @app_commands.describe(days="Look back this many days")
        async def export(interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)  # a big log takes a moment
            data = await reports.export_csv(await self._log().connection(), days)
            await interaction.followup.send(
                self._health_note() + f"Questions of the last {days} days.",
                ephemeral=True,
                file=discord.File(io.BytesIO(data.encode()), filename=f"allybot-queries-{days}d.csv"),
                allowed_mentions=NO_PINGS,
            )

        @group.command(name="resolve", description="Teach the bot: this question means that topic, from now on")
        @app_commands.describe(question="The question as people ask it", topic="The topic that answers it")
        async def resolve(
            interaction: discord.Interaction, question: app_commands.Range[str, 1, 300], topic: str
        ) -> None:
            entry = self.bot.service.knowledge.get(topic)
            if entry is None:
                await say(interaction, "Pick the topic from the list (start typing its title).")
                return
            await self._log().learn(question, self.bot.service.matcher.normalize(question), entry.id)
            self.bot.service.teach(question, entry.id)
            await say(
                interaction,
                f"Learned: “{inert(question)}” → **{entry.title}**, effective now. "
                "Run `python -m bot kb learned` to copy it into the YAML.",
            )

        @resolve.autocomplete("topic")
        async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=clip(e.title, MAX_CHOICE_NAME), value=e.id)
                for e in await self.bot.service.complete_in_turn(current, limit=25)
            ]

        @group.command(name="dismiss", description="Mark a gap as out of scope so it stops showing")
        @app_commands.describe(question="The question (as shown in /querylog gaps)")
        async def dismiss(interaction: discord.Interaction, question: app_commands.Range[str, 1, 300]) -> None:
            await self._log().dismiss(self.bot.service.matcher.normalize(question))
            await say(interaction, f"Dismissed: “{inert(question)}” and questions like it no longer show as gaps.")

        @self.kb.command(name="reload", description="Reload the knowledge base from disk")
        async def reload(interaction: discord.Interaction) -> None:
            # Parsing and indexing take seconds on a large knowledge base: off the event loop, after acknowledging.
            await interaction.response.defer(ephemeral=True, thinking=True)
            try:
                change = await asyncio.to_thread(self.bot.service.reload)
            except KnowledgeError as error:
                problems = "\n".join(f"• {inert(str(p), 300)}" for p in error.problems)
                more = f"\n… and {error.not_shown} more (run `allybot kb check`)" if error.not_shown else ""
                await self._reply_embed(
                    interaction,
                    "Reload failed: still serving the previous knowledge base",
                    f"{error.total} problem(s):\n{problems}{more}",
                )
                return
            parts = [
                f"{label}: {', '.join(ids)}"
                for label, ids in (("Added", change.added), ("Removed", change.removed), ("Edited", change.edited))
                if ids
            ]
            await self._reply_embed(
                interaction, f"Reloaded (version {change.version})", "\n".join(parts) or "No entries changed."
            )

    async def _reply_embed(self, interaction: discord.Interaction, title: str, text: str) -> None:
        embed = discord.Embed(
            title=clip(title, MAX_TITLE), description=clip(self._health_note() + text, MAX_DESCRIPTION)
        )
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="privacy", description="See, and delete, what allybot stores about your questions")
    async def privacy(self, interaction: discord.Interaction) -> None:
        if self.bot.query_log is None:
            await say(interaction, "This bot does not log questions.")
            return
        summary = await PrivacyView.summary(self.bot.query_log, interaction.user.id)
        await say(interaction, summary, view=PrivacyView(self.bot.query_log, interaction.user.id))


class PrivacyView(discord.ui.View):
    """The asker's own data, and a button that deletes it."""

    def __init__(self, query_log: QueryLog, user_id: int) -> None:
        super().__init__(timeout=300)
        self.query_log, self.user_id = query_log, user_id

    @staticmethod
    async def summary(query_log: QueryLog, user_id: int) -> str:
        mine = await query_log.about(user_id)
        lines = [
            "What allybot keeps about you: your questions (text, time, channel and what it answered) and your 👍/👎, "
            "linked to a salted hash of your Discord id, never the id itself. "
            f"Questions older than {query_log.retention_days or '∞'} days are deleted automatically.",
            f"Stored now: **{mine['questions']}** questions, **{mine['votes']}** votes.",
        ]
        lines += [f"• `{asked[:10]}` {inert(question, 100)}" for asked, question in mine["latest"]]
        return "\n".join(lines)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Delete my questions and votes", style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        with contextlib.suppress(TimeoutError):  # questions still queued would escape the delete; a failing
            await asyncio.wait_for(self.query_log.flush(), 2)  # file must not stall the reply, though
        removed = await self.query_log.forget(self.user_id)
        await interaction.response.edit_message(content=f"Deleted {removed} questions and your votes.", view=None)


async def setup(bot: AllyBot) -> None:
    await bot.add_cog(Moderation(bot))
