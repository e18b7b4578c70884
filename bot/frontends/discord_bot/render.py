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
from bot.querylog.reports import GapGroup, Stats
from bot.querylog.store import Health
from bot.service import Answer, KnowledgeChange, Topic

NO_PINGS = discord.AllowedMentions.none()
APOLOGY = "Sorry, something went wrong while answering; it has been logged."
NOT_A_MODERATOR = "This command is for moderators (Manage Server, or the moderator role)."
COLOUR = discord.Colour.from_rgb(0, 75, 135)

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_CHOICE_NAME = 100
MAX_OPTION_DESCRIPTION = 100
MAX_PLACEHOLDER = 150
MAX_OTHER_PHRASINGS = 5  # shown under a gap group in the review queue
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


def health_note(health: Health | None) -> str:
    """What moderators must know about the query log itself, above every moderator reply ("" when all is well)."""
    note = ""
    if health and health.last_error:
        since = f" since {health.failing_since:%Y-%m-%d %H:%M} UTC" if health.failing_since else ""
        note += f"⚠️ The query log is failing{since} ({health.last_error}); {health.pending} rows are waiting.\n"
    if health and health.notice:
        note += f"⚠️ Query log: {health.notice}.\n"
    return note


def unavailable_text(error: Exception) -> str:
    return clip(f"The query log cannot be used right now ({error}). Answers are not affected.", MAX_CONTENT)


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


def gaps_embed(found: Sequence[GapGroup], days: int, note: str = "") -> discord.Embed:
    """The gap groups, most impactful first: each one intent, with its closest topic and what the bot did."""
    lines = [
        f"**{g.count}×** ({g.askers} askers, last {g.last_asked[:10]}, {g.downvotes} 👎) {inert(g.question, 120)}"
        + (f" (+{len(g.questions) - 1} wording{'s' if len(g.questions) > 2 else ''})" if len(g.questions) > 1 else "")
        + f"\n  ↳ closest topic: {g.topic or 'none'} · "
        + ", ".join(f"{k} ({v})" for k, v in g.answers[:3])
        for g in found
    ]
    hint = "\nFix them one group at a time with `/querylog review`, or one question with `/querylog resolve`."
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


# --- the review queue (/querylog review) ----------------------------------------------------------------

REVIEW_FOOTER = (
    "Teach: every question in the group becomes a phrasing of the chosen topic · Dismiss: out of scope · "
    "Skip: later · Back: the group you skipped last"
)
REVIEW_EMPTY = "Nothing to review: every gap of the last {days} days has been taught or dismissed."


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def review_embed(
    group: GapGroup,
    position: int,
    total: int,
    more: bool,
    days: int,
    candidates: Sequence[Entry],
    chosen: Entry | None,
    note: str = "",
) -> discord.Embed:
    """One gap group in the review queue: the question, how often, by how many, when, its 👎, other phrasings, the
    bot's candidates and the topic chosen so far. ``more``: the queue goes on past ``total`` ("of 25+")."""
    asked = (
        f"Asked **{_times(group.count)}** by **{_people(group.askers)}**"
        if group.askers
        else (f"Asked **{_times(group.count)}**")
    )
    lines = [
        f"**{inert(group.question, 300)}**",
        f"{asked} · last {group.last_asked[:16].replace('T', ' ')} UTC · {group.downvotes} 👎",
    ]
    embed = discord.Embed(
        title=clip(f"Gap {position} of {total}{'+' if more else ''} · last {days} days", MAX_TITLE),
        description=clip(note + "\n".join(lines), MAX_DESCRIPTION),
        colour=COLOUR,
    )
    others = group.questions[1:]
    if others:
        shown = [
            f"• {inert(text, 150)}" + (f" ({n}×)" if n > 1 else "")
            for text, n in zip(others, group.times[1:], strict=True)
        ]
        hidden = len(others) - MAX_OTHER_PHRASINGS
        text = "\n".join(shown[:MAX_OTHER_PHRASINGS]) + (f"\n… and {hidden} more" if hidden > 0 else "")
        embed.add_field(name=f"Other phrasings ({len(others)})", value=clip(text, MAX_FIELD_VALUE), inline=False)
    ranked = "\n".join(f"{n}. {discord.utils.escape_markdown(e.title)}" for n, e in enumerate(candidates, 1))
    embed.add_field(name="The bot's candidates", value=clip(ranked or "none", MAX_FIELD_VALUE), inline=False)
    picked = (
        f"**{discord.utils.escape_markdown(chosen.title)}**: press Teach"
        if chosen
        else "None yet: pick one in the menu below"
    )
    embed.add_field(name="Chosen topic", value=clip(picked, MAX_FIELD_VALUE), inline=False)
    embed.set_footer(text=REVIEW_FOOTER)
    return fit(embed)


def review_empty_embed(days: int, note: str = "") -> discord.Embed:
    return report_embed("Review queue", REVIEW_EMPTY.format(days=days), note)


def review_option(entry: Entry, description: str, *, default: bool = False) -> discord.SelectOption:
    return discord.SelectOption(
        label=clip(entry.title, MAX_CHOICE_NAME),
        value=entry.id,
        description=clip(description, MAX_OPTION_DESCRIPTION),
        default=default,
    )


def taught_text(group: GapGroup, entry: Entry, answered: int) -> str:
    """What Teach changed: the group's logged questions the new matcher answers with the topic."""
    questions = "logged question" if answered == 1 else "logged questions"
    rest = group.count - answered
    still = (
        f" ({rest} of the group's {group.count} still would not: teach those with `/querylog resolve`)" if rest else ""
    )
    phrasings = len(group.questions)
    return clip(
        f"✅ Taught: {answered} {questions} would now be answered with "
        f"*{discord.utils.escape_markdown(entry.title)}*{still}. "
        f"{phrasings} phrasing{'s' if phrasings != 1 else ''} added, effective now; "
        "`allybot kb learned` prints them for the YAML.",
        MAX_CONTENT,
    )


def dismissed_text(group: GapGroup) -> str:
    others = len(group.questions) - 1
    also = f" and {others} other phrasing{'s' if others != 1 else ''}" if others else ""
    return clip(
        f"🚫 Dismissed as out of scope: “{inert(group.question, 150)}”{also}; the group no longer shows.", MAX_CONTENT
    )


def skipped_text(group: GapGroup, alone: bool) -> str:
    later = " It is the only gap left." if alone else " It comes back after the others."
    return clip(f"⏭️ Skipped “{inert(group.question, 150)}”.{later}", MAX_CONTENT)


def back_text(group: GapGroup | None) -> str:
    if group is None:
        return "↩️ Nothing to go back to: no open group has been skipped."
    return clip(f"↩️ Back to “{inert(group.question, 150)}” (it was skipped).", MAX_CONTENT)


def nothing_learned_text(taught: str) -> str:
    """A teach that stored nothing (:class:`~bot.service.NothingToLearn`): ``taught`` names what was offered."""
    return clip(
        f"Nothing learned: there is no word the bot matches on in {taught} (only common words, emoji or punctuation).",
        MAX_CONTENT,
    )


REVIEW_GONE = "This group was reviewed already, or has changed since; here is the queue as it is now."
REVIEW_NO_TOPIC = "That topic is no longer in the knowledge base; pick another."
REVIEW_PICK_FIRST = "Pick a topic in the menu first."


def review_no_match_text(typed: str) -> str:
    return clip(f"No topic matches “{inert(typed, 100)}”; try part of its title, or its id.", MAX_CONTENT)


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
