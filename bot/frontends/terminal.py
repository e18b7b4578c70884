"""Plain-text rendering of answers and entries for the console and the command line."""

from __future__ import annotations

import textwrap

from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Outcome
from bot.service import Answer

WIDTH = 88
UNANSWERED = "I don't have an answer for that yet; moderators can see it."


def render_entry(entry: Entry, knowledge: KnowledgeBase) -> str:
    lines = [entry.title, "=" * min(len(entry.title), WIDTH), ""]
    lines += [textwrap.fill(paragraph, WIDTH) for paragraph in entry.summary.split("\n") if paragraph.strip()]
    lines += ["", "Sources: " + "; ".join(str(s) for s in entry.sources)]
    related = related_entries(entry, knowledge)
    if related:
        lines += ["Related topics:", render_choices(related)]
    return "\n".join(lines)


def related_entries(entry: Entry, knowledge: KnowledgeBase) -> list[Entry]:
    return [knowledge.entries[i] for i in entry.related if i in knowledge.entries]


def render_choices(entries: list[Entry] | tuple[Entry, ...]) -> str:
    return "\n".join(f"  {number}. {entry.title} [{entry.id}]" for number, entry in enumerate(entries, start=1))


def render_answer(answer: Answer, knowledge: KnowledgeBase) -> str:
    lines = [answer.problem] if answer.problem else []
    if answer.truncated:
        lines.append("(Your question was long; I read only its beginning.)")
    if answer.outcome is Outcome.ANSWERED and answer.entry:
        lines.append(render_entry(answer.entry, knowledge))
    elif answer.outcome is Outcome.SUGGESTED:
        lines += ["I'm not sure which topic you mean. Did you mean:", render_choices(answer.suggestions)]
    elif not answer.problem:
        lines.append(UNANSWERED)
    return "\n".join(lines)


def render_topics(knowledge: KnowledgeBase, category_id: str | None = None) -> str:
    categories = [c for c in knowledge.categories if category_id in (None, c.id)]
    if not categories:
        return f"No category '{category_id}'. Categories: " + ", ".join(c.id for c in knowledge.categories)
    blocks = []
    for category in categories:
        entries = knowledge.in_category(category.id)
        header = f"{category.title} [{category.id}] ({len(entries)})"
        if category_id is None:
            blocks.append(header)
        else:
            blocks.append(header + "\n" + "\n".join(f"  {e.title} [{e.id}]" for e in entries))
    return "\n".join(blocks)
