"""How Discord noise around a question changes the answer: ``python -m tools.noise``.

Takes the tuning sets' plain, keyword and acronym questions that are answered right as
they are, wraps each in every pattern of :data:`PATTERNS` (a quoted line, mentions,
markdown, emoji, chat filler...), and prints the share still answered right per pattern.
The tuning questions only: the holdouts stay unseen.
"""

from __future__ import annotations

from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher, Outcome
from tools.evaluate import PROJECT_ROOT, TUNE_FILES, Question, load_sets

PATTERNS = {
    "quoted line before": "> i thought nato was just about the cold war\n{q}",
    "quote, then 'this ^'": "> {q}\nthis ^",
    "@everyone": "@everyone {q}",
    "mention and ???": "<@123456789012345678> {q} ???",
    "greeting, emoji": "hey guys 👋 {q} 🙏",
    "bold": "**{q}**",
    "code span": "`{q}`",
    "code block": "```\n{q}\n```",
    "url after": "{q} https://example.com/some/article?id=5",
    "asking for a friend": "asking for a friend, {q}",
    "lol ok so ... thx": "lol ok so {q} thx",
    "?!?!": "{q}?!?!",
    "spoiler": "||{q}||",
    "header": "# {q}",
    "bullet": "- {q}",
    "emoji shortcode": "{q} :thinking:",
    "custom emoji": "{q} <:pepe:123456789012345678>",
    "sorry if dumb": "{q} (sorry if this is a dumb question)",
    "quick q:": "quick q: {q}",
    "Re:": "Re: {q}",
    "sent from my phone": "{q}\n\nsent from my phone",
    "upper case": "{upper}",
    "channel mention": "<#345678901234567890> {q}",
    "role mention": "<@&234567890123456789> {q}",
    "italic": "_{q}_",
    "hi / thanks lines": "hi\n{q}\nthanks!!",
    "anyone know": "anyone know {q}",
    "pls help": "{q} pls help",
    "emoji spam": "🤔🤔🤔 {q} 🤔🤔",
    "struck-out words": "~~wrong question~~ {q}",
    "lower, no ?": "{lower}",
    "ellipsis": "so... {q}...",
    "right channel?": "idk if this is the right channel but {q}",
    "@here after": "{q} @here",
}


def answered_right(matcher: Matcher, text: str, question: Question) -> bool:
    match = matcher.match(text)
    return match.outcome is Outcome.ANSWERED and match.best is not None and match.best.entry.id in question.expected


def main() -> None:
    matcher = Matcher(load_knowledge(PROJECT_ROOT / "knowledge"))
    kinds = ("plain", "keyword", "acronym")
    asked = [q for q in load_sets(TUNE_FILES) if q.kind in kinds and q.expected]
    clean = [q for q in asked if answered_right(matcher, q.text, q)]
    print(f"{len(clean)} of {len(asked)} plain, keyword and acronym tuning questions answered right as they are")
    for name, pattern in PATTERNS.items():
        texts = [(pattern.format(q=q.text, upper=q.text.upper(), lower=q.text.lower().rstrip("?")), q) for q in clean]
        kept = sum(answered_right(matcher, text, q) for text, q in texts)
        print(f"  {name:22} {100 * kept / len(clean):5.1f}%")


if __name__ == "__main__":
    main()
