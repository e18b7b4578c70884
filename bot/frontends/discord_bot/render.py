"""Answers, entries and moderator reports as Discord messages: embeds and plain text, within Discord's limits.

Every embed the bot sends is built here, so the limits (and the rule that the bot
never pings anyone) live in one place. Text is cut cleanly with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.frontends.wording import SOURCES_NOTE, UNANSWERED, one_line
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Outcome
from bot.querylog.reports import Gap, Stats
from bot.service import Answer, KnowledgeChange, Topic

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
MAX_RELATED_BUTTONS = 3
TOPICS_PAGE_SIZE = 10
CHART_FILE = "questions-per-day.png"


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


def entry_embed(topic: Topic) -> discord.Embed:
    entry = topic.entry
    embed = discord.Embed(
        title=clip(entry.title, MAX_TITLE), description=clip(entry.summary, MAX_DESCRIPTION), colour=COLOUR
    )
    embed.set_author(name=clip(topic.category, MAX_FIELD_NAME))
    # The footer shows no markdown, so one source a line; the note says once what the sources are.
    sources = "\n".join(f"• {s}" for s in entry.sources)
    embed.set_footer(text=clip(f"Sources ({SOURCES_NOTE}):\n{sources}", MAX_FOOTER))
    return fit(embed)


def topic_choices(entries: Sequence[Entry]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for topics: the title shown, the entry id sent."""
    return [app_commands.Choice(name=clip(entry.title, MAX_CHOICE_NAME), value=entry.id) for entry in entries]


@dataclass(frozen=True, slots=True)
class Reply:
    """One message's worth of answer: text, embed and the entries to offer as buttons."""

    content: str | None
    embed: discord.Embed | None
    choices: tuple[Entry, ...]  # related topics, or "did you mean" suggestions
    feedback: bool  # offer 👍/👎


def topic_reply(topic: Topic) -> Reply:
    """One topic opened directly (``/topic``, a topic button, the pager's menu): its embed and related topics."""
    return Reply(None, entry_embed(topic), topic.related[:MAX_RELATED_BUTTONS], feedback=False)


def answer_reply(answer: Answer) -> Reply:
    """How an answer looks in Discord, whichever front end asked."""
    if answer.problem:
        return Reply(f"{answer.problem} Ask me about NATO policy, or browse with `/topics`.", None, (), False)
    notice = "(Your message was long; I read only its beginning.) " if answer.truncated else ""
    if answer.outcome is Outcome.ANSWERED and answer.topic:
        return Reply(notice or None, entry_embed(answer.topic), answer.topic.related[:MAX_RELATED_BUTTONS], True)
    if answer.outcome is Outcome.SUGGESTED:
        text = f"{notice}I'm not sure which topic you mean by “{inert(answer.query)}”. Did you mean one of these?"
        return Reply(clip(text, MAX_CONTENT), None, answer.suggestions, True)
    text = f"{notice}{UNANSWERED} Browse what I know with `/topics`."
    return Reply(clip(text, MAX_CONTENT), None, (), True)


def help_embed() -> discord.Embed:
    embed = discord.Embed(title="allybot", colour=COLOUR, description=HELP_TEXT)
    return fit(embed)


def categories_embed(knowledge: KnowledgeBase) -> discord.Embed:
    """``/topics`` without a category: each category with its number of topics."""
    embed = discord.Embed(title="Topics by category", description="Pick one with `/topics category:`.")
    for category in knowledge.categories[:25]:
        count = len(knowledge.in_category(category.id))
        embed.add_field(
            name=clip(f"{category.title} ({count})", MAX_FIELD_NAME),
            value=clip(category.description or category.id, MAX_FIELD_VALUE),
            inline=False,
        )
    return fit(embed)


def topics_page_embed(title: str, shown: Sequence[Entry], page: int, pages: int) -> discord.Embed:
    """One page of a category's topics (``/topics category:``)."""
    lines = [f"• **{discord.utils.escape_markdown(e.title)}** · `{e.id}`" for e in shown]
    embed = discord.Embed(title=clip(title, MAX_TITLE), description="\n".join(lines) or "No topics yet.")
    embed.set_footer(text=f"Page {page + 1}/{pages} · open one below or with /topic")
    return fit(embed)


# --- moderators' replies ----------------------------------------------------------------------------


def report_embed(title: str, text: str, note: str = "") -> discord.Embed:
    """A moderator reply: ``note`` (the query log's health, when it needs saying) above ``text``."""
    return discord.Embed(title=clip(title, MAX_TITLE), description=clip(note + text, MAX_DESCRIPTION))


def recent_embed(rows: Sequence[dict[str, Any]], note: str = "") -> discord.Embed:
    lines = [
        f"`{r['asked_at'][5:16]}` **{r['outcome']}** {r['score']:.0f} · {r['entry_id'] or '—'} · "
        f"{inert(r['question'], 90)}"
        for r in rows
    ]
    return report_embed("Recent questions", "\n".join(lines) or "Nothing logged yet.", note)


def gaps_embed(found: Sequence[Gap], days: int, note: str = "") -> discord.Embed:
    lines = [
        f"**{g.count}×** ({g.askers} askers, last {g.last_seen[:10]}, {g.downvotes} 👎) "
        f"{inert(g.question, 120)}\n  ↳ " + ", ".join(f"{k} ({v})" for k, v in g.answers.most_common(3))
        for g in found
    ]
    hint = "\nFix one with `/querylog resolve`, or `/querylog dismiss` it."
    return report_embed(
        f"Gaps, last {days} days", ("\n".join(lines) + hint) if lines else "No gaps in this period.", note
    )


def stats_embed(found: Stats, days: int, note: str = "") -> discord.Embed:
    """The statistics, with the chart attached as ``CHART_FILE``."""
    embed = discord.Embed(title=f"Last {days} days", description=note or None)
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
        value=clip("\n".join(f"<#{c}> ({n})" for c, n in found.busiest_channels) or "—", MAX_FIELD_VALUE),
        inline=False,
    )
    embed.set_image(url=f"attachment://{CHART_FILE}")
    embed.set_footer(text="Chart: questions per day, answered (blue) and not (grey)")
    return fit(embed)


def reloaded_embed(change: KnowledgeChange, note: str = "") -> discord.Embed:
    parts = [
        f"{label}: {', '.join(ids)}"
        for label, ids in (("Added", change.added), ("Removed", change.removed), ("Edited", change.edited))
        if ids
    ]
    return report_embed(f"Reloaded (version {change.version})", "\n".join(parts) or "No entries changed.", note)


def reload_failed_embed(error: KnowledgeError, note: str = "") -> discord.Embed:
    problems = "\n".join(f"• {inert(str(p), 300)}" for p in error.problems)
    more = f"\n… and {error.not_shown} more (run `allybot kb check`)" if error.not_shown else ""
    return report_embed(
        "Reload failed: still serving the previous knowledge base",
        f"{error.total} problem(s):\n{problems}{more}",
        note,
    )


def privacy_text(questions: int, votes: int, latest: Sequence[tuple[str, str]], retention_days: int | None) -> str:
    """``/privacy``: what is kept about the asker."""
    lines = [
        "What allybot keeps about you: your questions (text, time, channel and what it answered) and your 👍/👎, "
        "linked to a salted hash of your Discord id, never the id itself. "
        f"Questions older than {retention_days or '∞'} days are deleted automatically.",
        f"Stored now: **{questions}** questions, **{votes}** votes.",
    ]
    lines += [f"• `{asked[:10]}` {inert(question, 100)}" for asked, question in latest]
    return clip("\n".join(lines), MAX_CONTENT)


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
