"""``/privacy``, for everyone: what allybot keeps about the asker, and a button that deletes it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.frontends.discord_bot.render import NO_PINGS, privacy_text
from bot.querylog.store import QueryLog

if TYPE_CHECKING:
    from bot.frontends.discord_bot.client import AllyBot


class Privacy(commands.Cog):
    def __init__(self, bot: AllyBot) -> None:
        self.bot = bot

    @app_commands.command(name="privacy", description="See, and delete, what allybot stores about your questions")
    async def privacy(self, interaction: discord.Interaction) -> None:
        query_log = self.bot.query_log
        if query_log is None:
            await interaction.response.send_message(
                "This bot does not log questions.", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        mine = await query_log.about(interaction.user.id)
        await interaction.response.send_message(
            privacy_text(mine["questions"], mine["votes"], mine["latest"], query_log.retention_days),
            view=PrivacyView(query_log, interaction.user.id),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


class PrivacyView(discord.ui.View):
    """The asker's own data, and a button that deletes it."""

    def __init__(self, query_log: QueryLog, user_id: int) -> None:
        super().__init__(timeout=300)
        self.query_log, self.user_id = query_log, user_id

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(label="Delete my questions and votes", style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        with contextlib.suppress(TimeoutError):  # questions still queued would escape the delete; a failing
            await asyncio.wait_for(self.query_log.flush(), 2)  # file must not stall the reply, though
        removed = await self.query_log.forget(self.user_id)
        await interaction.response.edit_message(content=f"Deleted {removed} questions and your votes.", view=None)


async def setup(bot: AllyBot) -> None:
    await bot.add_cog(Privacy(bot))
