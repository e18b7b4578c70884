"""Answers and entries as Discord messages: embeds and plain text, within Discord's limits.

Everything the bot sends is built here, so the limits (and the rule that the bot
never pings anyone) live in one place. Text is cut cleanly with an ellipsis.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.frontends.terminal import SOURCES_NOTE, UNANSWERED, one_line
from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Outcome
from bot.service import Answer

NO_PINGS = discord.AllowedMentions.none()
COLOUR = discord.Colour.from_rgb(0, 75, 135)

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_CHOICE_NAME = 100
MAX_BUTTON_LABEL = 80
MAX_ECHO = 200  # how much of a question is quoted back


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def inert(text: str, limit: int = MAX_ECHO) -> str:
    """User text safe to quote back: no mentions, no markdown, one line without control or bidi characters, bounded."""
    text = one_line(text)
    return clip(discord.utils.escape_mentions(discord.utils.escape_markdown(text)), limit)


def fit(embed: discord.Embed) -> discord.Embed:
    """Shorten the description until the whole embed is within Discord's 6000-character total."""
    excess = len(embed) - MAX_EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - excess, 1))
    return embed


def entry_embed(entry: Entry, knowledge: KnowledgeBase) -> discord.Embed:
    category = next((c.title for c in knowledge.categories if c.id == entry.category), entry.category)
    embed = discord.Embed(
        title=clip(entry.title, MAX_TITLE), description=clip(entry.summary, MAX_DESCRIPTION), colour=COLOUR
    )
    embed.set_author(name=clip(category, MAX_FIELD_NAME))
    # The footer shows no markdown, so one source a line; the note says once what the sources are.
    sources = "\n".join(f"• {s}" for s in entry.sources)
    embed.set_footer(text=clip(f"Sources ({SOURCES_NOTE}):\n{sources}", MAX_FOOTER))
    return fit(embed)


@dataclass(frozen=True, slots=True)
class Reply:
    """One message's worth of answer: text, embed and the entries to offer as buttons."""

    content: str | None
    embed: discord.Embed | None
    choices: tuple[Entry, ...]  # related topics, or "did you mean" suggestions
    feedback: bool  # offer 👍/👎


def answer_reply(answer: Answer, knowledge: KnowledgeBase) -> Reply:
    """How an answer looks in Discord, whichever front end asked."""
    if answer.problem:
        return Reply(f"{answer.problem} Ask me about NATO policy, or browse with `/topics`.", None, (), False)
    notice = "(Your message was long; I read only its beginning.) " if answer.truncated else ""
    if answer.outcome is Outcome.ANSWERED and answer.entry:
        related = tuple(knowledge.entries[i] for i in answer.entry.related if i in knowledge.entries)[:3]
        return Reply(notice or None, entry_embed(answer.entry, knowledge), related, True)
    if answer.outcome is Outcome.SUGGESTED:
        text = f"{notice}I'm not sure which topic you mean by “{inert(answer.query)}”. Did you mean one of these?"
        return Reply(clip(text, MAX_CONTENT), None, answer.suggestions, True)
    text = f"{notice}{UNANSWERED} Browse what I know with `/topics`."
    return Reply(clip(text, MAX_CONTENT), None, (), True)


def help_embed() -> discord.Embed:
    embed = discord.Embed(title="allybot", colour=COLOUR, description=HELP_TEXT)
    return fit(embed)


HELP_TEXT = """\
I answer questions about NATO policy from a curated knowledge base: collective defence, \
deterrence, counterterrorism, emerging threats, military diplomacy and the case studies \
in our source articles. Every answer cites its sources: the article and section it comes \
from. Those articles say they were written with AI assistance, so check anything that \
matters against official NATO material.

**Ask**
• `/ask question:` your question, in your own words
• mention me, or DM me, with a question
• `/topic name:` open a topic directly (start typing for suggestions)
• `/topics` to browse by category

**Tips**
Ask one thing at a time. If I'm unsure I'll offer "did you mean" choices; if I have no \
answer I say so, and moderators review those questions to fill the gaps. Use 👍/👎 under \
an answer to tell us whether it helped."""
