"""The Discord bot: a ``commands.Bot`` whose cogs translate Discord to the answer service.

Intents are minimal: guild and DM messages (a mention or a DM carries its text
without any privileged intent); the privileged message-content intent is asked
for only when ask-channels are configured, since only those need the text of
messages that do not mention the bot. Commands are never synced on start;
``python -m bot sync`` does that on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.frontends.discord_bot.render import APOLOGY, NO_PINGS, NOT_A_MODERATOR, unavailable_text
from bot.frontends.discord_bot.review import ReviewButton, ReviewSelect
from bot.frontends.discord_bot.views import FeedbackButton, TopicButton, reply_privately
from bot.querylog import QueryLogUnavailable
from bot.querylog.store import QueryLog
from bot.service import AnswerService

log = logging.getLogger(__name__)
# allybot never joins voice; without this discord.py warns on every start that voice libraries are missing.
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
EXTENSIONS = (
    "bot.frontends.discord_bot.cogs.questions",
    "bot.frontends.discord_bot.cogs.moderation",
    "bot.frontends.discord_bot.cogs.privacy",
)


def build_intents(settings: Settings) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = bool(settings.ask_channel_ids)
    return intents


class AllyBot(commands.Bot):
    def __init__(self, settings: Settings, service: AnswerService, query_log: QueryLog | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; allybot has no prefix commands
            intents=build_intents(settings),
            allowed_mentions=NO_PINGS,
            help_command=None,
        )
        self.settings, self.service, self.query_log = settings, service, query_log

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(TopicButton, FeedbackButton, ReviewButton, ReviewSelect)
        self.tree.error(self.on_app_command_error)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: questions in messages are the Questions cog's listener's job."""

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Tell the user what went wrong, and log real errors with traceback: never a silent failure."""
        command = interaction.command.qualified_name if interaction.command else "?"
        cause = getattr(error, "original", error)
        if isinstance(error, app_commands.CheckFailure):
            text = NOT_A_MODERATOR
        elif isinstance(cause, QueryLogUnavailable):
            log.error("/%s: query log unavailable: %s", command, cause)
            text = unavailable_text(cause)
        else:
            log.error("/%s failed", command, exc_info=error)
            text = APOLOGY
        await reply_privately(interaction, text)


async def run_bot(bot: AllyBot, token: str) -> None:
    """Run until the gateway closes or SIGINT/SIGTERM arrives; then close cleanly (cogs unload first)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with bot:
        runner = asyncio.create_task(bot.start(token))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            log.info("signal received: closing the gateway")
        await bot.close()
        stopper.cancel()
        if runner.done() and not runner.cancelled():
            runner.result()  # a failed login surfaces here


async def sync_commands(bot: AllyBot, token: str, guild_id: int | None) -> list[app_commands.AppCommand]:
    """Log in (no gateway) and register the slash commands with Discord, for one guild or globally."""
    async with bot:
        await bot.login(token)  # runs setup_hook, so the cogs' commands are in the tree
        if guild_id is None:
            return await bot.tree.sync()
        guild = discord.Object(guild_id)
        bot.tree.copy_global_to(guild=guild)
        return await bot.tree.sync(guild=guild)
