"""Plain-text rendering of answers and entries for the console and the command line."""

from __future__ import annotations

import json
import textwrap

from bot.frontends.wording import SOURCES_NOTE, UNANSWERED, one_line
from bot.knowledge.model import Entry, KnowledgeBase
from bot.matching.matcher import Outcome
from bot.matching.normalize import Normalizer
from bot.service import Answer, Topic

WIDTH = 88


def render_summary(summary: str) -> str:
    """A summary as plain text: paragraphs wrapped, "- " list items as indented bullets."""
    lines = []
    for line in summary.split("\n"):
        if line.startswith("- "):
            lines.append(textwrap.fill(line[2:], WIDTH, initial_indent="  • ", subsequent_indent="    "))
        else:
            lines.append(textwrap.fill(line, WIDTH))
    return "\n".join(lines)


def render_entry(topic: Topic) -> str:
    entry = topic.entry
    lines = [entry.title, "=" * min(len(entry.title), WIDTH), "", render_summary(entry.summary), ""]
    lines.append(f"Sources ({SOURCES_NOTE}):")
    lines += [textwrap.fill(str(s), WIDTH, initial_indent="  ", subsequent_indent="    ") for s in entry.sources]
    if topic.related:
        lines += ["Related topics:", render_choices(topic.related)]
    return "\n".join(lines)


def render_choices(entries: list[Entry] | tuple[Entry, ...]) -> str:
    return "\n".join(f"  {number}. {entry.title} [{entry.id}]" for number, entry in enumerate(entries, start=1))


def render_answer(answer: Answer) -> str:
    lines = [answer.problem] if answer.problem else []
    if answer.truncated:
        lines.append("(Your question was long; I read only its beginning.)")
    if answer.outcome is Outcome.ANSWERED and answer.topic:
        lines.append(render_entry(answer.topic))
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


def format_report(report: str, data: object) -> str:
    """A query-log report as readable text (the --json form carries the same data)."""
    if report == "recent":
        return (
            "\n".join(
                f"{r['asked_at']}  {r['outcome']:10} {r['score']:5.1f}  {r['entry_id'] or '-':28} "
                f"{one_line(r['question'])[:70]}"
                for r in data  # type: ignore[attr-defined]
            )
            or "No questions logged."
        )
    if report == "gaps":
        return (
            "\n".join(_gap_lines(g) for g in data)  # type: ignore[attr-defined]
            or "No gaps: every question in the period was answered without a 👎."
        )
    stats: dict = data  # type: ignore[assignment]
    return "\n".join(
        [
            f"Questions: {stats['total']}, answered {stats['answer_rate']}% ({stats['outcomes']})",
            f"Feedback: {stats['upvotes']} 👍 / {stats['downvotes']} 👎",
            "Top topics: " + (", ".join(f"{e} ({n})" for e, n in stats["top_entries"]) or "-"),
            "Busiest channels: " + (", ".join(f"{c} ({n})" for c, n in stats["busiest_channels"]) or "-"),
            "Per day (answered / not): " + (", ".join(f"{d} {y}/{n}" for d, y, n in stats["per_day"]) or "-"),
        ]
    )


def _gap_lines(group: dict) -> str:
    """One gap group (``GapGroup.as_dict``): its numbers and most asked wording, its closest topic, its other
    wordings with how often each was asked, and what the bot did."""
    others = [f"{one_line(q)[:60]} ({n})" for q, n in zip(group["questions"][1:], group["times"][1:], strict=True)]
    lines = [
        f"{group['count']:4}x  {group['askers']} askers  last {group['last_asked'][:10]}  {group['downvotes']} 👎  "
        f"{one_line(group['question'])[:80]}",
        f"        closest topic: {group['topic'] or '-'}",
        *([f"        also asked as: {', '.join(others[:3])}" + (" ..." if len(others) > 3 else "")] if others else []),
        "        answered as: " + ", ".join(f"{k} ({v})" for k, v in group["answered_as"].items()),
    ]
    return "\n".join(lines)


def learned_yaml(knowledge: KnowledgeBase, taught: list[tuple[str, str]]) -> str:
    """Taught phrasings not yet in the YAML, by entry, ready to paste under each entry's ``questions:``."""
    normalize = Normalizer(knowledge.glossary)
    existing = {e.id: {normalize(p) for p in e.phrasings} for e in knowledge}
    lines = [
        "# Phrasings moderators taught. Paste each list under the entry's `questions:` in knowledge/*.yaml;",
        "# once a phrasing is in the YAML it no longer needs the learned copy.",
    ]
    new = [(i, p) for i, p in taught if i in existing and normalize(p) not in existing[i]]
    for entry_id in dict.fromkeys(i for i, _ in new):
        lines.append(f"{entry_id}:")
        lines += [f"  - {json.dumps(p, ensure_ascii=False)}" for i, p in new if i == entry_id]  # JSON strings are YAML
    return "\n".join(lines if new else [*lines, "# (nothing new to paste)"])
